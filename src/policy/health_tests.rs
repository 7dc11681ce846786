//! Table-driven and property tests of the health policy, at fixed times.

use std::str::FromStr;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use croner::Cron;
use dbward_catalog::{CopyRecord, VerificationRecord};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn cron(expr: &str) -> Cron {
    Cron::from_str(expr).unwrap()
}

fn copy(destination: &str, status: CopyStatus, path: &str) -> CopyRecord {
    CopyRecord {
        destination: destination.into(),
        path: path.into(),
        status,
        size: Some(10),
        error: None,
    }
}

/// A backup of `app` started at `started`, five minutes long, with one committed `local` copy.
fn backup(id: &str, started: &str, status: BackupStatus, dump_bytes: u64) -> BackupRecord {
    let started_at = at(started);
    BackupRecord {
        id: id.into(),
        schedule: Some("nightly".into()),
        source: "main".into(),
        engine: "postgres".into(),
        database: "app".into(),
        status,
        error: (status != BackupStatus::Succeeded).then(|| "pg_dump exited 1: boom".into()),
        started_at,
        finished_at: Some(started_at + Duration::minutes(5)),
        dump_bytes: Some(dump_bytes),
        stored_bytes: Some(dump_bytes / 3),
        sha256: None,
        compression: Some("zstd".into()),
        copies: if status == BackupStatus::Failed {
            vec![copy("local", CopyStatus::Failed, "x.dump.zst")]
        } else {
            vec![copy("local", CopyStatus::Committed, "x.dump.zst")]
        },
        verification: None,
        warnings: Vec::new(),
        pruned_at: None,
        agent: None,
    }
}

fn good(id: &str, started: &str) -> BackupRecord {
    backup(id, started, BackupStatus::Succeeded, 1_000_000)
}

/// Two copies, one off-host and encrypted: nothing to say about 3-2-1.
fn well_kept(mut b: BackupRecord) -> BackupRecord {
    b.copies = vec![
        copy("local", CopyStatus::Committed, "x.dump.zst.age"),
        copy("offsite", CopyStatus::Committed, "x.dump.zst.age"),
    ];
    b
}

fn nightly<'a>(cron: Option<&'a Cron>, first_seen: &str) -> Schedule<'a> {
    Schedule {
        name: "nightly",
        cron: cron.map(|c| Fires::new(c, chrono_tz::UTC, at(first_seen))),
        drill: None,
        rpo: None,
        rto: None,
        first_seen: at(first_seen),
    }
}

fn offsite() -> BTreeSet<String> {
    BTreeSet::from(["offsite".to_string()])
}

/// The size baseline of `backups` (newest first), as the catalog reads it.
fn sizes(backups: &[BackupRecord]) -> Vec<u64> {
    backups
        .iter()
        .filter(|b| b.status == BackupStatus::Succeeded)
        .filter_map(|b| b.dump_bytes)
        .take(BASELINE_RUNS + 1)
        .collect()
}

fn assess_at(
    schedules: &[Schedule],
    backups: &[BackupRecord],
    proofs: &Proofs,
    now: &str,
) -> Vec<Problem> {
    let off_host = offsite();
    let sizes = sizes(backups);
    let subject = Subject {
        source: "main",
        database: Some("app"),
        schedules,
        backups,
        sizes: &sizes,
        proofs,
        off_host: &off_host,
        excluded_with_data: &[],
        fidelity: &[],
    };
    assess(&subject, at(now))
}

fn kinds(problems: &[Problem]) -> Vec<(Kind, Severity)> {
    problems.iter().map(|p| (p.kind, p.severity)).collect()
}

/// A proven key, so that encrypted well-kept backups have nothing else to say.
fn key_proven(now: &str) -> Proofs {
    Proofs {
        last_good_key: Some(at(now) - Duration::days(1)),
        ..Proofs::default()
    }
}

