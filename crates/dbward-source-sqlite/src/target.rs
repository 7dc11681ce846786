//! The SQLite restore target: a folder of database files. A restore writes a new file beside
//! its final name, checks it with `PRAGMA integrity_check`, then links it into place, so a
//! half-written file never carries the target's name.

use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use dbward_core::restore::{RestoreReport, RestoreTarget, Staging};
use dbward_core::{Engine, Error, Manifest, Result, TableRows};
use rusqlite::{Connection, OpenFlags};
use tokio::io::AsyncRead;

use crate::count_tables;

/// Restores SQLite databases as files in `dir`; a database name holding a `/` is a path.
#[derive(Debug, Clone)]
pub struct SqliteTarget {
    pub name: String,
    pub dir: PathBuf,
    /// The source's own database and its file, which keeps its name whatever its extension.
    pub home: Option<(String, PathBuf)>,
    /// Where `inspect` writes its temporary copy (never beside a live database).
    pub spool_dir: Option<PathBuf>,
}

impl SqliteTarget {
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        SqliteTarget {
            name: name.into(),
            dir: dir.into(),
            home: None,
            spool_dir: None,
        }
    }

    /// Restores of `database` go to `path` (the source's own file).
    pub fn with_home(mut self, database: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.home = Some((database.into(), path.into()));
        self
    }

    pub fn with_spool(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// The source's own database → its file; `shop` → `<dir>/shop.db`; `/srv/app/x.db` or
    /// `./x.db` stay as given.
    pub fn path_of(&self, database: &str) -> PathBuf {
        if let Some((home, path)) = &self.home
            && home == database
        {
            return path.clone();
        }
        if database.contains('/') {
            PathBuf::from(database)
        } else if Path::new(database).extension().is_some() {
            self.dir.join(database)
        } else {
            self.dir.join(format!("{database}.db"))
        }
    }

    fn taken(&self, database: &str) -> Error {
        Error::NameTaken {
            target: self.name.clone(),
            database: database.to_string(),
        }
    }

    /// Gives the complete file `from` the name of `database`; a hard link fails when that
    /// name exists, so nothing that appeared meanwhile is ever overwritten.
    fn link_new(&self, from: &Path, database: &str) -> Result<()> {
        let to = self.path_of(database);
        match std::fs::hard_link(from, &to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(self.taken(database)),
            Err(e) => Err(Error::io("cannot create", &to, e)),
        }
    }

    /// Streams `dump` into a new file next to `final_path` and checks it.
    async fn write_checked(
        &self,
        final_path: &Path,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<(tempfile::TempPath, Vec<TableRows>)> {
        let dir = final_path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io("cannot create", dir, e))?;
        let staged = tempfile::Builder::new()
            .prefix(".dbward-restore-")
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create a file in", dir, e))?
            .into_temp_path();
        let mut file = tokio::fs::File::create(&staged)
            .await
            .map_err(|e| Error::io("cannot write", staged.to_path_buf(), e))?;
        let mut dump = dump;
        tokio::io::copy(&mut dump, &mut file)
            .await
            .map_err(|e| Error::Dump(format!("reading the artifact failed: {e}")))?;
        file.sync_all()
            .await
            .map_err(|e| Error::io("cannot sync", staged.to_path_buf(), e))?;
        drop(file);
        let check_path = staged.to_path_buf();
        let tables = tokio::task::spawn_blocking(move || check_file(&check_path))
            .await
            .map_err(|e| Error::Dump(format!("integrity check stopped: {e}")))??;
        Ok((staged, tables))
    }
}

/// Refuses a name that is not one plain file name inside the target folder.
fn check_name(database: &str) -> Result<()> {
    let bad = database.is_empty()
        || database.starts_with('.')
        || database.len() > 240
        || database.contains(['/', '\\', '\0']);
    if bad {
        return Err(Error::BadName(format!(
            "{database:?} is not a SQLite database name: use a plain file name (no /, \\, leading dot or NUL, at most 240 bytes)"
        )));
    }
    Ok(())
}

fn sqlite_error(what: &str, path: &Path, e: rusqlite::Error) -> Error {
    Error::Query(format!("sqlite {what} {}: {e}", path.display()))
}

