//! GFS retention: which backups of one database and schedule to keep. `last = n` keeps the
//! n newest; `hourly`/`daily`/`weekly`/`monthly`/`yearly = n` keep the newest backup of each
//! of the n most recent hours/days/ISO weeks/months/years that have one, in the schedule's
//! time zone. Whatever the rules say, the newest good backup and the newest verified one
//! are kept: retention never deletes the last good backup.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::config::Retention;

/// One backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub started_at: DateTime<Utc>,
    /// Restorable: succeeded or degraded with a copy still committed.
    pub good: bool,
    /// Its latest verification passed.
    pub verified: bool,
}

/// Why a backup is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeepReason {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// The newest good backup, whatever the rules say.
    NewestGood,
    /// The newest backup whose verification passed, whatever the rules say.
    NewestVerified,
}

/// What retention decides for one group of backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Kept ids with every reason that keeps them.
    pub keep: BTreeMap<String, BTreeSet<KeepReason>>,
    /// Good backups no rule keeps, newest first.
    pub remove: Vec<String>,
}

/// The calendar bucket of a time: (year, then period numbers), comparable and hashable.
type BucketOf = fn(DateTime<Tz>) -> (i32, u32, u32, u32);

/// Decides which of `backups` (any order) to keep under `rule`, with calendar buckets in
/// `tz`. Backups that are not good are neither kept nor removed: nothing of them is stored.
pub fn plan(backups: &[Candidate], rule: &Retention, tz: Tz) -> Plan {
    let mut good: Vec<&Candidate> = backups.iter().filter(|b| b.good).collect();
    good.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    let mut keep: BTreeMap<String, BTreeSet<KeepReason>> = BTreeMap::new();
    let mut mark = |b: &Candidate, why| {
        keep.entry(b.id.clone()).or_default().insert(why);
    };
    for b in good.iter().take(rule.last as usize) {
        mark(b, KeepReason::Last);
    }
    let buckets: [(u32, KeepReason, BucketOf); 5] = [
        (rule.hourly, KeepReason::Hourly, |t| {
            (t.year(), t.ordinal(), t.hour(), 0)
        }),
        (rule.daily, KeepReason::Daily, |t| {
            (t.year(), t.ordinal(), 0, 0)
        }),
        (rule.weekly, KeepReason::Weekly, |t| {
            let week = t.iso_week();
            (week.year(), week.week(), 0, 0)
        }),
        (rule.monthly, KeepReason::Monthly, |t| {
            (t.year(), t.month(), 0, 0)
        }),
        (rule.yearly, KeepReason::Yearly, |t| (t.year(), 0, 0, 0)),
    ];
    for (count, why, bucket_of) in buckets {
        let mut seen = BTreeSet::new();
        for b in &good {
            if seen.len() == count as usize {
                break;
            }
            // Newest first: the first backup met in a bucket is the newest of it.
            if seen.insert(bucket_of(b.started_at.with_timezone(&tz))) {
                mark(b, why);
            }
        }
    }
    if let Some(newest) = good.first() {
        mark(newest, KeepReason::NewestGood);
    }
    if let Some(verified) = good.iter().find(|b| b.verified) {
        mark(verified, KeepReason::NewestVerified);
    }
    let remove = good
        .iter()
        .filter(|b| !keep.contains_key(&b.id))
        .map(|b| b.id.clone())
        .collect();
    Plan { keep, remove }
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
