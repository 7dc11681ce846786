//! The scheduler: one timer per task (each schedule's backups and drills, audit, prune),
//! each looked at on every tick. A due fire (`policy::schedule`) starts its task after the
//! fire's jitter, unless the task's previous run is still going: then the fire is skipped
//! and logged, so runs never pile up or overlap. Health is judged every `status_every`.
//! Runs are local tasks of the daemon's `LocalSet`: the engine's run futures are not
//! provably `Send` to the compiler (higher-ranked lifetimes), and their own jobs run on
//! the runtime's threads anyway.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;
use tokio::task::JoinHandle;

use super::Shared;
use crate::catalog::{Fire, ListFilter};
use crate::config::{Config, VerifyLevel};
use crate::engine::backup::{self, BackupRequest};
use crate::engine::observe::Quiet;
use crate::engine::{Context, UsageError, alerts, audit, prune, verify};
use crate::policy::schedule;

/// A fire time in logs: RFC 3339, UTC, to the second.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What a timer runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Task {
    Backup(String),
    Drill(String),
    Audit,
    Prune,
}

impl Task {
    fn kind(&self) -> &'static str {
        match self {
            Task::Backup(_) => "backup",
            Task::Drill(_) => "drill",
            Task::Audit => "audit",
            Task::Prune => "prune",
        }
    }

    fn schedule(&self) -> &str {
        match self {
            Task::Backup(s) | Task::Drill(s) => s,
            Task::Audit | Task::Prune => "-",
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Task::Backup(s) => write!(f, "backups of schedule {s}"),
            Task::Drill(s) => write!(f, "drills of schedule {s}"),
            Task::Audit => f.write_str("audit"),
            Task::Prune => f.write_str("prune"),
        }
    }
}

/// A fire waiting for its jitter to pass.
#[derive(Debug, Clone, Copy)]
struct Pending {
    fire: DateTime<Utc>,
    start_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Timer {
    cron: Cron,
    tz: Tz,
    /// Every fire up to here was handled (run, skipped or passed over).
    handled: DateTime<Utc>,
    pending: Option<Pending>,
    running: Option<JoinHandle<()>>,
}

/// Every timer, the status evaluation and the tasks they started.
#[derive(Debug)]
pub struct Scheduler {
    shared: Arc<Shared>,
    timers: BTreeMap<Task, Timer>,
    jitter: Duration,
    status_every: Duration,
    next_status: DateTime<Utc>,
    status: Option<JoinHandle<()>>,
    /// Runs of tasks a reload removed: waited for at shutdown.
    detached: Vec<JoinHandle<()>>,
}

/// Claims `fire` of a schedule-wide task (drills, audit, prune) in the catalog, so that one
/// agent sharing the catalog runs each fire once (a daemon restarted after running a fire
/// does not run it again). Backups claim each database's fire themselves, job by job
/// ([`BackupRequest::fire`]), so that a fleet shares a schedule's databases.
async fn claim(ctx: &Context, task: &Task, at: DateTime<Utc>) -> anyhow::Result<bool> {
    let fire = Fire {
        kind: task.kind().into(),
        schedule: task.schedule().into(),
        target: String::new(),
        at,
    };
    let claimed = ctx.catalog.claim_fire(&fire, &ctx.agent.agent.id).await?;
    if claimed {
        ctx.catalog.finish_fire(&fire).await?;
    }
    Ok(claimed)
}

impl Scheduler {
    /// The timers of `config`, each with the one fire it missed while no daemon ran (within
    /// `[daemon] catch_up`) queued to run at once.
    pub async fn start(shared: Arc<Shared>, ctx: &Context, now: DateTime<Utc>) -> Scheduler {
        let mut scheduler = Scheduler {
            shared,
            timers: BTreeMap::new(),
            jitter: Duration::zero(),
            status_every: Duration::minutes(5),
            next_status: now,
            status: None,
            detached: Vec::new(),
        };
        scheduler.configure(&ctx.config, now);
        let window = ctx
            .config
            .daemon
            .catch_up
            .map(|w| Duration::from_std(w).unwrap_or(Duration::MAX));
        for (task, timer) in &mut scheduler.timers {
            let last = match last_run(ctx, task).await {
                Ok(last) => last,
                Err(e) => {
                    tracing::warn!("{task}: cannot tell when it last ran ({e:#}); no catch-up");
                    continue;
                }
            };
            if let Some(fire) = schedule::catch_up(&timer.cron, timer.tz, last, now, window) {
                tracing::info!(fire = %stamp(fire), "{task}: catching up the fire missed while no daemon ran");
                timer.pending = Some(Pending {
                    fire,
                    start_at: now,
                });
            }
        }
        scheduler
    }

