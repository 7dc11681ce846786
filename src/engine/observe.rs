//! How the engine reports work in progress, so that front ends decide how it shows: the
//! terminal draws bars (`crate::progress`, indicatif), `--json`, `-q` and the daemon show
//! nothing ([`Quiet`]), and a daemon may count bytes for its metrics. The engine calls these
//! and never knows which it has.

use std::sync::Arc;

use crate::catalog::BackupStatus;

/// A byte counter the pipeline calls as data passes.
pub type Counter = Arc<dyn Fn(u64) + Send + Sync>;

/// Receives the engine's jobs as they start.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A job starts (a backup of one database, a copy being read or restored).
    fn job(&self, label: &str) -> Box<dyn JobObserver>;
}

/// The progress of one job.
pub trait JobObserver: Send + Sync + std::fmt::Debug {
    /// Counts the bytes the job reads (a dump, or a stored copy).
    fn read_counter(&self) -> Counter;
    /// Counts the bytes written to one destination.
    fn destination_counter(&self, destination: &str) -> Counter;
    /// The job's work is done; it leaves no trace (a copy read to its end).
    fn done(&self);
    /// The job ended with `status` (a backup).
    fn finish(&self, status: BackupStatus);
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn job(&self, _label: &str) -> Box<dyn JobObserver> {
        Box::new(Quiet)
    }
}

impl JobObserver for Quiet {
    fn read_counter(&self) -> Counter {
        Arc::new(|_| {})
    }

    fn destination_counter(&self, _destination: &str) -> Counter {
        Arc::new(|_| {})
    }

    fn done(&self) {}

    fn finish(&self, _status: BackupStatus) {}
}
