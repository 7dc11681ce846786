//! The restore journal: before a restore creates a database it records, under
//! `state_dir/restores/`, that the database is its own and not complete yet, and clears that
//! only when it is done. Each entry is `flock`ed while its restore lives, so the next restore
//! or drill can tell what a killed run left (SIGKILL, power loss) from live work, and drop it.

use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::create_private_dir;

/// What an entry's database is, as far as its restore got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// About to be created. Whether the creation happened is unknown after a kill, so a
    /// leftover is dropped only when its name was this restore's alone (`exclusive`).
    Creating,
    /// Created by this restore and not complete: a leftover is dropped.
    Incomplete,
    /// Loaded completely, then being copied into place: a leftover is kept and reported,
    /// because it may be the only complete copy after an interrupted `--force`.
    Complete,
}

/// What kind of target an entry's database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The `[[source]]`'s own server (a restore).
    #[default]
    Restore,
    /// The drill server of the `[[source]]` (`[drill]`, else its own server).
    Drill,
}

/// One journal entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The `[[source]]` whose restore or drill target the database is on.
    pub target: String,
    #[serde(default)]
    pub kind: Kind,
    pub database: String,
    /// True when the name was made up for this restore (`dbward_restore_<ulid>`), so no one
    /// else can own a database of that name.
    pub exclusive: bool,
    pub state: EntryState,
    pub backup: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
}

/// The journal folder of one state directory.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// A live entry: its file is locked while this value lives and removed when it is dropped.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    handle: File,
    record: Record,
}

/// An entry that no live process holds.
#[derive(Debug)]
pub struct Leftover {
    pub path: PathBuf,
    pub record: Record,
    /// Held so that two commands never clean the same entry at once.
    _handle: File,
}

impl Journal {
    pub fn new(state_dir: &Path) -> Journal {
        Journal {
            dir: state_dir.join("restores"),
        }
    }

    /// Records that `database` on `target` is about to be created by this process.
    pub fn begin(
        &self,
        target: &str,
        database: &str,
        exclusive: bool,
        backup: &str,
        kind: Kind,
    ) -> std::io::Result<Claim> {
        create_private_dir(&self.dir)?;
        let record = Record {
            target: target.to_string(),
            kind,
            database: database.to_string(),
            exclusive,
            state: EntryState::Creating,
            backup: backup.to_string(),
            pid: std::process::id(),
            started_at: Utc::now(),
        };
        let name = ulid::Ulid::new().to_string();
        // Written and locked under a hidden name, then renamed: a sweep never sees an
        // unlocked entry that is alive.
        let hidden = self.dir.join(format!(".{name}.json"));
        let handle = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .read(true)
            .open(&hidden)?;
        handle.lock()?;
        let path = self.dir.join(format!("{name}.json"));
        let mut claim = Claim {
            path: hidden,
            handle,
            record,
        };
        claim.write()?;
        std::fs::rename(&claim.path, &path)?;
        claim.path = path;
        Ok(claim)
    }

    /// Entries whose restore is gone, locked for the caller. Unreadable entries are
    /// reported and skipped.
    pub fn leftovers(&self) -> Vec<Leftover> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(handle) = File::open(&path) else {
                continue;
            };
            if handle.try_lock().is_err() {
                continue; // a live restore
            }
            if entry.file_name().to_string_lossy().starts_with('.') {
                // Killed while the entry was being set up: `begin` had not returned, so
                // nothing was created for it.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
            {
                Ok(record) => out.push(Leftover {
                    path,
                    record,
                    _handle: handle,
                }),
                Err(e) => tracing::warn!(
                    "cannot read the restore journal entry {}: {e}; remove it by hand",
                    path.display()
                ),
            }
        }
        out.sort_by_key(|a| a.record.started_at);
        out
    }
}

impl Claim {
    pub fn set(&mut self, state: EntryState) -> std::io::Result<()> {
        self.record.state = state;
        self.write()
    }

    fn write(&mut self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.record).map_err(std::io::Error::other)?;
        self.handle.set_len(0)?;
        self.handle.rewind()?;
        self.handle.write_all(&bytes)?;
        self.handle.sync_data()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Leftover {
    /// Removes the entry once its database was dealt with.
    pub fn forget(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What to do with a leftover entry's database: pure, from the entry alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Ours and incomplete: drop it.
    Drop,
    /// Complete, or maybe not ours: leave it and tell the operator.
    Keep,
}

pub fn cleanup_for(record: &Record) -> Cleanup {
    match (record.state, record.exclusive) {
        (EntryState::Incomplete, _) | (EntryState::Creating, true) => Cleanup::Drop,
        (EntryState::Creating, false) | (EntryState::Complete, _) => Cleanup::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_surely_ours_and_incomplete_is_dropped() {
        let record = |state, exclusive| Record {
            target: "pg".into(),
            kind: Kind::Restore,
            database: "shop".into(),
            exclusive,
            state,
            backup: "01J".into(),
            pid: 1,
            started_at: Utc::now(),
        };
        let table = [
            (EntryState::Creating, true, Cleanup::Drop),
            (EntryState::Creating, false, Cleanup::Keep),
            (EntryState::Incomplete, true, Cleanup::Drop),
            (EntryState::Incomplete, false, Cleanup::Drop),
            (EntryState::Complete, true, Cleanup::Keep),
            (EntryState::Complete, false, Cleanup::Keep),
        ];
        for (state, exclusive, expected) in table {
            assert_eq!(
                cleanup_for(&record(state, exclusive)),
                expected,
                "{state:?} {exclusive}"
            );
        }
    }

    #[test]
    fn a_live_claim_is_no_leftover_and_a_dropped_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        let mut claim = journal
            .begin("pg", "shop", false, "01J", Kind::Restore)
            .unwrap();
        claim.set(EntryState::Incomplete).unwrap();
        assert!(journal.leftovers().is_empty(), "a live entry is locked");
        drop(claim);
        assert!(
            journal.leftovers().is_empty(),
            "a finished entry is removed"
        );
    }

    #[test]
    fn an_entry_killed_while_being_set_up_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        std::fs::create_dir_all(dir.path().join("restores")).unwrap();
        let hidden = dir.path().join("restores/.01M0.json");
        std::fs::write(&hidden, b"").unwrap();
        assert!(journal.leftovers().is_empty());
        assert!(!hidden.exists(), "the unfinished entry is removed");
    }

    #[test]
    fn an_entry_whose_process_died_is_a_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path());
        let mut claim = journal
            .begin("pg", "shop", false, "01J", Kind::Restore)
            .unwrap();
        claim.set(EntryState::Incomplete).unwrap();
        // What a kill leaves: the file, with no lock held.
        let path = claim.path.clone();
        let kept = std::fs::read(&path).unwrap();
        drop(claim);
        std::fs::write(&path, kept).unwrap();
        let leftovers = journal.leftovers();
        assert_eq!(leftovers.len(), 1);
        assert_eq!(leftovers[0].record.database, "shop");
        assert_eq!(leftovers[0].record.state, EntryState::Incomplete);
        leftovers.into_iter().for_each(Leftover::forget);
        assert!(journal.leftovers().is_empty());
    }
}