#[test]
fn staleness_counts_missed_nightly_runs() {
    let daily = cron("0 2 * * *");
    let schedules = [nightly(Some(&daily), "2026-01-01T00:00:00Z")];
    let last = [well_kept(good("B1", "2026-03-10T02:00:05Z"))];
    let proofs = key_proven("2026-03-13T12:00:00Z");
    // (now, expected): a fire counts once it is an hour (a quarter day, capped) plus the
    // backup's five minutes late.
    let cases: [(&str, Vec<(Kind, Severity)>); 5] = [
        ("2026-03-10T12:00:00Z", vec![]),
        ("2026-03-11T03:00:00Z", vec![]),
        (
            "2026-03-11T03:06:00Z",
            vec![(Kind::Stale, Severity::Warning)],
        ),
        (
            "2026-03-12T03:06:00Z",
            vec![(Kind::Stale, Severity::Critical)],
        ),
        (
            "2026-03-13T12:00:00Z",
            vec![(Kind::Stale, Severity::Critical)],
        ),
    ];
    for (now, want) in cases {
        let proofs = key_proven(now);
        let got = assess_at(&schedules, &last, &proofs, now);
        assert_eq!(kinds(&got), want, "at {now}: {got:#?}");
    }
    let got = assess_at(&schedules, &last, &proofs, "2026-03-13T12:00:00Z");
    assert!(
        got[0]
            .message
            .contains("newest good backup B1 is 3d 9h old")
            && got[0].message.contains("3 scheduled runs missed since")
            && got[0]
                .message
                .contains("the last due 2026-03-13 02:00 UTC (cron \"0 2 * * *\", UTC)"),
        "{}",
        got[0].message
    );
    assert_eq!(got[0].schedule.as_deref(), Some("nightly"));
    assert_eq!(got[0].database.as_deref(), Some("app"));
}

#[test]
fn fires_before_the_schedule_was_first_seen_are_not_owed() {
    let daily = cron("0 2 * * *");
    let schedules = [nightly(Some(&daily), "2026-03-12T12:00:00Z")];
    let none: [BackupRecord; 0] = [];
    let proofs = Proofs::default();
    assert!(assess_at(&schedules, &none, &proofs, "2026-03-13T02:30:00Z").is_empty());
    let got = assess_at(&schedules, &none, &proofs, "2026-03-13T03:30:00Z");
    assert_eq!(kinds(&got), [(Kind::Stale, Severity::Warning)]);
    assert!(
        got[0]
            .message
            .starts_with("no good backup yet; 1 scheduled run missed since the schedule was first seen 2026-03-12 12:00 UTC"),
        "{}",
        got[0].message
    );
}

#[test]
fn the_schedule_time_zone_sets_the_fire_time() {
    let daily = cron("0 2 * * *");
    let mut schedule = nightly(None, "2026-01-01T00:00:00Z");
    schedule.cron = Some(Fires::new(
        &daily,
        chrono_tz::Europe::Berlin,
        at("2026-01-11T02:10:00Z"),
    ));
    // 02:00 in Berlin is 01:00 UTC in winter: due by 02:05 UTC with the grace.
    let last = [well_kept(good("B1", "2026-01-10T01:00:05Z"))];
    let proofs = key_proven("2026-01-11T02:10:00Z");
    let got = assess_at(
        std::slice::from_ref(&schedule),
        &last,
        &proofs,
        "2026-01-11T02:10:00Z",
    );
    assert_eq!(kinds(&got), [(Kind::Stale, Severity::Warning)]);
    assert!(
        got[0].message.contains("2026-01-11 01:00 UTC"),
        "{}",
        got[0].message
    );
}

#[test]
fn a_schedule_without_cron_only_asks_for_a_first_backup() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let proofs = Proofs::default();
    let got = assess_at(&schedules, &[], &proofs, "2027-01-01T00:00:00Z");
    assert_eq!(kinds(&got), [(Kind::Stale, Severity::Warning)]);
    let old = [well_kept(good("B1", "2026-01-02T00:00:00Z"))];
    let proofs = key_proven("2027-01-01T00:00:00Z");
    assert!(assess_at(&schedules, &old, &proofs, "2027-01-01T00:00:00Z").is_empty());
}

