//! `dbward daemon`: runs every schedule's backups and drills, audit and prune on their
//! crons, and judges health every `status_every`, in one foreground process that logs to
//! stderr. SIGHUP reloads the config (an invalid one is logged and the running one kept);
//! SIGTERM and SIGINT stop new work, let running jobs finish within `grace`, then interrupt
//! them. With `[http]` or `--listen` it serves the web dashboard, the API, `/metrics`,
//! `/healthz` and `/readyz`.

mod binlog;
mod http;
mod metrics;
mod scheduler;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DaemonConfig};
use crate::engine::limits::JobLimits;
use crate::engine::{Context, UsageError};
use crate::web;
use metrics::{Counters, SchedulerView};
use scheduler::Scheduler;

/// How often the scheduler looks for due fires.
const TICK: Duration = Duration::from_millis(200);
/// How long interrupted jobs get to record themselves and clean up.
const INTERRUPT_WAIT: Duration = Duration::from_secs(60);

/// How `dbward daemon` was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file, read again on SIGHUP.
    pub config_file: PathBuf,
    /// `--listen`: overrides `[http] listen`.
    pub listen: Option<SocketAddr>,
}

/// What the scheduler, its tasks and the HTTP listener share.
#[derive(Debug)]
pub struct Shared {
    ctx: RwLock<Arc<Context>>,
    limits: RwLock<Arc<JobLimits>>,
    counters: Counters,
    view: Mutex<SchedulerView>,
    /// Cancelled when the grace after SIGTERM has passed: running jobs are interrupted.
    stop: CancellationToken,
    /// Cancelled at SIGTERM: nothing new starts; queued backups end without a record and
    /// leave their fires to the rest of the fleet.
    draining: CancellationToken,
}

impl Shared {
    /// The context of the config in force.
    fn context(&self) -> Arc<Context> {
        self.ctx.read().expect("not poisoned").clone()
    }

    fn limits(&self) -> Arc<JobLimits> {
        self.limits.read().expect("not poisoned").clone()
    }

    fn view(&self) -> SchedulerView {
        self.view.lock().expect("not poisoned").clone()
    }

    fn stopping(&self) -> bool {
        self.draining.is_cancelled()
    }
}

