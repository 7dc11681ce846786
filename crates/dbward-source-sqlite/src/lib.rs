//! dbward's SQLite source: a consistent snapshot through SQLite's online backup API (never a
//! copy of a live file), checked with `PRAGMA integrity_check`, counted table by table, and
//! streamed from a spool file that is removed when the dump ends.

mod target;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use dbward_core::source::{CheckLine, Dump, DumpCompletion, DumpInfo, DumpReport, Source};
use dbward_core::{Engine, Error, Inventory, ObjectKind, Result, TableRows};
use rusqlite::{Connection, OpenFlags};

pub use target::SqliteTarget;

/// Pages copied per step of the online backup; between steps writers may proceed.
const PAGES_PER_STEP: std::ffi::c_int = 1024;

/// How a SQLite source is configured.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    pub name: String,
    /// The live database file.
    pub path: PathBuf,
    /// The name its one database has in dbward (default: the file stem).
    pub database: String,
    /// Where the snapshot is spooled while it streams; on local disk, private to dbward.
    pub spool_dir: PathBuf,
}

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteSource {
    settings: SqliteSettings,
}

impl SqliteSource {
    pub fn new(settings: SqliteSettings) -> Self {
        SqliteSource { settings }
    }

    fn open_live(&self) -> Result<Connection> {
        let path = &self.settings.path;
        if !path.is_file() {
            return Err(Error::Connect {
                target: format!("sqlite:{}", path.display()),
                reason: "no such file".into(),
            });
        }
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
            Error::Connect {
                target: format!("sqlite:{}", path.display()),
                reason: e.to_string(),
            }
        })
    }
}

#[async_trait]
impl Source for SqliteSource {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        Ok(vec![self.settings.database.clone()])
    }

    async fn check(&self) -> Vec<CheckLine> {
        let opened = self.open_live().and_then(|conn| {
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| Error::Query(format!("cannot read {}: {e}", self.settings.path.display())))
        });
        let file = match opened {
            Ok(objects) => CheckLine::ok(
                "open",
                format!(
                    "{} ({objects} schema objects, SQLite {})",
                    self.settings.path.display(),
                    rusqlite::version()
                ),
            ),
            Err(e) => CheckLine::failed("open", e.to_string()),
        };
        let spool = match std::fs::create_dir_all(&self.settings.spool_dir) {
            Ok(()) => CheckLine::ok("spool", self.settings.spool_dir.display().to_string()),
            Err(e) => CheckLine::failed(
                "spool",
                format!("cannot create {}: {e}", self.settings.spool_dir.display()),
            ),
        };
        vec![file, spool]
    }

    async fn dump(&self, database: &str) -> Result<Dump> {
        if database != self.settings.database {
            return Err(Error::DatabaseMissing {
                source_name: self.settings.name.clone(),
                database: database.to_string(),
            });
        }
        let live = self.open_live()?;
        std::fs::create_dir_all(&self.settings.spool_dir)
            .map_err(|e| Error::io("cannot create spool folder", &self.settings.spool_dir, e))?;
        let snapshot = tempfile::Builder::new()
            .prefix("sqlite-snapshot-")
            .suffix(".db")
            .tempfile_in(&self.settings.spool_dir)
            .map_err(|e| Error::io("cannot create snapshot in", &self.settings.spool_dir, e))?
            .into_temp_path();
        let snapshot_path = snapshot.to_path_buf();
        let (tables, dump_bytes) =
            tokio::task::spawn_blocking(move || take_snapshot(live, &snapshot_path))
                .await
                .map_err(|e| Error::Dump(format!("sqlite snapshot stopped: {e}")))??;
        let file = tokio::fs::File::open(&snapshot)
            .await
            .map_err(|e| Error::io("cannot open snapshot", snapshot.to_path_buf(), e))?;
        tracing::debug!(bytes = dump_bytes, "sqlite snapshot taken");
        Ok(Dump {
            info: DumpInfo {
                server_version: rusqlite::version().to_string(),
                tool: "sqlite-online-backup".into(),
                tool_version: rusqlite::version().to_string(),
                format: "sqlite".into(),
                extension: "sqlite",
                options: vec![],
                database_settings: None,
            },
            output: Box::pin(tokio::io::BufReader::with_capacity(1 << 20, file)),
            completion: Box::new(SnapshotCompletion { snapshot, tables }),
        })
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        if database != self.settings.database {
            return Err(Error::DatabaseMissing {
                source_name: self.settings.name.clone(),
                database: database.to_string(),
            });
        }
        let conn = self.open_live()?;
        let path = self.settings.path.clone();
        tokio::task::spawn_blocking(move || {
            inventory_of(&conn).map_err(|e| {
                Error::Query(format!(
                    "cannot take the inventory of {}: {e}",
                    path.display()
                ))
            })
        })
        .await
        .map_err(|e| Error::Query(format!("inventory stopped: {e}")))?
    }
}

