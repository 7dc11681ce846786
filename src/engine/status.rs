//! The status use case: health of every schedule and database from the catalog and the
//! config alone (no database or destination is contacted), judged by `policy::health`, and
//! the WAL archive of each pitr source (`wal_health`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::Context;
use super::wal_health::WalHealth;
use crate::catalog::{BackupRecord, HealthFacts};
use crate::config::DestinationKind;
use crate::policy::fires::Fires;
use crate::policy::health::{self, Problem, Proofs, Schedule, State, Subject};

/// What `status` reports.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub state: State,
    /// Worst first.
    pub problems: Vec<Problem>,
    pub databases: Vec<DatabaseHealth>,
    /// The WAL archive of each pitr source.
    pub wal: Vec<WalHealth>,
}

/// One database (or a source with none backed up yet) in the summary.
#[derive(Debug, Serialize)]
pub struct DatabaseHealth {
    pub schedules: Vec<String>,
    pub source: String,
    pub database: Option<String>,
    pub state: State,
    pub last_good: Option<LastGood>,
    pub last_drill: Option<DateTime<Utc>>,
    /// How long the restore of the newest passed drill took (its measured recovery time).
    pub last_drill_restore_seconds: Option<f64>,
    /// The strictest `rpo` of its schedules; `None` when none sets one (then only `stale`
    /// judges the age of the last good backup, against the cron).
    pub rpo_seconds: Option<i64>,
    /// The strictest `rto` of its schedules; `None` when none sets one.
    pub rto_seconds: Option<i64>,
}

/// The newest backup that can be restored.
#[derive(Debug, Serialize)]
pub struct LastGood {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub age_seconds: i64,
    pub copies: usize,
    /// Committed copies on `fs` destinations (this host's disks or mounts).
    pub on_host_copies: usize,
    /// Committed copies on every other type of destination.
    pub off_host_copies: usize,
    /// Committed copies that are encrypted: all of them when the backup's manifest names an
    /// `encryption`, else none.
    pub encrypted_copies: usize,
    /// The agent that took it; `None` for backups imported by `catalog rebuild` or recorded
    /// before catalog version 4.
    pub agent: Option<crate::catalog::AgentRef>,
}

/// Judges every database of every schedule at `now`.
pub async fn run(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<StatusReport> {
    let config = &ctx.config;
    let first_seen = ctx.catalog.first_seen().await?;
    let config_changed = config_changed_at(config).unwrap_or(now).min(now);
    let off_host: BTreeSet<String> = config
        .destinations
        .iter()
        .filter(|d| !matches!(d.kind, DestinationKind::Fs { .. }))
        .map(|d| d.name.clone())
        .collect();
    let no_proofs = Proofs::default();
    let known = ctx.catalog.health_facts().await?;

    // Each schedule's fires are listed once here, not once per source or database.
    let all_schedules: Vec<(&crate::config::ScheduleConfig, Schedule)> = config
        .schedules
        .iter()
        .map(|s| {
            let schedule = Schedule {
                name: &s.name,
                cron: s.cron.as_ref().map(|c| Fires::new(c, s.timezone, now)),
                drill: s.drill.as_ref().map(|c| Fires::new(c, s.timezone, now)),
                rpo: s.rpo.map(objective),
                rto: s.rto.map(objective),
                first_seen: first_seen.get(&s.name).copied().unwrap_or(config_changed),
            };
            (s, schedule)
        })
        .collect();
    let mut facts_of: HashMap<&str, Vec<&HealthFacts>> = HashMap::new();
    for f in &known {
        facts_of.entry(f.source.as_str()).or_default().push(f);
    }

    let mut problems = Vec::new();
    let mut databases = Vec::new();
    for source in &config.sources {
        let schedules: Vec<Schedule> = all_schedules
            .iter()
            .filter(|(s, _)| s.sources.contains(&source.name))
            .map(|(_, schedule)| schedule.clone())
            .collect();
        if schedules.is_empty() {
            continue;
        }
        let mut subjects: Vec<Option<&HealthFacts>> = facts_of
            .get(source.name.as_str())
            .map(|facts| facts.iter().copied().map(Some).collect())
            .unwrap_or_default();
        if subjects.is_empty() {
            subjects.push(None);
        }
        for facts in subjects {
            let (backups, sizes, proofs, encrypted) = match facts {
                Some(f) => (
                    f.backups.as_slice(),
                    f.sizes.as_slice(),
                    &f.proofs,
                    f.encrypted,
                ),
                None => (&[][..], &[][..], &no_proofs, false),
            };
            let (excluded, fidelity) = facts
                .and_then(|f| f.manifest.as_deref())
                .and_then(|m| dbward_core::Manifest::from_json(m.as_bytes()).ok())
                .map(|m| (m.excluded_with_data, m.fidelity))
                .unwrap_or_default();
            let database = facts.map(|f| f.database.as_str());
            let subject = Subject {
                source: &source.name,
                database,
                schedules: &schedules,
                backups,
                sizes,
                proofs,
                off_host: &off_host,
                excluded_with_data: &excluded,
                fidelity: &fidelity,
            };
            let found = health::assess(&subject, now);
            databases.push(DatabaseHealth {
                schedules: schedules.iter().map(|s| s.name.to_owned()).collect(),
                source: source.name.clone(),
                database: database.map(str::to_owned),
                state: State::of(&found),
                last_good: health::newest_usable(backups)
                    .map(|b| last_good(b, &off_host, encrypted, now)),
                last_drill: proofs.last_good_drill,
                last_drill_restore_seconds: proofs
                    .last_good_drill_restore
                    .map(|d| d.num_milliseconds() as f64 / 1000.0),
                rpo_seconds: strictest(schedules.iter().map(|s| s.rpo)),
                rto_seconds: strictest(schedules.iter().map(|s| s.rto)),
            });
            problems.extend(found);
        }
    }
    let agents = ctx.catalog.agents().await?;
    problems.extend(crate::policy::fleet::problems(
        &agents,
        &config.sources,
        ctx.catalog.now().await?,
        config.daemon.heartbeat,
    ));
    let (wal, wal_problems) = super::wal_health::assess(ctx, now).await?;
    problems.extend(wal_problems);
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    Ok(StatusReport {
        state: State::of(&problems),
        problems,
        databases,
        wal,
    })
}

/// A configured duration as the policy takes it.
fn objective(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// The smallest of the objectives some schedules set, in seconds.
fn strictest(objectives: impl Iterator<Item = Option<Duration>>) -> Option<i64> {
    objectives.flatten().min().map(|d| d.num_seconds())
}

fn last_good(
    b: &BackupRecord,
    off_host: &BTreeSet<String>,
    encrypted: bool,
    now: DateTime<Utc>,
) -> LastGood {
    let committed: Vec<&str> = health::committed(b).collect();
    let off_host_copies = committed.iter().filter(|d| off_host.contains(**d)).count();
    LastGood {
        id: b.id.clone(),
        started_at: b.started_at,
        age_seconds: (now - b.started_at).num_seconds(),
        copies: committed.len(),
        on_host_copies: committed.len() - off_host_copies,
        off_host_copies,
        encrypted_copies: if encrypted { committed.len() } else { 0 },
        agent: b.agent.clone(),
    }
}

/// When the config file last changed. `status` reads and never writes, so a schedule no
/// `backup` has seen yet counts from here: it has existed at least since then, and its cron
/// fires before were never owed.
fn config_changed_at(config: &crate::config::Config) -> Option<DateTime<Utc>> {
    let modified = std::fs::metadata(&config.file).ok()?.modified().ok()?;
    Some(DateTime::<Utc>::from(modified))
}
