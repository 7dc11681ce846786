//! WAL retention: which archived WAL files of a pitr source `prune` may delete, given the
//! base backups retention keeps. A base backup on timeline `b` starting in segment `q` needs
//! every segment from `q` on, on its timeline and (conservatively) every later one, so a
//! file of timeline `t` at position `p` is kept while any kept backup has `b <= t` and
//! `q <= p`. Timeline history files are never deleted (they are tiny and recovery follows
//! them). Nothing is deleted when no base backup is kept, or when one kept backup's start is
//! unknown: a guess here would be a restore that fails when it matters.
//!
//! Also the archive's health: `archiving` (nothing archived within the expected interval)
//! and `wal_gap` (a segment missing between the oldest kept base backup's start and the
//! newest archived segment).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use dbward_core::wal::{WalFileKind, WalFileName};

use super::health::{Kind, Problem, Severity};

/// Where a kept base backup's recovery starts: its `start_wal_file`, or `None` when its
/// manifest does not say.
pub type KeptStart<'a> = Option<&'a str>;

/// What WAL retention decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalPlan {
    /// Files to delete, in name order.
    pub remove: Vec<String>,
    /// How many files stay.
    pub keep: usize,
    /// Why nothing is deleted at all, when that is the decision.
    pub held: Option<String>,
}

/// (timeline, position) of the segment a WAL file belongs to; `None` for a history file or
/// a name that is not a WAL file (never deleted).
fn place(name: &str) -> Option<(u32, u64)> {
    let parsed = WalFileName::parse(name).ok()?;
    if parsed.kind() == WalFileKind::History {
        return None;
    }
    let position = u64::from_str_radix(name.get(8..24)?, 16).ok()?;
    Some((parsed.timeline(), position))
}

