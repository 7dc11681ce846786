//! The catalog's model: the records it hands out (serialised as the JSON of `docs/cli.md`:
//! `list --json`, `show --json`, `backup --json`), the statuses stored as text, and the
//! arguments of its writes. Policies judge these types; they know nothing of SQL.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Declares a status enum stored and serialised as lowercase text.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The stored (and printed) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The status a stored text names, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;

text_enum! {
    /// The life of a backup.
    BackupStatus {
        Running => "running",
        Succeeded => "succeeded",
        Degraded => "degraded",
        Failed => "failed",
        Skipped => "skipped",
    }
}

text_enum! {
    /// The state of one copy on one destination.
    CopyStatus {
        /// Stored, read back, and committed by its manifest.
        Committed => "committed",
        /// The upload or its verification failed; nothing is kept.
        Failed => "failed",
        /// Committed once, but `audit` found it gone from the destination.
        Missing => "missing",
        /// Missing, and an operator accepted it as lost: no longer a problem.
        Acknowledged => "acknowledged",
    }
}

text_enum! {
    /// How a run (one `dbward backup` invocation) ended.
    RunStatus {
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Skipped => "skipped",
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
    /// The agent that took it; none for backups imported by `catalog rebuild` or recorded
    /// before catalog version 4.
    pub agent: Option<crate::AgentRef>,
}

impl BackupRecord {
    /// Wall time of the backup, when it has ended.
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.finished_at.map(|end| end - self.started_at)
    }
}

/// One verification of a database's backups, as health judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub backup_id: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// Drills: how long the restore took.
    pub restore_ms: Option<u64>,
}

/// The newest drills of one database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proofs {
    /// The newest restore drill, passed or not.
    pub last_drill: Option<Proof>,
    pub last_good_drill: Option<DateTime<Utc>>,
    /// How long the restore of the newest passed drill took: the measured RTO.
    pub last_good_drill_restore: Option<chrono::Duration>,
    pub last_good_key: Option<DateTime<Utc>>,
}

/// What `status` judges one database by, read for every database at once
/// ([`crate::Catalog::health_facts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthFacts {
    pub source: String,
    pub database: String,
    /// Complete records, newest first, from the database's newest `window` backups not
    /// pruned: the newest that ended (succeeded, degraded or failed), the newest succeeded
    /// or degraded one with a committed copy, the newest succeeded one, and every one with
    /// a missing copy. Any other backup of the window makes no difference to `status`.
    pub backups: Vec<BackupRecord>,
    /// Dump sizes of the newest `sizes` succeeded backups that recorded one, from the same
    /// window, newest first.
    pub sizes: Vec<u64>,
    pub proofs: Proofs,
    /// The stored manifest of the newest succeeded or degraded backup with a committed copy,
    /// when it may list excluded tables that held data (`excluded_with_data`) or objects the
    /// dump could not keep (`fidelity`); `None` when it cannot.
    pub manifest: Option<String>,
    /// Whether that backup's manifest says its artifact is encrypted (`encryption`), so
    /// that every copy of it is.
    pub encrypted: bool,
}

/// What an alert channel was last told: problem key → (severity, when it was sent).
pub type AlertState = std::collections::BTreeMap<String, (String, DateTime<Utc>)>;

/// A verification to record.
#[derive(Debug, Clone)]
pub struct NewVerification<'a> {
    pub backup_id: &'a str,
    pub level: &'a str,
    pub ok: bool,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    /// JSON with the per-check results.
    pub details: &'a str,
}

/// Filters of `dbward list`.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub source: Option<String>,
    pub database: Option<String>,
    pub status: Option<BackupStatus>,
    pub limit: Option<u32>,
}

/// What is known when a backup starts.
#[derive(Debug, Clone)]
pub struct BackupStart<'a> {
    pub id: &'a str,
    pub run_id: &'a str,
    pub schedule: Option<&'a str>,
    pub source: &'a str,
    pub engine: &'a str,
    pub database: &'a str,
    pub started_at: DateTime<Utc>,
    pub agent: &'a crate::AgentRef,
}

/// What is known when a backup ends, whatever its status.
#[derive(Debug, Clone)]
pub struct BackupEnd<'a> {
    pub id: &'a str,
    pub status: BackupStatus,
    pub error: Option<&'a str>,
    pub finished_at: DateTime<Utc>,
    pub dump_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    pub sha256: Option<&'a str>,
    pub compression: Option<&'a str>,
    pub manifest_json: Option<&'a str>,
    pub copies: &'a [CopyRecord],
    pub warnings: &'a [String],
    /// The claimed fire this backup ran for (a daemon's), marked finished in the same
    /// transaction: a daemon killed between the two would otherwise leave a fire that is
    /// both run and owed, and the agent taking it over would run it again.
    pub fire: Option<&'a crate::Fire>,
}
