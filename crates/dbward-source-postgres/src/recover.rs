//! The write side of point-in-time recovery: unpack a base backup into an empty directory
//! (`tar` fed from the verified stream), write `recovery.signal` and the recovery settings,
//! and run a private `postgres` on that directory until recovery reached its target or
//! failed, reading the server's log for where it stopped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbward_core::process::{ToolProcess, restore_through};
use dbward_core::wal::Lsn;
use dbward_core::{Error, Result};
use tokio::io::AsyncRead;

use crate::tool::{PgMajor, installed};

/// Where recovery should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// Replay every archived segment.
    Latest,
    /// Stop after the last transaction that committed at or before this moment.
    Time(DateTime<Utc>),
    /// Stop after this WAL location.
    Lsn(Lsn),
}

/// The marker line above the settings dbward appends to `postgresql.auto.conf`.
pub const SETTINGS_MARKER: &str = "# Point-in-time recovery settings written by dbward restore";

/// Quotes a value for a PostgreSQL configuration file.
fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// The recovery settings appended to `postgresql.auto.conf`: how to fetch WAL, where to
/// stop, and to promote there (a server that pauses would wait for someone to resume it).
pub fn recovery_settings(restore_command: &str, target: RecoveryTarget) -> String {
    let mut out = format!(
        "\n{SETTINGS_MARKER}\nrestore_command = {}\n",
        conf_quote(restore_command)
    );
    match target {
        RecoveryTarget::Latest => {}
        RecoveryTarget::Time(at) => out.push_str(&format!(
            "recovery_target_time = {}\n",
            conf_quote(&at.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
        )),
        RecoveryTarget::Lsn(lsn) => out.push_str(&format!(
            "recovery_target_lsn = {}\n",
            conf_quote(&lsn.to_string())
        )),
    }
    if target != RecoveryTarget::Latest {
        out.push_str("recovery_target_inclusive = on\nrecovery_target_action = 'promote'\n");
    }
    out
}

/// Unpacks a base backup (a tar stream) into `dir`, which must exist and be empty. The tar
/// tool sees the end of its input only when the whole archive was read and ends with the
/// end-of-archive blocks.
pub async fn unpack(dump: &mut (dyn AsyncRead + Send + Unpin), dir: &Path) -> Result<Vec<String>> {
    let mut command = tokio::process::Command::new("tar");
    command
        .arg("--extract")
        .arg("--file=-")
        .arg("--no-same-owner")
        .arg("--directory")
        .arg(dir);
    let (process, stdin) = ToolProcess::spawn_fed("tar", command)?;
    restore_through(
        process,
        stdin,
        dump,
        1024,
        |ends| {
            let tail = ends.tail();
            if tail.len() == 1024 && tail.iter().all(|b| *b == 0) {
                Ok(())
            } else {
                Err("the base backup does not end with the tar end-of-archive blocks".into())
            }
        },
        |exit| {
            if exit.status.success() {
                Ok(Vec::new())
            } else {
                Err(format!(
                    "{}: {}",
                    exit.describe(),
                    exit.stderr_lines().collect::<Vec<_>>().join(" / ")
                ))
            }
        },
    )
    .await
}

/// Makes an unpacked base backup start as a recovery: `recovery.signal`, and the settings
/// appended to `postgresql.auto.conf`; an empty `pg_wal` where the archive had none.
pub fn prepare(dir: &Path, restore_command: &str, target: RecoveryTarget) -> Result<()> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Error::Dump(format!("cannot {what} {}: {e}", path.display()))
    };
    for folder in ["pg_wal", "pg_wal/archive_status"] {
        let path = dir.join(folder);
        std::fs::create_dir_all(&path).map_err(|e| io("create", &path, e))?;
    }
    let auto = dir.join("postgresql.auto.conf");
    let mut settings = std::fs::read_to_string(&auto).unwrap_or_default();
    settings.push_str(&recovery_settings(restore_command, target));
    std::fs::write(&auto, settings).map_err(|e| io("write", &auto, e))?;
    let signal = dir.join("recovery.signal");
    std::fs::write(&signal, b"").map_err(|e| io("write", &signal, e))
}