#[test]
fn the_rpo_is_measured_from_the_newest_good_backup() {
    let mut schedule = nightly(None, "2026-01-01T00:00:00Z");
    schedule.rpo = Some(Duration::hours(26));
    let schedules = [schedule];
    let backups = [
        backup("B2", "2026-03-11T02:00:00Z", BackupStatus::Failed, 0),
        well_kept(good("B1", "2026-03-10T02:00:00Z")),
    ];
    let now = "2026-03-11T05:00:00Z";
    let got = assess_at(&schedules, &backups, &key_proven(now), now);
    assert_eq!(
        kinds(&got),
        [
            (Kind::Failed, Severity::Critical),
            (Kind::Rpo, Severity::Critical)
        ]
    );
    assert!(
        got[0].message.contains("latest backup B2"),
        "{}",
        got[0].message
    );
    assert!(got[0].message.contains("pg_dump exited 1: boom"));
    assert_eq!(
        got[1].message,
        "newest good backup B1 is 1d 3h old, past the rpo of 1d 2h"
    );
}

#[test]
fn a_degraded_latest_run_warns_but_still_counts_as_a_backup() {
    let daily = cron("0 2 * * *");
    let schedules = [nightly(Some(&daily), "2026-01-01T00:00:00Z")];
    let backups = [well_kept(backup(
        "B1",
        "2026-03-10T02:00:00Z",
        BackupStatus::Degraded,
        1_000,
    ))];
    let now = "2026-03-10T12:00:00Z";
    let got = assess_at(&schedules, &backups, &key_proven(now), now);
    assert_eq!(kinds(&got), [(Kind::Degraded, Severity::Warning)]);
}

#[test]
fn copies_found_missing_are_reported_per_destination() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let mut b2 = well_kept(good("B2", "2026-03-11T02:00:00Z"));
    b2.copies[1].status = CopyStatus::Missing;
    let mut b1 = well_kept(good("B1", "2026-03-10T02:00:00Z"));
    for c in &mut b1.copies {
        c.status = CopyStatus::Missing;
    }
    let now = "2026-03-11T05:00:00Z";
    let got = assess_at(&schedules, &[b2, b1], &key_proven(now), now);
    let missing: Vec<_> = got
        .iter()
        .filter(|p| p.kind == Kind::MissingCopy)
        .map(|p| (p.severity, p.message.as_str()))
        .collect();
    assert_eq!(
        missing,
        [
            (
                Severity::Critical,
                "1 backup(s) have no copy left, the newest B1 (2026-03-10 02:00 UTC); `dbward audit` found every copy gone"
            ),
            (
                Severity::Warning,
                "the copy of 1 backup(s) on local is missing (found by `dbward audit`), the newest B1 (2026-03-10 02:00 UTC)"
            ),
            (
                Severity::Warning,
                "the copy of 2 backup(s) on offsite is missing (found by `dbward audit`), the newest B2 (2026-03-11 02:00 UTC)"
            ),
        ]
    );
    // B2 is left with one copy, on this host.
    assert!(
        got.iter()
            .any(|p| p.kind == Kind::Copies && p.message.contains("has 1 copy"))
    );
    assert!(
        got.iter()
            .any(|p| p.kind == Kind::Copies && p.message.contains("no copy off this host"))
    );
}

#[test]
fn three_two_one_wants_two_copies_one_off_host_and_encrypted() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let now = "2026-03-10T05:00:00Z";
    let proofs = key_proven(now);
    let one_local = good("B1", "2026-03-10T02:00:00Z");
    let got = assess_at(&schedules, std::slice::from_ref(&one_local), &proofs, now);
    assert_eq!(
        kinds(&got),
        [
            (Kind::Copies, Severity::Warning),
            (Kind::Copies, Severity::Warning)
        ]
    );
    let mut plain_offsite = good("B1", "2026-03-10T02:00:00Z");
    plain_offsite.copies = vec![
        copy("local", CopyStatus::Committed, "x.dump.zst"),
        copy("offsite", CopyStatus::Committed, "x.dump.zst"),
    ];
    let got = assess_at(&schedules, &[plain_offsite], &proofs, now);
    assert_eq!(kinds(&got), [(Kind::Copies, Severity::Warning)]);
    assert!(
        got[0]
            .message
            .contains("unencrypted off this host (on offsite)")
    );
    let got = assess_at(&schedules, &[well_kept(one_local)], &proofs, now);
    assert!(got.is_empty(), "{got:#?}");
}

