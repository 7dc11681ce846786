//! `compression_level = "auto"`: the zstd level follows the machine, like `zstd --adapt`.
//! Every [`WINDOW`] the compressor tells how long it waited for input (it was faster than
//! the dump: there is time for a stronger level) and how long the reader waited for the
//! compressor (it held the dump back: a weaker level). Pure: the codec measures, this
//! decides, so the rules are tested with synthetic producers.

use std::time::Duration;

/// The level a stream starts at: zstd's default.
pub const START: i32 = 3;
/// The weakest level used: within a few percent of level 3's size on dumps.
pub const LOWEST: i32 = 2;
/// The strongest level used: stronger ones cost memory and time out of proportion.
pub const HIGHEST: i32 = 9;
/// How often the level is reconsidered.
pub const WINDOW: Duration = Duration::from_millis(250);

/// The reader held back by the compressor for more than this share of a window: weaker.
const HELD_BACK: f64 = 0.10;
/// The compressor idle for more than this share of a window: stronger, unless the reader was
/// held back for more than [`UNHELD`] of it (handing over a chunk always takes a moment).
const IDLE: f64 = 0.30;
const UNHELD: f64 = 0.01;

/// The levels one stream used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    pub lowest: i32,
    pub highest: i32,
}

/// The level of one stream.
#[derive(Debug, Clone)]
pub struct Adapter {
    level: i32,
    used: Levels,
}

impl Default for Adapter {
    fn default() -> Self {
        Adapter {
            level: START,
            used: Levels {
                lowest: START,
                highest: START,
            },
        }
    }
}

impl Adapter {
    pub fn level(&self) -> i32 {
        self.level
    }

    pub fn used(&self) -> Levels {
        self.used
    }

    /// One window of `elapsed`, in which the compressor waited `idle` for input and the
    /// reader waited `held_back` for the compressor. Returns the new level when it changes.
    pub fn observe(
        &mut self,
        idle: Duration,
        held_back: Duration,
        elapsed: Duration,
    ) -> Option<i32> {
        if elapsed.is_zero() {
            return None;
        }
        let share = |d: Duration| d.as_secs_f64() / elapsed.as_secs_f64();
        let next = if share(held_back) > HELD_BACK {
            (self.level - 1).max(LOWEST)
        } else if share(idle) > IDLE && share(held_back) < UNHELD {
            (self.level + 1).min(HIGHEST)
        } else {
            self.level
        };
        if next == self.level {
            return None;
        }
        self.level = next;
        self.used.lowest = self.used.lowest.min(next);
        self.used.highest = self.used.highest.max(next);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_compressor_that_holds_the_dump_back_weakens_to_the_lowest_level() {
        let mut adapter = Adapter::default();
        for _ in 0..20 {
            adapter.observe(MS(0), MS(200), WINDOW);
        }
        assert_eq!(adapter.level(), LOWEST);
        assert_eq!(
            adapter.used(),
            Levels {
                lowest: LOWEST,
                highest: START
            }
        );
    }

    #[test]
    fn an_idle_compressor_strengthens_to_the_highest_level() {
        let mut adapter = Adapter::default();
        let changes: Vec<i32> = (0..20)
            .filter_map(|_| adapter.observe(MS(200), MS(0), WINDOW))
            .collect();
        assert_eq!(
            changes,
            (START + 1..=HIGHEST).collect::<Vec<_>>(),
            "one step a window"
        );
        assert_eq!(
            adapter.used(),
            Levels {
                lowest: START,
                highest: HIGHEST
            }
        );
    }

    #[test]
    fn a_balanced_pipeline_keeps_its_level() {
        let mut adapter = Adapter::default();
        for (idle, held) in [(10, 0), (70, 0), (0, 20), (150, 5)] {
            assert_eq!(
                adapter.observe(MS(idle), MS(held), WINDOW),
                None,
                "{idle} {held}"
            );
        }
        assert_eq!(adapter.level(), START);
    }

    proptest! {
        #[test]
        fn the_level_stays_within_its_bounds(
            windows in proptest::collection::vec((0u64..=250, 0u64..=250, 0u64..=250), 0..80)
        ) {
            let mut adapter = Adapter::default();
            for (idle, held, elapsed) in windows {
                adapter.observe(MS(idle), MS(held), MS(elapsed));
                prop_assert!((LOWEST..=HIGHEST).contains(&adapter.level()));
            }
            let used = adapter.used();
            prop_assert!(used.lowest <= adapter.level() && adapter.level() <= used.highest);
            prop_assert!(LOWEST <= used.lowest && used.highest <= HIGHEST);
        }
    }
}