/// The `postgres` server binary of exactly `major` (a data directory opens only with its
/// own major version).
pub async fn server_binary(tool_dir: Option<&Path>, major: PgMajor) -> Result<PathBuf> {
    let (candidates, searched) = installed("postgres", tool_dir).await;
    candidates
        .into_iter()
        .find(|c| c.major == major)
        .map(|c| c.path)
        .ok_or_else(|| Error::ToolMissing {
            tool: format!("postgres {}", major.package_suffix()),
            searched,
            hint: format!(
                "the base backup is of a PostgreSQL {} cluster; install postgresql-{} or set tool_dir, or restore with --no-start",
                major.package_suffix(),
                major.package_suffix()
            ),
        })
}

/// How a recovery run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryOutcome {
    /// True when the server finished recovery and accepted connections.
    pub reached: bool,
    /// Where recovery stopped, as the server said (`recovery stopping before commit of
    /// transaction 742, time …`), when it stopped at a target.
    pub stopped: Option<String>,
    /// The commit time of the last replayed transaction, as the server logged it.
    pub last_transaction_at: Option<String>,
    /// The last segment restored from the archive.
    pub last_restored: Option<String>,
    /// WAL files `dbward wal fetch` did not find, in the order asked.
    pub not_found: Vec<String>,
    /// What `dbward wal fetch` reported as damaged or unreadable.
    pub fetch_errors: Vec<String>,
    /// The server's FATAL/PANIC lines.
    pub fatal: Vec<String>,
}

/// The prefix of the lines `dbward wal fetch` writes to stderr (the server's log) for a
/// file it did not find, and for one it could not deliver.
pub const FETCH_NOT_FOUND: &str = "dbward wal fetch: not archived: ";
pub const FETCH_FAILED: &str = "dbward wal fetch: failed: ";

/// Reads a server log (stderr) for how recovery went.
pub fn read_log(log: &str) -> RecoveryOutcome {
    let mut outcome = RecoveryOutcome {
        reached: false,
        stopped: None,
        last_transaction_at: None,
        last_restored: None,
        not_found: Vec::new(),
        fetch_errors: Vec::new(),
        fatal: Vec::new(),
    };
    let after = |line: &str, key: &str| line.split_once(key).map(|(_, rest)| rest.to_string());
    for line in log.lines() {
        if let Some(name) = after(line, FETCH_NOT_FOUND) {
            outcome.not_found.push(name.trim().to_string());
        } else if let Some(reason) = after(line, FETCH_FAILED) {
            outcome.fetch_errors.push(reason.trim().to_string());
        } else if let Some(rest) = after(line, "recovery stopping ") {
            outcome.stopped = Some(format!("recovery stopping {rest}"));
        } else if let Some(at) = after(line, "last completed transaction was at log time ") {
            outcome.last_transaction_at = Some(at.trim().to_string());
        } else if let Some(rest) = after(line, "restored log file \"") {
            outcome.last_restored = rest.split('"').next().map(str::to_string);
        } else if line.contains("FATAL:") || line.contains("PANIC:") {
            outcome.fatal.push(line.trim().to_string());
        } else if line.contains("database system is ready to accept connections") {
            outcome.reached = true;
        }
    }
    outcome
}

/// Runs `postgres` on `dir` on a loopback `port` (sockets in `run_dir`, its log in
/// `run_dir/server.log`), without archiving or hot standby, until recovery reached its target and the
/// server accepts connections, or the server stopped, or `timeout` passed; then shuts it
/// down (fast) and reports what its log says.
pub async fn run_recovery(
    binary: &Path,
    dir: &Path,
    run_dir: &Path,
    port: u16,
    timeout: Duration,
) -> Result<RecoveryOutcome> {
    let (outcome, _) = run_recovery_then(binary, dir, run_dir, port, timeout, async |_| ()).await?;
    Ok(outcome)
}

