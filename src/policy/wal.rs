//! WAL retention: which archived WAL files of a pitr source `prune` may delete, given the
//! base backups retention keeps. A base backup on timeline `b` starting in segment `q` needs
//! every segment from `q` on, on its timeline and (conservatively) every later one, so a
//! file of timeline `t` at position `p` is kept while any kept backup has `b <= t` and
//! `q <= p`. Timeline history files are never deleted (they are tiny and recovery follows
//! them). Nothing is deleted when no base backup is kept, or when one kept backup's start is
//! unknown: a guess here would be a restore that fails when it matters.

use dbward_core::wal::{WalFileKind, WalFileName};

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
}
