//! The backup use case: select databases, then for each one take its lock, dump it through the
//! pipeline to every destination, judge it by the gate (docs/cli.md), commit each copy with its
//! manifest, and record the outcome. A failure anywhere leaves nothing committed, and one
//! job's failure — even an error outside its attempt, such as its lock or a catalog write —
//! is that job's `failed` backup: its siblings go on and the run is finished.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dbward_core::manifest::Manifest;
use tokio_util::sync::CancellationToken;

use super::lease::{self, ClaimError};
use super::limits::JobLimits;
use super::observe::Observer;
use super::verify::{self, VerifyResult};
use super::{Context, UsageError};
use crate::catalog::{
    BackupEnd, BackupRecord, BackupStart, BackupStatus, CopyRecord, Fire, RunStatus, SourceBinding,
};
use crate::config::{ScheduleConfig, VerifyLevel};
use crate::policy::planning::{self, Filters, Job, Plan};

mod attempt;

use attempt::attempt;
pub use attempt::read_back_sha256;

/// What `dbward backup` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct BackupRequest {
    pub schedule: Option<String>,
    pub sources: Vec<String>,
    pub databases: Vec<String>,
    pub parallelism: Option<usize>,
    /// Slots shared with other runs (the daemon's `max_jobs`, `max_jobs_per_source`,
    /// `max_jobs_per_destination`).
    pub limits: Option<Arc<JobLimits>>,
    /// Cancelled to interrupt the run: jobs not yet judged stop, abort their uploads and
    /// kill their dump, and are recorded `failed` ([`INTERRUPTED`]).
    pub stop: Option<CancellationToken>,
    /// Cancelled when a daemon stops taking work (SIGTERM): the jobs of a fire that have not
    /// started end without a record, unclaimed, for another agent to run; running ones go
    /// on until `stop`.
    pub drain: Option<CancellationToken>,
    /// A daemon's scheduled fire: each job first claims its (schedule, source, database)
    /// fire in the catalog and runs only if this agent got it, so that a fleet runs each
    /// once; a job that ran (not skipped) finishes its fire.
    pub fire: Option<DateTime<Utc>>,
    /// A daemon's labels: only sources it serves (`agents`) are backed up.
    pub agent_labels: Option<Vec<String>>,
}

/// The fire of `job` at `at`: what a fleet of daemons claims once.
pub fn job_fire(job: &Job, at: DateTime<Utc>) -> Fire {
    Fire {
        kind: "backup".into(),
        schedule: job.schedule.clone().unwrap_or_default(),
        target: fire_target(&job.source, &job.database),
        at,
    }
}

/// A fire's target for one database: `<source>/<database>`, each escaped like object keys.
pub fn fire_target(source: &str, database: &str) -> String {
    lease::backup_job(source, database)
        .trim_start_matches("backup/")
        .to_string()
}

/// How often a daemon's fire looks again at a lease another run holds.
const LEASE_POLL_MIN: std::time::Duration = std::time::Duration::from_secs(1);
const LEASE_POLL_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// The reason of a backup interrupted through [`BackupRequest::stop`].
pub const INTERRUPTED: &str = "interrupted: dbward was stopped before this backup finished";

/// The outcome of a run: one record per database, newest first, and run-level warnings.
#[derive(Debug)]
pub struct RunReport {
    pub run_id: String,
    pub backups: Vec<BackupRecord>,
    /// The schedules' `verify` of the backups just taken.
    pub verifications: Vec<VerifyResult>,
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Exit code (docs/cli.md): 1 when anything failed (a backup, or its verification), 3
    /// when a job was locked, else 0.
    pub fn exit_code(&self) -> u8 {
        let any = |s: BackupStatus| self.backups.iter().any(|b| b.status == s);
        let unverified = self.verifications.iter().any(|v| !v.ok);
        if any(BackupStatus::Failed)
            || any(BackupStatus::Degraded)
            || unverified
            || self.backups.is_empty()
        {
            1
        } else if any(BackupStatus::Skipped) {
            3
        } else {
            0
        }
    }
}