/// Copies `live` into `snapshot` through the online backup API, checks and counts it.
fn take_snapshot(live: Connection, snapshot: &Path) -> Result<(Vec<TableRows>, u64)> {
    let sqlite_err = |what: &str, e: rusqlite::Error| Error::Dump(format!("sqlite {what}: {e}"));
    let mut copy = Connection::open(snapshot).map_err(|e| sqlite_err("snapshot", e))?;
    {
        let backup = rusqlite::backup::Backup::new(&live, &mut copy)
            .map_err(|e| sqlite_err("online backup", e))?;
        backup
            .run_to_completion(PAGES_PER_STEP, std::time::Duration::ZERO, None)
            .map_err(|e| sqlite_err("online backup", e))?;
    }
    let integrity: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| sqlite_err("integrity_check", e))?;
    if integrity != "ok" {
        return Err(Error::Dump(format!(
            "sqlite integrity_check of the snapshot failed: {integrity}"
        )));
    }
    let tables = count_tables(&copy).map_err(|e| sqlite_err("row count", e))?;
    drop(copy);
    let bytes = std::fs::metadata(snapshot)
        .map_err(|e| Error::io("cannot stat snapshot", snapshot, e))?
        .len();
    Ok((tables, bytes))
}

/// Exact row counts of every user table, sorted by name.
/// Tables, views, indexes and triggers of the database, SQLite's own objects (`sqlite_*`:
/// the sequence table, automatic indexes) left out because they come and go with the others.
pub fn inventory_of(conn: &Connection) -> rusqlite::Result<Inventory> {
    let mut inventory = Inventory::default();
    for (kind, sqlite_type) in [
        (ObjectKind::Tables, "table"),
        (ObjectKind::Views, "view"),
        (ObjectKind::Indexes, "index"),
        (ObjectKind::Triggers, "trigger"),
    ] {
        let count: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite_%'",
            [sqlite_type],
            |r| r.get(0),
        )?;
        inventory.set(kind, count.max(0) as u64);
    }
    Ok(inventory)
}

pub fn count_tables(conn: &Connection) -> rusqlite::Result<Vec<TableRows>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names
        .into_iter()
        .map(|table| {
            let quoted = format!("\"{}\"", table.replace('"', "\"\""));
            let rows: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {quoted}"), [], |r| r.get(0))?;
            Ok(TableRows {
                table,
                rows: rows.max(0) as u64,
            })
        })
        .collect()
}

/// Holds the spooled snapshot until the stream is done; removing it on every path.
struct SnapshotCompletion {
    snapshot: tempfile::TempPath,
    tables: Vec<TableRows>,
}

#[async_trait]
impl DumpCompletion for SnapshotCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let this = *self;
        let _ = this.snapshot.close();
        Ok(DumpReport {
            tables: this.tables,
            ..DumpReport::default()
        })
    }

    async fn abort(self: Box<Self>) {
        let _ = self.snapshot.close();
    }
}
