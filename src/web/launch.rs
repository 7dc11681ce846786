//! Actions admitted from the web that run in the background ("Back up now", "Drill now",
//! "Verify"; `POST /api/v1/backups`, `/drills`, `/backups/{id}/verify`). The engine's run
//! futures are not `Send`, so handlers only queue the engine's [`Job`] here; [`run`], a local
//! task of the process's `LocalSet` (the daemon's or `dbward serve`'s), carries each out as
//! its own task with [`actions::carry_out`], which records it in the catalog like the CLI.
//! Under the daemon, each job takes the daemon's job slots like scheduled work ([`Bounds`]),
//! and a stopping daemon waits for the jobs [`Running`] still holds within its grace (F24).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Contexts;
use crate::engine::actions::{self, Job};
use crate::engine::backup::BackupRequest;
use crate::engine::limits::JobLimits;

/// Where handlers queue jobs.
#[derive(Debug, Clone)]
pub struct Launcher {
    queue: mpsc::UnboundedSender<Job>,
    running: Running,
}

/// The launcher and the queue [`run`] reads; `running` learns of every job started.
pub fn launcher(running: Running) -> (Launcher, mpsc::UnboundedReceiver<Job>) {
    let (queue, rx) = mpsc::unbounded_channel();
    (Launcher { queue, running }, rx)
}

impl Launcher {
    /// Queues a job; `false` when the process is stopping.
    pub fn launch(&self, job: Job) -> bool {
        !self.running.closed() && self.queue.send(job).is_ok()
    }
}

/// What the daemon adds to every job from the web: its job limits in force (a backup waits
/// for its source's, destinations' and a global slot, a drill or verification for its
/// source's and a global one, as scheduled work does) and its stop token (cancelled when
/// its grace has passed). `dbward serve` has none: there are no scheduled jobs to share with.
pub struct Bounds {
    pub limits: Box<dyn Fn() -> Arc<JobLimits>>,
    pub stop: CancellationToken,
}

impl std::fmt::Debug for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bounds")
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

/// The jobs from the web started and not yet waited for; once closed, no job starts.
#[derive(Debug, Clone, Default)]
pub struct Running(Arc<Mutex<Jobs>>);

#[derive(Debug, Default)]
struct Jobs {
    closed: bool,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn closed(&self) -> bool {
        self.0.lock().expect("not poisoned").closed
    }

    /// Keeps `task`, dropping those that ended; `false` (and `task` not kept) once closed.
    fn add(&self, task: impl FnOnce() -> JoinHandle<()>) -> bool {
        let mut jobs = self.0.lock().expect("not poisoned");
        if jobs.closed {
            return false;
        }
        jobs.tasks.retain(|t| !t.is_finished());
        jobs.tasks.push(task());
        true
    }

    /// Starts no more jobs, and hands back the ones still running (for a stopping daemon to
    /// wait for within its grace).
    pub fn close(&self) -> Vec<JoinHandle<()>> {
        let mut jobs = self.0.lock().expect("not poisoned");
        jobs.closed = true;
        std::mem::take(&mut jobs.tasks)
            .into_iter()
            .filter(|t| !t.is_finished())
            .collect()
    }
}

/// Carries out every queued job on the current `LocalSet` until the launchers are dropped,
/// each within `bounds` when the daemon gives them; a job queued after `running` closed is
/// not started.
pub async fn run(
    mut queue: mpsc::UnboundedReceiver<Job>,
    contexts: Contexts,
    bounds: Option<Bounds>,
    running: Running,
) {
    while let Some(job) = queue.recv().await {
        let ctx = contexts();
        let bound = bounds.as_ref().map(|b| ((b.limits)(), b.stop.clone()));
        let job = match (job, &bound) {
            (Job::Backup(request), Some((limits, stop))) => Job::Backup(BackupRequest {
                limits: Some(limits.clone()),
                stop: Some(stop.clone()),
                ..request
            }),
            (other, _) => other,
        };
        let started = running.add(|| {
            tokio::task::spawn_local(async move {
                // A backup takes its slots itself (per database, through its request).
                let _slots = match (&job, bound) {
                    (Job::Verify { source, .. }, Some((limits, stop))) => tokio::select! {
                        slots = limits.acquire(source) => Some(slots),
                        _ = stop.cancelled() => {
                            tracing::warn!("a verification of {source} from the web did not start: dbward stopped first");
                            return;
                        }
                    },
                    _ => None,
                };
                match actions::carry_out(ctx, &job).await {
                    Ok(lines) => {
                        for line in lines {
                            tracing::info!("from the web: {line}");
                        }
                    }
                    Err(e) => tracing::error!("a job from the web did not run: {e:#}"),
                }
            })
        });
        if !started {
            tracing::warn!("a job from the web was not started: dbward is stopping");
        }
    }
}
