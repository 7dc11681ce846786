//! `/metrics` in the Prometheus text format (version 0.0.4), rendered here: what the daemon
//! counted since it started (backups by status, their durations, runs, skipped fires) and
//! what the catalog and the config say now (last success, size, drills, health problems,
//! next fires, the fleet's agents and leases), read without writing anything. docs/metrics.md describes every metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use dbward_catalog::AgentRecord;

use crate::catalog::{BackupStatus, ListFilter};
use crate::engine::Context;
use crate::policy::fleet::{AgentState, agent_state};
use crate::policy::health::{Kind, Severity};

/// Upper bounds of the backup duration histogram, in seconds.
pub const DURATION_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
];

/// What the daemon has counted since it started.
#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<Counted>,
}

#[derive(Debug, Default, Clone)]
struct Counted {
    backups: BTreeMap<&'static str, u64>,
    /// Per bucket of [`DURATION_BUCKETS`] (not cumulative), then the sum and count.
    durations: [u64; DURATION_BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    /// (kind, outcome) → runs.
    runs: BTreeMap<(&'static str, &'static str), u64>,
    /// (kind, schedule) → fires not run because the previous run was still going.
    skipped: BTreeMap<(&'static str, String), u64>,
}

impl Counters {
    /// One backup a run of the daemon recorded, and how long it took.
    pub fn backup(&self, status: BackupStatus, seconds: Option<f64>) {
        let mut c = self.inner.lock().expect("not poisoned");
        *c.backups.entry(status.as_str()).or_default() += 1;
        if let Some(seconds) = seconds {
            if let Some(i) = DURATION_BUCKETS.iter().position(|b| seconds <= *b) {
                c.durations[i] += 1;
            }
            c.duration_sum += seconds;
            c.duration_count += 1;
        }
    }

    /// One run of a task (`backup`, `drill`, `audit`, `prune`, `status`) and whether it went
    /// well.
    pub fn run(&self, kind: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        let mut c = self.inner.lock().expect("not poisoned");
        *c.runs.entry((kind, outcome)).or_default() += 1;
    }

    /// A fire passed over because the previous run of the same task was still going.
    pub fn skipped(&self, kind: &'static str, schedule: &str) {
        let mut c = self.inner.lock().expect("not poisoned");
        *c.skipped.entry((kind, schedule.to_string())).or_default() += 1;
    }

    fn snapshot(&self) -> Counted {
        self.inner.lock().expect("not poisoned").clone()
    }
}

/// What the scheduler says about itself.
#[derive(Debug, Clone)]
pub struct SchedulerView {
    pub started_at: DateTime<Utc>,
    pub last_tick: DateTime<Utc>,
    /// Backup schedule → its next fire.
    pub next_fires: BTreeMap<String, Option<DateTime<Utc>>>,
    pub running: usize,
}

/// The whole `/metrics` document: the counters, the scheduler and the catalog now.
pub async fn collect(
    ctx: &Context,
    counters: &Counters,
    scheduler: &SchedulerView,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let mut out = Text::default();
    out.family("dbward_up", "gauge", "1 while the daemon serves metrics.");
    out.sample("dbward_up", &[], 1.0);
    out.family(
        "dbward_daemon_start_time_seconds",
        "gauge",
        "When the daemon started (Unix time).",
    );
    out.sample(
        "dbward_daemon_start_time_seconds",
        &[],
        seconds(scheduler.started_at),
    );
    out.family(
        "dbward_scheduler_last_tick_timestamp_seconds",
        "gauge",
        "When the scheduler loop last looked for due fires (Unix time).",
    );
    out.sample(
        "dbward_scheduler_last_tick_timestamp_seconds",
        &[],
        seconds(scheduler.last_tick),
    );
    out.family(
        "dbward_jobs_running",
        "gauge",
        "Tasks (backup, drill, audit, prune and status runs) running now.",
    );
    out.sample("dbward_jobs_running", &[], scheduler.running as f64);
    out.family(
        "dbward_schedule_next_fire_timestamp_seconds",
        "gauge",
        "The next cron fire of each schedule's backups (Unix time).",
    );
    for (schedule, next) in &scheduler.next_fires {
        if let Some(next) = next {
            out.sample(
                "dbward_schedule_next_fire_timestamp_seconds",
                &[("schedule", schedule)],
                seconds(*next),
            );
        }
    }
    counted(&mut out, &counters.snapshot());
    catalog(&mut out, ctx).await?;
    fleet(&mut out, ctx).await?;
    health(&mut out, ctx, now).await?;
    Ok(out.0)
}

fn counted(out: &mut Text, c: &Counted) {
    out.family(
        "dbward_backups_total",
        "counter",
        "Backups the daemon ran since it started, by outcome.",
    );
    for status in ["succeeded", "degraded", "failed", "skipped"] {
        let n = c.backups.get(status).copied().unwrap_or(0);
        out.sample("dbward_backups_total", &[("status", status)], n as f64);
    }
    out.family(
        "dbward_backup_duration_seconds",
        "histogram",
        "How long the backups the daemon ran since it started took.",
    );
    let mut cumulative = 0;
    for (bound, n) in DURATION_BUCKETS.iter().zip(c.durations) {
        cumulative += n;
        out.sample(
            "dbward_backup_duration_seconds_bucket",
            &[("le", &bound.to_string())],
            cumulative as f64,
        );
    }
    out.sample(
        "dbward_backup_duration_seconds_bucket",
        &[("le", "+Inf")],
        c.duration_count as f64,
    );
    out.sample("dbward_backup_duration_seconds_sum", &[], c.duration_sum);
    out.sample(
        "dbward_backup_duration_seconds_count",
        &[],
        c.duration_count as f64,
    );
    out.family(
        "dbward_runs_total",
        "counter",
        "Task runs since the daemon started, by kind and outcome.",
    );
    for kind in ["backup", "drill", "audit", "prune", "status"] {
        for outcome in ["ok", "failed"] {
            let n = c.runs.get(&(kind, outcome)).copied().unwrap_or(0);
            out.sample(
                "dbward_runs_total",
                &[("kind", kind), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    out.family(
        "dbward_fires_skipped_total",
        "counter",
        "Fires not run because the previous run of the same task was still going.",
    );
    for ((kind, schedule), n) in &c.skipped {
        out.sample(
            "dbward_fires_skipped_total",
            &[("kind", kind), ("schedule", schedule)],
            *n as f64,
        );
    }
}

/// Per database of a configured source: the newest succeeded backup and the newest passed
/// drill, as `dbward list` and `dbward show` read them.
async fn catalog(out: &mut Text, ctx: &Context) -> anyhow::Result<()> {
    let mut success = Vec::new();
    let mut size = Vec::new();
    let mut drill = Vec::new();
    let mut restore = Vec::new();
    for (source, database) in ctx.catalog.databases().await? {
        if ctx.config.source(&source).is_none() {
            continue;
        }
        let filter = ListFilter {
            source: Some(source.clone()),
            database: Some(database.clone()),
            status: Some(BackupStatus::Succeeded),
            limit: Some(1),
        };
        let labels = [source, database];
        if let Some(b) = ctx.catalog.list(&filter).await?.into_iter().next() {
            success.push((
                labels.clone(),
                seconds(b.finished_at.unwrap_or(b.started_at)),
            ));
            if let Some(bytes) = b.stored_bytes {
                size.push((labels.clone(), bytes as f64));
            }
        }
        let proofs = ctx.catalog.proofs(&labels[0], &labels[1]).await?;
        if let Some(at) = proofs.last_good_drill {
            drill.push((labels.clone(), seconds(at)));
        }
        if let Some(took) = proofs.last_good_drill_restore {
            restore.push((labels, took.num_milliseconds() as f64 / 1000.0));
        }
    }
    let families = [
        (
            "dbward_backup_last_success_timestamp_seconds",
            "When the newest succeeded backup of each database finished (Unix time).",
            success,
        ),
        (
            "dbward_backup_last_size_bytes",
            "Stored bytes of the newest succeeded backup of each database.",
            size,
        ),
        (
            "dbward_drill_last_success_timestamp_seconds",
            "When the newest passed restore drill of each database ran (Unix time).",
            drill,
        ),
        (
            "dbward_restore_duration_seconds",
            "How long the restore of the newest passed drill of each database took (measured RTO).",
            restore,
        ),
    ];
    for (name, help, samples) in families {
        out.family(name, "gauge", help);
        for ([source, database], value) in samples {
            out.sample(name, &[("source", &source), ("database", &database)], value);
        }
    }
    Ok(())
}

/// The agents sharing the catalog, judged as `dbward agents` judges them (at the catalog's
/// clock), and the leases they hold.
async fn fleet(out: &mut Text, ctx: &Context) -> anyhow::Result<()> {
    let now = ctx.catalog.now().await?;
    let agents = ctx.catalog.agents().await?;
    fleet_families(out, &agents, now, ctx.config.daemon.heartbeat);
    Ok(())
}

fn fleet_families(
    out: &mut Text,
    agents: &[AgentRecord],
    now: DateTime<Utc>,
    heartbeat: std::time::Duration,
) {
    out.family(
        "dbward_agent_up",
        "gauge",
        "1 while an agent of the catalog is alive (a daemon beating its heartbeat, a command holding a lease), else 0.",
    );
    for agent in agents {
        let up = match agent_state(agent, now, heartbeat) {
            AgentState::Alive | AgentState::Running => 1.0,
            AgentState::Dead | AgentState::Idle => 0.0,
        };
        out.sample(
            "dbward_agent_up",
            &[
                ("agent", &agent.id),
                ("host", &agent.host),
                ("kind", agent.kind.as_str()),
            ],
            up,
        );
    }
    out.family(
        "dbward_agent_heartbeat_timestamp_seconds",
        "gauge",
        "When each agent of the catalog last beat its heartbeat (Unix time, the catalog's clock).",
    );
    for agent in agents {
        out.sample(
            "dbward_agent_heartbeat_timestamp_seconds",
            &[("agent", &agent.id), ("host", &agent.host)],
            seconds(agent.heartbeat_at),
        );
    }
    out.family(
        "dbward_lease_held",
        "gauge",
        "1 for each job lease held unexpired now, by job and holding agent.",
    );
    for agent in agents {
        for job in &agent.running_jobs {
            out.sample(
                "dbward_lease_held",
                &[("job", job), ("agent", &agent.id)],
                1.0,
            );
        }
    }
    out.family(
        "dbward_leases_held",
        "gauge",
        "Job leases held unexpired now, across the catalog.",
    );
    let held: usize = agents.iter().map(|a| a.running_jobs.len()).sum();
    out.sample("dbward_leases_held", &[], held as f64);
}

/// The problems `dbward status` would report now, counted by kind and severity.
async fn health(out: &mut Text, ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<()> {
    let report = crate::engine::status::run(ctx, now).await?;
    out.family(
        "dbward_health_problems",
        "gauge",
        "Problems `dbward status` reports now, by kind and severity.",
    );
    for kind in Kind::ALL {
        for severity in [Severity::Warning, Severity::Critical] {
            let n = report
                .problems
                .iter()
                .filter(|p| p.kind == kind && p.severity == severity)
                .count();
            let severity = match severity {
                Severity::Warning => "warning",
                Severity::Critical => "critical",
            };
            out.sample(
                "dbward_health_problems",
                &[("kind", kind.as_str()), ("severity", severity)],
                n as f64,
            );
        }
    }
    wal_archive(out, &report.wal);
    Ok(())
}

/// The WAL archive of each pitr source: the real recovery point and its gaps.
fn wal_archive(out: &mut Text, wal: &[crate::engine::wal_health::WalHealth]) {
    out.family(
        "dbward_wal_last_archived_timestamp_seconds",
        "gauge",
        "When the newest WAL file of each pitr source was archived (Unix time).",
    );
    for w in wal {
        if let Some(at) = w.archived_at {
            out.sample(
                "dbward_wal_last_archived_timestamp_seconds",
                &[("source", &w.source)],
                seconds(at),
            );
        }
    }
    out.family(
        "dbward_wal_archive_age_seconds",
        "gauge",
        "Seconds since the newest WAL file of each pitr source was archived.",
    );
    for w in wal {
        if let Some(age) = w.age_seconds {
            out.sample(
                "dbward_wal_archive_age_seconds",
                &[("source", &w.source)],
                age as f64,
            );
        }
    }
    out.family(
        "dbward_wal_missing_segments",
        "gauge",
        "WAL segments missing between the oldest kept base backup and the newest archived one.",
    );
    for w in wal {
        out.sample(
            "dbward_wal_missing_segments",
            &[("source", &w.source)],
            w.missing_segments as f64,
        );
    }
}

/// Unix time in seconds, with milliseconds.
fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

/// The text being rendered.
#[derive(Debug, Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.0, " {}", number(value));
    }
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: backslash and newline escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let cases = [
            ("plain", "plain"),
            ("a\"b", "a\\\"b"),
            ("back\\slash", "back\\\\slash"),
            ("two\nlines", "two\\nlines"),
        ];
        for (value, escaped) in cases {
            assert_eq!(escape_label(value), escaped);
        }
        let mut text = Text::default();
        text.sample("m", &[("database", "we\"ird\n")], 1.5);
        assert_eq!(text.0, "m{database=\"we\\\"ird\\n\"} 1.5\n");
    }

    #[test]
    fn agents_are_up_by_their_state_and_leases_are_counted() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let agent = |id: &str, kind, heartbeat: &str, jobs: &[&str]| AgentRecord {
            id: id.into(),
            host: "db-1".into(),
            version: "0.1.0".into(),
            kind,
            labels: Vec::new(),
            pid: 1,
            started_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            heartbeat_at: heartbeat.parse().unwrap(),
            running_jobs: jobs.iter().map(|j| j.to_string()).collect(),
        };
        use dbward_catalog::AgentKind::{Cli, Daemon};
        let agents = [
            agent(
                "01LIVE",
                Daemon,
                "2026-12-01T11:59:40Z",
                &["backup/pg/shop"],
            ),
            agent("01DEAD", Daemon, "2026-12-01T11:00:00Z", &[]),
            agent("01CLI", Cli, "2026-12-01T11:00:00Z", &["backup/pg/crm"]),
            agent("01IDLE", Cli, "2026-12-01T10:00:00Z", &[]),
        ];
        let mut text = Text::default();
        fleet_families(&mut text, &agents, now, std::time::Duration::from_secs(30));
        let text = text.0;
        for line in [
            "dbward_agent_up{agent=\"01LIVE\",host=\"db-1\",kind=\"daemon\"} 1",
            "dbward_agent_up{agent=\"01DEAD\",host=\"db-1\",kind=\"daemon\"} 0",
            "dbward_agent_up{agent=\"01CLI\",host=\"db-1\",kind=\"cli\"} 1",
            "dbward_agent_up{agent=\"01IDLE\",host=\"db-1\",kind=\"cli\"} 0",
            "dbward_agent_heartbeat_timestamp_seconds{agent=\"01DEAD\",host=\"db-1\"} 1796122800",
            "dbward_lease_held{job=\"backup/pg/shop\",agent=\"01LIVE\"} 1",
            "dbward_lease_held{job=\"backup/pg/crm\",agent=\"01CLI\"} 1",
            "dbward_leases_held 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn the_histogram_is_cumulative_and_ends_with_inf() {
        let counters = Counters::default();
        counters.backup(BackupStatus::Succeeded, Some(0.5));
        counters.backup(BackupStatus::Succeeded, Some(20.0));
        counters.backup(BackupStatus::Failed, Some(100_000.0));
        counters.backup(BackupStatus::Skipped, None);
        let mut text = Text::default();
        counted(&mut text, &counters.snapshot());
        let text = text.0;
        for line in [
            "dbward_backup_duration_seconds_bucket{le=\"1\"} 1",
            "dbward_backup_duration_seconds_bucket{le=\"30\"} 2",
            "dbward_backup_duration_seconds_bucket{le=\"43200\"} 2",
            "dbward_backup_duration_seconds_bucket{le=\"+Inf\"} 3",
            "dbward_backup_duration_seconds_count 3",
            "dbward_backup_duration_seconds_sum 100020.5",
            "dbward_backups_total{status=\"succeeded\"} 2",
            "dbward_backups_total{status=\"skipped\"} 1",
            "dbward_backups_total{status=\"degraded\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