    /// Sets the timers to `config`'s tasks. A task that stays keeps what it handled and its
    /// running run; a new one counts from `now`; a removed one's run goes on undisturbed.
    pub fn configure(&mut self, config: &Config, now: DateTime<Utc>) {
        let daemon = &config.daemon;
        let mut wanted: Vec<(Task, &Cron, Tz)> = Vec::new();
        for s in &config.schedules {
            match &s.cron {
                Some(cron) => wanted.push((Task::Backup(s.name.clone()), cron, s.timezone)),
                None => tracing::info!(
                    "schedule {} has no cron: the daemon does not back it up",
                    s.name
                ),
            }
            if let Some(drill) = &s.drill {
                wanted.push((Task::Drill(s.name.clone()), drill, s.timezone));
            }
        }
        if let Some(cron) = &daemon.audit {
            wanted.push((Task::Audit, cron, daemon.timezone));
        }
        if let Some(cron) = &daemon.prune {
            wanted.push((Task::Prune, cron, daemon.timezone));
        }
        let mut old = std::mem::take(&mut self.timers);
        for (task, cron, tz) in wanted {
            let timer = match old.remove(&task) {
                Some(mut kept) => {
                    kept.cron = cron.clone();
                    kept.tz = tz;
                    kept
                }
                None => Timer {
                    cron: cron.clone(),
                    tz,
                    handled: now,
                    pending: None,
                    running: None,
                },
            };
            self.timers.insert(task, timer);
        }
        self.detached
            .extend(old.into_values().filter_map(|timer| timer.running));
        self.jitter = Duration::from_std(daemon.jitter).unwrap_or(Duration::MAX);
        let every = Duration::from_std(daemon.status_every).unwrap_or(Duration::MAX);
        self.next_status = self.next_status.min(now + every);
        self.status_every = every;
    }