/// Runs a backup of everything `request` selects, then tells the alerts what changed: the
/// use case every front end (CLI, daemon) calls.
pub async fn run_and_alert(
    ctx: Arc<Context>,
    request: &BackupRequest,
    progress: &dyn Observer,
) -> anyhow::Result<(RunReport, super::alerts::AlertReport)> {
    let report = run(ctx.clone(), request, progress).await?;
    let alerts = super::alerts::after_recorded_work(&ctx).await;
    Ok((report, alerts))
}

/// Runs a backup of everything `request` selects.
pub async fn run(
    ctx: Arc<Context>,
    request: &BackupRequest,
    progress: &dyn Observer,
) -> anyhow::Result<RunReport> {
    let schedules = chosen_schedules(&ctx, request)?;
    for name in &request.sources {
        if ctx.config.source(name).is_none() {
            return Err(UsageError(format!(
                "no [[source]] named {name:?} in {}",
                ctx.config.file.display()
            ))
            .into());
        }
    }
    let run_id = ulid::Ulid::new().to_string();
    let run_started = Utc::now();
    let schedule_label = request.schedule.clone();
    ctx.catalog.register_agent(&ctx.agent).await?;
    ctx.catalog
        .start_run(
            &run_id,
            schedule_label.as_deref(),
            &ctx.agent.agent,
            run_started,
        )
        .await?;
    // Schedules are first seen by a command that writes anyway, so that `status` stays a
    // read (see `status::first_seen`).
    let names: Vec<&str> = ctx
        .config
        .schedules
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    ctx.catalog.see_schedules(&names, run_started).await?;
    for dest in ctx.destinations.values() {
        match dest.clean_staging().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                destination = dest.name(),
                removed = n,
                "cleaned leftovers of an earlier run"
            ),
            Err(e) => tracing::warn!("{e}"),
        }
    }

    let filters = Filters {
        sources: &request.sources,
        databases: &request.databases,
        agent_labels: request.agent_labels.as_deref(),
    };
    let mut listed = BTreeMap::new();
    for name in planning::sources_to_list(&schedules, |name| ctx.config.source(name), &filters) {
        let config = ctx.config.source(name).expect("validated");
        let found = match bind_source(&ctx, config).await {
            Ok(()) => ctx.sources[name]
                .list_databases()
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        listed.insert(name.to_string(), found);
    }
    let Plan {
        jobs,
        unlisted,
        warnings,
        notes,
    } = planning::plan(
        &schedules,
        |name| ctx.config.source(name),
        &filters,
        &listed,
    );
    for note in &notes {
        tracing::info!("{note}");
    }
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let mut records = Vec::new();
    for missed in unlisted {
        let source = &ctx.sources[&missed.source];
        let start = BackupStart {
            id: &ulid::Ulid::new().to_string(),
            run_id: &run_id,
            schedule: Some(&missed.schedule),
            source: source.name(),
            engine: source.engine().as_str(),
            database: &missed.database,
            started_at: Utc::now(),
            agent: &ctx.agent.agent,
        };
        records.push(record_failure(&ctx, &start, missed.reason).await);
    }

    let verify_levels: HashMap<(String, String), VerifyLevel> = jobs
        .iter()
        .filter_map(|j| Some(((j.source.clone(), j.database.clone()), j.verify?)))
        .collect();
    let parallelism = request.parallelism.unwrap_or(ctx.config.parallelism).max(1);
    let permits = Arc::new(tokio::sync::Semaphore::new(parallelism));
    let mut tasks = tokio::task::JoinSet::new();
    // What each task backs up, to record a task that ends without a record (a panic).
    let mut running = HashMap::new();
    for job in jobs {
        let ctx = ctx.clone();
        let bar = progress.job(&format!("{}/{}", job.source, job.database));
        let run_id = run_id.clone();
        // Taken here, not inside the task, so jobs start in their (sorted) order.
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let (id, started_at) = (ulid::Ulid::new().to_string(), Utc::now());
        let task_job = job.clone();
        let task_id = id.clone();
        let limits = request.limits.clone();
        let stop = request.stop.clone().unwrap_or_default();
        let drain = request.drain.clone().unwrap_or_default();
        let fire = request.fire.map(|at| job_fire(&job, at));
        let handle = tasks.spawn(async move {
            let _permit = permit;
            let slots = match &limits {
                Some(limits) => until_stopped(
                    &stop,
                    until_stopped(
                        &drain,
                        limits.acquire_job(&task_job.source, &task_job.destinations),
                    ),
                )
                .await
                .flatten()
                .map(Some),
                None => Some(None),
            };
            if fire.is_some() && (slots.is_none() || drain.is_cancelled()) {
                // Never started and never claimed: the fleet runs this fire.
                tracing::info!(source = %task_job.source, database = %task_job.database, "stopping: not starting this backup; another agent may run its fire");
                bar.done();
                return None;
            }
            // Claimed once this agent has room for the job, so that a busy agent leaves it
            // to the others of the fleet.
            if let (Some(fire), Some(_)) = (&fire, &slots) {
                match ctx.catalog.claim_fire(fire, &ctx.agent.agent.id).await {
                    Ok(true) => {}
                    Ok(false) => {
                        bar.done();
                        return None;
                    }
                    Err(e) => {
                        let start = job_start(&ctx, &run_id, &task_job, &task_id, started_at);
                        let reason = format!("cannot claim this fire in the catalog: {e}");
                        return Some(record_failure(&ctx, &start, reason).await);
                    }
                }
            }
            // Counted from when the job got its slots, not from when it was queued.
            let started_at = if limits.is_some() {
                Utc::now()
            } else {
                started_at
            };
            let record = match slots {
                Some(_slots) => {
                    let one = Attempt {
                        run_id: &run_id,
                        id: &task_id,
                        started_at,
                        bar: bar.as_ref(),
                        stop: &stop,
                        fire: fire.as_ref(),
                    };
                    back_up_one(&ctx, &task_job, &one).await?
                }
                None => {
                    let start = job_start(&ctx, &run_id, &task_job, &task_id, started_at);
                    record_failure(&ctx, &start, INTERRUPTED.into()).await
                }
            };
            bar.finish(record.status);
            if let Some(fire) = fire.filter(|_| record.status != BackupStatus::Skipped)
                && let Err(e) = ctx.catalog.finish_fire(&fire).await
            {
                tracing::warn!("cannot mark the fire of {} done: {e}", fire.target);
            }
            Some(record)
        });
        running.insert(handle.id(), (id, started_at, job));
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((_, record)) => records.extend(record),
            Err(e) => {
                let (id, started_at, job) = &running[&e.id()];
                let start = job_start(&ctx, &run_id, job, id, *started_at);
                let reason = format!("the backup stopped unexpectedly: {e}");
                records.push(record_failure(&ctx, &start, reason).await);
            }
        }
    }
    records.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    let verifications = verify_new_backups(&ctx, &mut records, &verify_levels, progress).await;

    let mut report = RunReport {
        run_id,
        backups: records,
        verifications,
        warnings,
    };
    let status = match report.exit_code() {
        0 => RunStatus::Succeeded,
        3 => RunStatus::Skipped,
        _ => RunStatus::Failed,
    };
    if let Err(e) = ctx
        .catalog
        .finish_run(&report.run_id, status, Utc::now())
        .await
    {
        let warning = format!(
            "run {} could not be finished in the catalog: {e}",
            report.run_id
        );
        tracing::error!("{warning}");
        report.warnings.push(warning);
    }
    Ok(report)
}

