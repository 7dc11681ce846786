//! The `fs` destination: a local or mounted directory. Uploads are written under
//! `.dbward-staging/`, fsynced, renamed into place and the folder fsynced, so that a key either
//! holds a complete object or nothing. A staged file is locked while its upload runs, which is
//! how start-up cleaning tells a crashed run's leftovers from a concurrent run's work; it is
//! locked before it takes its `.part` name, so cleaning never sees a live one unlocked.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use dbward_core::destination::{Destination, ObjectMeta, Upload};
use dbward_core::{Error, Result};
use tokio::io::{AsyncRead, AsyncWriteExt};

/// Creates `dir` and its missing parents readable by this user only: artifacts hold whole
/// databases.
async fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Folder under the root that holds uploads in progress.
const STAGING: &str = ".dbward-staging";

/// Name prefix of a staged file until it is locked and renamed `<ulid>.part`. Cleaning took
/// an upload's file in the instant between its creation and its lock (another daemon's run
/// was starting), and the upload's rename then failed; files under this prefix are cleaned
/// only once older than [`CREATING_GRACE`], which only a crash in that instant leaves.
const CREATING: &str = "creating-";

/// How old a file under [`CREATING`] must be to be a crash's leftover.
const CREATING_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// A directory destination.
#[derive(Debug, Clone)]
pub struct FsDestination {
    name: String,
    root: PathBuf,
}

