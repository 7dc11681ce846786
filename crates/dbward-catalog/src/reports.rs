//! What the web dashboard shows beyond the history — the [`Reports`] part of the catalog
//! port: alert deliveries that failed (the newest per channel and problem, until one
//! succeeds), what each channel was told, the newest audit of each destination, what each
//! destination holds by the catalog's account, a database's drill history and its manifests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// What one alert channel was last told of one problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertTold {
    pub channel: String,
    /// The problem's key (`kind|source|database|schedule`).
    pub problem: String,
    pub severity: String,
    pub at: DateTime<Utc>,
}

/// The newest failed delivery of one problem to one alert channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertFailure {
    pub channel: String,
    pub problem: String,
    pub at: DateTime<Utc>,
    /// Why it failed, as the alert reported it (never its URL).
    pub error: String,
}

/// The newest `dbward audit` of one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationAuditRecord {
    pub destination: String,
    pub at: DateTime<Utc>,
    /// Objects and bytes the destination listed.
    pub objects: u64,
    pub bytes: u64,
    /// Committed backups found on it.
    pub backups: u64,
    /// Copies the catalog knows that it no longer held.
    pub missing: u64,
    /// Whether the audit found a problem (missing, broken or untrusted, or no listing).
    pub problems: bool,
    /// Why the destination could not be listed, if it could not.
    pub error: Option<String>,
}

/// What one destination holds by the catalog's account: the committed copies of backups
/// that retention has not removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub destination: String,
    pub copies: u64,
    /// Their size (a copy without a recorded size counts its backup's stored size).
    pub bytes: u64,
    /// When the newest of them started.
    pub newest: Option<DateTime<Utc>>,
}

/// One restore drill of a database's backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrillRecord {
    pub backup_id: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// How long the whole drill took.
    pub duration_ms: Option<u64>,
    /// How long its restore took (the measured RTO), when it got that far.
    pub restore_ms: Option<u64>,
}

/// One database's history as health dates its problems by: its newest
/// [`HEALTH_WINDOW`](crate::HEALTH_WINDOW) backups not pruned, newest first and complete
/// (what `list` gives with that limit), and its proofs (what `proofs` gives).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub backups: Vec<crate::BackupRecord>,
    pub proofs: crate::Proofs,
}

/// The reports part of the catalog port. Reads never write.
#[async_trait]
pub trait Reports: Send + Sync {
    /// Records that telling `channel` of `problems` (keys) failed at `at` for `error`; the
    /// next successful `alert_sent` of a problem forgets its failure.
    async fn alert_failed(
        &self,
        channel: &str,
        problems: &[String],
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Every recorded failed delivery, by channel and problem.
    async fn alert_failures(&self) -> Result<Vec<AlertFailure>>;

    /// What every channel was last told, by channel and problem.
    async fn alerts_told(&self) -> Result<Vec<AlertTold>>;

    /// Records an audit of a destination, replacing its previous one.
    async fn record_destination_audit(&self, audit: &DestinationAuditRecord) -> Result<()>;

    /// The newest audit of every destination audited, by name.
    async fn destination_audits(&self) -> Result<Vec<DestinationAuditRecord>>;

    /// What each destination with a committed copy holds, by name.
    async fn holdings(&self) -> Result<Vec<Holding>>;

    /// The [`History`] of each of `databases` (source, database) at once, in a few queries
    /// per thousand databases; a database without backups or drills has an empty one.
    async fn histories(
        &self,
        databases: &[(String, String)],
    ) -> Result<std::collections::BTreeMap<(String, String), History>>;

    /// The newest `limit` restore drills of one database's backups, newest first.
    async fn drills(&self, source: &str, database: &str, limit: u32) -> Result<Vec<DrillRecord>>;

    /// The stored manifests of the newest `limit` backups of one database not pruned, as
    /// (backup id, manifest JSON), newest first (the order of `list`); backups without a
    /// manifest (failed, running) are left out.
    async fn manifests(
        &self,
        source: &str,
        database: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>>;
}
