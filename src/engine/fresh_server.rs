//! A PostgreSQL server started empty for one fresh-server drill (`verify --level drill
//! --fresh-server`, F23): `initdb` in a new private directory, `pg_ctl start` on a free
//! loopback port, a generated superuser password, and `pg_ctl stop` plus removal of the
//! directory when the drill ends — also when it fails. PostgreSQL refuses to run as root:
//! as root the server tools run as the system user `postgres` through `runuser`, and without
//! that user the drill refuses with what to do.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use dbward_core::secret::SecretString;
use tokio::process::Command;

/// The superuser of a fresh server.
pub const FRESH_SUPERUSER: &str = "dbward";

/// Why a fresh server could not be started.
#[derive(Debug, thiserror::Error)]
#[error("fresh-server drill: {0}")]
pub struct FreshServerError(String);

/// A running fresh server; [`FreshServer::stop`] ends it and removes its directory, and
/// dropping it without `stop` does the same, blocking.
#[derive(Debug)]
pub struct FreshServer {
    pub port: u16,
    pub password: SecretString,
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as_postgres: bool,
    stopped: bool,
}

impl FreshServer {
    /// Starts an empty server with the server tools of major `major` or newer (from
    /// `tool_dir` when set, else `/usr/lib/postgresql/<N>/bin`).
    pub async fn start(
        tool_dir: Option<&Path>,
        major: u32,
    ) -> Result<FreshServer, FreshServerError> {
        let bin_dir = server_bin_dir(tool_dir, major)?;
        let run_as_postgres = nix::unistd::geteuid().is_root();
        let owner = if run_as_postgres {
            let user = nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or_else(|| {
                    FreshServerError(
                        "dbward runs as root, PostgreSQL refuses to, and there is no system user postgres to run it as: run dbward as an unprivileged user, or create the user postgres".into(),
                    )
                })?;
            Some((user.uid, user.gid))
        } else {
            None
        };
        // In the system's temporary directory: as root, user postgres must reach it, which
        // it could not under a 0700 state_dir.
        let dir = std::env::temp_dir().join(format!(
            "dbward-fresh-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| FreshServerError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut password_bytes = [0u8; 24];
        getrandom::fill(&mut password_bytes)
            .map_err(|e| FreshServerError(format!("no randomness for its password: {e}")))?;
        let mut server = FreshServer {
            port: 0,
            password: SecretString::from(hex::encode(password_bytes)),
            bin_dir,
            dir,
            run_as_postgres,
            stopped: false,
        };
        if let Err(e) = server.init_and_start(owner).await {
            server.stop().await;
            return Err(e);
        }
        Ok(server)
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn command(&self, program: &str) -> Command {
        let tool = self.bin_dir.join(program);
        let mut command = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(tool);
            c
        } else {
            Command::new(tool)
        };
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, program: &str, args: &[&str]) -> Result<(), FreshServerError> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .await
            .map_err(|e| FreshServerError(format!("cannot run {program}: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(FreshServerError(format!(
            "{program} failed ({}): {last}",
            out.status
        )))
    }

    async fn init_and_start(
        &mut self,
        owner: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    ) -> Result<(), FreshServerError> {
        let chown = |path: &Path| match owner {
            Some((uid, gid)) => nix::unistd::chown(path, Some(uid), Some(gid)).map_err(|e| {
                FreshServerError(format!("chown {} to postgres: {e}", path.display()))
            }),
            None => Ok(()),
        };
        chown(&self.dir)?;
        let socket_dir = self.dir.join("sock");
        std::fs::create_dir(&socket_dir)
            .map_err(|e| FreshServerError(format!("create {}: {e}", socket_dir.display())))?;
        chown(&socket_dir)?;
        // initdb reads the password from a file; it lives only as long as initdb runs.
        let pwfile =
            dbward_core::secret::SecretFile::create(&self.dir, "pwfile", &self.password)
                .map_err(|e| FreshServerError(format!("cannot write the password file: {e}")))?;
        chown(pwfile.path())?;
        let pwfile_arg = format!("--pwfile={}", pwfile.path().display());
        let data = self.data();
        self.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                FRESH_SUPERUSER,
                &pwfile_arg,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )
        .await?;
        drop(pwfile);
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let options = format!(
                "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
                socket_dir.display()
            );
            match self
                .run(
                    "pg_ctl",
                    &[
                        "start", "-w", "-t", "60", "-D", &data, "-l", &log, "-o", &options,
                    ],
                )
                .await
            {
                Ok(()) => {
                    self.port = port;
                    return Ok(());
                }
                Err(e) => last_error = Some(e), // another process took the port: try another
            }
        }
        Err(last_error.expect("three tries"))
    }

    /// Stops the server (immediate: it holds nothing worth keeping) and removes its directory.
    pub async fn stop(mut self) {
        self.stop_now().await;
    }

    async fn stop_now(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let data = self.data();
        if self.port != 0
            && let Err(e) = self
                .run("pg_ctl", &["stop", "-w", "-m", "immediate", "-D", &data])
                .await
        {
            tracing::warn!("{e}");
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(
                "fresh-server drill: cannot remove {}: {e}",
                self.dir.display()
            );
        }
    }
}

impl Drop for FreshServer {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let tool = self.bin_dir.join("pg_ctl");
        let data = self.data();
        let mut command = if self.run_as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(tool);
            c
        } else {
            std::process::Command::new(tool)
        };
        let _ = command
            .args(["stop", "-w", "-m", "immediate", "-D", &data])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, FreshServerError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| FreshServerError(format!("no free port on 127.0.0.1: {e}")))
}

/// The directory of `initdb` and `pg_ctl`: `tool_dir`, else the oldest
/// `/usr/lib/postgresql/<N>/bin` with N at least the source server's major.
fn server_bin_dir(tool_dir: Option<&Path>, major: u32) -> Result<PathBuf, FreshServerError> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = tool_dir {
        return if has_tools(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(FreshServerError(format!(
                "no initdb and pg_ctl in tool_dir {}",
                dir.display()
            )))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (n >= major && has_tools(&bin)).then_some((n, bin))
        })
        .collect();
    found.sort();
    found.into_iter().next().map(|(_, bin)| bin).ok_or_else(|| {
        FreshServerError(format!(
            "no PostgreSQL server tools (initdb, pg_ctl) of major {major} or newer under /usr/lib/postgresql/*/bin: install postgresql-{major} or set tool_dir"
        ))
    })
}
