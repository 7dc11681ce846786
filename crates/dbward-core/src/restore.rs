//! The `RestoreTarget` trait: the write side of an engine, where restores and drills load a
//! dump. It is separate from `Source` because the two often use different servers and
//! credentials (a read-only backup role versus a scratch server for drills).

use std::fmt::Debug;
use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::{Engine, Manifest, Result, TableRows};

/// What a restore reports when it loaded a dump completely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Non-fatal messages from the restore tool.
    pub warnings: Vec<String>,
}

/// A server (or folder, for SQLite) that dumps can be restored into.
#[async_trait]
pub trait RestoreTarget: Send + Sync + Debug {
    /// The configured name of the source this target restores into.
    fn name(&self) -> &str;

    fn engine(&self) -> Engine;

    /// Refuses, with a message naming both versions, a dump this target cannot read (F15).
    async fn check_compatible(&self, manifest: &Manifest) -> Result<()>;

    async fn database_exists(&self, database: &str) -> Result<bool>;

    /// Creates `database`, which must not exist, and loads the dump into it, reading `dump`
    /// to its end. A read error from `dump` (corrupt or truncated artifact) must fail the
    /// restore: the tool never sees a clean end of input. On failure the caller drops the
    /// database.
    async fn restore(
        &self,
        database: &str,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport>;

    /// Replaces `target` (which may exist) with the completely restored `staged` database,
    /// so that a forced restore never leaves the target half-restored.
    async fn replace(&self, staged: &str, target: &str) -> Result<()>;

    /// Drops a database; an absent one is not an error.
    async fn drop_database(&self, database: &str) -> Result<()>;

    /// Databases whose names start with `prefix` (leftovers of crashed drills).
    async fn databases_with_prefix(&self, prefix: &str) -> Result<Vec<String>>;

    /// Exact row counts of every table, named as the engine's manifests name them.
    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>>;

    /// Runs a query returning one value (drill assertions) and returns it as text.
    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String>;

    /// Reads a whole dump with the engine's own reader and checks it against the manifest
    /// (structural verification); returns notes for the record.
    async fn inspect(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>>;
}