/// Runs the schedules' `verify` on the backups just taken that can be read (succeeded or
/// degraded), and refreshes their records' `verification`. A verification that cannot even
/// start (say, an identity file that cannot be read) is a failed result, not an error.
async fn verify_new_backups(
    ctx: &Context,
    records: &mut [BackupRecord],
    levels: &HashMap<(String, String), VerifyLevel>,
    progress: &dyn Observer,
) -> Vec<VerifyResult> {
    let mut results = Vec::new();
    for record in records.iter_mut() {
        if !matches!(
            record.status,
            BackupStatus::Succeeded | BackupStatus::Degraded
        ) {
            continue;
        }
        let Some(&level) = levels.get(&(record.source.clone(), record.database.clone())) else {
            continue;
        };
        let selection = verify::Selection::One(record.id.clone());
        match verify::run(ctx, &selection, level, None, progress).await {
            Ok(done) => results.extend(done),
            Err(e) => results.push(VerifyResult::not_started(record, level, format!("{e:#}"))),
        }
        match ctx.catalog.get(&record.id).await {
            Ok(Some((updated, _))) => record.verification = updated.verification,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(backup = %record.id, "cannot read the verification back: {e}")
            }
        }
    }
    results
}

fn chosen_schedules<'a>(
    ctx: &'a Context,
    request: &BackupRequest,
) -> anyhow::Result<Vec<&'a ScheduleConfig>> {
    let schedules = &ctx.config.schedules;
    match &request.schedule {
        Some(name) => match schedules.iter().find(|s| &s.name == name) {
            Some(s) => Ok(vec![s]),
            None => Err(UsageError(format!(
                "no [[schedule]] named {name:?} in {}",
                ctx.config.file.display()
            ))
            .into()),
        },
        None if schedules.is_empty() => Err(UsageError(format!(
            "{} defines nothing to back up: add a [[source]] and a [[destination]]",
            ctx.config.file.display()
        ))
        .into()),
        None => Ok(schedules.iter().collect()),
    }
}

