//! Table-driven and property tests of cron fires, due fires, catch-up and jitter.

use std::str::FromStr;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn cron(text: &str) -> Cron {
    Cron::from_str(text).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const BERLIN: Tz = chrono_tz::Europe::Berlin;

#[test]
fn next_and_previous_fires_follow_the_time_zone() {
    let nightly = cron("0 2 * * *");
    // 02:00 in Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
    let cases = [
        (
            "2026-01-10T12:00:00Z",
            "2026-01-11T01:00:00Z",
            "2026-01-10T01:00:00Z",
        ),
        (
            "2026-07-10T12:00:00Z",
            "2026-07-11T00:00:00Z",
            "2026-07-10T00:00:00Z",
        ),
        // Exactly on a fire: it is the previous one, and the next is a day later.
        (
            "2026-01-10T01:00:00Z",
            "2026-01-11T01:00:00Z",
            "2026-01-10T01:00:00Z",
        ),
    ];
    for (now, next, previous) in cases {
        assert_eq!(
            next_fire(&nightly, BERLIN, at(now)),
            Some(at(next)),
            "{now}"
        );
        assert_eq!(
            previous_fire(&nightly, BERLIN, at(now)),
            Some(at(previous)),
            "{now}"
        );
    }
}

#[test]
fn fires_across_daylight_saving_changes_are_an_hour_apart_in_utc() {
    let nightly = cron("0 0 3 * * *");
    // Berlin springs forward on 2026-03-29 (02:00 → 03:00) and falls back on 2026-10-25.
    let spring = interval(&nightly, BERLIN, at("2026-03-27T12:00:00Z")).unwrap();
    assert_eq!(spring, Duration::hours(23));
    let autumn = interval(&nightly, BERLIN, at("2026-10-23T12:00:00Z")).unwrap();
    assert_eq!(autumn, Duration::hours(25));
    // In UTC nothing moves.
    let utc = interval(&nightly, chrono_tz::UTC, at("2026-03-27T12:00:00Z")).unwrap();
    assert_eq!(utc, Duration::hours(24));
}

#[test]
fn a_wall_clock_time_that_does_not_exist_still_fires_once_that_day() {
    // 02:30 does not exist in Berlin on 2026-03-29.
    let cron = cron("0 30 2 * * *");
    let fires: Vec<_> = cron
        .iter_after(at("2026-03-28T12:00:00Z").with_timezone(&BERLIN))
        .take(2)
        .map(|f| f.with_timezone(&Utc))
        .collect();
    assert_eq!(fires.len(), 2);
    let days: Vec<_> = fires
        .iter()
        .map(|f| f.with_timezone(&BERLIN).date_naive())
        .collect();
    assert_ne!(days[0], days[1], "two fires on one day: {fires:?}");
}

#[test]
fn seconds_are_allowed() {
    let every_second = cron("* * * * * *");
    assert_eq!(
        next_fire(
            &every_second,
            chrono_tz::UTC,
            at("2026-01-01T00:00:00.200Z")
        ),
        Some(at("2026-01-01T00:00:01Z"))
    );
    assert_eq!(
        interval(&every_second, chrono_tz::UTC, at("2026-01-01T00:00:00Z")),
        Some(Duration::seconds(1))
    );
}

#[test]
fn the_due_fire_is_the_newest_and_older_ones_are_passed_over() {
    let hourly = cron("0 * * * *");
    let utc = chrono_tz::UTC;
    let cases = [
        // (handled up to, now, due fire, passed over)
        ("2026-01-01T10:00:00Z", "2026-01-01T10:59:59Z", None),
        (
            "2026-01-01T10:00:00Z",
            "2026-01-01T11:00:00Z",
            Some(("2026-01-01T11:00:00Z", 0)),
        ),
        (
            "2026-01-01T10:00:00Z",
            "2026-01-01T11:00:30Z",
            Some(("2026-01-01T11:00:00Z", 0)),
        ),
        // Asleep for three hours: one run, for the newest fire.
        (
            "2026-01-01T10:00:00Z",
            "2026-01-01T13:20:00Z",
            Some(("2026-01-01T13:00:00Z", 2)),
        ),
        // The clock stepped back: nothing is due.
        ("2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z", None),
    ];
    for (after, now, expected) in cases {
        let expected = expected.map(|(fire, passed_over)| Due {
            fire: at(fire),
            passed_over,
        });
        assert_eq!(
            due(&hourly, utc, at(after), at(now)),
            expected,
            "{after} {now}"
        );
    }
}

#[test]
fn catch_up_runs_only_the_newest_missed_fire_within_the_window() {
    let nightly = cron("0 2 * * *");
    let utc = chrono_tz::UTC;
    let now = at("2026-01-10T09:00:00Z");
    let cases = [
        // (last run, window, caught up)
        (
            Some("2026-01-09T02:00:03Z"),
            None,
            Some("2026-01-10T02:00:00Z"),
        ),
        (
            Some("2026-01-05T02:00:03Z"),
            None,
            Some("2026-01-10T02:00:00Z"),
        ),
        (None, None, Some("2026-01-10T02:00:00Z")),
        // The run of today's fire was seen: nothing to catch up.
        (Some("2026-01-10T02:00:03Z"), None, None),
        // Missed 7 h ago, the window is 6 h: too old.
        (Some("2026-01-09T02:00:03Z"), Some(Duration::hours(6)), None),
        (
            Some("2026-01-09T02:00:03Z"),
            Some(Duration::hours(7)),
            Some("2026-01-10T02:00:00Z"),
        ),
    ];
    for (last, window, expected) in cases {
        assert_eq!(
            catch_up(&nightly, utc, last.map(at), now, window),
            expected.map(at),
            "{last:?} {window:?}"
        );
    }
    // One interval by default: a fire missed more than a day ago is not caught up.
    let weekly = cron("0 2 * * 1");
    assert_eq!(
        catch_up(&weekly, utc, None, at("2026-01-10T09:00:00Z"), None),
        Some(at("2026-01-05T02:00:00Z"))
    );
    assert_eq!(
        catch_up(
            &nightly,
            utc,
            None,
            at("2026-01-11T01:59:00Z"),
            Some(Duration::hours(1))
        ),
        None
    );
}

#[test]
fn jitter_is_fixed_per_fire_and_bounded() {
    let fire = at("2026-01-01T02:00:00Z");
    let (a, b) = (
        jitter("nightly", fire, Duration::minutes(10), Duration::days(1)),
        jitter("nightly", fire, Duration::minutes(10), Duration::days(1)),
    );
    assert_eq!(a, b);
    assert!(a < Duration::minutes(10));
    assert_eq!(
        jitter("nightly", fire, Duration::zero(), Duration::days(1)),
        Duration::zero()
    );
    // Capped at half the interval.
    assert!(jitter("x", fire, Duration::hours(5), Duration::seconds(2)) < Duration::seconds(1));
    // Schedules sharing a cron spread out.
    let offsets: std::collections::BTreeSet<_> = (0..20)
        .map(|i| {
            jitter(
                &format!("s{i}"),
                fire,
                Duration::minutes(10),
                Duration::days(1),
            )
        })
        .collect();
    assert!(offsets.len() > 10, "{offsets:?}");
}

fn zones() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        BERLIN,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Asia::Kolkata,
    ])
}