/// Decides which of `archived` (WAL file names) to delete, keeping what the recovery of each
/// of `kept` needs.
pub fn plan(archived: &[String], kept: &[KeptStart<'_>]) -> WalPlan {
    let held = |why: String| WalPlan {
        remove: Vec::new(),
        keep: archived.len(),
        held: Some(why),
    };
    if kept.is_empty() {
        return held("no base backup is kept, so every archived WAL file stays".into());
    }
    let mut starts = Vec::new();
    for start in kept {
        match start.and_then(place) {
            Some(at) => starts.push(at),
            None => {
                return held(format!(
                    "a kept base backup's first WAL file is unknown ({}), so every archived WAL file stays",
                    start.unwrap_or("not in its manifest")
                ));
            }
        }
    }
    let needed = |(timeline, position): (u32, u64)| {
        starts
            .iter()
            .any(|&(from_timeline, from)| from_timeline <= timeline && from <= position)
    };
    let mut remove: Vec<String> = archived
        .iter()
        .filter(|name| place(name).is_some_and(|at| !needed(at)))
        .cloned()
        .collect();
    remove.sort();
    WalPlan {
        keep: archived.len() - remove.len(),
        remove,
        held: None,
    }
}

/// What `status` knows of one pitr source's WAL archive.
#[derive(Debug, Clone)]
pub struct ArchiveFacts<'a> {
    pub source: &'a str,
    /// Every archived WAL file the catalog records, any destination.
    pub archived: &'a [String],
    /// The newest archived file and when it was archived.
    pub newest: Option<(&'a str, DateTime<Utc>)>,
    /// The oldest kept base backup's first WAL file and its cluster's segment size.
    pub oldest_kept: Option<(&'a str, u64)>,
    /// `wal_archive_interval`.
    pub interval: Duration,
}

/// How many missing segments [`missing_segments`] names at most: enough to act on.
pub const MISSING_NAMED: usize = 20;

/// The segments missing between `start` (the oldest kept base backup's first WAL file) and
/// the newest archived segment at or after it, on the backup's timeline or a later one
/// (after a promotion the new timeline carries on at the same positions): `(count, the
/// first MISSING_NAMED names)`. A name is given on `start`'s timeline.
pub fn missing_segments(
    archived: &[String],
    start: &str,
    segment_bytes: u64,
) -> (u64, Vec<String>) {
    let Some((timeline, first)) = place(start) else {
        return (0, Vec::new());
    };
    if !segment_bytes.is_power_of_two() || !(1 << 20..=1 << 30).contains(&segment_bytes) {
        return (0, Vec::new());
    }
    let per_log = 0x1_0000_0000 / segment_bytes;
    let index = |position: u64| (position >> 32) * per_log + (position & 0xFFFF_FFFF);
    let present: BTreeSet<u64> = archived
        .iter()
        .filter(|n| WalFileName::parse(n).is_ok_and(|f| f.kind() == WalFileKind::Segment))
        .filter_map(|n| place(n))
        .filter(|&(t, p)| t >= timeline && p >= first)
        .map(|(_, p)| index(p))
        .collect();
    if present.is_empty() {
        return (1, vec![start.to_string()]);
    }
    // Walk the holes between consecutive present segments (never the whole range: a bogus
    // name far ahead must not make status count billions).
    let name = |i: u64| format!("{timeline:08X}{:08X}{:08X}", i / per_log, i % per_log);
    let mut count = 0;
    let mut named = Vec::new();
    let mut expected = index(first);
    for &i in &present {
        if i > expected {
            count += i - expected;
            let mut hole = expected;
            while hole < i && named.len() < MISSING_NAMED {
                named.push(name(hole));
                hole += 1;
            }
        }
        expected = i + 1;
    }
    (count, named)
}

/// The WAL archive's problems at `now`: `archiving` when nothing was archived within the
/// interval (or ever), `wal_gap` when a segment a kept backup's recovery needs is missing.
/// Both are critical: the first means the recovery point is falling behind unseen, the
/// second that a restore past the gap stops there.
pub fn assess(facts: &ArchiveFacts<'_>, now: DateTime<Utc>) -> Vec<Problem> {
    let gap = facts.oldest_kept.map(|(start, segment_bytes)| {
        let (count, named) = missing_segments(facts.archived, start, segment_bytes);
        Gap {
            count,
            named,
            after: format!("the oldest kept base backup's start {start}"),
        }
    });
    archive_problems(
        facts.source,
        facts.newest,
        facts.interval,
        now,
        gap,
        &Wording {
            file: "WAL file",
            missing: "WAL segment(s)",
            never: "set the server's archive_command to `dbward wal push %p` (docs/cli.md, dbward wal)",
            stale: "check the server's archive_command and pg_stat_archiver, and set archive_timeout below wal_archive_interval",
            gap_fix: "if they are on a destination but the catalog missed them (wal push could not reach it), `dbward catalog rebuild --from DEST` records them, else take a new base backup (dbward backup) to recover beyond the gap",
        },
    )
}

/// Files missing from an archive after where the oldest kept backup's recovery starts.
pub(super) struct Gap {
    pub count: u64,
    /// The first [`MISSING_NAMED`].
    pub named: Vec<String>,
    /// Where the recovery starts, as a message says it.
    pub after: String,
}

/// How the problems of one kind of log archive (WAL, binlog) are worded.
pub(super) struct Wording<'a> {
    pub file: &'a str,
    pub missing: &'a str,
    /// What to do when nothing was ever archived.
    pub never: &'a str,
    /// What to check when archiving stopped.
    pub stale: &'a str,
    /// What to do about a gap.
    pub gap_fix: &'a str,
}

/// A log archive's problems: `archiving` when nothing was archived within `interval` (or
/// ever), `wal_gap` when a file a kept backup's recovery needs is missing. Both critical.
pub(super) fn archive_problems(
    source: &str,
    newest: Option<(&str, DateTime<Utc>)>,
    interval: Duration,
    now: DateTime<Utc>,
    gap: Option<Gap>,
    words: &Wording<'_>,
) -> Vec<Problem> {
    let problem = |kind, message| Problem {
        kind,
        severity: Severity::Critical,
        schedule: None,
        source: source.to_string(),
        database: None,
        message,
    };
    let mut problems = Vec::new();
    let file = words.file;
    match newest {
        None => problems.push(problem(
            Kind::Archiving,
            format!("no {file} has been archived; {}", words.never),
        )),
        Some((name, at)) if now - at > interval => problems.push(problem(
            Kind::Archiving,
            format!(
                "no {file} archived for {} (newest {name}, at {}; expected within {}); {}",
                super::span(now - at),
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                super::span(interval),
                words.stale
            ),
        )),
        Some(_) => {}
    }
    if let Some(gap) = gap.filter(|g| g.count > 0) {
        problems.push(problem(
            Kind::WalGap,
            format!(
                "{} {} missing after {}: {}{}; a restore past the first stops there; {}",
                gap.count,
                words.missing,
                gap.after,
                gap.named.join(", "),
                if gap.count > gap.named.len() as u64 {
                    ", ..."
                } else {
                    ""
                },
                words.gap_fix
            ),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const S1_1: &str = "000000010000000000000001";
    const S1_2: &str = "000000010000000000000002";
    const S1_3: &str = "000000010000000000000003";
    const S1_4: &str = "000000010000000000000004";
    const S1_NEXT_LOG: &str = "000000010000000100000000";
    const S2_3: &str = "000000020000000000000003";
    const S2_5: &str = "000000020000000000000005";
    const HISTORY_2: &str = "00000002.history";
    const BACKUP_1_2: &str = "000000010000000000000002.00000028.backup";
    const PARTIAL_1_3: &str = "000000010000000000000003.partial";

    #[test]
    fn wal_retention_table() {
        struct Case {
            why: &'static str,
            archived: &'static [&'static str],
            kept: &'static [Option<&'static str>],
            removed: &'static [&'static str],
            held: bool,
        }
        let cases = [
            Case {
                why: "segments before the only kept backup's start go",
                archived: &[S1_1, S1_2, S1_3, S1_4],
                kept: &[Some(S1_3)],
                removed: &[S1_1, S1_2],
                held: false,
            },
            Case {
                why: "the oldest of several kept backups decides",
                archived: &[S1_1, S1_2, S1_3, S1_4],
                kept: &[Some(S1_4), Some(S1_2)],
                removed: &[S1_1],
                held: false,
            },
            Case {
                why: "the start segment itself and the next log file stay",
                archived: &[S1_2, S1_NEXT_LOG],
                kept: &[Some(S1_2)],
                removed: &[],
                held: false,
            },
            Case {
                why: "a backup-history and a partial file before the start go with their segment",
                archived: &[BACKUP_1_2, PARTIAL_1_3, S1_4],
                kept: &[Some(S1_4)],
                removed: &[BACKUP_1_2, PARTIAL_1_3],
                held: false,
            },
            Case {
                why: "per timeline: a backup on timeline 2 does not protect timeline 1 after its start",
                archived: &[S1_3, S1_4, S2_3, S2_5],
                kept: &[Some(S2_5)],
                removed: &[S1_3, S1_4, S2_3],
                held: false,
            },
            Case {
                why: "a backup on timeline 1 keeps the later timeline that descends from it",
                archived: &[S1_1, S1_3, S2_3, S2_5],
                kept: &[Some(S1_3)],
                removed: &[S1_1],
                held: false,
            },
            Case {
                why: "timeline history files are never deleted",
                archived: &[HISTORY_2, S1_1, S2_5],
                kept: &[Some(S2_5)],
                removed: &[S1_1],
                held: false,
            },
            Case {
                why: "no kept base backup: nothing goes",
                archived: &[S1_1, S1_2],
                kept: &[],
                removed: &[],
                held: true,
            },
            Case {
                why: "a kept backup with an unknown start: nothing goes",
                archived: &[S1_1, S1_2],
                kept: &[Some(S1_2), None],
                removed: &[],
                held: true,
            },
            Case {
                why: "a kept backup whose start is not a segment name: nothing goes",
                archived: &[S1_1, S1_2],
                kept: &[Some("garbage")],
                removed: &[],
                held: true,
            },
            Case {
                why: "names that are not WAL files are never deleted",
                archived: &["notes.txt", S1_1],
                kept: &[Some(S1_2)],
                removed: &[S1_1],
                held: false,
            },
        ];
        for case in cases {
            let archived = names(case.archived);
            let got = plan(&archived, case.kept);
            assert_eq!(got.remove, names(case.removed), "{}", case.why);
            assert_eq!(
                got.keep,
                archived.len() - case.removed.len(),
                "{}",
                case.why
            );
            assert_eq!(
                got.held.is_some(),
                case.held,
                "{}: {:?}",
                case.why,
                got.held
            );
        }
    }

    #[test]
    fn missing_segments_table() {
        const MIB16: u64 = 16 << 20;
        // (why, archived, start, segment bytes, missing count, missing named)
        type Case = (
            &'static str,
            &'static [&'static str],
            &'static str,
            u64,
            u64,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                "complete from the start",
                &[S1_2, S1_3, S1_4],
                S1_2,
                MIB16,
                0,
                &[],
            ),
            (
                "one missing in the middle",
                &[S1_2, S1_4],
                S1_2,
                MIB16,
                1,
                &[S1_3],
            ),
            (
                "before the start does not count",
                &[S1_1, S1_3],
                S1_3,
                MIB16,
                0,
                &[],
            ),
            (
                "the start itself missing",
                &[S1_3, S1_4],
                S1_2,
                MIB16,
                1,
                &[S1_2],
            ),
            (
                "across a log boundary: 0x100 segments of 16 MiB make a log",
                &["0000000100000000000000FF", S1_NEXT_LOG],
                "0000000100000000000000FF",
                MIB16,
                0,
                &[],
            ),
            (
                "a later timeline carries on after a promotion",
                &[S1_2, S2_3, "000000020000000000000004"],
                S1_2,
                MIB16,
                0,
                &[],
            ),
            (
                "nothing archived at or after the start",
                &[S1_1],
                S1_2,
                MIB16,
                1,
                &[S1_2],
            ),
            (
                "partial and backup history files are not segments",
                &[S1_2, PARTIAL_1_3, BACKUP_1_2, S1_4],
                S1_2,
                MIB16,
                1,
                &[S1_3],
            ),
            (
                "an impossible segment size checks nothing",
                &[S1_2, S1_4],
                S1_2,
                1000,
                0,
                &[],
            ),
            (
                "a name far ahead is counted, not walked",
                &[S1_2, "0000000100000FFF00000000"],
                S1_2,
                MIB16,
                0xFFF * 0x100 - 3,
                &[
                    "000000010000000000000003",
                    "000000010000000000000004",
                    "000000010000000000000005",
                    "000000010000000000000006",
                    "000000010000000000000007",
                    "000000010000000000000008",
                    "000000010000000000000009",
                    "00000001000000000000000A",
                    "00000001000000000000000B",
                    "00000001000000000000000C",
                    "00000001000000000000000D",
                    "00000001000000000000000E",
                    "00000001000000000000000F",
                    "000000010000000000000010",
                    "000000010000000000000011",
                    "000000010000000000000012",
                    "000000010000000000000013",
                    "000000010000000000000014",
                    "000000010000000000000015",
                    "000000010000000000000016",
                ],
            ),
        ];
        for (why, archived, start, bytes, count, named) in cases {
            let got = missing_segments(&names(archived), start, *bytes);
            assert_eq!(got, (*count, names(named)), "{why}");
        }
    }

    #[test]
    fn archive_health_table() {
        let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        let hour = Duration::hours(1);
        let archived = names(&[S1_2, S1_4]);
        let complete = names(&[S1_2, S1_3, S1_4]);
        let cases: Vec<(&str, ArchiveFacts<'_>, Vec<Kind>)> = vec![
            (
                "recent and complete: fine",
                ArchiveFacts {
                    source: "pg",
                    archived: &complete,
                    newest: Some((S1_4, now - Duration::minutes(10))),
                    oldest_kept: Some((S1_2, 16 << 20)),
                    interval: hour,
                },
                vec![],
            ),
            (
                "older than the interval: archiving",
                ArchiveFacts {
                    source: "pg",
                    archived: &complete,
                    newest: Some((S1_4, now - Duration::minutes(61))),
                    oldest_kept: Some((S1_2, 16 << 20)),
                    interval: hour,
                },
                vec![Kind::Archiving],
            ),
            (
                "never archived: archiving",
                ArchiveFacts {
                    source: "pg",
                    archived: &[],
                    newest: None,
                    oldest_kept: None,
                    interval: hour,
                },
                vec![Kind::Archiving],
            ),
            (
                "a hole after the oldest kept start: wal_gap",
                ArchiveFacts {
                    source: "pg",
                    archived: &archived,
                    newest: Some((S1_4, now)),
                    oldest_kept: Some((S1_2, 16 << 20)),
                    interval: hour,
                },
                vec![Kind::WalGap],
            ),
            (
                "no kept base backup: no gap to judge",
                ArchiveFacts {
                    source: "pg",
                    archived: &archived,
                    newest: Some((S1_4, now)),
                    oldest_kept: None,
                    interval: hour,
                },
                vec![],
            ),
        ];
        for (why, facts, kinds) in cases {
            let got: Vec<Kind> = assess(&facts, now).iter().map(|p| p.kind).collect();
            assert_eq!(got, kinds, "{why}");
            assert!(
                assess(&facts, now)
                    .iter()
                    .all(|p| p.severity == Severity::Critical && p.source == "pg"),
                "{why}"
            );
        }
    }
}
