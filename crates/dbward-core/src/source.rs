//! The `Source` trait: what every engine adapter (postgres, mysql, sqlite, ...) provides so
//! that the backup engine can discover databases, start a dump and judge it by the gate.

use std::fmt::Debug;
use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::{DatabaseSettings, Engine, Inventory, Result, TableRows};

/// One line of `dbward check` about a source: what was checked and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// What was checked, e.g. `connect`, `pg_dump`.
    pub item: String,
    /// `Ok(detail)` or `Err(reason and what to do)`.
    pub outcome: std::result::Result<String, String>,
    /// Passed, but worth attention (`check` prints `WARN`; the exit code is unchanged).
    pub warning: bool,
}

impl CheckLine {
    pub fn ok(item: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckLine {
            item: item.into(),
            outcome: Ok(detail.into()),
            warning: false,
        }
    }

    pub fn warning(item: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckLine {
            warning: true,
            ..CheckLine::ok(item, detail)
        }
    }

    pub fn failed(item: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckLine {
            item: item.into(),
            outcome: Err(reason.into()),
            warning: false,
        }
    }
}

/// A database server (or SQLite file) dbward reads from.
#[async_trait]
pub trait Source: Send + Sync + Debug {
    /// The configured name of the source.
    fn name(&self) -> &str;

    fn engine(&self) -> Engine;

    /// Every database a backup may select, system databases excluded, sorted.
    async fn list_databases(&self) -> Result<Vec<String>>;

    /// Connects, checks privileges and the dump tool; one line per item.
    async fn check(&self) -> Vec<CheckLine>;

    /// Starts dumping one database. The returned output must be read to its end before
    /// `finish` is called on the completion.
    async fn dump(&self, database: &str) -> Result<Dump>;

    /// Counts the objects of `database` by kind, and the history rows of its
    /// system-versioned tables, with catalog queries (recorded in the manifest for drills).
    /// A database that does not exist is an error, never an empty inventory.
    async fn inventory(&self, database: &str) -> Result<Inventory>;
}

/// Facts about a dump recorded in its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInfo {
    pub server_version: String,
    pub tool: String,
    pub tool_version: String,
    /// Engine-level format: `custom`, `plain`, `sql`, `sqlite`.
    pub format: String,
    /// File extension of the uncompressed dump: `dump`, `sql`, `sqlite`.
    pub extension: &'static str,
    /// The tool's options, without any secret.
    pub options: Vec<String>,
    /// How the database was created (encoding, collation), for restores.
    pub database_settings: Option<DatabaseSettings>,
}

/// A running dump: its bytes, and the completion that judges them once they are read.
pub struct Dump {
    pub info: DumpInfo,
    pub output: Pin<Box<dyn AsyncRead + Send>>,
    pub completion: Box<dyn DumpCompletion>,
}

impl Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump").field("info", &self.info).finish()
    }
}

/// What a dump reports when it passed the engine's part of the gate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DumpReport {
    /// Every table in the artifact with its exact row count.
    pub tables: Vec<TableRows>,
    /// Non-fatal messages from the tool, kept in the manifest.
    pub warnings: Vec<String>,
    /// Objects the dump could not keep (F23); kept in the manifest and shown by `status`.
    pub fidelity: Vec<crate::manifest::FidelityLoss>,
    /// Tables left out by configuration, listed in the manifest (F12).
    pub excluded_tables: Vec<String>,
    /// Those of `excluded_tables` that held rows at dump time (what `status` warns about).
    pub excluded_with_data: Vec<String>,
    pub replica_lag_seconds: Option<f64>,
    /// The WAL range of a physical base backup (PostgreSQL `pitr = true`).
    pub base_backup: Option<crate::manifest::BaseBackup>,
    /// Where a MariaDB/MySQL `pitr = true` dump's snapshot sits in the binary log.
    pub binlog_position: Option<crate::binlog::BinlogPosition>,
    /// What a backup of the server-wide objects ([`crate::manifest::GLOBALS`]) holds.
    pub globals: Option<crate::manifest::ServerGlobals>,
}

/// The second half of a dump: waits for the tool and judges what it produced.
#[async_trait]
pub trait DumpCompletion: Send {
    /// Called after the output was read to its end: waits for the tool to exit and checks
    /// its exit status, its stderr, the completion marker and the table counts.
    async fn finish(self: Box<Self>) -> Result<DumpReport>;

    /// Stops the dump (kills the tool and its children) and removes temporary state.
    async fn abort(self: Box<Self>);
}