#[test]
fn drills_are_owed_at_the_drill_cadence() {
    let weekly = cron("0 4 * * 0");
    let mut schedule = nightly(None, "2026-03-02T00:00:00Z");
    schedule.drill = Some(Fires::new(
        &weekly,
        chrono_tz::UTC,
        at("2026-03-14T12:00:00Z"),
    ));
    let schedules = [schedule];
    let backups = [well_kept(good("B1", "2026-03-14T02:00:00Z"))];
    // Sunday 2026-03-08 04:00 is due by 10:00 (a quarter of a week, capped at 6 h).
    let mut proofs = key_proven("2026-03-14T12:00:00Z");
    let got = assess_at(&schedules, &backups, &proofs, "2026-03-08T09:59:00Z");
    assert!(got.is_empty(), "{got:#?}");
    let got = assess_at(&schedules, &backups, &proofs, "2026-03-14T12:00:00Z");
    assert_eq!(kinds(&got), [(Kind::Unverified, Severity::Warning)]);
    assert!(
        got[0].message.contains("none has passed yet"),
        "{}",
        got[0].message
    );
    proofs.last_good_drill = Some(at("2026-03-08T05:00:00Z"));
    assert!(assess_at(&schedules, &backups, &proofs, "2026-03-14T12:00:00Z").is_empty());
    // The next Sunday's drill is owed again.
    let got = assess_at(&schedules, &backups, &proofs, "2026-03-15T11:00:00Z");
    assert_eq!(kinds(&got), [(Kind::Unverified, Severity::Warning)]);
}

#[test]
fn failed_verifications_and_drills_are_critical() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let now = "2026-03-10T05:00:00Z";
    let mut b = well_kept(good("B2", "2026-03-10T02:00:00Z"));
    b.verification = Some(VerificationRecord {
        level: "checksum".into(),
        ok: false,
        at: at("2026-03-10T03:00:00Z"),
    });
    let mut proofs = key_proven(now);
    proofs.last_drill = Some(Proof {
        backup_id: "B1".into(),
        at: at("2026-03-09T04:00:00Z"),
        ok: false,
        restore_ms: None,
    });
    let got = assess_at(&schedules, &[b], &proofs, now);
    assert_eq!(
        kinds(&got),
        [
            (Kind::VerifyFailed, Severity::Critical),
            (Kind::VerifyFailed, Severity::Critical)
        ]
    );
    assert!(
        got[0]
            .message
            .starts_with("the checksum verification of backup B2 failed")
    );
    assert!(
        got[1]
            .message
            .starts_with("the last restore drill (backup B1,")
    );
}

#[test]
fn the_rto_is_judged_by_the_newest_passed_drill() {
    let mut schedule = nightly(None, "2026-01-01T00:00:00Z");
    schedule.rto = Some(Duration::hours(1));
    let schedules = [schedule];
    let backups = [well_kept(good("B1", "2026-03-10T02:00:00Z"))];
    let now = "2026-03-10T05:00:00Z";
    let mut proofs = key_proven(now);
    // No drill yet: nothing measured, nothing said (a drill cadence would say `unverified`).
    assert!(assess_at(&schedules, &backups, &proofs, now).is_empty());
    proofs.last_good_drill_restore = Some(Duration::minutes(59));
    assert!(assess_at(&schedules, &backups, &proofs, now).is_empty());
    proofs.last_good_drill_restore = Some(Duration::minutes(95));
    let got = assess_at(&schedules, &backups, &proofs, now);
    assert_eq!(kinds(&got), [(Kind::Rto, Severity::Critical)]);
    assert_eq!(
        got[0].message,
        "the last restore drill's restore took 1h 35m, past the rto of 1h"
    );
}

#[test]
fn encrypted_backups_need_a_recent_key_proof() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let backups = [well_kept(good("B1", "2026-03-10T02:00:00Z"))];
    let now = "2026-03-10T05:00:00Z";
    let never = assess_at(&schedules, &backups, &Proofs::default(), now);
    assert_eq!(kinds(&never), [(Kind::Key, Severity::Warning)]);
    assert!(never[0].message.contains("never proven"));
    let drilled = Proofs {
        last_good_drill: Some(at("2026-03-01T00:00:00Z")),
        ..Proofs::default()
    };
    assert!(assess_at(&schedules, &backups, &drilled, now).is_empty());
    let long_ago = Proofs {
        last_good_key: Some(at("2026-01-01T00:00:00Z")),
        ..Proofs::default()
    };
    let got = assess_at(&schedules, &backups, &long_ago, now);
    assert!(
        got[0].message.contains("last proven 68d 5h ago"),
        "{}",
        got[0].message
    );
}