impl FsDestination {
    pub fn new(name: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        FsDestination {
            name: name.into(),
            root: root.into(),
        }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf> {
        let valid = !key.is_empty()
            && key
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg != STAGING);
        if !valid {
            return Err(self.error(format!("invalid object key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    fn error(&self, reason: String) -> Error {
        Error::Destination {
            destination: self.name.clone(),
            reason,
        }
    }

    fn io_error(&self, what: &str, path: &Path, err: std::io::Error) -> Error {
        self.error(format!("{what} {}: {err}", path.display()))
    }

    async fn staging_dir(&self) -> Result<PathBuf> {
        let dir = self.root.join(STAGING);
        create_private_dirs(&dir)
            .await
            .map_err(|e| self.io_error("cannot create", &dir, e))?;
        Ok(dir)
    }
}

#[async_trait]
impl Destination for FsDestination {
    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        format!("fs:{}", self.root.display())
    }

    async fn begin(&self, key: &str, _expected_bytes: Option<u64>) -> Result<Box<dyn Upload>> {
        let target = self.path_of(key)?;
        let dir = self.staging_dir().await?;
        let id = ulid::Ulid::new();
        let creating = dir.join(format!("{CREATING}{id}"));
        let staged = dir.join(format!("{id}.part"));
        let std_file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&creating)
            .map_err(|e| self.io_error("cannot create", &creating, e))?;
        let named = std_file
            .try_lock()
            .map_err(|e| self.error(format!("cannot lock {}: {e}", creating.display())))
            .and_then(|()| {
                std::fs::rename(&creating, &staged)
                    .map_err(|e| self.io_error("cannot name", &staged, e))
            });
        if let Err(e) = named {
            let _ = std::fs::remove_file(&creating);
            return Err(e);
        }
        Ok(Box::new(FsUpload {
            destination: self.clone(),
            file: Some(tokio::io::BufWriter::with_capacity(
                1 << 20,
                tokio::fs::File::from_std(std_file),
            )),
            staged,
            target,
        }))
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        let mut upload = self.begin(key, None).await?;
        if let Err(e) = upload.write(bytes).await {
            upload.abort().await;
            return Err(e);
        }
        upload.commit().await.map(|_| ())
    }

    async fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_error("cannot stat", &path, e)),
        }
    }

    async fn read(&self, key: &str) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
        let path = self.path_of(key)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| self.io_error("cannot open", &path, e))?;
        Ok(Box::pin(tokio::io::BufReader::with_capacity(1 << 20, file)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error("cannot delete", &path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || list_tree(&root, &prefix))
            .await
            .map_err(|e| Error::Destination {
                destination: name.clone(),
                reason: format!("listing stopped: {e}"),
            })?
            .map_err(|(path, e)| self.io_error("cannot list", &path, e))
    }

    async fn free_bytes(&self) -> Option<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut probe = root.as_path();
            // The root may not exist yet: measure the nearest existing ancestor.
            while !probe.exists() {
                probe = probe.parent()?;
            }
            let stat = nix::sys::statvfs::statvfs(probe).ok()?;
            Some(stat.blocks_available() * stat.fragment_size())
        })
        .await
        .ok()
        .flatten()
    }

    async fn clean_staging(&self) -> Result<usize> {
        let dir = self.root.join(STAGING);
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(self.io_error("cannot list", &dir, e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| self.io_error("cannot list", &dir, e))?
        {
            let path = entry.path();
            let abandoned = if entry.file_name().to_string_lossy().starts_with(CREATING) {
                entry
                    .metadata()
                    .await
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > CREATING_GRACE))
            } else {
                // A live upload holds the lock; only files nobody holds are leftovers.
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(|f| f.try_lock().is_ok())
                    .unwrap_or(false)
            };
            if abandoned && tokio::fs::remove_file(&path).await.is_ok() {
                tracing::info!(destination = %self.name, file = %path.display(), "removed leftover staged upload");
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn list_tree(
    root: &Path,
    prefix: &str,
) -> std::result::Result<Vec<ObjectMeta>, (PathBuf, std::io::Error)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err((dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| (dir.clone(), e))?;
            let path = entry.path();
            let meta = entry.metadata().map_err(|e| (path.clone(), e))?;
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if key == STAGING {
                continue;
            }
            if meta.is_dir() {
                pending.push(path);
            } else if key.starts_with(prefix) {
                out.push(ObjectMeta {
                    key,
                    size: meta.len(),
                    modified: meta.modified().ok().map(Into::into),
                });
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// An upload staged in `.dbward-staging/`, locked while it runs.
struct FsUpload {
    destination: FsDestination,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    staged: PathBuf,
    target: PathBuf,
}

impl FsUpload {
    async fn finish_file(&mut self) -> Result<()> {
        let mut file = self.file.take().expect("an upload is committed once");
        file.flush()
            .await
            .map_err(|e| self.destination.io_error("cannot write", &self.staged, e))?;
        file.get_mut()
            .sync_all()
            .await
            .map_err(|e| self.destination.io_error("cannot sync", &self.staged, e))?;
        let parent = self.target.parent().expect("keys have a folder");
        create_private_dirs(parent)
            .await
            .map_err(|e| self.destination.io_error("cannot create", parent, e))?;
        tokio::fs::rename(&self.staged, &self.target)
            .await
            .map_err(|e| {
                self.destination
                    .io_error("cannot move into place", &self.target, e)
            })?;
        // The rename is durable only once the folder that now names the file is synced.
        let dir = tokio::fs::File::open(parent)
            .await
            .map_err(|e| self.destination.io_error("cannot open", parent, e))?;
        dir.sync_all()
            .await
            .map_err(|e| self.destination.io_error("cannot sync", parent, e))?;
        Ok(())
    }
}

#[async_trait]
impl Upload for FsUpload {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let file = self.file.as_mut().expect("no write after commit");
        file.write_all(&chunk)
            .await
            .map_err(|e| self.destination.io_error("cannot write", &self.staged, e))
    }

    async fn commit(mut self: Box<Self>) -> Result<u64> {
        if let Err(e) = self.finish_file().await {
            let _ = tokio::fs::remove_file(&self.staged).await;
            return Err(e);
        }
        let size = tokio::fs::metadata(&self.target)
            .await
            .map_err(|e| self.destination.io_error("cannot stat", &self.target, e))?
            .len();
        Ok(size)
    }

    async fn abort(mut self: Box<Self>) {
        self.file = None;
        let _ = tokio::fs::remove_file(&self.staged).await;
    }
}

impl Drop for FsUpload {
    fn drop(&mut self) {
        // Dropped without commit (a cancelled task): the staged bytes are worthless.
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.staged);
        }
    }
}
