//! Backups started from the web ("Back up now", `POST /api/v1/backups`). The engine's run
//! futures are not `Send`, so handlers only queue a request here; [`run`], a local task of
//! the process's `LocalSet` (the daemon's or `dbward serve`'s), starts each as its own
//! `backup::run_and_alert`, which records it in the catalog like any other backup.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Contexts;
use crate::engine::backup::{self, BackupRequest};
use crate::engine::observe::Quiet;

/// One database to back up now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub source: String,
    pub database: String,
}

/// Where handlers queue launches.
#[derive(Debug, Clone)]
pub struct Launcher(mpsc::UnboundedSender<Launch>);

/// The launcher and the queue [`run`] reads.
pub fn launcher() -> (Launcher, mpsc::UnboundedReceiver<Launch>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Launcher(tx), rx)
}

impl Launcher {
    /// Queues a launch; `false` when the process is stopping.
    pub fn launch(&self, launch: Launch) -> bool {
        self.0.send(launch).is_ok()
    }
}

/// How the front end turns a launch into a request: the daemon adds its job limits and stop
/// token, so a web backup takes a slot like a scheduled one and stops with the daemon.
pub type Requests = Box<dyn Fn(&Launch) -> BackupRequest>;

/// Starts every queued launch on the current `LocalSet` until the launchers are dropped.
pub async fn run(
    mut queue: mpsc::UnboundedReceiver<Launch>,
    contexts: Contexts,
    requests: Requests,
) {
    while let Some(launch) = queue.recv().await {
        let ctx = contexts();
        let request = requests(&launch);
        tokio::task::spawn_local(async move {
            match backup::run_and_alert(Arc::clone(&ctx), &request, &Quiet).await {
                Ok((report, _)) => {
                    for b in &report.backups {
                        tracing::info!(
                            "backup from the web: {}/{} {}",
                            b.source,
                            b.database,
                            b.status
                        );
                    }
                }
                Err(e) => tracing::error!(
                    "backup from the web of {}/{} did not run: {e:#}",
                    launch.source,
                    launch.database
                ),
            }
        });
    }
}

/// The request of a plain launch: this source and exactly this database.
pub fn request(launch: &Launch) -> BackupRequest {
    BackupRequest {
        sources: vec![launch.source.clone()],
        databases: vec![launch.database.clone()],
        ..BackupRequest::default()
    }
}

/// A database name the web may launch: not empty, and no glob characters (a request's
/// databases are patterns; a name from the web must select exactly itself).
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['*', '?', '[', ']', '{', '}', '\\', '!'])
}