#[test]
fn size_anomalies_table() {
    let cases: [(&[u64], Option<Severity>); 9] = [
        (&[], None),
        (&[0], Some(Severity::Critical)),
        (&[100], None),
        (&[40, 100, 100], None),
        (&[40, 100, 100, 100], Some(Severity::Warning)),
        (&[60, 100, 100, 100], None),
        (&[401, 100, 100, 100], Some(Severity::Warning)),
        (&[7, 7, 7, 7], None),
        (&[7, 7, 7, 7, 7], Some(Severity::Warning)),
    ];
    for (sizes, want) in cases {
        assert_eq!(size_anomaly(sizes).map(|(s, _)| s), want, "{sizes:?}");
    }
    let (_, why) = size_anomaly(&[40, 90, 100, 110, 100]).unwrap();
    assert_eq!(
        why,
        "the dump is 40 bytes, less than half the usual 100 (median of the 4 before); were tables dropped or rows deleted?"
    );
}

/// Dump sizes newest first (`None`: a backup that did not succeed), and what each one is.
type HistoryCase<'a> = (&'a [Option<u64>], &'a [Option<Severity>]);

#[test]
fn size_anomalies_of_a_history_table() {
    let w = Some(Severity::Warning);
    let c = Some(Severity::Critical);
    let cases: [HistoryCase; 7] = [
        (&[], &[]),
        (&[None, None], &[None, None]),
        (&[Some(0)], &[c]),
        (&[Some(100), Some(100), Some(100)], &[None, None, None]),
        // A drop, judged against the three before it; those have too short a baseline.
        (
            &[Some(40), Some(100), Some(100), Some(100)],
            &[w, None, None, None],
        ),
        // A failed run between does not join the baseline, and is not judged.
        (
            &[Some(40), None, Some(100), Some(100), Some(100)],
            &[w, None, None, None, None],
        ),
        // A growth is an anomaly while most of its baseline is from before it; once
        // half the baseline has grown too, the new size is the usual one.
        (
            &[
                Some(500),
                Some(500),
                Some(500),
                Some(500),
                Some(100),
                Some(100),
                Some(100),
            ],
            &[None, w, w, w, None, None, None],
        ),
    ];
    for (sizes, want) in cases {
        let got: Vec<Option<Severity>> = size_anomalies(sizes)
            .into_iter()
            .map(|a| a.map(|(s, _)| s))
            .collect();
        assert_eq!(got, want, "{sizes:?}");
    }
}

#[test]
fn size_anomalies_say_why_like_status() {
    let (_, why) = size_anomalies(&[Some(40), Some(90), Some(100), Some(110), Some(100)])[0]
        .clone()
        .unwrap();
    assert_eq!(
        why,
        "the dump is 40 bytes, less than half the usual 100 (median of the 4 before); were tables dropped or rows deleted?"
    );
}

#[test]
fn an_anomaly_names_the_backup() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let now = "2026-03-14T05:00:00Z";
    let backups: Vec<BackupRecord> = [(14, 10), (13, 1_000), (12, 1_000), (11, 1_000)]
        .into_iter()
        .map(|(d, size)| {
            well_kept(backup(
                &format!("B{d}"),
                &format!("2026-03-{d}T02:00:00Z"),
                BackupStatus::Succeeded,
                size,
            ))
        })
        .collect();
    let got = assess_at(&schedules, &backups, &key_proven(now), now);
    assert_eq!(kinds(&got), [(Kind::Anomaly, Severity::Warning)]);
    assert!(
        got[0]
            .message
            .starts_with("backup B14 (2026-03-14 02:00 UTC): the dump is 10 bytes")
    );
}