/// Refuses to start as root (unless `allow_root`) or with a state directory or key file
/// that group or others may open: the daemon holds the keys to every backup for a long time.
pub fn preflight(config: &Config, allow_root: bool) -> Result<(), UsageError> {
    if nix::unistd::geteuid().is_root() && !allow_root {
        return Err(UsageError(
            "refusing to run the daemon as root: run it as a dedicated user (see contrib/systemd/dbward.service), or pass --allow-root".into(),
        ));
    }
    let mut private: Vec<(&Path, &str)> = vec![
        (&config.state_dir, "700"),
        (&config.integrity.signing_key, "600"),
    ];
    if let Some(identity) = config
        .encryption
        .as_ref()
        .and_then(|e| e.identity_file.as_ref())
    {
        private.push((identity, "600"));
    }
    let servers = config.sources.iter().map(|s| &s.connection).chain(
        [
            &config.drill.postgres,
            &config.drill.mysql,
            &config.drill.mariadb,
        ]
        .into_iter()
        .flatten(),
    );
    for connection in servers {
        if let crate::config::Connection::Server { tls, .. } = connection
            && let Some(client) = &tls.client
        {
            private.push((&client.key, "600"));
        }
    }
    for d in &config.destinations {
        if let crate::config::DestinationKind::Sftp(sftp) = &d.kind
            && let Some(key) = &sftp.key_file
        {
            private.push((key, "600"));
        }
    }
    for (path, mode) in private {
        use std::os::unix::fs::PermissionsExt;
        // What does not exist yet is created private (state_dir 0700, the signing key 0600).
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let bits = meta.permissions().mode() & 0o777;
        if bits & 0o077 != 0 {
            return Err(UsageError(format!(
                "refusing to start: {} is open to group or others (mode {bits:o}); run `chmod {mode} {}`",
                path.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// Makes the context's agent this daemon: its kind and `[daemon] labels`.
pub fn as_daemon(ctx: &mut Context) {
    ctx.agent.kind = dbward_catalog::AgentKind::Daemon;
    ctx.agent.labels = ctx.config.daemon.labels.clone();
}

/// Runs until SIGTERM or SIGINT; returns the exit code.
pub async fn run(ctx: Arc<Context>, options: Options) -> anyhow::Result<u8> {
    tokio::task::LocalSet::new()
        .run_until(serve(ctx, options))
        .await
}

async fn serve(ctx: Arc<Context>, options: Options) -> anyhow::Result<u8> {
    let now = Utc::now();
    let config = &ctx.config;
    let shared = Arc::new(Shared {
        limits: RwLock::new(Arc::new(limits_of(&config.daemon))),
        ctx: RwLock::new(ctx.clone()),
        counters: Counters::default(),
        view: Mutex::new(SchedulerView {
            started_at: now,
            last_tick: now,
            next_fires: Default::default(),
            running: 0,
        }),
        stop: CancellationToken::new(),
        draining: CancellationToken::new(),
    });
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let http_stop = CancellationToken::new();
    let listen = options.listen.or(config.http.as_ref().map(|h| h.listen));
    let web_jobs = web::launch::Running::default();
    // The sender of the certificate in force, for SIGHUP to swap in a renewed one.
    let mut tls_in_force = None;
    let http = match listen {
        Some(listen) => {
            let tls = web::tls_of(&ctx)?.map(web::listen::in_force);
            let web = web_router(&shared, listen, tls.is_some(), &web_jobs).await?;
            let tls = tls.map(|(sender, config)| {
                tls_in_force = Some(sender);
                config
            });
            Some(http::serve(listen, shared.clone(), web, tls, http_stop.clone()).await?)
        }
        None => None,
    };
    ctx.catalog.register_agent(&ctx.agent).await?;
    let mut scheduler = Scheduler::start(shared.clone(), &ctx, now).await;
    let binlog_archiver = tokio::spawn(binlog::archive(shared.clone()));
    tracing::info!(
        schedules = config.schedules.len(),
        max_jobs = config.daemon.max_jobs,
        max_jobs_per_source = config.daemon.max_jobs_per_source,
        max_jobs_per_destination = config.daemon.max_jobs_per_destination,
        "daemon started (pid {})",
        std::process::id()
    );
    let mut beats = tokio::time::interval(ctx.config.daemon.heartbeat);
    drop(ctx);
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let signal = loop {
        tokio::select! {
            _ = ticks.tick() => {
                let now = Utc::now();
                scheduler.tick(now);
                let mut view = shared.view.lock().expect("not poisoned");
                view.last_tick = now;
                view.next_fires = scheduler.next_fires();
                view.running = scheduler.running();
            }
            _ = beats.tick() => {
                let ctx = shared.context();
                if let Err(e) = ctx.catalog.heartbeat(&ctx.agent.agent.id).await {
                    tracing::warn!("cannot beat the heartbeat in the catalog: {e}");
                }
                scheduler.take_over().await;
            }
            _ = hangup.recv() => {
                match reload(&options.config_file, &shared).await {
                    Ok(reloaded) => {
                        scheduler.configure(&reloaded.config, Utc::now());
                        tracing::info!(schedules = reloaded.config.schedules.len(), "reloaded {}", options.config_file.display());
                    }
                    Err(e) => tracing::error!("not reloading {}: {e:#}; the running config stays in force", options.config_file.display()),
                }
                if listen.is_some() {
                    reload_tls(&shared.context(), tls_in_force.as_ref());
                }
            }
            _ = terminate.recv() => break "SIGTERM",
            _ = interrupt.recv() => break "SIGINT",
        }
    };
    shared.draining.cancel();
    binlog_archiver.abort();
    let grace = shared.context().config.daemon.grace;
    let mut runs = scheduler.take_running();
    runs.extend(web_jobs.close());
    runs.retain(|r| !r.is_finished());
    tracing::info!(
        "{signal}: starting no new work; waiting up to {}s for {} running task(s)",
        grace.as_secs(),
        runs.len()
    );
    // Beating on while the running tasks finish: a silent daemon's fires are taken over,
    // and these are still running.
    if tokio::time::timeout(grace, beating(&shared, wait_all(&mut runs)))
        .await
        .is_err()
    {
        tracing::warn!(
            "the grace of {}s passed; interrupting {} running task(s)",
            grace.as_secs(),
            runs.len()
        );
        shared.stop.cancel();
        if tokio::time::timeout(INTERRUPT_WAIT, beating(&shared, wait_all(&mut runs)))
            .await
            .is_err()
        {
            tracing::error!("{} task(s) did not stop; exiting anyway", runs.len());
        }
    }
    http_stop.cancel();
    if let Some(http) = http {
        let _ = http.await;
    }
    tracing::info!("daemon stopped");
    Ok(0)
}

/// The dashboard and API for the listener (refused on a non-loopback address until a user
/// or token exists), and the local task that starts the jobs they ask for: each takes job
/// slots like a scheduled one, is kept in `jobs` for the stop to wait for within the grace,
/// and is interrupted with the daemon.
async fn web_router(
    shared: &Arc<Shared>,
    listen: SocketAddr,
    tls: bool,
    jobs: &web::launch::Running,
) -> anyhow::Result<axum::Router> {
    let ctx = shared.context();
    web::refuse_unprotected(listen, &ctx).await?;
    let trust_proxy = ctx.config.http.as_ref().is_some_and(|h| h.trust_proxy);
    let contexts: web::Contexts = {
        let shared = shared.clone();
        Arc::new(move || shared.context())
    };
    let bounds = web::launch::Bounds {
        limits: {
            let shared = shared.clone();
            Box::new(move || shared.limits())
        },
        stop: shared.stop.clone(),
    };
    let (launcher, queue) = web::launch::launcher(jobs.clone());
    tokio::task::spawn_local(web::launch::run(
        queue,
        contexts.clone(),
        Some(bounds),
        jobs.clone(),
    ));
    Ok(web::router(Arc::new(web::Web::new(
        contexts,
        launcher,
        trust_proxy,
        tls,
    ))))
}

/// The job limits `[daemon]` sets.
fn limits_of(daemon: &DaemonConfig) -> JobLimits {
    JobLimits::new(
        daemon.max_jobs,
        daemon.max_jobs_per_source,
        daemon.max_jobs_per_destination,
    )
}

/// Waits for every run, dropping each as it ends (so a timeout leaves the rest).
/// Runs `work` while beating the agent's heartbeat in the catalog.
async fn beating<T>(shared: &Shared, work: impl std::future::Future<Output = T>) -> T {
    let ctx = shared.context();
    let mut beats = tokio::time::interval(ctx.config.daemon.heartbeat);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = beats.tick() => {
                if let Err(e) = ctx.catalog.heartbeat(&ctx.agent.agent.id).await {
                    tracing::warn!("cannot beat the heartbeat in the catalog: {e}");
                }
            }
        }
    }
}

async fn wait_all(runs: &mut Vec<JoinHandle<()>>) {
    while let Some(run) = runs.last_mut() {
        if let Err(e) = run.await {
            tracing::error!("a task stopped unexpectedly: {e}");
        }
        runs.pop();
    }
}

/// Reads and validates the config file again and puts it in force for the runs that start
/// from now on; runs going on keep the context they started with.
/// Reads `[http] tls_cert`/`tls_key` of the config in force again (SIGHUP) and puts them in
/// force for new connections; an unreadable pair is logged and the certificate in force
/// stays. Turning TLS on or off takes a restart: the listener keeps its scheme.
fn reload_tls(
    ctx: &Context,
    in_force: Option<&tokio::sync::watch::Sender<Arc<rustls::ServerConfig>>>,
) {
    let files = ctx.config.http.as_ref().and_then(|h| h.tls.as_ref());
    match (in_force, files) {
        (Some(in_force), Some(files)) => match web::listen::reload(files, in_force) {
            Ok(()) => tracing::info!(
                "reloaded the TLS certificate {} and key {}: new connections get it",
                files.cert.display(),
                files.key.display()
            ),
            Err(e) => tracing::error!(
                "not reloading the TLS certificate: {e}; the certificate in force stays"
            ),
        },
        (None, None) => {}
        _ => tracing::warn!(
            "[http] tls_cert/tls_key were added or removed: the listener keeps its scheme until the daemon restarts"
        ),
    }
}

async fn reload(file: &Path, shared: &Shared) -> anyhow::Result<Arc<Context>> {
    let config = Config::load(file)?;
    config.require_secrets()?;
    preflight(&config, true)?;
    let mut ctx = shared.context().reload(config)?;
    as_daemon(&mut ctx);
    ctx.catalog.register_agent(&ctx.agent).await?;
    let ctx = Arc::new(ctx);
    let old = shared.context();
    let (new, before) = (&ctx.config.daemon, &old.config.daemon);
    let bounds = |d: &DaemonConfig| {
        (
            d.max_jobs,
            d.max_jobs_per_source,
            d.max_jobs_per_destination,
        )
    };
    if bounds(new) != bounds(before) {
        // Jobs running keep their slots of the old limits; new jobs take the new ones.
        *shared.limits.write().expect("not poisoned") = Arc::new(limits_of(new));
    }
    *shared.ctx.write().expect("not poisoned") = ctx.clone();
    Ok(ctx)
}
