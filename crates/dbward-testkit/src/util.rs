//! Shared plumbing for the private servers: randomness, ports, finding programs, running SQL
//! clients, and the watchdog that removes a server once its owner process is gone.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Name of the file whose presence asks a watchdog to stop its server now.
const STOP_FILE: &str = ".dbward-stop";

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it; nothing holds it).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// `bytes` random bytes as lowercase hex, from `/dev/urandom`.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether this process runs as root (`id -u` is 0).
pub(crate) fn running_as_root() -> bool {
    id(&["-u"]).is_ok_and(|uid| uid == 0)
}

/// Runs `id ARGS` and parses the number it prints.
pub(crate) fn id(args: &[&str]) -> Result<u32, String> {
    let out = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("run id: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "id {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("id {}: {e}", args.join(" ")))
}

/// The first of `names` found on `PATH` or in `extra_dirs`.
pub(crate) fn find_program(names: &[&str], extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .collect();
    names.iter().find_map(|name| {
        dirs.iter()
            .map(|d| d.join(name))
            .find(|p| p.is_file() && is_executable(p))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Runs a SQL client with `input` on stdin; returns trimmed stdout, or the exit status and
/// stderr. stdin is written from a thread so a chatty client cannot deadlock us.
pub(crate) fn run_client(mut cmd: Command, input: &str) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        // A client that exits early (bad password) closes the pipe; that is not our error.
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for {program}: {e}"))?;
    let _ = writer.join();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command to completion, turning a failure into a message with its output.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The last few lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    format!("--- {} ---\n{}", path.display(), lines[start..].join("\n"))
}

/// Starts a detached watchdog: once process `owner` is gone, or [`stop_private_server`] asks,
/// it runs `stop` (program and arguments) and then removes `dir`. It lives in its own process
/// group so a Ctrl-C aimed at the tests does not kill it before it has cleaned up.
pub(crate) fn spawn_watchdog(
    owner: u32,
    dir: &Path,
    stop: &[&std::ffi::OsStr],
) -> Result<(), String> {
    const SCRIPT: &str = r#"owner=$1; dir=$2; shift 2
while kill -0 "$owner" 2>/dev/null && [ ! -e "$dir/.dbward-stop" ]; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
    Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("dbward-testkit-watchdog")
        .arg(owner.to_string())
        .arg(dir)
        .args(stop)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("could not start the watchdog shell: {e}"))
}

/// Asks the watchdog of the private server living in `dir` to stop it now, and waits (up to a
/// minute) until the server is stopped and `dir` is removed.
pub fn stop_private_server(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    std::fs::write(dir.join(STOP_FILE), b"")
        .map_err(|e| format!("ask the watchdog of {} to stop: {e}", dir.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while dir.exists() {
        if Instant::now() > deadline {
            return Err(format!(
                "{} still exists a minute after stop",
                dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
