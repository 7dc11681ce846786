//! A server started as a child process for tests: found through an environment variable set
//! by `scripts/lib/test-tools.sh` (or on `PATH`), started in its own process group with its
//! output in a log file of a temporary directory, waited on until it answers on its port,
//! and killed (the whole group) on drop.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a tool comes from: `env` (an absolute path, as `scripts/lib/test-tools.sh` exports)
/// or, when unset, `bin` on `PATH`. Panics saying how to install it when neither exists: a
/// test that needs a server never skips silently.
pub(crate) fn find_tool(env: &str, bin: &str, what: &str) -> PathBuf {
    let install = format!(
        "install it with `source scripts/lib/test-tools.sh` (scripts/test.sh does), which puts {what} under ${{CARGO_TARGET_DIR:-target}}/test-tools/ and sets {env}"
    );
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env}={} does not exist: {install}",
            path.display()
        );
        return path;
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{bin} ({what}) not found: {env} is unset and it is not on PATH; {install}")
    })
}

/// A free loopback port (bound and released: another process may take it meanwhile, which
/// the start then reports).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running server process and its temporary directory.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    what: &'static str,
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    dir: tempfile::TempDir,
}

impl ServerProcess {
    /// A temporary directory for the server's data and log, before it is started.
    pub(crate) fn prepare(what: &'static str) -> ServerProcess {
        let dir = tempfile::Builder::new()
            .prefix("dbward-test-server.")
            .tempdir()
            .expect("temporary directory");
        ServerProcess {
            what,
            child: None,
            log: dir.path().join("server.log"),
            port: 0,
            dir,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Starts `program args` in its own process group (cwd: the temporary directory,
    /// output: its log) and waits until `port` accepts connections.
    pub(crate) fn spawn<I, S>(&mut self, program: &Path, args: I, envs: &[(&str, &str)], port: u16)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        assert!(self.child.is_none(), "{} already started", self.what);
        let log = File::create(&self.log).expect("server log file");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0);
        for (key, value) in envs {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({}): {e}", self.what, program.display()));
        self.child = Some(child);
        self.port = port;
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("{} exited ({status}): {}", self.what, self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on 127.0.0.1:{} within 30 s: {}",
                self.what,
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's output so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (its whole process group) and waits for it; the data stays.
    pub(crate) fn stop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = Pid::from_raw(child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (a server's own children too).
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What `program --version` prints, for test failure messages; empty when it cannot run.
pub(super) fn reported_version(program: &std::path::Path) -> String {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
