//! Health of one database's backups (`dbward status`): stale against the cron schedule, the latest
//! run failed or degraded, past the RPO, copies lost (audit), size anomalies, drills overdue
//! or failing, 3-2-1, and keys never proven. Judged from catalog records and config facts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::fires::Fires;
use super::schedule;
use super::span;
use dbward_catalog::{BackupRecord, BackupStatus, CopyStatus};
pub use dbward_catalog::{Proof, Proofs};

/// How bad one problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

/// The overall state, as monitoring plugins report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    /// The worst of `problems`, `Ok` when there are none.
    pub fn of(problems: &[Problem]) -> State {
        match problems.iter().map(|p| p.severity).max() {
            None => State::Ok,
            Some(Severity::Warning) => State::Warning,
            Some(Severity::Critical) => State::Critical,
        }
    }

    /// The monitoring-plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// What kind of problem; the names alerts subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Stale,
    Failed,
    Degraded,
    Rpo,
    Rto,
    MissingCopy,
    Excluded,
    Anomaly,
    Unverified,
    VerifyFailed,
    Copies,
    Key,
    AgentDead,
    Unserved,
    /// No WAL file of a pitr source archived within its expected interval.
    Archiving,
    /// A WAL segment missing between the oldest kept base backup and the newest archived.
    WalGap,
    /// Objects of the source the newest good backup does not hold: the dump tool cannot keep
    /// them (F23).
    Fidelity,
}

impl Kind {
    pub const ALL: [Kind; 17] = [
        Kind::Stale,
        Kind::Failed,
        Kind::Degraded,
        Kind::Rpo,
        Kind::Rto,
        Kind::MissingCopy,
        Kind::Excluded,
        Kind::Anomaly,
        Kind::Unverified,
        Kind::VerifyFailed,
        Kind::Copies,
        Kind::Key,
        Kind::AgentDead,
        Kind::Unserved,
        Kind::Archiving,
        Kind::WalGap,
        Kind::Fidelity,
    ];

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Stale => "stale",
            Kind::Failed => "failed",
            Kind::Degraded => "degraded",
            Kind::Rpo => "rpo",
            Kind::Rto => "rto",
            Kind::MissingCopy => "missing_copy",
            Kind::Excluded => "excluded",
            Kind::Anomaly => "anomaly",
            Kind::Unverified => "unverified",
            Kind::VerifyFailed => "verify_failed",
            Kind::Copies => "copies",
            Kind::Key => "key",
            Kind::AgentDead => "agent_dead",
            Kind::Unserved => "unserved",
            Kind::Archiving => "archiving",
            Kind::WalGap => "wal_gap",
            Kind::Fidelity => "fidelity",
        }
    }
}

/// One problem with one database (or with a source that has none backed up yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: Kind,
    pub severity: Severity,
    pub schedule: Option<String>,
    pub source: String,
    pub database: Option<String>,
    pub message: String,
}

/// A schedule covering the database, as far as health is concerned.
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    pub name: &'a str,
    pub cron: Option<Fires<'a>>,
    /// The restore-drill cadence.
    pub drill: Option<Fires<'a>>,
    pub rpo: Option<Duration>,
    /// Recovery time objective: the newest passed drill's restore must take no longer.
    pub rto: Option<Duration>,
    /// When the catalog first knew the schedule: fires before it were never owed.
    pub first_seen: DateTime<Utc>,
}

/// One database (or a source with none backed up yet, `database: None`) and what is known of it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub source: &'a str,
    pub database: Option<&'a str>,
    pub schedules: &'a [Schedule<'a>],
    /// Backups not pruned, newest first: the newest [`HISTORY`], or only those of them that
    /// make a difference here (`dbward_catalog::HealthFacts::backups`).
    pub backups: &'a [BackupRecord],
    /// Dump sizes of the newest succeeded backups among those [`HISTORY`] (at most
    /// [`BASELINE_RUNS`] + 1), newest first: the size baseline.
    pub sizes: &'a [u64],
    pub proofs: &'a Proofs,
    /// Destinations away from this host (every type but `fs`).
    pub off_host: &'a BTreeSet<String>,
    /// Tables the newest good backup left out by `exclude_tables` that held rows (F12).
    pub excluded_with_data: &'a [String],
    /// Objects the newest good backup does not hold because the dump tool cannot keep them.
    pub fidelity: &'a [dbward_core::FidelityLoss],
}

