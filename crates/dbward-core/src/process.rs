//! Child tools (pg_dump, mariadb-dump, ...): started in their own process group so that a
//! cancel kills every child they forked, with stderr read concurrently with stdout (reading
//! one after the other deadlocks once a pipe fills) and kept apart from the data.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::{Error, Result};

/// How much of a tool's stderr is kept; the rest is counted and dropped.
const STDERR_KEEP_BYTES: usize = 256 * 1024;

/// A running child tool: its data flows through stdout (a dump) or stdin (a restore).
#[derive(Debug)]
pub struct ToolProcess {
    tool: String,
    child: Child,
    pgid: Option<Pid>,
    stderr: Option<JoinHandle<String>>,
    stdout: Option<JoinHandle<String>>,
}

/// How a tool ended.
#[derive(Debug, Clone)]
pub struct ToolExit {
    pub tool: String,
    pub status: ExitStatus,
    pub stderr: String,
    /// What the tool printed, for tools fed through stdin; empty for dumps.
    pub stdout: String,
}

impl ToolExit {
    /// `pg_dump exited 1` / `pg_dump was killed by signal 9`.
    pub fn describe(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("{} exited {code}", self.tool),
            (None, Some(sig)) => format!("{} was killed by signal {sig}", self.tool),
            _ => format!("{} ended abnormally", self.tool),
        }
    }

    /// The stderr lines that are not blank.
    pub fn stderr_lines(&self) -> impl Iterator<Item = &str> {
        self.stderr.lines().map(str::trim).filter(|l| !l.is_empty())
    }
}