/// Like [`run_recovery`], and once recovery reached its target and the server accepts
/// connections on `port`, runs `probe` (a drill's check of the recovered data) before the
/// server is shut down; its answer is `None` when the server never got that far.
pub async fn run_recovery_then<P>(
    binary: &Path,
    dir: &Path,
    run_dir: &Path,
    port: u16,
    timeout: Duration,
    probe: impl AsyncFnOnce(u16) -> P,
) -> Result<(RecoveryOutcome, Option<P>)> {
    let log_path = run_dir.join("server.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| Error::Dump(format!("cannot create {}: {e}", log_path.display())))?;
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("-D")
        .arg(dir)
        .args(["-c", &format!("port={port}")])
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", run_dir.display()))
        .args(["-c", "archive_mode=off"])
        // Nobody connects during the recovery; and a hot standby would refuse settings lower
        // than the source's (max_connections …), which this scratch run need not match.
        .args(["-c", "hot_standby=off"])
        .args(["-c", "logging_collector=off"])
        .args(["-c", "log_destination=stderr"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Error::Dump(format!("cannot start {}: {e}", binary.display())))?;
    let read = || read_log(&std::fs::read_to_string(&log_path).unwrap_or_default());
    let deadline = tokio::time::Instant::now() + timeout;
    let exited = loop {
        if let Some(status) = child.try_wait().map_err(|e| Error::Dump(e.to_string()))? {
            break Some(status);
        }
        let now = read();
        if now.reached {
            break None;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill().await;
            return Err(Error::Dump(format!(
                "recovery did not finish within {}s; the server's log is {}",
                timeout.as_secs(),
                log_path.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut probed = None;
    if exited.is_none() {
        probed = Some(probe(port).await);
        stop_fast(&mut child).await;
    }
    Ok((read(), probed))
}

/// A fast shutdown (SIGINT): the cluster is left cleanly shut down, ready to run.
async fn stop_fast(child: &mut tokio::process::Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
    }
    if tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FETCH: &str =
        "'/usr/bin/dbward' --config '/etc/dbward.toml' wal fetch --source 'pg' %f %p";

    #[test]
    fn settings_fetch_with_dbward_stop_at_the_target_and_promote() {
        let at = "2026-12-04T10:14:59.25Z".parse().unwrap();
        assert_eq!(
            recovery_settings(FETCH, RecoveryTarget::Time(at)),
            format!(
                "\n{SETTINGS_MARKER}\n\
                 restore_command = '''/usr/bin/dbward'' --config ''/etc/dbward.toml'' wal fetch --source ''pg'' %f %p'\n\
                 recovery_target_time = '2026-12-04 10:14:59.250000+00'\n\
                 recovery_target_inclusive = on\n\
                 recovery_target_action = 'promote'\n"
            )
        );
        let lsn = recovery_settings(FETCH, RecoveryTarget::Lsn(Lsn::parse("0/3000100").unwrap()));
        assert!(lsn.contains("recovery_target_lsn = '0/3000100'\n"), "{lsn}");
        assert!(lsn.contains("recovery_target_action = 'promote'"), "{lsn}");
        let latest = recovery_settings(FETCH, RecoveryTarget::Latest);
        assert!(!latest.contains("recovery_target"), "{latest}");
    }

    #[test]
    fn prepare_writes_the_signal_and_appends_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("postgresql.auto.conf"),
            "work_mem = '8MB'\n",
        )
        .unwrap();
        prepare(dir.path(), FETCH, RecoveryTarget::Latest).unwrap();
        assert!(dir.path().join("recovery.signal").is_file());
        assert!(dir.path().join("pg_wal/archive_status").is_dir());
        let auto = std::fs::read_to_string(dir.path().join("postgresql.auto.conf")).unwrap();
        assert!(auto.starts_with("work_mem = '8MB'\n"), "{auto}");
        assert!(auto.contains("restore_command = "), "{auto}");
    }

    #[test]
    fn the_log_tells_where_recovery_stopped_and_what_was_missing() {
        let log = "\
LOG:  restored log file \"000000010000000000000003\" from archive
dbward wal fetch: not archived: 000000010000000000000005
LOG:  recovery stopping before commit of transaction 742, time 2026-12-04 10:15:00.1+00
LOG:  redo done at 0/4000100 system usage: CPU: user: 0.00 s
LOG:  last completed transaction was at log time 2026-12-04 10:14:58.9+00
LOG:  database system is ready to accept connections
";
        let got = read_log(log);
        assert!(got.reached);
        assert_eq!(
            got.stopped.as_deref(),
            Some(
                "recovery stopping before commit of transaction 742, time 2026-12-04 10:15:00.1+00"
            )
        );
        assert_eq!(
            got.last_transaction_at.as_deref(),
            Some("2026-12-04 10:14:58.9+00")
        );
        assert_eq!(
            got.last_restored.as_deref(),
            Some("000000010000000000000003")
        );
        assert_eq!(got.not_found, ["000000010000000000000005"]);
        let failed = read_log(
            "dbward wal fetch: failed: 000000010000000000000004: checksum mismatch\n\
             FATAL:  could not restore file \"000000010000000000000004\" from archive\n",
        );
        assert!(!failed.reached);
        assert_eq!(
            failed.fetch_errors,
            ["000000010000000000000004: checksum mismatch"]
        );
        assert_eq!(failed.fatal.len(), 1);
    }
}
