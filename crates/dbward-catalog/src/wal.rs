//! The WAL archive's account in the catalog — the [`WalLog`] part of the catalog port: every
//! WAL file `dbward wal push` archived for a pitr source, per destination, read by `status`
//! (the newest archived segment, its age, gaps) and by `prune` (what retention may delete).
//! The destinations' signed entries stay the truth for restores; these rows are what health
//! and retention are judged by without listing every destination.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// One WAL file archived on one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalFileRecord {
    pub source: String,
    /// The WAL file's own name (`000000010000000000000003`, `00000002.history`, ...).
    pub name: String,
    pub destination: String,
    pub timeline: u32,
    /// Size and sha256 of the file as PostgreSQL wrote it.
    pub bytes: u64,
    pub sha256: String,
    /// When it was committed on the destination.
    pub archived_at: DateTime<Utc>,
    pub host: String,
}

/// The WAL archive part of the catalog port. Reads never write.
#[async_trait]
pub trait WalLog: Send + Sync {
    /// Records that a WAL file is archived on a destination; recording it again keeps the
    /// first record (pushing the same bytes again is a no-op in storage too).
    async fn record_wal_file(&self, file: &WalFileRecord) -> Result<()>;

    /// Every WAL file of `source` the catalog knows, by name and destination.
    async fn wal_files(&self, source: &str) -> Result<Vec<WalFileRecord>>;

    /// The newest archived WAL file of every source that has one (by archive time), by
    /// source.
    async fn newest_wal_files(&self) -> Result<Vec<WalFileRecord>>;

    /// Forgets WAL files of `source` that retention removed from `destination`; returns how
    /// many rows went.
    async fn forget_wal_files(
        &self,
        source: &str,
        destination: &str,
        names: &[String],
    ) -> Result<u64>;
}