/// Backups per database that status looks at: the size baseline and the copies lost.
pub const HISTORY: u32 = dbward_catalog::HEALTH_WINDOW;
/// Successive fires counted as missed, at most (the message says "or more").
pub const MAX_MISSED: usize = schedule::MAX_COUNTED;
/// Backups before the newest that make the size baseline.
pub const BASELINE_RUNS: usize = dbward_catalog::HEALTH_SIZES as usize - 1;
/// Fewer earlier backups than this make no baseline.
pub const MIN_BASELINE_RUNS: usize = 3;
/// A dump this many times the baseline is a sudden growth.
pub const GROWTH_FACTOR: u64 = 4;
/// This many newest dumps of exactly the same size look like a database nobody writes to.
pub const SAME_SIZE_RUNS: usize = 5;
/// A key is proven again within this many days, by `key verify` or a drill.
pub const KEY_PROOF_DAYS: i64 = 31;

/// Everything wrong with `subject` at `now`, worst first.
pub fn assess(subject: &Subject, now: DateTime<Utc>) -> Vec<Problem> {
    let usable = newest_usable(subject.backups);
    let mut findings: Vec<(Option<&str>, Finding)> = Vec::new();
    for schedule in subject.schedules {
        let scoped = [
            stale(schedule, usable, now),
            rpo(schedule, usable, now),
            rto(schedule, subject.proofs),
            unverified(schedule, subject.proofs, now),
        ];
        findings.extend(
            scoped
                .into_iter()
                .flatten()
                .map(|f| (Some(schedule.name), f)),
        );
    }
    let general = last_run(subject.backups)
        .into_iter()
        .chain(missing_copies(subject.backups))
        .chain(
            usable
                .into_iter()
                .flat_map(|b| three_two_one(b, subject.off_host)),
        )
        .chain(anomaly(subject.backups, subject.sizes))
        .chain(usable.and_then(|b| excluded(b, subject.excluded_with_data)))
        .chain(usable.and_then(|b| fidelity(b, subject.fidelity)))
        .chain(verify_failed(usable, subject.proofs))
        .chain(key(usable, subject.proofs, now));
    findings.extend(general.map(|f| (None, f)));
    let mut problems: Vec<Problem> = findings
        .into_iter()
        .map(|(schedule, f)| Problem {
            kind: f.kind,
            severity: f.severity,
            schedule: schedule.map(str::to_owned),
            source: subject.source.to_owned(),
            database: subject.database.map(str::to_owned),
            message: f.message,
        })
        .collect();
    problems.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.kind.cmp(&b.kind)));
    problems
}

/// One problem before it is placed (schedule, source, database).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    kind: Kind,
    severity: Severity,
    message: String,
}

fn warning(kind: Kind, message: String) -> Finding {
    Finding {
        kind,
        severity: Severity::Warning,
        message,
    }
}

fn critical(kind: Kind, message: String) -> Finding {
    Finding {
        kind,
        severity: Severity::Critical,
        message,
    }
}

/// The destinations holding a committed copy of `b`.
pub fn committed(b: &BackupRecord) -> impl Iterator<Item = &str> {
    b.copies
        .iter()
        .filter(|c| c.status == CopyStatus::Committed)
        .map(|c| c.destination.as_str())
}

/// Whether a backup can be restored: succeeded or degraded, with a copy still committed. A
/// degraded backup counts (its problem is reported as `degraded`, not again as `stale`).
pub fn usable(b: &BackupRecord) -> bool {
    matches!(b.status, BackupStatus::Succeeded | BackupStatus::Degraded)
        && committed(b).next().is_some()
}

