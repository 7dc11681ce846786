//! Table-driven and property tests of GFS retention.

use chrono::{Duration, TimeZone};
use proptest::prelude::*;

use super::*;

fn rule(last: u32, hourly: u32, daily: u32, weekly: u32, monthly: u32, yearly: u32) -> Retention {
    Retention {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn good(id: &str, started: &str) -> Candidate {
    Candidate {
        id: id.into(),
        started_at: at(started),
        good: true,
        verified: false,
    }
}

fn kept(plan: &Plan) -> Vec<&str> {
    plan.keep.keys().map(String::as_str).collect()
}

/// One backup a day at 02:00 UTC for `days` days ending 2026-03-31: ids `D<yyyymmdd>`.
fn nightly(days: i64) -> Vec<Candidate> {
    let last = Utc.with_ymd_and_hms(2026, 3, 31, 2, 0, 0).unwrap();
    (0..days)
        .map(|i| {
            let t = last - Duration::days(i);
            Candidate {
                id: t.format("D%Y%m%d").to_string(),
                started_at: t,
                good: true,
                verified: false,
            }
        })
        .collect()
}

#[test]
fn gfs_keeps_the_newest_of_each_recent_bucket() {
    let backups = nightly(120);
    let cases: [(Retention, Vec<&str>); 4] = [
        (
            rule(3, 0, 0, 0, 0, 0),
            vec!["D20260329", "D20260330", "D20260331"],
        ),
        (rule(0, 0, 2, 0, 0, 0), vec!["D20260330", "D20260331"]),
        // ISO weeks end on Sunday: 2026-03-29 is a Sunday, so the week before the current
        // one (Mon 03-30 ..) is kept by its newest day, 03-29, and so on.
        (
            rule(0, 0, 0, 3, 0, 0),
            vec!["D20260322", "D20260329", "D20260331"],
        ),
        (
            rule(1, 0, 0, 0, 3, 0),
            vec!["D20260131", "D20260228", "D20260331"],
        ),
    ];
    for (rule, want) in cases {
        let plan = plan(&backups, &rule, chrono_tz::UTC);
        assert_eq!(kept(&plan), want, "{rule:?}");
        assert_eq!(plan.remove.len(), 120 - want.len());
        assert!(plan.remove.windows(2).all(|w| w[0] > w[1]), "newest first");
    }
}

#[test]
fn one_backup_can_be_kept_by_several_rules() {
    let backups = nightly(40);
    let plan = plan(&backups, &rule(1, 0, 1, 1, 1, 1), chrono_tz::UTC);
    assert_eq!(kept(&plan), ["D20260331"]);
    assert_eq!(
        plan.keep["D20260331"],
        BTreeSet::from([
            KeepReason::Last,
            KeepReason::Daily,
            KeepReason::Weekly,
            KeepReason::Monthly,
            KeepReason::Yearly,
            KeepReason::NewestGood
        ])
    );
}

#[test]
fn hourly_buckets_follow_the_time_zone_and_days_too() {
    // 23:30 and 00:30 UTC on either side of midnight are the same day in Berlin (UTC+1).
    let backups = [
        good("late", "2026-01-10T23:30:00Z"),
        good("early", "2026-01-11T00:30:00Z"),
        good("before", "2026-01-10T22:30:00Z"),
    ];
    let utc = plan(&backups, &rule(0, 0, 2, 0, 0, 0), chrono_tz::UTC);
    assert_eq!(kept(&utc), ["early", "late"]);
    let berlin = plan(&backups, &rule(0, 0, 2, 0, 0, 0), chrono_tz::Europe::Berlin);
    assert_eq!(kept(&berlin), ["before", "early"]);
    let hourly = plan(&backups, &rule(0, 2, 0, 0, 0, 0), chrono_tz::UTC);
    assert_eq!(kept(&hourly), ["early", "late"]);
}

#[test]
fn the_newest_good_and_newest_verified_backups_are_always_kept() {
    let mut backups = vec![
        Candidate {
            good: false,
            ..good("failed", "2026-03-04T02:00:00Z")
        },
        good("new", "2026-03-03T02:00:00Z"),
        good("mid", "2026-03-02T02:00:00Z"),
        Candidate {
            verified: true,
            ..good("old", "2026-03-01T02:00:00Z")
        },
    ];
    // `yearly = 1` keeps the newest of 2026 only; the newest verified one stays as well, and
    // a failed backup is neither kept nor removed (nothing of it is stored).
    let plan = plan(&backups, &rule(0, 0, 0, 0, 0, 1), chrono_tz::UTC);
    assert_eq!(kept(&plan), ["new", "old"]);
    assert_eq!(
        plan.keep["old"],
        BTreeSet::from([KeepReason::NewestVerified])
    );
    assert_eq!(plan.remove, ["mid"]);
    backups.iter_mut().for_each(|b| b.good = false);
    assert_eq!(
        super::plan(&backups, &rule(1, 0, 0, 0, 0, 0), chrono_tz::UTC),
        Plan::default()
    );
}

fn arbitrary_backups() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec((0i64..400 * 24, any::<bool>(), any::<bool>()), 0..60).prop_map(|v| {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        v.into_iter()
            .enumerate()
            .map(|(i, (hours, good, verified))| Candidate {
                id: format!("B{i:03}"),
                started_at: start + Duration::hours(hours) + Duration::seconds(i as i64),
                good,
                verified,
            })
            .collect()
    })
}

fn arbitrary_rule() -> impl Strategy<Value = Retention> {
    (0u32..4, 0u32..4, 0u32..8, 0u32..5, 0u32..13, 0u32..3)
        .prop_map(|(l, h, d, w, m, y)| rule(l, h, d, w, m, y))
}

proptest! {
    /// The newest good backup survives every rule.
    #[test]
    fn the_newest_good_backup_is_never_removed(backups in arbitrary_backups(), rule in arbitrary_rule()) {
        let plan = plan(&backups, &rule, chrono_tz::UTC);
        let newest = backups.iter().filter(|b| b.good).max_by_key(|b| (b.started_at, b.id.clone()));
        if let Some(newest) = newest {
            prop_assert!(plan.keep.contains_key(&newest.id));
            prop_assert!(!plan.remove.contains(&newest.id));
        }
    }

    /// Every good backup is either kept or removed, never both, and nothing else is touched;
    /// at most the sum of the counts plus the two protected ones are kept.
    #[test]
    fn good_backups_are_partitioned_and_bounded(backups in arbitrary_backups(), rule in arbitrary_rule()) {
        let plan = plan(&backups, &rule, chrono_tz::UTC);
        let good: BTreeSet<&str> = backups.iter().filter(|b| b.good).map(|b| b.id.as_str()).collect();
        let kept: BTreeSet<&str> = plan.keep.keys().map(String::as_str).collect();
        let removed: BTreeSet<&str> = plan.remove.iter().map(String::as_str).collect();
        prop_assert!(kept.is_disjoint(&removed));
        prop_assert_eq!(kept.union(&removed).copied().collect::<BTreeSet<_>>(), good);
        let bound = (rule.last + rule.hourly + rule.daily + rule.weekly + rule.monthly + rule.yearly) as usize + 2;
        prop_assert!(kept.len() <= bound);
    }

    /// Pruning what the plan removes and planning again removes nothing more.
    #[test]
    fn a_second_prune_removes_nothing(backups in arbitrary_backups(), rule in arbitrary_rule()) {
        let first = plan(&backups, &rule, chrono_tz::UTC);
        let left: Vec<Candidate> = backups
            .into_iter()
            .filter(|b| !first.remove.contains(&b.id))
            .collect();
        let second = plan(&left, &rule, chrono_tz::UTC);
        prop_assert!(second.remove.is_empty(), "{:?}", second.remove);
    }
}