    /// Starts what is due at `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        for (task, timer) in &mut self.timers {
            if timer.running.as_ref().is_some_and(|r| r.is_finished()) {
                timer.running = None;
            }
            if let Some(due) = schedule::due(&timer.cron, timer.tz, timer.handled, now) {
                timer.handled = due.fire;
                if due.passed_over > 0 {
                    tracing::warn!(
                        fire = %stamp(due.fire),
                        "{task}: {} earlier fire(s) passed while the daemon could not run them; running the newest only",
                        due.passed_over
                    );
                }
                if let Some(replaced) = timer.pending {
                    tracing::warn!(fire = %stamp(replaced.fire), "{task}: fire skipped: a newer fire came before its jitter passed");
                    self.shared.counters.skipped(task.kind(), task.schedule());
                }
                let interval =
                    schedule::interval(&timer.cron, timer.tz, due.fire).unwrap_or(Duration::MAX);
                let seed = format!("{}:{}", task.kind(), task.schedule());
                timer.pending = Some(Pending {
                    fire: due.fire,
                    start_at: due.fire + schedule::jitter(&seed, due.fire, self.jitter, interval),
                });
            }
            let Some(pending) = timer.pending.filter(|p| p.start_at <= now) else {
                continue;
            };
            timer.pending = None;
            if timer.running.is_some() {
                tracing::warn!(fire = %stamp(pending.fire), "{task}: fire skipped: its previous run is still going");
                self.shared.counters.skipped(task.kind(), task.schedule());
                continue;
            }
            tracing::info!(fire = %stamp(pending.fire), "{task}: starting");
            timer.running = Some(tokio::task::spawn_local(run_task(
                self.shared.clone(),
                task.clone(),
                pending.fire,
            )));
        }
        if self.status.as_ref().is_some_and(|s| s.is_finished()) {
            self.status = None;
        }
        if now >= self.next_status {
            self.next_status = now + self.status_every;
            if self.status.is_none() {
                self.status = Some(tokio::task::spawn_local(judge_health(self.shared.clone())));
            }
        }
    }

    /// Runs the backups a dead daemon claimed and did not finish, when this agent serves
    /// their source: each is taken over by exactly one agent, once the dead one has been
    /// silent long enough that its leases expired.
    pub async fn take_over(&mut self) {
        let ctx = self.shared.context();
        let daemon = &ctx.config.daemon;
        let silence =
            crate::policy::fleet::silence_before_take_over(daemon.heartbeat, ctx.config.lease_ttl);
        let orphans = match ctx.catalog.now().await {
            Ok(now) => ctx.catalog.orphaned_fires("backup", now - silence).await,
            Err(e) => Err(e),
        };
        let orphans = match orphans {
            Ok(orphans) => orphans,
            Err(e) => {
                tracing::warn!("cannot look for work of dead agents: {e}");
                return;
            }
        };
        for (fire, dead) in orphans {
            let Some(job) = job_of(&ctx.config, &fire) else {
                continue;
            };
            let served = ctx
                .config
                .source(&job.0)
                .is_some_and(|s| s.served_by(&daemon.labels));
            if !served {
                continue;
            }
            match ctx
                .catalog
                .take_over_fire(&fire, &dead, &ctx.agent.agent.id)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!("cannot take over {}: {e}", fire.target);
                    continue;
                }
            }
            tracing::warn!(fire = %stamp(fire.at), dead_agent = %dead, "taking over the backup of {}/{} from a dead agent", job.0, job.1);
            let shared = self.shared.clone();
            let ctx = ctx.clone();
            self.detached.push(tokio::task::spawn_local(async move {
                let ok = run_backup(&shared, &ctx, &fire.schedule, fire.at, Some(job)).await;
                shared.counters.run("backup", ok);
            }));
        }
        self.detached.retain(|run| !run.is_finished());
    }

    /// The next fire of each schedule's backups.
    pub fn next_fires(&self) -> BTreeMap<String, Option<DateTime<Utc>>> {
        self.timers
            .iter()
            .filter_map(|(task, timer)| match task {
                Task::Backup(name) => Some((
                    name.clone(),
                    timer
                        .pending
                        .map(|p| p.start_at)
                        .or_else(|| schedule::next_fire(&timer.cron, timer.tz, timer.handled)),
                )),
                _ => None,
            })
            .collect()
    }

    /// How many runs are going now.
    pub fn running(&self) -> usize {
        self.timers
            .values()
            .filter_map(|t| t.running.as_ref())
            .chain(&self.status)
            .chain(&self.detached)
            .filter(|r| !r.is_finished())
            .count()
    }

    /// Every run still going, for shutdown; the scheduler starts nothing after this.
    pub fn take_running(&mut self) -> Vec<JoinHandle<()>> {
        let mut runs: Vec<JoinHandle<()>> = self
            .timers
            .values_mut()
            .filter_map(|t| t.running.take())
            .collect();
        runs.extend(self.status.take());
        runs.append(&mut self.detached);
        self.timers.clear();
        runs
    }
}

/// The source and database a backup fire of a schedule of `config` names, found by
/// matching the escaped target against the schedule's sources.
fn job_of(config: &Config, fire: &Fire) -> Option<(String, String)> {
    let schedule = config.schedules.iter().find(|s| s.name == fire.schedule)?;
    schedule.sources.iter().find_map(|source| {
        let prefix = format!("{}/", dbward_core::layout::escape_segment(source));
        let escaped = fire.target.strip_prefix(&prefix)?;
        Some((
            source.clone(),
            dbward_core::layout::unescape_segment(escaped)?,
        ))
    })
}