/// `PRAGMA integrity_check` and exact counts of a database file.
fn check_file(path: &Path) -> Result<Vec<TableRows>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sqlite_error("cannot open", path, e))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| sqlite_error("integrity_check failed on", path, e))?;
    if integrity != "ok" {
        return Err(Error::Dump(format!(
            "sqlite integrity_check of the restored file failed: {integrity}"
        )));
    }
    count_tables(&conn).map_err(|e| sqlite_error("cannot count rows of", path, e))
}

#[async_trait]
impl RestoreTarget for SqliteTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn check_compatible(&self, manifest: &Manifest) -> Result<()> {
        if manifest.engine != Engine::Sqlite {
            return Err(Error::Dump(format!(
                "backup {} is a {} dump; target {} restores sqlite",
                manifest.id, manifest.engine, self.name
            )));
        }
        Ok(())
    }

    fn staging(&self) -> Staging {
        Staging::Atomic
    }

    async fn check_name(&self, database: &str) -> Result<()> {
        if self.home.as_ref().is_some_and(|(home, _)| home == database) {
            return Ok(());
        }
        check_name(database)
    }

    async fn database_exists(&self, database: &str) -> Result<bool> {
        Ok(self.path_of(database).exists())
    }

    async fn create_database(&self, database: &str, _manifest: &Manifest) -> Result<Vec<String>> {
        // The file appears only when `load` links the checked copy into place.
        if self.path_of(database).exists() {
            return Err(self.taken(database));
        }
        Ok(Vec::new())
    }

    async fn load(
        &self,
        database: &str,
        _manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport> {
        let path = self.path_of(database);
        let (staged, _) = self.write_checked(&path, dump).await?;
        self.link_new(&staged, database)?;
        drop(staged);
        Ok(RestoreReport::default())
    }

    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()> {
        let (from, to) = (self.path_of(staged), self.path_of(target));
        if !replace {
            self.link_new(&from, target)?;
            return tokio::fs::remove_file(&from)
                .await
                .map_err(|e| Error::io("cannot remove", &from, e));
        }
        tokio::fs::rename(&from, &to)
            .await
            .map_err(|e| Error::io("cannot move into place", &to, e))?;
        for suffix in ["-wal", "-shm"] {
            let _ = tokio::fs::remove_file(format!("{}{suffix}", to.display())).await;
        }
        Ok(())
    }

    async fn drop_database(&self, database: &str) -> Result<()> {
        let path = self.path_of(database);
        for candidate in [
            path.clone(),
            PathBuf::from(format!("{}-wal", path.display())),
            PathBuf::from(format!("{}-shm", path.display())),
        ] {
            match tokio::fs::remove_file(&candidate).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("cannot remove", candidate, e)),
            }
        }
        Ok(())
    }

    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>> {
        let path = self.path_of(database);
        tokio::task::spawn_blocking(move || check_file(&path))
            .await
            .map_err(|e| Error::Query(format!("row count stopped: {e}")))?
    }

    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String> {
        let path = self.path_of(database);
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| sqlite_error("cannot open", &path, e))?;
            conn.query_row(&sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Real(f) => f.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
                })
            })
            .map_err(|e| Error::Query(format!("query {sql:?} failed: {e}")))
        })
        .await
        .map_err(|e| Error::Query(format!("query stopped: {e}")))?
    }

    async fn inspect(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        let probe = self
            .spool_dir
            .as_ref()
            .unwrap_or(&self.dir)
            .join(format!(".dbward-inspect-{}.db", manifest.id));
        let (staged, tables) = self.write_checked(&probe, dump).await?;
        drop(staged);
        let mut differences = Vec::new();
        for expected in &manifest.tables {
            match tables.iter().find(|t| t.table == expected.table) {
                Some(found) if found.rows == expected.rows => {}
                Some(found) => differences.push(format!(
                    "table {} holds {} rows in the artifact, the manifest says {}",
                    expected.table, found.rows, expected.rows
                )),
                None => differences.push(format!(
                    "table {} is missing from the artifact",
                    expected.table
                )),
            }
        }
        for extra in tables
            .iter()
            .filter(|t| !manifest.tables.iter().any(|e| e.table == t.table))
        {
            differences.push(format!(
                "table {} is in the artifact but not in the manifest",
                extra.table
            ));
        }
        if !differences.is_empty() {
            return Err(Error::Dump(differences.join("; ")));
        }
        Ok(vec![format!(
            "integrity_check ok; {} tables with the manifest's exact row counts",
            tables.len()
        )])
    }
}
