//! Per-job locks (F4): one lock file per source and database under `state_dir/locks`, held
//! with an OS file lock for the whole backup, so a second run of the same job — in this
//! process or another — is refused instead of interleaved. The OS drops the lock when the
//! holder dies, so a crash never leaves a stale lock. Names are escaped and, when long,
//! shortened with a hash, so that any source or database name gives a valid file name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use dbward_core::layout::escape_segment;
use sha2::{Digest, Sha256};

/// A held job lock; released on drop.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another run holds the lock for {job} ({holder})")]
    Held { job: String, holder: String },
    #[error("cannot open lock file {}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
}

/// Takes the lock of `source`/`database` without waiting.
pub fn try_lock(state_dir: &Path, source: &str, database: &str) -> Result<JobLock, LockError> {
    let dir = state_dir.join("locks").join(file_name(source, ""));
    let path = dir.join(file_name(database, ".lock"));
    let io = |err| LockError::Io {
        path: path.clone(),
        err,
    };
    crate::catalog::create_private_dir(&dir).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the message the next contender prints.
            let _ = file.set_len(0);
            let _ = writeln!(
                file,
                "pid {} since {}",
                std::process::id(),
                chrono::Utc::now().to_rfc3339()
            );
            Ok(JobLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held {
            job: format!("{source}/{database}"),
            holder: std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "holder unknown".into()),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// File systems refuse longer file names (bytes).
const MAX_FILE_NAME: usize = 255;
/// How much of a long escaped name a shortened file name keeps, for people reading `locks/`.
const KEPT: usize = 200;

/// `name` escaped, plus `suffix`. A name too long for one file name keeps its first
/// [`KEPT`] escaped bytes and gets `~` and 16 hex digits of its sha256: escaping never
/// produces `~`, so a shortened name never equals another name's plain one.
fn file_name(name: &str, suffix: &str) -> String {
    let escaped = escape_segment(name);
    if escaped.len() + suffix.len() <= MAX_FILE_NAME {
        return format!("{escaped}{suffix}");
    }
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    // Escaped text is ASCII, so any byte offset is a character boundary.
    format!("{}~{}{suffix}", &escaped[..KEPT], &digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_names_get_short_distinct_lock_files() {
        let dir = tempfile::tempdir().unwrap();
        let long_a = "\u{e9}".repeat(80);
        let long_b = format!("{}x", "\u{e9}".repeat(80));
        let source = "s".repeat(300);
        let a = try_lock(dir.path(), &source, &long_a).unwrap();
        // A second, different long name is not mistaken for the first.
        let _b = try_lock(dir.path(), &source, &long_b).unwrap();
        assert!(try_lock(dir.path(), &source, &long_a).is_err());
        drop(a);
        try_lock(dir.path(), &source, &long_a).unwrap();
        // Short names keep the file name earlier versions used.
        assert_eq!(file_name("shop", ".lock"), "shop.lock");
        assert_eq!(file_name("a b", ".lock"), "a%20b.lock");
    }

    proptest! {
        #[test]
        fn lock_file_names_fit_and_stay_distinct(a in ".{0,120}", b in ".{0,120}") {
            let (fa, fb) = (file_name(&a, ".lock"), file_name(&b, ".lock"));
            prop_assert!(fa.len() <= MAX_FILE_NAME && !fa.contains('/') && !fa.starts_with('.'));
            if a != b && !a.is_empty() && !b.is_empty() {
                prop_assert_ne!(fa, fb);
            }
        }
    }

    #[test]
    fn a_second_lock_of_the_same_job_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_lock(dir.path(), "pg", "shop").unwrap();
        let err = try_lock(dir.path(), "pg", "shop").unwrap_err().to_string();
        assert!(err.contains("pg/shop"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        // Another database of the same source is independent.
        let _other = try_lock(dir.path(), "pg", "crm").unwrap();
        drop(first);
        try_lock(dir.path(), "pg", "shop").unwrap();
    }
}
