//! Per-job locks (F4): one lock file per source and database under `state_dir/locks`, held
//! with an OS file lock for the whole backup, so a second run of the same job — in this
//! process or another — is refused instead of interleaved. The OS drops the lock when the
//! holder dies, so a crash never leaves a stale lock.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use dbward_core::layout::escape_segment;

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
    let dir = state_dir.join("locks").join(escape_segment(source));
    let path = dir.join(format!("{}.lock", escape_segment(database)));
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

#[cfg(test)]
mod tests {
    use super::*;

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