/// Records a backup that failed outside its attempt (unreachable source, the job lock, the
/// catalog, a panic). When even the catalog cannot take it, the report still carries it.
async fn record_failure(ctx: &Context, start: &BackupStart<'_>, reason: String) -> BackupRecord {
    let recorded = async {
        if !ctx.catalog.has_backup(start.id).await? {
            ctx.catalog.start_backup(start).await?;
        }
        let outcome = Outcome::failed(reason.clone());
        finish(
            ctx,
            start.id,
            outcome,
            (start.source, start.database),
            start.started_at,
            None,
        )
        .await
    }
    .await;
    match recorded {
        Ok(record) => record,
        Err(e) => {
            let error = format!("{reason}; not recorded in the catalog: {e:#}");
            tracing::error!(target: "dbward::summary", id = start.id, source = start.source, database = start.database, status = "failed", reason = %error, "backup failed");
            BackupRecord {
                id: start.id.to_string(),
                schedule: start.schedule.map(str::to_string),
                source: start.source.to_string(),
                engine: start.engine.to_string(),
                database: start.database.to_string(),
                status: BackupStatus::Failed,
                error: Some(error),
                started_at: start.started_at,
                finished_at: Some(Utc::now()),
                dump_bytes: None,
                stored_bytes: None,
                sha256: None,
                compression: None,
                copies: Vec::new(),
                verification: None,
                warnings: Vec::new(),
                pruned_at: None,
                agent: Some(start.agent.clone()),
            }
        }
    }
}

fn job_start<'a>(
    ctx: &'a Context,
    run_id: &'a str,
    job: &'a Job,
    id: &'a str,
    started_at: DateTime<Utc>,
) -> BackupStart<'a> {
    BackupStart {
        id,
        run_id,
        schedule: job.schedule.as_deref(),
        source: &job.source,
        engine: ctx.sources[&job.source].engine().as_str(),
        database: &job.database,
        started_at,
        agent: &ctx.agent.agent,
    }
}

/// How one backup ended, before it is recorded.
struct Outcome {
    status: BackupStatus,
    error: Option<String>,
    manifest: Option<Manifest>,
    copies: Vec<CopyRecord>,
    warnings: Vec<String>,
}

