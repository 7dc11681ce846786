//! The `RestoreTarget` trait: the write side of an engine, where restores and drills load a
//! dump. It is separate from `Source` because the two often use different servers and
//! credentials (a read-only backup role versus a scratch server for drills).

use std::fmt::Debug;
use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::{Engine, Inventory, Manifest, Result, TableRows};

/// What a restore reports when it loaded a dump completely.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Non-fatal messages from the restore tool.
    pub warnings: Vec<String>,
}

/// What `restore --globals` did on a target, role by role.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GlobalsReport {
    /// Roles (users) the target lacked, created from the artifact.
    pub created: Vec<String>,
    /// Roles the target had already: left as they were (attributes and password).
    pub kept: Vec<String>,
    /// Existing roles whose password was set from the artifact (`--overwrite-passwords`).
    pub passwords_set: Vec<String>,
    /// Databases whose owner and settings were applied.
    pub databases: Vec<String>,
    /// Statements that were skipped, each with why (a grant to a role the target had, a
    /// database absent on the target, a tablespace that exists).
    pub skipped: Vec<String>,
    /// Statements the server refused, each with its error; the rest was still applied.
    pub failed: Vec<String>,
}

/// The last line of every complete globals artifact (every engine): without it the artifact
/// is truncated and nothing of it is applied.
pub const GLOBALS_COMPLETE: &str = "-- dbward: globals complete";

/// A globals artifact is a small script; anything larger is not one (and is not read whole).
pub const MAX_GLOBALS_BYTES: u64 = 64 << 20;

/// Reads a whole globals artifact and checks that it is complete (its last line is
/// [`GLOBALS_COMPLETE`]) before any of it is applied.
pub async fn read_globals_script(mut dump: Pin<Box<dyn AsyncRead + Send>>) -> Result<String> {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    (&mut dump)
        .take(MAX_GLOBALS_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| crate::Error::Dump(format!("cannot read the globals artifact: {e}")))?;
    if bytes.len() as u64 > MAX_GLOBALS_BYTES {
        return Err(crate::Error::Dump(format!(
            "the globals artifact is larger than {MAX_GLOBALS_BYTES} bytes: not a globals script"
        )));
    }
    let script = String::from_utf8(bytes)
        .map_err(|_| crate::Error::Dump("the globals artifact is not UTF-8 text".into()))?;
    if script.trim_end().lines().last() != Some(GLOBALS_COMPLETE) {
        return Err(crate::Error::Dump(format!(
            "the globals artifact does not end with {GLOBALS_COMPLETE:?} (truncated?); nothing was applied"
        )));
    }
    Ok(script)
}

/// How a target keeps an unfinished restore from looking like a finished database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// It can rename a database: restores load under a temporary name and
    /// [`RestoreTarget::publish`] renames the complete database into place (PostgreSQL).
    Rename,
    /// Its `load` is atomic by itself: the name appears only once the load is complete
    /// (SQLite writes a file beside the name and links it into place).
    Atomic,
    /// Neither (MySQL/MariaDB have no `RENAME DATABASE`): it loads under the final name, so
    /// the caller records the database as its own and incomplete in a journal before
    /// creating it, and clears that only when the load is complete.
    Journal,
}

/// A server (or folder, for SQLite) that dumps can be restored into.
#[async_trait]
pub trait RestoreTarget: Send + Sync + Debug {
    /// The configured name of the source this target restores into.
    fn name(&self) -> &str;

    fn engine(&self) -> Engine;

    /// How this target keeps an unfinished restore invisible.
    fn staging(&self) -> Staging;

    /// Refuses (`Error::InvalidName`) a name the engine would not keep exactly as given: one it
    /// truncates (PostgreSQL's 63 bytes), case-folds (MySQL with `lower_case_table_names`),
    /// or that is no plain name (a path for SQLite). Nothing is created or changed.
    async fn check_name(&self, database: &str) -> Result<()>;

    /// Refuses, with a message naming both versions, a dump this target cannot read (F15).
    async fn check_compatible(&self, manifest: &Manifest) -> Result<()>;

    async fn database_exists(&self, database: &str) -> Result<bool>;

    /// Creates the empty `database` the way the manifest's source database was created.
    /// When the name exists already — checked by the engine itself, atomically with the
    /// creation — this fails with `Error::NameTaken` and changes nothing, so that a caller
    /// never drops a database it did not create. Returns warnings (fallback settings).
    async fn create_database(&self, database: &str, manifest: &Manifest) -> Result<Vec<String>>;

    /// Loads the dump into `database`, which `create_database` made, reading `dump` to its
    /// end. A read error from `dump` (corrupt or truncated artifact) must fail the load: the
    /// tool never sees a clean end of input. On failure the caller drops the database.
    async fn load(
        &self,
        database: &str,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport>;

    /// `create_database` then `load`, dropping the database it created when the load fails:
    /// a whole restore into a name nobody else uses.
    async fn restore(
        &self,
        database: &str,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport> {
        let mut warnings = self.create_database(database, manifest).await?;
        match self.load(database, manifest, dump).await {
            Ok(report) => {
                warnings.extend(report.warnings);
                Ok(RestoreReport { warnings })
            }
            Err(e) => {
                // The load's error is what matters; a failed drop would only hide it.
                let _ = self.drop_database(database).await;
                Err(e)
            }
        }
    }

    /// Gives the completely loaded `staged` database the name `target`. With `replace`, an
    /// existing `target` is dropped first; without, an existing `target` fails the call
    /// with `Error::NameTaken` and changes nothing (decided atomically where the engine can).
    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()>;

    /// `publish` with `replace`: swaps a completely restored database in over `target`.
    async fn replace(&self, staged: &str, target: &str) -> Result<()> {
        self.publish(staged, target, true).await
    }

    /// Drops a database; an absent one is not an error.
    async fn drop_database(&self, database: &str) -> Result<()>;

    /// Exact row counts of every table, named as the engine's manifests name them.
    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>>;

    /// The object inventory of `database`, counted exactly as the engine's `Source` counts
    /// it, so that a drill can compare a restored copy with the manifest's.
    async fn inventory(&self, database: &str) -> Result<Inventory>;

    /// Runs a query returning one value (drill assertions) and returns it as text.
    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String>;

    /// The roles of `manifest.database_settings.roles` that this target lacks, sorted: a
    /// restore that keeps ownership would fail on the first object one of them owns, so the
    /// caller refuses before creating anything (F23). Empty where the target does not keep
    /// ownership (drills, a non-superuser's `--no-owner` restore) or the engine has no roles.
    async fn missing_roles(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let _ = manifest;
        Ok(Vec::new())
    }

    /// Applies a backup of the server-wide objects (`manifest.database` is
    /// [`crate::manifest::GLOBALS`]) read from `dump`: creates what the target lacks, keeps
    /// what it has, and changes an existing role's password only with `overwrite_passwords`.
    async fn apply_globals(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
        overwrite_passwords: bool,
    ) -> Result<GlobalsReport> {
        let _ = (dump, overwrite_passwords);
        Err(crate::Error::Query(format!(
            "{} targets cannot apply server-wide objects (backup {})",
            self.engine(),
            manifest.id
        )))
    }

    /// Reads a whole dump with the engine's own reader and checks it against the manifest
    /// (structural verification); returns notes for the record.
    async fn inspect(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>>;
}