/// The newest usable backup of `backups` (newest first).
pub fn newest_usable(backups: &[BackupRecord]) -> Option<&BackupRecord> {
    backups.iter().find(|b| usable(b))
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How late a fire may be met before it counts as missed: a quarter of the cron interval
/// after `after`, at least 5 minutes and at most `cap`, plus how long the last run took.
fn grace(fires: &Fires, after: DateTime<Utc>, cap: Duration, took: Duration) -> Duration {
    let interval = fires.interval(after).unwrap_or(cap);
    (interval / 4).clamp(Duration::minutes(5), cap) + took.max(Duration::zero())
}

/// Stale: scheduled runs came and went since the newest good backup. One missed run warns,
/// two or more are critical. Without a cron, only "no good backup yet" is said.
fn stale(s: &Schedule, usable: Option<&BackupRecord>, now: DateTime<Utc>) -> Option<Finding> {
    let Some(fires) = &s.cron else {
        return usable.is_none().then(|| {
            warning(
                Kind::Stale,
                "no good backup yet; run `dbward backup` (the schedule has no cron)".into(),
            )
        });
    };
    let since = usable.map_or(s.first_seen, |b| b.started_at.max(s.first_seen));
    let took = usable.and_then(BackupRecord::duration).unwrap_or_default();
    let deadline = now - grace(fires, since, Duration::hours(1), took);
    let (missed, last_due) = fires.between(since, deadline);
    let last_due = last_due?;
    let runs = match missed {
        1 => "1 scheduled run".to_string(),
        n if n >= MAX_MISSED => format!("{n} or more scheduled runs"),
        n => format!("{n} scheduled runs"),
    };
    let when = format!(
        "the last due {} (cron \"{}\", {})",
        day(last_due),
        fires.cron().pattern,
        fires.timezone()
    );
    let message = match usable {
        Some(b) => format!(
            "newest good backup {} is {} old; {runs} missed since, {when}",
            b.id,
            span(now - b.started_at)
        ),
        None => format!(
            "no good backup yet; {runs} missed since the schedule was first seen {}, {when}",
            day(s.first_seen)
        ),
    };
    Some(Finding {
        kind: Kind::Stale,
        severity: if missed == 1 {
            Severity::Warning
        } else {
            Severity::Critical
        },
        message,
    })
}

/// Past the recovery point objective: the newest good backup (the data one could get back)
/// is older than `rpo`.
fn rpo(s: &Schedule, usable: Option<&BackupRecord>, now: DateTime<Utc>) -> Option<Finding> {
    let rpo = s.rpo?;
    match usable {
        Some(b) if now - b.started_at > rpo => Some(critical(
            Kind::Rpo,
            format!(
                "newest good backup {} is {} old, past the rpo of {}",
                b.id,
                span(now - b.started_at),
                span(rpo)
            ),
        )),
        None if now - s.first_seen > rpo => Some(critical(
            Kind::Rpo,
            format!(
                "no good backup in the {} since the schedule was first seen, past the rpo of {}",
                span(now - s.first_seen),
                span(rpo)
            ),
        )),
        _ => None,
    }
}

/// Past the recovery time objective: the newest passed drill's restore took longer than
/// `rto`. Without a passed drill there is no measure (`unverified` says when one is owed).
fn rto(s: &Schedule, proofs: &Proofs) -> Option<Finding> {
    let rto = s.rto?;
    let took = proofs.last_good_drill_restore?;
    (took > rto).then(|| {
        critical(
            Kind::Rto,
            format!(
                "the last restore drill's restore took {}, past the rto of {}",
                span(took),
                span(rto)
            ),
        )
    })
}

/// A restore drill is owed at every fire of the schedule's `drill` cron (after a grace of a
/// quarter of its interval after the last passed drill, at most 6 hours); one that passed
/// since the last due fire pays it.
fn unverified(s: &Schedule, proofs: &Proofs, now: DateTime<Utc>) -> Option<Finding> {
    let drill = s.drill.as_ref()?;
    let since = proofs
        .last_good_drill
        .map_or(s.first_seen, |at| at.max(s.first_seen));
    let deadline = now - grace(drill, since, Duration::hours(6), Duration::zero());
    let due = drill.last_between(s.first_seen, deadline)?;
    if proofs.last_good_drill.is_some_and(|at| at >= due) {
        return None;
    }
    let last = match proofs.last_good_drill {
        Some(at) => format!("the last passed {} ago", span(now - at)),
        None => "none has passed yet".into(),
    };
    Some(warning(
        Kind::Unverified,
        format!(
            "no restore drill passed since {} (drill \"{}\", {}); {last}; run `dbward verify --latest --level drill`",
            day(due),
            drill.cron().pattern,
            drill.timezone()
        ),
    ))
}

/// The latest run failed (critical) or only some destinations took it (warning).
fn last_run(backups: &[BackupRecord]) -> Option<Finding> {
    let latest = backups.iter().find(|b| {
        matches!(
            b.status,
            BackupStatus::Succeeded | BackupStatus::Degraded | BackupStatus::Failed
        )
    })?;
    let reason = latest.error.as_deref().unwrap_or("no reason recorded");
    match latest.status {
        BackupStatus::Failed => Some(critical(
            Kind::Failed,
            format!(
                "latest backup {} ({}) failed: {reason}",
                latest.id,
                day(latest.started_at)
            ),
        )),
        BackupStatus::Degraded => Some(warning(
            Kind::Degraded,
            format!(
                "latest backup {} ({}) is degraded: {reason}",
                latest.id,
                day(latest.started_at)
            ),
        )),
        _ => None,
    }
}

/// Copies `audit` found gone, one finding per destination; a backup with no copy left at
/// all is critical.
fn missing_copies(backups: &[BackupRecord]) -> Vec<Finding> {
    let mut per_destination: BTreeMap<&str, Vec<&BackupRecord>> = BTreeMap::new();
    let mut lost: Vec<&BackupRecord> = Vec::new();
    for b in backups {
        let missing: Vec<&str> = b
            .copies
            .iter()
            .filter(|c| c.status == CopyStatus::Missing)
            .map(|c| c.destination.as_str())
            .collect();
        if missing.is_empty() {
            continue;
        }
        if committed(b).next().is_none() {
            lost.push(b);
        }
        for destination in missing {
            per_destination.entry(destination).or_default().push(b);
        }
    }
    let mut out = Vec::new();
    if let Some(newest) = lost.first() {
        out.push(critical(
            Kind::MissingCopy,
            format!(
                "{} backup(s) have no copy left, the newest {} ({}); `dbward audit` found every copy gone",
                lost.len(),
                newest.id,
                day(newest.started_at)
            ),
        ));
    }
    for (destination, gone) in per_destination {
        out.push(warning(
            Kind::MissingCopy,
            format!(
                "the copy of {} backup(s) on {destination} is missing (found by `dbward audit`), the newest {} ({})",
                gone.len(),
                gone[0].id,
                day(gone[0].started_at)
            ),
        ));
    }
    out
}

/// 3-2-1 for the newest good backup: at least two copies, one off this host, and off-host
/// copies encrypted.
fn three_two_one(b: &BackupRecord, off_host: &BTreeSet<String>) -> Vec<Finding> {
    let copies: Vec<&str> = committed(b).collect();
    let mut out = Vec::new();
    if copies.len() < 2 {
        out.push(warning(
            Kind::Copies,
            format!(
                "newest good backup {} has {} copy; keep two or more on different destinations (3-2-1)",
                b.id,
                copies.len()
            ),
        ));
    }
    if !copies.iter().any(|d| off_host.contains(*d)) {
        out.push(warning(
            Kind::Copies,
            format!(
                "newest good backup {} has no copy off this host (on {}); add a remote destination",
                b.id,
                copies.join(", ")
            ),
        ));
    }
    let plain: Vec<&str> = b
        .copies
        .iter()
        .filter(|c| c.status == CopyStatus::Committed && off_host.contains(&c.destination))
        .filter(|c| !c.path.ends_with(".age"))
        .map(|c| c.destination.as_str())
        .collect();
    if !plain.is_empty() {
        out.push(warning(
            Kind::Copies,
            format!(
                "newest good backup {} is stored unencrypted off this host (on {}); set [encryption] recipients",
                b.id,
                plain.join(", ")
            ),
        ));
    }
    out
}

/// Tables left out of the newest good backup by configuration that held data (F12): the
/// most important table may have been excluded by a pattern.
fn excluded(b: &BackupRecord, with_data: &[String]) -> Option<Finding> {
    (!with_data.is_empty()).then(|| {
        warning(
            Kind::Excluded,
            format!(
                "excluded tables hold data that backup {} does not have: {}; if they matter, take them out of exclude_tables",
                b.id,
                with_data.join(", ")
            ),
        )
    })
}

/// Objects the newest good backup lacks because the dump tool cannot keep them (F23): a
/// restore would come back without them.
fn fidelity(b: &BackupRecord, lost: &[dbward_core::FidelityLoss]) -> Option<Finding> {
    (!lost.is_empty()).then(|| {
        let each: Vec<String> = lost.iter().map(|l| l.message()).collect();
        warning(
            Kind::Fidelity,
            format!(
                "backup {} does not hold everything the database has: {}",
                b.id,
                each.join("; ")
            ),
        )
    })
}

/// Size anomaly of the newest succeeded backup against the ones before it.
fn anomaly(backups: &[BackupRecord], sizes: &[u64]) -> Option<Finding> {
    let newest = backups
        .iter()
        .find(|b| b.status == BackupStatus::Succeeded)?;
    let (severity, why) = size_anomaly(&sizes[..sizes.len().min(BASELINE_RUNS + 1)])?;
    Some(Finding {
        kind: Kind::Anomaly,
        severity,
        message: format!("backup {} ({}): {why}", newest.id, day(newest.started_at)),
    })
}

/// Judges dump sizes, newest first: zero bytes, under half or over [`GROWTH_FACTOR`] times
/// the median of up to [`BASELINE_RUNS`] before it, or [`SAME_SIZE_RUNS`] identical sizes.
pub fn size_anomaly(sizes: &[u64]) -> Option<(Severity, String)> {
    let (&newest, before) = sizes.split_first()?;
    if newest == 0 {
        return Some((Severity::Critical, "the dump is empty (0 bytes)".into()));
    }
    let baseline: Vec<u64> = before.iter().copied().take(BASELINE_RUNS).collect();
    if baseline.len() >= MIN_BASELINE_RUNS {
        let usual = median(&baseline);
        if newest.saturating_mul(2) < usual {
            return Some((
                Severity::Warning,
                format!(
                    "the dump is {newest} bytes, less than half the usual {usual} (median of the {} before); were tables dropped or rows deleted?",
                    baseline.len()
                ),
            ));
        }
        if newest > usual.saturating_mul(GROWTH_FACTOR) {
            return Some((
                Severity::Warning,
                format!(
                    "the dump is {newest} bytes, more than {GROWTH_FACTOR}× the usual {usual} (median of the {} before)",
                    baseline.len()
                ),
            ));
        }
    }
    if sizes.len() >= SAME_SIZE_RUNS && sizes[..SAME_SIZE_RUNS].iter().all(|&s| s == newest) {
        return Some((
            Severity::Warning,
            format!(
                "the last {SAME_SIZE_RUNS} dumps are all exactly {newest} bytes; is the database (or the replica it is dumped from) still being written to?"
            ),
        ));
    }
    None
}

/// Judges every dump of a history by [`size_anomaly`], as `status` judged it when it was the
/// newest: `sizes` is one entry per backup, newest first, with the dump size of each succeeded
/// one and `None` for any other (it neither is judged nor joins a baseline). The answer is
/// aligned with `sizes`.
pub fn size_anomalies(sizes: &[Option<u64>]) -> Vec<Option<(Severity, String)>> {
    let counted: Vec<u64> = sizes.iter().flatten().copied().collect();
    let mut seen = 0;
    sizes
        .iter()
        .map(|size| {
            size.and_then(|_| {
                let window = &counted[seen..counted.len().min(seen + BASELINE_RUNS + 1)];
                seen += 1;
                size_anomaly(window)
            })
        })
        .collect()
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        sorted[mid - 1] / 2 + sorted[mid] / 2 + (sorted[mid - 1] % 2 + sorted[mid] % 2) / 2
    } else {
        sorted[mid]
    }
}