#[test]
fn the_state_is_the_worst_severity() {
    let problem = |severity| Problem {
        kind: Kind::Stale,
        severity,
        schedule: None,
        source: "s".into(),
        database: None,
        message: String::new(),
    };
    assert_eq!(State::of(&[]), State::Ok);
    assert_eq!(State::of(&[problem(Severity::Warning)]), State::Warning);
    assert_eq!(
        State::of(&[problem(Severity::Warning), problem(Severity::Critical)]),
        State::Critical
    );
    assert_eq!(
        [State::Ok, State::Warning, State::Critical, State::Unknown].map(State::exit_code),
        [0, 1, 2, 3]
    );
}

proptest! {
    /// Sizes within ±20 % of one another, no two alike, raise nothing.
    #[test]
    fn steady_sizes_raise_no_anomaly(base in 1_000u64..1_000_000_000, jitter in prop::collection::vec(-20i64..=20, 1..9)) {
        let sizes: Vec<u64> = jitter
            .iter()
            .enumerate()
            .map(|(i, pct)| (base as i64 + base as i64 * pct / 100) as u64 + i as u64)
            .collect();
        prop_assert_eq!(size_anomaly(&sizes), None);
    }

    /// A dump under half of every one of three or more before it is always flagged.
    #[test]
    fn a_halved_dump_is_always_flagged(before in prop::collection::vec(2u64..1_000_000_000, 3..8), cut in 1u64..1000) {
        let smallest = *before.iter().min().unwrap();
        let newest = ((smallest - 1) / 2).saturating_sub(cut);
        let mut sizes = vec![newest];
        sizes.extend(&before);
        prop_assert!(size_anomaly(&sizes).is_some());
    }

    /// More time passing never makes a schedule less stale.
    #[test]
    fn staleness_never_decreases_with_time(hours in 0i64..400, more in 0i64..400) {
        let every_six_hours = cron("0 */6 * * *");
        let schedules = [nightly(Some(&every_six_hours), "2026-01-01T00:00:00Z")];
        let backups = [well_kept(good("B1", "2026-01-02T00:00:01Z"))];
        let base = Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap();
        let severity = |h: i64| {
            let now = (base + Duration::hours(h)).to_rfc3339();
            let proofs = key_proven(&now);
            assess_at(&schedules, &backups, &proofs, &now)
                .iter()
                .filter(|p| p.kind == Kind::Stale)
                .map(|p| p.severity as u8 + 1)
                .max()
                .unwrap_or(0)
        };
        prop_assert!(severity(hours) <= severity(hours + more));
    }
}

#[test]
fn excluded_tables_with_data_are_a_warning() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let backups = [well_kept(good("B1", "2026-03-10T02:00:00Z"))];
    let now = "2026-03-10T05:00:00Z";
    let proofs = key_proven(now);
    let off_host = offsite();
    let excluded = ["public.audit".to_string()];
    let subject = Subject {
        source: "main",
        database: Some("app"),
        schedules: &schedules,
        backups: &backups,
        sizes: &sizes(&backups),
        proofs: &proofs,
        off_host: &off_host,
        excluded_with_data: &excluded,
        fidelity: &[],
    };
    let got = assess(&subject, at(now));
    assert_eq!(kinds(&got), [(Kind::Excluded, Severity::Warning)]);
    assert_eq!(
        got[0].message,
        "excluded tables hold data that backup B1 does not have: public.audit; if they matter, take them out of exclude_tables"
    );
}

#[test]
fn objects_the_backup_cannot_hold_are_a_fidelity_warning() {
    let schedules = [nightly(None, "2026-01-01T00:00:00Z")];
    let backups = [well_kept(good("B1", "2026-03-10T02:00:00Z"))];
    let now = "2026-03-10T05:00:00Z";
    let proofs = key_proven(now);
    let off_host = offsite();
    let lost = [dbward_core::FidelityLoss {
        object: "subscription \"sub\"".into(),
        reason: "not in this backup".into(),
    }];
    let subject = Subject {
        source: "main",
        database: Some("app"),
        schedules: &schedules,
        backups: &backups,
        sizes: &sizes(&backups),
        proofs: &proofs,
        off_host: &off_host,
        excluded_with_data: &[],
        fidelity: &lost,
    };
    let got = assess(&subject, at(now));
    assert_eq!(kinds(&got), [(Kind::Fidelity, Severity::Warning)]);
    assert_eq!(
        got[0].message,
        "backup B1 does not hold everything the database has: subscription \"sub\": not in this backup"
    );
}