/// Reads a pipe to its end, keeping the first `STDERR_KEEP_BYTES`.
fn keep_bounded<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut pipe: R,
) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = STDERR_KEEP_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Bytes a data pipe between dbward and a tool holds (Linux's default limit for a pipe's
/// size, `/proc/sys/fs/pipe-max-size`).
const PIPE_BYTES: i32 = 1024 * 1024;

/// Asks for a larger pipe buffer; a refusal (an older kernel, a lower limit) only costs speed.
fn widen_pipe(pipe: &impl std::os::fd::AsFd) {
    use nix::fcntl::{FcntlArg, fcntl};
    if let Err(e) = fcntl(pipe, FcntlArg::F_SETPIPE_SZ(PIPE_BYTES)) {
        tracing::debug!("cannot widen a pipe to {PIPE_BYTES} bytes: {e}");
    }
}

impl ToolProcess {
    /// Starts a tool whose stdout is the data (a dump): stdin closed, stdout and stderr piped,
    /// in a new process group. `tool` names it in messages.
    pub fn spawn(tool: &str, command: Command) -> Result<(Self, ChildStdout)> {
        let (process, _, stdout) = Self::start(tool, command, Stdio::null(), false)?;
        Ok((process, stdout.expect("stdout is piped")))
    }

    /// Starts a tool that reads the data from stdin (a restore): stdin piped to the caller,
    /// stdout and stderr read concurrently and kept (bounded), in a new process group.
    pub fn spawn_fed(tool: &str, command: Command) -> Result<(Self, ChildStdin)> {
        let (process, stdin, _) = Self::start(tool, command, Stdio::piped(), true)?;
        Ok((process, stdin.expect("stdin is piped")))
    }

    fn start(
        tool: &str,
        mut command: Command,
        stdin: Stdio,
        keep_stdout: bool,
    ) -> Result<(Self, Option<ChildStdin>, Option<ChildStdout>)> {
        command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| Error::Dump(format!("cannot start {tool}: {e}")))?;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        // The data pipe holds 1 MiB instead of 64 KiB, so that dbward and the tool each run
        // ahead of the other by a decompression or dump block instead of taking turns.
        if let Some(pipe) = &stdin {
            widen_pipe(pipe);
        }
        if let Some(pipe) = stdout.as_ref().filter(|_| !keep_stdout) {
            widen_pipe(pipe);
        }
        let stderr = keep_bounded(child.stderr.take().expect("stderr is piped"));
        let stdout_task = if keep_stdout {
            stdout.take().map(keep_bounded)
        } else {
            None
        };
        let pgid = child.id().map(|id| Pid::from_raw(id as i32));
        Ok((
            ToolProcess {
                tool: tool.to_string(),
                child,
                pgid,
                stderr: Some(stderr),
                stdout: stdout_task,
            },
            stdin,
            stdout,
        ))
    }

    /// Waits for the tool to exit and for its stderr to close.
    pub async fn wait(mut self) -> Result<ToolExit> {
        let status = self
            .child
            .wait()
            .await
            .map_err(|e| Error::Dump(format!("cannot wait for {}: {e}", self.tool)))?;
        // The group is gone with its leader; nothing left to kill on drop.
        self.pgid = None;
        let stderr = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        let stdout = match self.stdout.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        Ok(ToolExit {
            tool: self.tool.clone(),
            status,
            stderr,
            stdout,
        })
    }

    /// Kills the tool and every process it started, then reaps it.
    pub async fn kill(mut self) {
        self.kill_group();
        let _ = self.child.wait().await;
        self.pgid = None;
    }

    fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for ToolProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Feeds `dump` into a restore tool started with `ToolProcess::spawn_fed` and judges how it
/// ended. The tool sees the end of its input only when the whole dump was read without error
/// and `complete` accepts its ends (the completion marker); otherwise it is killed first, so
/// that it can never take a truncated dump for a whole one. `judge` turns the tool's exit into
/// its warnings or a one-line reason.
pub async fn restore_through<R>(
    tool: ToolProcess,
    mut stdin: ChildStdin,
    dump: &mut R,
    ends_keep: usize,
    complete: impl FnOnce(&crate::stream::Ends) -> std::result::Result<(), String>,
    judge: impl FnOnce(&ToolExit) -> std::result::Result<Vec<String>, String>,
) -> Result<Vec<String>>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    use crate::stream::{Ends, Fed, feed};
    let name = tool.tool.clone();
    let mut ends = Ends::new(ends_keep);
    let fed = feed(dump, &mut stdin, &mut ends).await;
    let bytes = ends.total();
    let problem = match &fed {
        Fed::ReadFailed(e) => Some(format!("reading the dump failed after {bytes} bytes: {e}")),
        Fed::Complete => complete(&ends).err(),
        Fed::ToolGone(_) => None,
    };
    if let Some(problem) = problem {
        // Killed while its input is still open: it never sees a clean end.
        tool.kill().await;
        drop(stdin);
        return Err(Error::Dump(format!(
            "{problem}; {name} was stopped before the end of its input"
        )));
    }
    drop(stdin);
    let exit = tool.wait().await?;
    let warnings = judge(&exit).map_err(Error::Dump)?;
    if let Fed::ToolGone(e) = fed {
        return Err(Error::Dump(format!(
            "{} before reading the whole dump ({bytes} bytes written: {e})",
            exit.describe()
        )));
    }
    Ok(warnings)
}

