//! The SQLite restore target: a folder of database files. A restore writes a new file beside
//! its final name, checks it with `PRAGMA integrity_check`, then links it into place, so a
//! half-written file never carries the target's name. A database name is a file name in the
//! folder: names that could reach outside it are refused, whatever a manifest or
//! `--to-database` says.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use dbward_core::restore::{RestoreReport, RestoreTarget, Staging};
use dbward_core::{Engine, Error, Inventory, Manifest, Result, TableRows};
use rusqlite::{Connection, OpenFlags};
use tokio::io::AsyncRead;

use crate::{count_tables, inventory_of};

/// File systems refuse longer file names (bytes).
const MAX_FILE_NAME: usize = 255;

/// Restores SQLite databases as files directly in `dir` (see [`file_name`]).
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

    /// The source's own database → its file; any other name → its [`file_name`] directly in
    /// `dir`. A name that could lead anywhere else is refused.
    pub fn path_of(&self, database: &str) -> Result<PathBuf> {
        if let Some((home, path)) = &self.home
            && home == database
        {
            return Ok(path.clone());
        }
        let refuse = |reason: String| Error::InvalidName {
            target: self.name.clone(),
            name: database.to_string(),
            reason,
        };
        let file = file_name(database).map_err(|reason| {
            refuse(format!(
                "{reason}; a SQLite database name is a file name in {}",
                self.dir.display()
            ))
        })?;
        let path = self.dir.join(&file);
        // Defence in depth: whatever the name check missed, a path is directly in `dir`.
        if path.parent() != Some(self.dir.as_path()) || path.file_name() != Some(OsStr::new(&file))
        {
            return Err(refuse(format!("it leads outside {}", self.dir.display())));
        }
        Ok(path)
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
        let to = self.path_of(database)?;
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

/// The file a database name is stored in: `shop` → `shop.db`; a name with an extension
/// (`app.sqlite`) as is. Refused (with the reason): empty names, names with `/`, `\`, NUL or
/// `..`, names starting with `.`, and file names over 255 bytes.
pub fn file_name(database: &str) -> std::result::Result<String, String> {
    let reason = if database.is_empty() {
        "it is empty"
    } else if database.contains(['/', '\\']) {
        "it holds a path separator ('/' or '\\')"
    } else if database.contains('\0') {
        "it holds a NUL byte"
    } else if database.starts_with('.') {
        "it starts with '.'"
    } else if database.contains("..") {
        "it holds '..'"
    } else {
        let file = match Path::new(database).extension() {
            Some(_) => database.to_string(),
            None => format!("{database}.db"),
        };
        if file.len() <= MAX_FILE_NAME {
            return Ok(file);
        }
        return Err(format!(
            "its file name is {} bytes, over the file system's limit of {MAX_FILE_NAME}",
            file.len()
        ));
    };
    Err(reason.to_string())
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
        self.path_of(database).map(drop)
    }

    async fn database_exists(&self, database: &str) -> Result<bool> {
        Ok(self.path_of(database)?.exists())
    }

    async fn create_database(&self, database: &str, _manifest: &Manifest) -> Result<Vec<String>> {
        // The file appears only when `load` links the checked copy into place.
        if self.path_of(database)?.exists() {
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
        let path = self.path_of(database)?;
        let (staged, _) = self.write_checked(&path, dump).await?;
        self.link_new(&staged, database)?;
        drop(staged);
        Ok(RestoreReport::default())
    }

    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()> {
        let (from, to) = (self.path_of(staged)?, self.path_of(target)?);
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
        let path = self.path_of(database)?;
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
        let path = self.path_of(database)?;
        tokio::task::spawn_blocking(move || check_file(&path))
            .await
            .map_err(|e| Error::Query(format!("row count stopped: {e}")))?
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        let path = self.path_of(database)?;
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| sqlite_error("cannot open", &path, e))?;
            inventory_of(&conn).map_err(|e| sqlite_error("cannot take the inventory of", &path, e))
        })
        .await
        .map_err(|e| Error::Query(format!("inventory stopped: {e}")))?
    }

    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String> {
        let path = self.path_of(database)?;
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
        // Only the folder of the path counts: the copy is a uniquely named temporary file in
        // it, so no name taken from the manifest ever reaches a path.
        let probe = self
            .spool_dir
            .as_ref()
            .unwrap_or(&self.dir)
            .join(".dbward-inspect.db");
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_that_could_leave_the_folder_are_refused() {
        let long = "n".repeat(253);
        for (name, expected) in [
            ("shop", Ok("shop.db")),
            ("app.sqlite", Ok("app.sqlite")),
            ("dbward_restore_01jabc", Ok("dbward_restore_01jabc.db")),
            ("caf\u{e9} \u{1F600}", Ok("caf\u{e9} \u{1F600}.db")),
            ("", Err("empty")),
            ("../evil", Err("path separator")),
            ("a/b", Err("path separator")),
            ("/etc/passwd", Err("path separator")),
            ("a\\b", Err("path separator")),
            ("..", Err("starts with '.'")),
            (".hidden", Err("starts with '.'")),
            ("a..b", Err("'..'")),
            ("a\0b", Err("NUL")),
            (&long[..252], Ok(&*format!("{}.db", &long[..252]))),
            (&long, Err("over the file system's limit of 255")),
        ] {
            match (file_name(name), expected) {
                (Ok(file), Ok(want)) => assert_eq!(file, want, "{name:?}"),
                (Err(reason), Err(want)) => assert!(reason.contains(want), "{name:?}: {reason}"),
                (got, want) => panic!("{name:?}: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_refused_name_changes_nothing_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("dbs");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(dir.path().join("victim.db"), "keep").unwrap();
        let target = SqliteTarget::new("lite", &folder);
        let err = target.drop_database("../victim").await.unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("\"../victim\"") && text.contains("path separator"),
            "{text}"
        );
        assert!(dir.path().join("victim.db").exists());
        assert!(target.database_exists("/etc/passwd").await.is_err());
    }

    proptest! {
        #[test]
        fn an_accepted_name_stays_directly_in_the_folder(name in prop_oneof![
            ".*",
            "[./\\\\a\u{e9}\0]{0,8}",
            "[a-z]{240,260}",
        ]) {
            let dir = Path::new("/srv/restores");
            let target = SqliteTarget::new("lite", dir);
            if let Ok(path) = target.path_of(&name) {
                prop_assert_eq!(path.parent(), Some(dir));
                let file = path.file_name().unwrap();
                prop_assert!(file.len() <= MAX_FILE_NAME);
                prop_assert!(file != OsStr::new("..") && file != OsStr::new("."));
                prop_assert!(!file.to_string_lossy().starts_with('.'));
            }
        }
    }
}
