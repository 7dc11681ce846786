//! dbward's catalog: the history of runs, backups, copies, warnings, verifications, alert
//! state and failed deliveries, schedules, destination audits, the agents and leases that
//! coordinate processes, the WAL files archived for point-in-time recovery, and who may use the web dashboard. [`Catalog`] is the port the engine talks to; [`SqliteCatalog`] (a file
//! in `state_dir`, the default) and [`PgCatalog`] (a shared PostgreSQL database) implement it,
//! and [`conformance`] is the suite both pass. Nothing else in dbward writes SQL against the
//! catalog.

mod access;
pub mod conformance;
mod coordination;
mod health_doc;
pub mod migrate;
mod model;
mod postgres;
mod reports;
mod sql;
mod sql_access;
mod sql_coordination;
mod sql_health;
mod sql_histories;
mod sql_reports;
mod sql_wal;
mod sqlite;
mod wal;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};

pub use access::{
    Access, ActionRecord, ActorKind, NewSession, Role, SessionRecord, TokenRecord, UserRecord,
};
pub use coordination::{
    AgentInfo, AgentKind, AgentRecord, AgentRef, Claim, Coordination, Fire, Lease, LeaseHolder,
    SourceBinding,
};
pub use model::{
    AlertState, BackupEnd, BackupRecord, BackupStart, BackupStatus, CopyRecord, CopyStatus,
    HealthFacts, ListFilter, NewVerification, Proof, Proofs, RunStatus, VerificationEntry,
    VerificationRecord,
};
pub use postgres::PgCatalog;
pub use reports::{
    AlertFailure, AlertTold, DestinationAuditRecord, DrillRecord, History, Holding, Reports,
};
pub use sqlite::{SqliteCatalog, create_private_dir};
pub use wal::{WalFileRecord, WalLog};

/// How many of a database's newest backups not pruned its health is judged by: the size
/// baseline and the copies lost are looked for among them.
pub const HEALTH_WINDOW: u32 = 30;
/// How many dump sizes of a database's newest succeeded backups its health facts carry.
pub const HEALTH_SIZES: u32 = 8;

/// A catalog failure. Every variant renders as one line that names the catalog (a path, or
/// a PostgreSQL host and database, never a password) or the query's cause.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {target}: {message}")]
    Open { target: String, message: String },
    #[error(
        "catalog {target} has schema version {found}, newer than this dbward knows ({known}); \
         upgrade dbward (nothing was written)"
    )]
    Newer {
        target: String,
        found: i64,
        known: i64,
    },
    #[error("catalog query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("catalog holds an invalid record: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, CatalogError>;