/// Finds `program` in the first of `dirs` that has it, or on `PATH` when `dirs` is empty.
pub fn find_program(program: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path_dirs;
    let dirs = if dirs.is_empty() {
        path_dirs = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        &path_dirs
    } else {
        dirs
    };
    dirs.iter()
        .map(|d| d.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `program args...` to completion and returns its stdout, for `--version` and similar
/// short queries. Fails with the tool's stderr when it exits non-zero.
pub async fn run_for_output<I, S>(program: &Path, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::Dump(format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(Error::Dump(format!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn stdout_and_stderr_are_kept_apart_even_when_both_are_large() {
        // 1 MiB on each stream: reading them one after the other would deadlock.
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(
            "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero | tr '\\0' e >&2; echo done",
        );
        let (tool, mut stdout) = ToolProcess::spawn("sh", cmd).unwrap();
        let mut data = Vec::new();
        stdout.read_to_end(&mut data).await.unwrap();
        let exit = tool.wait().await.unwrap();
        assert_eq!(data.len(), 1048576 + 5);
        assert!(exit.status.success());
        assert_eq!(exit.stderr.len(), STDERR_KEEP_BYTES);
        assert!(exit.stderr.bytes().all(|b| b == b'e'));
    }

    #[tokio::test]
    async fn kill_ends_the_whole_process_group() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 300 & echo $!; wait");
        let (tool, mut stdout) = ToolProcess::spawn("sh", cmd).unwrap();
        let mut line = [0u8; 32];
        let n = stdout.read(&mut line).await.unwrap();
        let grandchild: i32 = std::str::from_utf8(&line[..n])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        tool.kill().await;
        // The grandchild is in the same group and must be gone (or a zombie awaiting init).
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(" Z "),
            "grandchild alive: {state}"
        );
    }

    #[tokio::test]
    async fn exit_is_described_with_code_or_signal() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo boom >&2; exit 3");
        let (tool, _stdout) = ToolProcess::spawn("fake_dump", cmd).unwrap();
        let exit = tool.wait().await.unwrap();
        assert_eq!(exit.describe(), "fake_dump exited 3");
        assert_eq!(exit.stderr_lines().collect::<Vec<_>>(), ["boom"]);
    }

    #[tokio::test]
    async fn a_fed_tool_reads_our_stdin_and_its_output_is_kept() {
        use tokio::io::AsyncWriteExt;
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("wc -c; echo note >&2");
        let (tool, mut stdin) = ToolProcess::spawn_fed("counter", cmd).unwrap();
        stdin.write_all(&[b'x'; 100_000]).await.unwrap();
        drop(stdin);
        let exit = tool.wait().await.unwrap();
        assert!(exit.status.success());
        assert_eq!(exit.stdout.trim(), "100000");
        assert_eq!(exit.stderr.trim(), "note");
    }

    fn judge_ok(exit: &ToolExit) -> std::result::Result<Vec<String>, String> {
        if exit.status.success() {
            Ok(vec![])
        } else {
            Err(exit.describe())
        }
    }

    #[tokio::test]
    async fn a_damaged_dump_kills_the_tool_before_it_sees_the_end() {
        // The tool records whether its input ended cleanly.
        let marker = tempfile::NamedTempFile::new().unwrap();
        let script = format!(
            "cat > /dev/null && echo clean > {}",
            marker.path().display()
        );
        let run = |dump: Vec<std::io::Result<&'static [u8]>>, complete: bool| {
            let script = script.clone();
            async move {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(script);
                let (tool, stdin) = ToolProcess::spawn_fed("loader", cmd).unwrap();
                let mut reader = tokio_test_reader(dump);
                restore_through(
                    tool,
                    stdin,
                    &mut reader,
                    64,
                    |_| {
                        if complete {
                            Ok(())
                        } else {
                            Err("marker missing".into())
                        }
                    },
                    judge_ok,
                )
                .await
            }
        };
        let err = run(
            vec![Ok(b"rows"), Err(std::io::Error::other("checksum mismatch"))],
            true,
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("checksum mismatch")
                && err.to_string().contains("loader was stopped"),
            "{err}"
        );
        let err = run(vec![Ok(b"rows")], false).await.unwrap_err();
        assert!(err.to_string().contains("marker missing"), "{err}");
        assert_eq!(
            std::fs::read_to_string(marker.path()).unwrap(),
            "",
            "the tool saw a clean end"
        );
        assert_eq!(
            run(vec![Ok(b"rows")], true).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            std::fs::read_to_string(marker.path()).unwrap().trim(),
            "clean"
        );
    }

    /// A reader yielding the given chunks and errors in order.
    fn tokio_test_reader(items: Vec<std::io::Result<&'static [u8]>>) -> Scripted {
        Scripted(items.into_iter().rev().collect())
    }

    struct Scripted(Vec<std::io::Result<&'static [u8]>>);

    impl tokio::io::AsyncRead for Scripted {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(match self.0.pop() {
                None => Ok(()),
                Some(Ok(bytes)) => {
                    buf.put_slice(bytes);
                    Ok(())
                }
                Some(Err(e)) => Err(e),
            })
        }
    }

    #[test]
    fn find_program_searches_given_dirs_then_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_program("sh", &[dir.path().to_path_buf()]), None);
        assert!(find_program("sh", &[]).is_some());
    }
}