impl Outcome {
    fn failed(reason: String) -> Self {
        Outcome {
            status: BackupStatus::Failed,
            error: Some(reason),
            manifest: None,
            copies: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn with_copies(mut self, copies: Vec<CopyRecord>) -> Self {
        self.copies = copies;
        self
    }
}

/// One job's attempt: its run, id, start, progress bar and stop token.
struct Attempt<'a> {
    run_id: &'a str,
    id: &'a str,
    started_at: DateTime<Utc>,
    bar: &'a dyn super::observe::JobObserver,
    stop: &'a CancellationToken,
    /// A daemon's fire: when another run holds the database (another schedule's fire, a
    /// one-off command), wait for it rather than leave the fire unrun, then run only if the
    /// fire is still this agent's and unfinished.
    fire: Option<&'a Fire>,
}

/// Backs up one job; whatever goes wrong ends as this job's record, never as an error that
/// would stop the run.
/// `None` when the job's fire turned out to be run (or taken over) by another agent.
async fn back_up_one(ctx: &Context, job: &Job, one: &Attempt<'_>) -> Option<BackupRecord> {
    let start = job_start(ctx, one.run_id, job, one.id, one.started_at);
    match try_back_up_one(ctx, &start, job, one).await {
        Ok(record) => record,
        Err(e) => Some(record_failure(ctx, &start, format!("{e:#}")).await),
    }
}

async fn try_back_up_one(
    ctx: &Context,
    start: &BackupStart<'_>,
    job: &Job,
    one: &Attempt<'_>,
) -> anyhow::Result<Option<BackupRecord>> {
    let (id, started_at) = (start.id, start.started_at);
    let source = ctx.sources[&job.source].clone();
    let lease_name = lease::backup_job(&job.source, &job.database);
    let mut waiting = false;
    let claimed = loop {
        match lease::claim(ctx, &lease_name, &job.source, &job.database).await {
            Err(ClaimError::Busy(busy)) if one.fire.is_some() => {
                if !waiting {
                    tracing::info!(source = %job.source, database = %job.database, "waiting for the run that holds it: {busy}");
                    waiting = true;
                }
                let poll = (ctx.config.lease_ttl / 3).clamp(LEASE_POLL_MIN, LEASE_POLL_MAX);
                if until_stopped(one.stop, tokio::time::sleep(poll))
                    .await
                    .is_none()
                {
                    break Err(ClaimError::Busy(busy));
                }
            }
            other => break other,
        }
    };
    let held = match claimed {
        Ok(held) => held,
        Err(ClaimError::Busy(busy)) => {
            let reason = format!("skipped: {busy}");
            ctx.catalog.record_skipped(start, &reason).await?;
            tracing::warn!(target: "dbward::summary", id, source = %job.source, database = %job.database, status = "skipped", reason, "backup skipped");
            let (record, _) = ctx
                .catalog
                .get(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("backup {id} vanished from the catalog"))?;
            return Ok(Some(record));
        }
        Err(e) => return Err(e.into()),
    };
    // While this agent waited (for slots, for the lease), another may have found it silent
    // and taken the fire over, or run it to the end: a fire runs once.
    if let Some(fire) = one.fire
        && !ctx.catalog.owns_fire(fire, &ctx.agent.agent.id).await?
    {
        held.release().await;
        tracing::info!(source = %job.source, database = %job.database, "the fire of {} is another agent's now or already run; not running it again", fire.at.format("%Y-%m-%dT%H:%M:%SZ"));
        return Ok(None);
    }
    // Holding the lease, every `running` backup of this job is a dead holder's.
    let interrupted = ctx
        .catalog
        .fail_interrupted(&job.source, &job.database, started_at)
        .await?;
    if interrupted > 0 {
        let whose = held
            .replaced
            .as_ref()
            .map(|h| format!(" (left by {h})"))
            .unwrap_or_default();
        tracing::warn!(source = %job.source, database = %job.database, "marked {interrupted} interrupted backup(s) as failed{whose}");
    }
    ctx.catalog.start_backup(start).await?;
    let outcome = tokio::select! {
        outcome = attempt(ctx, job, source.as_ref(), one) => outcome,
        // The dump and uploads are dropped: the tool's process group is killed and staged
        // objects are removed by the next run's clean-up, never committed.
        reason = held.lost() => Outcome::failed(reason),
    };
    let job_name = (job.source.as_str(), job.database.as_str());
    let record = finish(ctx, id, outcome, job_name, started_at, one.fire).await;
    held.release().await;
    record.map(Some)
}

/// Binds the source's name to its server in the catalog. A name that already stands for
/// another host's own server (or that this host's own server would take from another
/// server) is refused: two hosts' sources of one name must not merge their histories.
async fn bind_source(ctx: &Context, source: &crate::config::SourceConfig) -> Result<(), String> {
    let address = source.address(&ctx.agent.agent.host);
    let agent = &ctx.agent.agent;
    let bind = |replace| {
        ctx.catalog
            .bind_source(&source.name, &address.text, agent, replace)
    };
    let conflict = match bind(false).await.map_err(|e| e.to_string())? {
        SourceBinding::Bound => return Ok(()),
        SourceBinding::Conflict {
            address: bound,
            agent: bound_by,
        } => (bound, bound_by),
    };
    let (bound, bound_by) = conflict;
    let bound_is_local = bound.ends_with(&format!(" on {}", bound_by.host));
    if bound_by.id == agent.id || (!address.local && !bound_is_local) {
        // This agent moved its own source, or the fleet's server moved.
        tracing::info!(source = %source.name, "source now stands for {} (was {bound})", address.text);
        bind(true).await.map_err(|e| e.to_string())?;
        return Ok(());
    }
    Err(format!(
        "source {:?} in the shared catalog stands for {bound} (recorded by agent {} on {}), \
         but this config points it at {}; give one of them another name so that their \
         backups are not mixed",
        source.name, bound_by.id, bound_by.host, address.text
    ))
}

async fn finish(
    ctx: &Context,
    id: &str,
    outcome: Outcome,
    (source, database): (&str, &str),
    started_at: DateTime<Utc>,
    fire: Option<&Fire>,
) -> anyhow::Result<BackupRecord> {
    let finished_at = Utc::now();
    let manifest_json = outcome
        .manifest
        .as_ref()
        .map(|m| String::from_utf8_lossy(&m.to_json()).into_owned());
    let warnings = outcome
        .manifest
        .as_ref()
        .map(|m| m.warnings.clone())
        .unwrap_or(outcome.warnings);
    ctx.catalog
        .finish_backup(&BackupEnd {
            id,
            status: outcome.status,
            error: outcome.error.as_deref(),
            finished_at,
            dump_bytes: outcome.manifest.as_ref().map(|m| m.dump_bytes),
            stored_bytes: outcome.manifest.as_ref().map(|m| m.stored_bytes),
            sha256: outcome.manifest.as_ref().map(|m| m.sha256.as_str()),
            compression: outcome.manifest.as_ref().map(|m| m.compression.as_str()),
            manifest_json: manifest_json.as_deref(),
            copies: &outcome.copies,
            warnings: &warnings,
            fire,
        })
        .await?;
    let duration_ms = (finished_at - started_at).num_milliseconds();
    let stored = outcome
        .manifest
        .as_ref()
        .map(|m| m.stored_bytes)
        .unwrap_or(0);
    let reason = outcome.error.as_deref().unwrap_or("");
    // The one line per backup that answers "did last night work" with grep.
    match outcome.status {
        BackupStatus::Succeeded => {
            tracing::info!(target: "dbward::summary", id, source, database, status = %outcome.status, bytes = stored, duration_ms, "backup {}", outcome.status)
        }
        _ => {
            tracing::error!(target: "dbward::summary", id, source, database, status = %outcome.status, bytes = stored, duration_ms, reason, "backup {}", outcome.status)
        }
    }
    let (record, _) = ctx
        .catalog
        .get(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("backup {id} vanished from the catalog"))?;
    Ok(record)
}

/// `work`, or `None` as soon as `stop` is cancelled (`work` is dropped).
async fn until_stopped<T>(stop: &CancellationToken, work: impl Future<Output = T>) -> Option<T> {
    stop.run_until_cancelled(work).await
}

/// `1.5 MiB`-style sizes for messages and tables.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
