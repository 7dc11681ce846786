//! When cron fires are due: the fires of a cron in its time zone (DST-correct through
//! croner; seconds allowed), which fire is due now (the newest one passed, never a burst of
//! the older ones), the one missed fire run at start-up within `catch_up`, and a fixed
//! jitter per fire. `status` (stale, unverified) and the daemon share these.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// Successive fires counted, at most (`status` says "or more").
pub const MAX_COUNTED: usize = 100;

/// The first fire strictly after `after`.
pub fn next_fire(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .ok()
        .map(|fire| fire.with_timezone(&Utc))
}

/// The newest fire at or before `at`.
pub fn previous_fire(cron: &Cron, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_previous_occurrence(&at.with_timezone(&tz), true)
        .ok()
        .map(|fire| fire.with_timezone(&Utc))
}

/// The time between the first two fires after `after`: the cron's interval there.
pub fn interval(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<Duration> {
    let mut fires = cron.iter_after(after.with_timezone(&tz));
    match (fires.next(), fires.next()) {
        (Some(a), Some(b)) => Some(b.with_timezone(&Utc) - a.with_timezone(&Utc)),
        _ => None,
    }
}

/// Fires of `cron` after `since` and no later than `until`: how many (at most
/// [`MAX_COUNTED`]) and the last one.
pub fn fires_between(
    cron: &Cron,
    tz: Tz,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (usize, Option<DateTime<Utc>>) {
    if until <= since {
        return (0, None);
    }
    let count = cron
        .iter_after(since.with_timezone(&tz))
        .map(|fire| fire.with_timezone(&Utc))
        .take_while(|fire| *fire <= until)
        .take(MAX_COUNTED)
        .count();
    let last = previous_fire(cron, tz, until).filter(|fire| *fire > since);
    (count, last)
}

/// A fire that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub fire: DateTime<Utc>,
    /// Older fires passed over for it (the process was asleep or busy): they are not run.
    pub passed_over: usize,
}

/// The fire due at `now` for a loop that handled every fire up to `after`: the newest
/// fire in `(after, now]`, once, however many passed since.
pub fn due(cron: &Cron, tz: Tz, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
    let (count, last) = fires_between(cron, tz, after, now);
    last.map(|fire| Due {
        fire,
        passed_over: count.saturating_sub(1),
    })
}

/// The one fire to catch up at start-up: the newest fire at or before `now`, when no run
/// was seen at or after it (`last_run`, `None` for never) and it is at most `window` old
/// (`None`: one interval of the cron). Older missed fires are never run.
pub fn catch_up(
    cron: &Cron,
    tz: Tz,
    last_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: Option<Duration>,
) -> Option<DateTime<Utc>> {
    let fire = previous_fire(cron, tz, now)?;
    if last_run.is_some_and(|run| run >= fire) {
        return None;
    }
    let window = match window {
        Some(window) => window,
        None => interval(cron, tz, fire)?,
    };
    (now - fire <= window).then_some(fire)
}

/// How much later than `fire` its run starts: a fixed fraction of `jitter` taken from
/// `seed` (the schedule, say) and the fire, so that each fire has one offset however often
/// it is asked, and schedules sharing a cron spread out. Below `jitter`, and below half the
/// cron's interval, so a fire never runs into the next.
pub fn jitter(seed: &str, fire: DateTime<Utc>, jitter: Duration, interval: Duration) -> Duration {
    let bound = jitter.min(interval / 2).num_milliseconds();
    if bound <= 0 {
        return Duration::zero();
    }
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes().chain(fire.timestamp_millis().to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Duration::milliseconds((hash % bound as u64) as i64)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
