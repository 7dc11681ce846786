//! The binlog archive's health of a `pitr = true` MariaDB/MySQL source: `archiving` when no
//! binlog file was archived within `wal_archive_interval` (or ever), `wal_gap` when a file
//! between the oldest kept dump's binlog position and the newest archived file is missing
//! (a restore needing it stops there). Both critical, like the WAL archive's.

use chrono::{DateTime, Duration, Utc};
use dbward_core::binlog::{BinlogFileName, missing_files};

use super::health::Problem;
use super::wal::{Gap, MISSING_NAMED, WalPlan, Wording, archive_problems};

/// What `status` knows of one source's binlog archive.
#[derive(Debug, Clone)]
pub struct BinlogFacts<'a> {
    pub source: &'a str,
    /// Every archived binlog file the catalog records, any destination.
    pub archived: &'a [String],
    /// The newest archived file and when it was archived.
    pub newest: Option<(&'a str, DateTime<Utc>)>,
    /// The binlog file of the oldest kept dump's position.
    pub oldest_kept: Option<&'a str>,
    /// `wal_archive_interval`.
    pub interval: Duration,
}

/// Files missing after the oldest kept dump's position: `(count, the first names)`.
pub fn missing(facts: &BinlogFacts<'_>) -> (u64, Vec<String>) {
    match facts.oldest_kept {
        Some(start) => missing_files(facts.archived, start, MISSING_NAMED),
        None => (0, Vec::new()),
    }
}

/// Decides which of `archived` (binlog file names) to delete: a file is needed while a kept
/// dump's position lies in a file of the same base name at or before it. Nothing is deleted
/// when no dump with a position is kept; names that are not binlog files are never deleted.
pub fn plan(archived: &[String], kept: &[&str]) -> WalPlan {
    if kept.is_empty() {
        return WalPlan {
            remove: Vec::new(),
            keep: archived.len(),
            held: Some(
                "no kept dump records a binlog position, so every archived binlog file stays"
                    .into(),
            ),
        };
    }
    let mut starts = Vec::new();
    for start in kept {
        match BinlogFileName::parse(start) {
            Ok(name) => starts.push(name),
            Err(_) => {
                return WalPlan {
                    remove: Vec::new(),
                    keep: archived.len(),
                    held: Some(format!(
                        "a kept dump's binlog file {start:?} is not a binlog file name, so every archived binlog file stays"
                    )),
                };
            }
        }
    }
    let needed = |file: &BinlogFileName| {
        starts
            .iter()
            .any(|s| s.base() == file.base() && s.number() <= file.number())
    };
    let mut remove: Vec<String> = archived
        .iter()
        .filter(|n| BinlogFileName::parse(n).is_ok_and(|f| !needed(&f)))
        .cloned()
        .collect();
    remove.sort();
    WalPlan {
        keep: archived.len() - remove.len(),
        remove,
        held: None,
    }
}

/// The binlog archive's problems at `now`.
pub fn assess(facts: &BinlogFacts<'_>, now: DateTime<Utc>) -> Vec<Problem> {
    let gap = facts.oldest_kept.map(|start| {
        let (count, named) = missing(facts);
        Gap {
            count,
            named,
            after: format!("the oldest kept dump's position in {start}"),
        }
    });
    archive_problems(
        facts.source,
        facts.newest,
        facts.interval,
        now,
        gap,
        &Wording {
            file: "binlog file",
            missing: "binlog file(s)",
            never: "the daemon archives them every wal_archive_interval, or run `dbward binlog push` (docs/cli.md, dbward binlog)",
            stale: "check that the daemon runs and that the server rotates its binlog (FLUSH BINARY LOGS on a schedule, or a smaller max_binlog_size)",
            gap_fix: "if a destination holds them, `dbward catalog rebuild --from DEST` records them, else take a new dump (dbward backup) to recover beyond the gap",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::health::Kind;

    #[test]
    fn retention_keeps_every_file_from_the_oldest_kept_dumps_position() {
        let archived: Vec<String> = [
            "b.000001",
            "b.000002",
            "b.000003",
            "b.000004",
            "old.000009",
            "x",
        ]
        .map(String::from)
        .into();
        let plan = plan(&archived, &["b.000003", "b.000004"]);
        assert_eq!(plan.remove, ["b.000001", "b.000002", "old.000009"]);
        assert_eq!(plan.keep, 3);
        let nothing = super::plan(&archived, &[]);
        assert!(nothing.remove.is_empty() && nothing.held.is_some());
        let unknown = super::plan(&archived, &["b.3"]);
        assert!(unknown.remove.is_empty() && unknown.held.is_some());
    }

    #[test]
    fn a_missing_file_after_the_kept_dump_is_a_gap_and_silence_is_archiving() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let archived: Vec<String> = ["b.000003", "b.000004", "b.000006"]
            .map(String::from)
            .into();
        let facts = BinlogFacts {
            source: "my",
            archived: &archived,
            newest: Some(("b.000006", now - Duration::minutes(2))),
            oldest_kept: Some("b.000003"),
            interval: Duration::minutes(5),
        };
        let problems = assess(&facts, now);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, Kind::WalGap);
        assert!(
            problems[0].message.contains("b.000005"),
            "{}",
            problems[0].message
        );
        let late = BinlogFacts {
            newest: Some(("b.000006", now - Duration::minutes(20))),
            oldest_kept: Some("b.000004"),
            ..facts.clone()
        };
        let problems = assess(&late, now);
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            [Kind::Archiving, Kind::WalGap]
        );
        let whole = BinlogFacts {
            oldest_kept: Some("b.000006"),
            ..facts
        };
        assert!(assess(&whole, now).is_empty());
    }
}
