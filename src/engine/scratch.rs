//! This run's scratch folders under `state_dir`: `spool/<run>/` (SQLite snapshots, spooled
//! PostgreSQL dumps) and `secrets/<run>/` (0600 MySQL option files and PostgreSQL password
//! files). Each run folder is `flock`ed while the run lives, so the next run can tell the
//! folders of runs that died (SIGKILL, power loss) from live ones and removes them with what
//! they hold. When `state_dir` cannot be written (`restore --from` on a read-only disk), the
//! folders go to a private temporary folder instead.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::catalog::create_private_dir;

/// A folder being set up (created, not yet locked and named) is this old at most.
const SETUP_GRACE: Duration = Duration::from_secs(3600);
/// Files directly in `spool/` or `secrets/` are from versions before run folders; one this
/// old is not in use.
const LOOSE_FILE_GRACE: Duration = Duration::from_secs(24 * 3600);

/// The run folders of this process, removed when it is dropped.
#[derive(Debug)]
pub struct Scratch {
    pub spool: PathBuf,
    pub secrets: PathBuf,
    /// The open, locked folders: the lock lives as long as the handle.
    _held: Vec<File>,
    /// The private temporary folder holding both, when not under `state_dir`.
    private: Option<PathBuf>,
}

impl Scratch {
    /// Removes what dead runs left under `state_dir` and claims this run's folders.
    pub fn claim(state_dir: &Path) -> io::Result<Scratch> {
        let run = ulid::Ulid::new().to_string();
        let mut held = Vec::new();
        let mut claim = |area: &str| -> io::Result<PathBuf> {
            let area = state_dir.join(area);
            create_private_dir(&area)?;
            sweep(&area);
            // Created under a hidden name, locked, then renamed: a sweep never sees an
            // unlocked run folder that is alive.
            let setting_up = area.join(format!(".{run}"));
            create_private_dir(&setting_up)?;
            let handle = File::open(&setting_up)?;
            handle.lock()?;
            let folder = area.join(&run);
            std::fs::rename(&setting_up, &folder)?;
            held.push(handle);
            Ok(folder)
        };
        let spool = claim("spool")?;
        let secrets = claim("secrets")?;
        Ok(Scratch {
            spool,
            secrets,
            _held: held,
            private: None,
        })
    }

    /// Claims this run's folders in a new folder of the system's temporary directory,
    /// readable by this user only, removed with everything in it on drop.
    pub fn claim_private() -> io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir().join(format!("dbward-{}", ulid::Ulid::new()));
        // Not recursive: the folder must be new, so nobody else can own or have opened it.
        std::fs::DirBuilder::new().mode(0o700).create(&base)?;
        match Scratch::claim(&base) {
            Ok(mut scratch) => {
                scratch.private = Some(base);
                Ok(scratch)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&base);
                Err(e)
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for folder in [&self.spool, &self.secrets]
            .into_iter()
            .chain(&self.private)
        {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// Removes, under `area`: run folders no live run holds locked, folders stuck in setup, and
/// old loose files. Failures are logged, never fatal: a leftover is no reason to stop a run.
fn sweep(area: &Path) {
    let Ok(entries) = std::fs::read_dir(area) else {
        return;
    };
    let old = |path: &Path, age: Duration| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > age)
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let dead = match (is_dir, hidden) {
            (true, false) => File::open(&path).is_ok_and(|f| f.try_lock().is_ok()),
            (true, true) => old(&path, SETUP_GRACE),
            (false, _) => old(&path, LOOSE_FILE_GRACE),
        };
        if !dead {
            continue;
        }
        let removed = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => tracing::info!(path = %path.display(), "removed what a dead run left"),
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot remove what a dead run left: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_run_keeps_its_folders_and_a_dead_one_loses_them() {
        let state = tempfile::tempdir().unwrap();
        let live = Scratch::claim(state.path()).unwrap();
        std::fs::write(live.secrets.join("my.cnf"), "x").unwrap();
        // A run killed with SIGKILL: its folders stay, unlocked.
        let dead = state.path().join("spool/01DEADRUN0000000000000000");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join("snapshot.db"), "half").unwrap();

        let next = Scratch::claim(state.path()).unwrap();
        assert!(!dead.exists(), "a dead run's folder is removed");
        assert!(
            live.secrets.join("my.cnf").exists(),
            "a live run's folder is kept"
        );
        assert_ne!(next.spool, live.spool);

        let (spool, secrets) = (next.spool.clone(), next.secrets.clone());
        drop(next);
        assert!(
            !spool.exists() && !secrets.exists(),
            "a run removes its own folders"
        );
        drop(live);
        let left: Vec<_> = std::fs::read_dir(state.path().join("spool"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_private_scratch_is_owner_only_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::claim_private().unwrap();
        let base = scratch
            .spool
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        assert!(base.starts_with(std::env::temp_dir()), "{}", base.display());
        let mode = std::fs::metadata(&base).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(scratch.secrets.join("my.cnf"), "x").unwrap();
        drop(scratch);
        assert!(!base.exists());
    }

    #[test]
    fn loose_files_go_only_when_old() {
        let state = tempfile::tempdir().unwrap();
        let secrets = state.path().join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        let (young, aged) = (secrets.join("pw-young"), secrets.join("pw-aged"));
        std::fs::write(&young, "x").unwrap();
        std::fs::write(&aged, "x").unwrap();
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
        File::options()
            .write(true)
            .open(&aged)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        let _run = Scratch::claim(state.path()).unwrap();
        assert!(young.exists());
        assert!(!aged.exists());
    }
}