fn crons() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "0 2 * * *",
        "30 2 * * *",
        "*/15 * * * *",
        "0 0 * * 0",
        "*/7 * * * * *",
        "0 30 1-3 * * *",
    ])
}

proptest! {
    #[test]
    fn due_fires_lie_in_the_window_and_after_them_nothing_is_due(
        pattern in crons(),
        tz in zones(),
        start in 1_700_000_000i64..1_900_000_000,
        gap in 0i64..400_000,
    ) {
        let cron = cron(pattern);
        let after = Utc.timestamp_opt(start, 0).unwrap();
        let now = after + Duration::seconds(gap);
        if let Some(d) = due(&cron, tz, after, now) {
            prop_assert!(d.fire > after && d.fire <= now);
            // Handled up to that fire, nothing more is due until the next one.
            prop_assert_eq!(due(&cron, tz, d.fire, now), None);
            let next = next_fire(&cron, tz, d.fire).unwrap();
            prop_assert!(next > now);
        } else {
            prop_assert!(next_fire(&cron, tz, after).is_none_or(|n| n > now));
        }
    }

    #[test]
    fn fires_increase_and_previous_undoes_next(
        pattern in crons(),
        tz in zones(),
        start in 1_700_000_000i64..1_900_000_000,
    ) {
        let cron = cron(pattern);
        let mut at = Utc.timestamp_opt(start, 0).unwrap();
        for _ in 0..5 {
            let next = next_fire(&cron, tz, at).unwrap();
            prop_assert!(next > at);
            prop_assert_eq!(previous_fire(&cron, tz, next), Some(next));
            prop_assert!(previous_fire(&cron, tz, next - Duration::milliseconds(1)).is_none_or(|p| p <= at));
            at = next;
        }
    }

    #[test]
    fn catch_up_is_at_most_one_fire_never_before_the_last_run(
        pattern in crons(),
        tz in zones(),
        now in 1_700_000_000i64..1_900_000_000,
        last in prop::option::of(0i64..2_000_000),
    ) {
        let cron = cron(pattern);
        let now = Utc.timestamp_opt(now, 0).unwrap();
        let last = last.map(|ago| now - Duration::seconds(ago));
        if let Some(fire) = catch_up(&cron, tz, last, now, None) {
            prop_assert!(fire <= now);
            prop_assert!(last.is_none_or(|l| l < fire));
            prop_assert_eq!(previous_fire(&cron, tz, now), Some(fire));
        }
    }

    #[test]
    fn jitter_stays_below_its_bounds(
        seed in "[a-z]{1,8}",
        fire in 1_700_000_000i64..1_900_000_000,
        max in 0i64..7200,
        interval in 1i64..100_000,
    ) {
        let fire = Utc.timestamp_opt(fire, 0).unwrap();
        let offset = jitter(&seed, fire, Duration::seconds(max), Duration::seconds(interval));
        prop_assert!(offset >= Duration::zero());
        prop_assert!(offset <= Duration::seconds(max));
        prop_assert!(offset <= Duration::seconds(interval) / 2);
    }
}
