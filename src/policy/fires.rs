//! A cron's fires near one moment, worked out once and then asked many times. `status`
//! judges thousands of databases against a handful of schedules, and croner finds each fire
//! by walking the calendar; with the fires around `now` listed once, each database's
//! questions (the interval after its newest backup, the fires it missed since) are binary
//! searches. Answers never depend on the listed range: a question outside it goes to
//! croner, so the table is a cache, not an approximation.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::schedule::{self, MAX_COUNTED};

/// Fires listed before the anchor: enough for a database backed up within that many fires.
const LISTED_BEFORE: usize = 16;
/// Fires listed after the anchor: the interval after the newest fire needs the next two.
const LISTED_AFTER: usize = 2;

/// One cron in one time zone, with every fire of a contiguous stretch around an anchor.
#[derive(Debug, Clone)]
pub struct Fires<'a> {
    cron: &'a Cron,
    tz: Tz,
    /// Ascending, and every fire between the first and the last is in it.
    listed: Vec<DateTime<Utc>>,
}

impl<'a> Fires<'a> {
    /// Lists the fires of `cron` around `anchor` (usually now).
    pub fn new(cron: &'a Cron, tz: Tz, anchor: DateTime<Utc>) -> Fires<'a> {
        let mut listed: Vec<DateTime<Utc>> = Vec::with_capacity(LISTED_BEFORE + LISTED_AFTER);
        let mut at = schedule::previous_fire(cron, tz, anchor);
        while let Some(fire) = at {
            listed.push(fire);
            if listed.len() == LISTED_BEFORE {
                break;
            }
            at = cron
                .find_previous_occurrence(&fire.with_timezone(&tz), false)
                .ok()
                .map(|f| f.with_timezone(&Utc));
        }
        listed.reverse();
        listed.extend(
            cron.iter_after(anchor.with_timezone(&tz))
                .take(LISTED_AFTER)
                .map(|f| f.with_timezone(&Utc)),
        );
        Fires { cron, tz, listed }
    }

    pub fn cron(&self) -> &'a Cron {
        self.cron
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Where the listed stretch covers `at`: the index of the first listed fire after it.
    fn after(&self, at: DateTime<Utc>) -> Option<usize> {
        let first = *self.listed.first()?;
        (at >= first).then(|| self.listed.partition_point(|f| *f <= at))
    }

    /// [`schedule::interval`]: the time between the first two fires after `after`.
    pub fn interval(&self, after: DateTime<Utc>) -> Option<Duration> {
        match self.after(after) {
            Some(i) if i + 1 < self.listed.len() => Some(self.listed[i + 1] - self.listed[i]),
            _ => schedule::interval(self.cron, self.tz, after),
        }
    }

    /// [`schedule::fires_between`]: how many fires after `since` and no later than `until`
    /// (at most [`MAX_COUNTED`]), and the last of them.
    pub fn between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> (usize, Option<DateTime<Utc>>) {
        if until <= since {
            return (0, None);
        }
        match (self.after(since), self.listed.last()) {
            (Some(from), Some(last)) if until <= *last => {
                let to = self.listed.partition_point(|f| *f <= until);
                let last_due = to.checked_sub(1).map(|i| self.listed[i]);
                (
                    (to - from).min(MAX_COUNTED),
                    last_due.filter(|f| *f > since),
                )
            }
            _ => schedule::fires_between(self.cron, self.tz, since, until),
        }
    }

    /// The last fire after `since` and no later than `until`: [`Fires::between`] without
    /// the count, which from long ago would walk many fires.
    pub fn last_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let last = match (self.after(until), self.listed.last()) {
            (Some(to), Some(newest)) if until <= *newest => Some(self.listed[to - 1]),
            _ => schedule::previous_fire(self.cron, self.tz, until),
        };
        last.filter(|f| *f > since)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn cron(pattern: &str) -> Cron {
        Cron::from_str(pattern).unwrap()
    }

    const PATTERNS: [&str; 5] = [
        "0 2 * * *",
        "30 1 * * 1-5",
        "*/20 * * * *",
        "0 3 * * 0",
        "0 2,3 * * *",
    ];

    fn zone(i: usize) -> Tz {
        [
            chrono_tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
        ][i % 3]
    }

    fn moment(minutes: i64) -> DateTime<Utc> {
        // Around the 2026 spring and autumn DST changes of both zones.
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    proptest! {
        #[test]
        fn answers_as_croner_does_wherever_the_table_is_anchored(
            pattern in 0..PATTERNS.len(),
            tz in 0..3usize,
            anchor in 0i64..400_000,
            since in 0i64..400_000,
            span in 0i64..60_000,
        ) {
            let c = cron(PATTERNS[pattern]);
            let tz = zone(tz);
            let fires = Fires::new(&c, tz, moment(anchor));
            let (since, until) = (moment(since), moment(since + span));
            prop_assert_eq!(fires.interval(since), schedule::interval(&c, tz, since));
            prop_assert_eq!(
                fires.between(since, until),
                schedule::fires_between(&c, tz, since, until)
            );
            prop_assert_eq!(
                fires.last_between(since, until),
                schedule::fires_between(&c, tz, since, until).1
            );
        }
    }

    #[test]
    fn lists_the_fires_around_its_anchor() {
        let c = cron("0 2 * * *");
        let anchor = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let fires = Fires::new(&c, chrono_tz::UTC, anchor);
        assert_eq!(fires.listed.len(), LISTED_BEFORE + LISTED_AFTER);
        assert_eq!(
            fires.listed[LISTED_BEFORE - 1],
            Utc.with_ymd_and_hms(2026, 12, 6, 2, 0, 0).unwrap()
        );
        assert_eq!(
            fires.listed[0],
            Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap()
        );
        assert!(
            fires
                .listed
                .windows(2)
                .all(|w| w[1] - w[0] == Duration::days(1))
        );
    }
}