/// The newest good backup's latest verification failed, or the latest drill did.
fn verify_failed(usable: Option<&BackupRecord>, proofs: &Proofs) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(b) = usable
        && let Some(v) = b.verification.as_ref().filter(|v| !v.ok)
    {
        out.push(critical(
            Kind::VerifyFailed,
            format!(
                "the {} verification of backup {} failed at {}; see `dbward show {}`",
                v.level,
                b.id,
                day(v.at),
                b.id
            ),
        ));
    }
    if let Some(drill) = proofs.last_drill.as_ref().filter(|d| !d.ok)
        && usable.is_none_or(|b| b.id != drill.backup_id)
    {
        out.push(critical(
            Kind::VerifyFailed,
            format!(
                "the last restore drill (backup {}, {}) failed; see `dbward show {}`",
                drill.backup_id,
                day(drill.at),
                drill.backup_id
            ),
        ));
    }
    out
}

/// Encrypted backups need a kept identity proven to open them, by `key verify` or a drill,
/// every [`KEY_PROOF_DAYS`] days.
fn key(usable: Option<&BackupRecord>, proofs: &Proofs, now: DateTime<Utc>) -> Option<Finding> {
    let b = usable?;
    if !b.copies.iter().any(|c| c.path.ends_with(".age")) {
        return None;
    }
    let proven = proofs.last_good_key.max(proofs.last_good_drill);
    let limit = Duration::days(KEY_PROOF_DAYS);
    let last = match proven {
        Some(at) if now - at <= limit => return None,
        Some(at) => format!("last proven {} ago", span(now - at)),
        None => "never proven".into(),
    };
    Some(warning(
        Kind::Key,
        format!(
            "backups are encrypted and no identity has opened them in {KEY_PROOF_DAYS} days ({last}); run `dbward key verify --identity FILE`"
        ),
    ))
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