/// The catalog port. Methods are grouped by concern: runs and backups, copies,
/// verifications, health, alert state, schedules seen; agents, leases, fires and source bindings are
/// the [`Coordination`] part; users, API tokens, sessions and the audit log the [`Access`]
/// part; failed alert deliveries and destination audits the [`Reports`] part; archived WAL files
/// the [`WalLog`] part. Reads (`list`, `get`, `latest_good`,
/// `proofs`, `health_facts`, `first_seen`, ...) never write.
#[async_trait]
pub trait Catalog:
    Coordination + Access + Reports + WalLog + Send + Sync + std::fmt::Debug
{
    /// Fails when the catalog cannot take a write (a read-only disk or file, a read-only
    /// PostgreSQL user or server, say); writes nothing.
    async fn check_writable(&self) -> Result<()>;

    // --- Runs and backups ---

    /// Records a run (one `dbward backup`) as `running`.
    async fn start_run(
        &self,
        id: &str,
        schedule: Option<&str>,
        agent: &AgentRef,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Records how a run ended.
    async fn finish_run(&self, id: &str, status: RunStatus, at: DateTime<Utc>) -> Result<()>;

    /// Records a backup as `running`.
    async fn start_backup(&self, b: &BackupStart<'_>) -> Result<()>;

    /// Records a backup that was skipped (someone else holds its job), ended at once: never
    /// a `running` row that another agent's recovery could take for a dead one.
    async fn record_skipped(&self, b: &BackupStart<'_>, reason: &str) -> Result<()>;

    /// Records how a backup ended, with its copies and warnings, in one transaction.
    async fn finish_backup(&self, end: &BackupEnd<'_>) -> Result<()>;

    /// Marks backups of one database left `running` by a process that died as `failed`.
    /// Called only by the holder of that database's lease, so no live run is touched.
    async fn fail_interrupted(
        &self,
        source: &str,
        database: &str,
        at: DateTime<Utc>,
    ) -> Result<u64>;

    /// The stored size of the newest succeeded backup of a database, for the free-space check.
    async fn last_stored_bytes(&self, source: &str, database: &str) -> Result<Option<u64>>;

    /// The newest backup of a database whose copies were committed (succeeded or degraded),
    /// with its stored manifest.
    async fn latest_good(
        &self,
        source: &str,
        database: &str,
    ) -> Result<Option<(BackupRecord, Option<String>)>>;

    /// Every (source, database) pair with a good backup, for `verify --latest`.
    async fn databases_with_good_backups(&self) -> Result<Vec<(String, String)>>;

    /// Every (source, database) pair with a backup not pruned, for `status`.
    async fn databases(&self) -> Result<Vec<(String, String)>>;

    /// Marks a backup removed by retention: it leaves `list`, `status` and `audit`, and
    /// `show` tells when it went.
    async fn mark_pruned(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<()>;

    /// Backups matching `filter` that retention has not removed, newest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<BackupRecord>>;

    /// One backup by id (or unique id prefix), with its stored manifest.
    async fn get(&self, id: &str) -> Result<Option<(BackupRecord, Option<String>)>>;

    /// Whether the catalog knows a backup.
    async fn has_backup(&self, id: &str) -> Result<bool>;

    /// Imports a backup from its manifest (catalog rebuild): a `succeeded` backup in a run of
    /// its own, with one copy. Idempotent: a known backup only gains the copy if it lacks it.
    /// Returns (backup added, copy added).
    async fn import(
        &self,
        manifest: &dbward_core::Manifest,
        manifest_json: &str,
        destination: &str,
        artifact_key: &str,
        copy_status: CopyStatus,
        size: Option<u64>,
    ) -> Result<(bool, bool)>;

    // --- Copies ---

    /// Every committed, missing or acknowledged (lost) copy on one destination of a backup
    /// that is not pruned: (backup id, artifact key, status), by key.
    async fn copies_on(&self, destination: &str) -> Result<Vec<(String, String, CopyStatus)>>;

    /// Sets the status of one copy (audit marks vanished copies `missing`, and found ones
    /// `committed` again).
    async fn set_copy_status(
        &self,
        backup_id: &str,
        destination: &str,
        status: CopyStatus,
    ) -> Result<()>;

    // --- Verifications ---

    /// Records the outcome of a verification.
    async fn record_verification(&self, v: &NewVerification<'_>) -> Result<()>;

    /// Every verification of a backup, newest first, with its recorded details.
    async fn verifications(&self, backup_id: &str) -> Result<Vec<VerificationEntry>>;

    /// The newest restore drill of one database and the newest passed drill and key drill.
    async fn proofs(&self, source: &str, database: &str) -> Result<Proofs>;

    // --- Health ---

    /// For `status`: every database with a backup not pruned, by source and database, with
    /// what its health is judged by among its newest [`HEALTH_WINDOW`] backups (and the
    /// sizes of up to [`HEALTH_SIZES`] succeeded ones). Read from a summary row per
    /// database that every write keeps current, plus a few queries by id, however long the
    /// history.
    async fn health_facts(&self) -> Result<Vec<HealthFacts>>;

    // --- Alert state ---

    /// What alert `channel` was last told.
    async fn alert_state(&self, channel: &str) -> Result<AlertState>;

    /// Records that `channel` was told of `firing` (problem key, severity) and `resolved`, by
    /// agent `agent_id`.
    async fn alert_sent(
        &self,
        channel: &str,
        firing: &[(String, String)],
        resolved: &[String],
        at: DateTime<Utc>,
        agent_id: &str,
    ) -> Result<()>;

    // --- Schedules seen ---

    /// Records `names` as seen at `at`; a schedule already seen keeps its first sighting.
    async fn see_schedules(&self, names: &[&str], at: DateTime<Utc>) -> Result<()>;

    /// When each schedule was first seen: its first record here or its oldest backup,
    /// whichever is earlier. A read: it records nothing.
    async fn first_seen(&self) -> Result<std::collections::BTreeMap<String, DateTime<Utc>>>;
}

/// Formats a time the way the catalog stores it: RFC 3339 UTC with milliseconds, a fixed
/// width, so that text order is time order in both SQLite and PostgreSQL (`COLLATE "C"`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| CatalogError::Invalid(format!("timestamp {text:?}: {e}")))
}

/// A stored byte count: never negative, so a damaged row reads as 0 rather than wrapping.
fn bytes(value: Option<i64>) -> Option<u64> {
    value.map(|v| v.max(0) as u64)
}

/// Refuses a catalog migrated by a newer dbward before anything is written to it.
fn refuse_newer(
    target: &str,
    applied: Option<i64>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<()> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > known => Err(CatalogError::Newer {
            target: target.to_string(),
            found,
            known,
        }),
        _ => Ok(()),
    }
}