/// When `task` last ran, as the catalog tells: the newest backup recorded under the
/// schedule, or the newest drill of its sources' databases. Audit and prune leave no trace
/// there, so they are not caught up.
async fn last_run(ctx: &Context, task: &Task) -> anyhow::Result<Option<DateTime<Utc>>> {
    let Some(schedule) = ctx
        .config
        .schedules
        .iter()
        .find(|s| s.name == task.schedule())
    else {
        // Audit and prune: run at their next fire.
        return Ok(Some(Utc::now()));
    };
    let mut newest: Option<DateTime<Utc>> = None;
    for source in &schedule.sources {
        match task {
            Task::Backup(_) => {
                let filter = ListFilter {
                    source: Some(source.clone()),
                    limit: Some(200),
                    ..ListFilter::default()
                };
                let seen = ctx.catalog.list(&filter).await?;
                let at = seen
                    .iter()
                    .filter(|b| b.schedule.as_deref() == Some(schedule.name.as_str()))
                    .map(|b| b.started_at)
                    .max();
                newest = newest.max(at);
            }
            _ => {
                for (s, database) in ctx.catalog.databases().await? {
                    if &s == source {
                        let proofs = ctx.catalog.proofs(&s, &database).await?;
                        newest = newest.max(proofs.last_drill.map(|d| d.at));
                    }
                }
            }
        }
    }
    Ok(newest)
}

/// One run of `task` for `fire`, on the config current when it starts.
async fn run_task(shared: Arc<Shared>, task: Task, fire: DateTime<Utc>) {
    let ctx = shared.context();
    if let Task::Backup(name) = &task {
        let ok = run_backup(&shared, &ctx, name, fire, None).await;
        shared.counters.run(task.kind(), ok);
        tracing::info!(fire = %stamp(fire), "{task}: done{}", if ok { "" } else { ", with failures (see above)" });
        return;
    }
    match claim(&ctx, &task, fire).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(fire = %stamp(fire), "{task}: not run: this fire was claimed already (by this daemon before a restart, or another one)");
            return;
        }
        Err(e) => {
            tracing::error!(fire = %stamp(fire), "{task}: not run: the fire cannot be claimed in the catalog: {e:#}");
            shared.counters.run(task.kind(), false);
            return;
        }
    }
    let ok = match &task {
        Task::Backup(_) => unreachable!("backups claim their fires job by job"),
        Task::Drill(name) => run_drills(&shared, &ctx, name).await,
        Task::Audit => run_audit(&ctx).await,
        Task::Prune => run_prune(&ctx).await,
    };
    shared.counters.run(task.kind(), ok);
    if ok {
        tracing::info!(fire = %stamp(fire), "{task}: done");
    } else {
        tracing::error!(fire = %stamp(fire), "{task}: done, with failures (see above)");
    }
    if matches!(task, Task::Drill(_) | Task::Audit) {
        // The run changed health: tell the alerts now rather than at the next evaluation
        // (a backup run tells them itself).
        tell_alerts(&ctx).await;
    }
}

/// The backups of `schedule` for `fire`: every database this agent serves, each run only if
/// this agent claims its fire; `only` narrows it to one source and database (a fire taken
/// over from a dead agent).
async fn run_backup(
    shared: &Shared,
    ctx: &Arc<Context>,
    schedule: &str,
    fire: DateTime<Utc>,
    only: Option<(String, String)>,
) -> bool {
    let (sources, databases) = match only {
        Some((source, database)) => (vec![source], vec![database]),
        None => (Vec::new(), Vec::new()),
    };
    let request = BackupRequest {
        schedule: Some(schedule.to_string()),
        sources,
        databases,
        parallelism: Some(ctx.config.daemon.max_jobs),
        limits: Some(shared.limits()),
        stop: Some(shared.stop.clone()),
        drain: Some(shared.draining.clone()),
        fire: Some(fire),
        agent_labels: Some(ctx.config.daemon.labels.clone()),
    };
    match backup::run_and_alert(ctx.clone(), &request, &Quiet).await {
        Ok((report, alerts)) => {
            for error in &alerts.errors {
                tracing::error!("{error}");
            }
            for b in &report.backups {
                let took = b
                    .finished_at
                    .filter(|_| b.status != crate::catalog::BackupStatus::Skipped)
                    .map(|end| (end - b.started_at).num_milliseconds() as f64 / 1000.0);
                shared.counters.backup(b.status, took);
            }
            for warning in &report.warnings {
                tracing::warn!("schedule {schedule}: {warning}");
            }
            report.exit_code() == 0
        }
        Err(e) => {
            tracing::error!("schedule {schedule}: the backup run failed: {e:#}");
            false
        }
    }
}

