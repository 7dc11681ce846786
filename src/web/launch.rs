//! Actions admitted from the web that run in the background ("Back up now", "Drill now",
//! "Verify"; `POST /api/v1/backups`, `/drills`, `/backups/{id}/verify`). The engine's run
//! futures are not `Send`, so handlers only queue the engine's [`Job`] here; [`run`], a local
//! task of the process's `LocalSet` (the daemon's or `dbward serve`'s), carries each out as
//! its own task with [`actions::carry_out`], which records it in the catalog like the CLI.

use tokio::sync::mpsc;

use super::Contexts;
use crate::engine::actions::{self, Job};
use crate::engine::backup::BackupRequest;

/// Where handlers queue jobs.
#[derive(Debug, Clone)]
pub struct Launcher(mpsc::UnboundedSender<Job>);

/// The launcher and the queue [`run`] reads.
pub fn launcher() -> (Launcher, mpsc::UnboundedReceiver<Job>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Launcher(tx), rx)
}

impl Launcher {
    /// Queues a job; `false` when the process is stopping.
    pub fn launch(&self, job: Job) -> bool {
        self.0.send(job).is_ok()
    }
}

/// How the front end completes a backup request: the daemon adds its job limits and stop
/// token, so a web backup takes a slot like a scheduled one and stops with the daemon.
pub type Requests = Box<dyn Fn(BackupRequest) -> BackupRequest>;

/// Carries out every queued job on the current `LocalSet` until the launchers are dropped.
pub async fn run(mut queue: mpsc::UnboundedReceiver<Job>, contexts: Contexts, requests: Requests) {
    while let Some(job) = queue.recv().await {
        let ctx = contexts();
        let job = match job {
            Job::Backup(request) => Job::Backup(requests(request)),
            other => other,
        };
        tokio::task::spawn_local(async move {
            match actions::carry_out(ctx, &job).await {
                Ok(lines) => {
                    for line in lines {
                        tracing::info!("from the web: {line}");
                    }
                }
                Err(e) => tracing::error!("a job from the web did not run: {e:#}"),
            }
        });
    }
}
