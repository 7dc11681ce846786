//! The records the catalog hands out, serialised as the JSON of `docs/cli.md`
//! (`list --json`, `show --json`, `backup --json`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{CatalogError, Result, parse_time};

/// The life of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStatus {
    Running,
    Succeeded,
    Degraded,
    Failed,
    Skipped,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Running => "running",
            BackupStatus::Succeeded => "succeeded",
            BackupStatus::Degraded => "degraded",
            BackupStatus::Failed => "failed",
            BackupStatus::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            BackupStatus::Running,
            BackupStatus::Succeeded,
            BackupStatus::Degraded,
            BackupStatus::Failed,
            BackupStatus::Skipped,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one copy on one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyStatus {
    /// Stored, read back, and committed by its manifest.
    Committed,
    /// The upload or its verification failed; nothing is kept.
    Failed,
    /// Committed once, but `audit` found it gone from the destination.
    Missing,
}

impl CopyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyStatus::Committed => "committed",
            CopyStatus::Failed => "failed",
            CopyStatus::Missing => "missing",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            CopyStatus::Committed,
            CopyStatus::Failed,
            CopyStatus::Missing,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One copy of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyRecord {
    pub destination: String,
    pub path: String,
    pub status: CopyStatus,
    pub size: Option<u64>,
    pub error: Option<String>,
}

/// The latest verification of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationRecord {
    pub level: String,
    pub ok: bool,
    pub at: DateTime<Utc>,
}

/// One recorded verification with its details, as `show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationEntry {
    pub level: String,
    pub ok: bool,
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    pub details: serde_json::Value,
}

/// One backup as `list`, `show` and `backup --json` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRecord {
    pub id: String,
    pub schedule: Option<String>,
    pub source: String,
    pub engine: String,
    pub database: String,
    pub status: BackupStatus,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub dump_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    pub sha256: Option<String>,
    pub compression: Option<String>,
    pub copies: Vec<CopyRecord>,
    pub verification: Option<VerificationRecord>,
    pub warnings: Vec<String>,
    /// When retention removed it (`prune`); its copies are deleted.
    pub pruned_at: Option<DateTime<Utc>>,
}

impl BackupRecord {
    /// Wall time of the backup, when it has ended.
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.finished_at.map(|end| end - self.started_at)
    }
}

pub const SELECT_BACKUP: &str = "SELECT id, schedule, source, engine, database_name, status, error,
    started_at, finished_at, dump_bytes, stored_bytes, sha256, compression, manifest, pruned_at
    FROM backups";

fn bytes(row: &SqliteRow, column: &str) -> Option<u64> {
    row.get::<Option<i64>, _>(column).map(|v| v.max(0) as u64)
}

pub fn backup_from_row(row: &SqliteRow) -> Result<BackupRecord> {
    let status: String = row.get("status");
    Ok(BackupRecord {
        id: row.get("id"),
        schedule: row.get("schedule"),
        source: row.get("source"),
        engine: row.get("engine"),
        database: row.get("database_name"),
        status: BackupStatus::parse(&status)
            .ok_or_else(|| CatalogError::Invalid(format!("backup status {status:?}")))?,
        error: row.get("error"),
        started_at: parse_time(&row.get::<String, _>("started_at"))?,
        finished_at: row
            .get::<Option<String>, _>("finished_at")
            .map(|t| parse_time(&t))
            .transpose()?,
        dump_bytes: bytes(row, "dump_bytes"),
        stored_bytes: bytes(row, "stored_bytes"),
        sha256: row.get("sha256"),
        compression: row.get("compression"),
        copies: Vec::new(),
        verification: None,
        warnings: Vec::new(),
        pruned_at: row
            .get::<Option<String>, _>("pruned_at")
            .map(|t| parse_time(&t))
            .transpose()?,
    })
}

pub fn copy_status(text: &str) -> Result<CopyStatus> {
    CopyStatus::parse(text).ok_or_else(|| CatalogError::Invalid(format!("copy status {text:?}")))
}

pub fn copy_from_row(row: &SqliteRow) -> Result<CopyRecord> {
    let status: String = row.get("status");
    Ok(CopyRecord {
        destination: row.get("destination"),
        path: row.get("path"),
        status: CopyStatus::parse(&status)
            .ok_or_else(|| CatalogError::Invalid(format!("copy status {status:?}")))?,
        size: bytes(row, "size"),
        error: row.get("error"),
    })
}