/// `verify --latest --level drill` of each source of the schedule (`verify --pitr` for a
/// `pitr = true` source), one source at a time, each holding a slot of its source (a drill
/// without a `[drill]` server restores there).
async fn run_drills(shared: &Shared, ctx: &Context, schedule: &str) -> bool {
    let Some(config) = ctx.config.schedules.iter().find(|s| s.name == schedule) else {
        return true;
    };
    let mut ok = true;
    for source in &config.sources {
        let limits = shared.limits();
        let _slots = tokio::select! {
            slots = limits.acquire(source) => slots,
            _ = shared.stop.cancelled() => return false,
        };
        let pitr = ctx.config.source(source).is_some_and(|s| s.pitr);
        let done = if pitr {
            // A base backup cannot be restored into a database: its drill is the PITR drill.
            crate::engine::pitr_drill::run(ctx, source, None, &Quiet)
                .await
                .map(|result| vec![result])
        } else {
            let selection = verify::Selection::Latest {
                source: Some(source.clone()),
                databases: Vec::new(),
            };
            verify::run(ctx, &selection, VerifyLevel::Drill, None, &Quiet).await
        };
        match done {
            Ok(results) => ok &= results.iter().all(|r| r.ok),
            Err(e) if e.downcast_ref::<UsageError>().is_some() => {
                tracing::info!("schedule {schedule}: no drill of source {source}: {e}");
            }
            Err(e) => {
                tracing::error!("schedule {schedule}: drills of source {source} failed: {e:#}");
                ok = false;
            }
        }
    }
    ok
}

async fn run_audit(ctx: &Context) -> bool {
    match audit::run(ctx, None).await {
        Ok(audits) => {
            for a in &audits {
                tracing::info!(
                    destination = %a.destination,
                    backups = a.backups,
                    missing = a.missing.len(),
                    broken = a.broken.len(),
                    untrusted = a.untrusted.len(),
                    unknown = a.unknown.len(),
                    leftovers = a.leftovers.len(),
                    "audit of {}{}",
                    a.destination,
                    a.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
            !audits.iter().any(|a| a.problems())
        }
        Err(e) => {
            tracing::error!("audit failed: {e:#}");
            false
        }
    }
}

async fn run_prune(ctx: &Context) -> bool {
    match prune::run(ctx, false).await {
        Ok(report) => {
            tracing::info!(
                removed = report.removed.len(),
                kept = report.kept,
                leftovers = report.leftovers.len(),
                "prune removed {} backup(s) and {} leftover(s)",
                report.removed.len(),
                report.leftovers.len()
            );
            for error in &report.errors {
                tracing::error!("prune: {error}");
            }
            report.errors.is_empty()
        }
        Err(e) => {
            tracing::error!("prune failed: {e:#}");
            false
        }
    }
}

/// The periodic health judgement: tells the alerts what changed, so that a schedule that
/// silently stopped (or a daemon whose heartbeat stops) is noticed.
async fn judge_health(shared: Arc<Shared>) {
    let ok = tell_alerts(&shared.context()).await;
    shared.counters.run("status", ok);
}

async fn tell_alerts(ctx: &Context) -> bool {
    match alerts::after_command(ctx).await {
        Ok(report) => {
            for error in &report.errors {
                tracing::error!("{error}");
            }
            report.errors.is_empty()
        }
        Err(e) => {
            tracing::error!("health could not be judged: {e:#}");
            false
        }
    }
}
