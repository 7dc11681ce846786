//! A fresh PostgreSQL server: `initdb` in a new private directory, `pg_ctl start` on a free
//! loopback port, and `pg_ctl stop` plus removal of the directory when the drill ends — also
//! when it fails. PostgreSQL refuses to run as root:
//! as root the server tools run as the system user `postgres` through `runuser`, and without
//! that user the drill refuses with what to do.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use dbward_core::secret::SecretString;
use tokio::process::Command;

use super::{
    FRESH_SUPERUSER, FreshServerError, chown_to, free_port, last_line, private_dir,
    random_password, remove_dir, system_user,
};

/// A running fresh PostgreSQL server; [`PostgresServer::stop`] ends it and removes its
/// directory, and dropping it without `stop` does the same, blocking.
#[derive(Debug)]
pub struct PostgresServer {
    pub port: u16,
    pub password: SecretString,
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as_postgres: bool,
    stopped: bool,
}

impl PostgresServer {
    /// Starts an empty server with the server tools of major `major` or newer (from
    /// `tool_dir` when set, else `/usr/lib/postgresql/<N>/bin`).
    pub async fn start(
        tool_dir: Option<&Path>,
        major: u32,
    ) -> Result<PostgresServer, FreshServerError> {
        let bin_dir = server_bin_dir(tool_dir, major)?;
        let owner = system_user("postgres").map_err(|()| {
            FreshServerError(
                "dbward runs as root, PostgreSQL refuses to, and there is no system user postgres to run it as: run dbward as an unprivileged user, or create the user postgres".into(),
            )
        })?;
        let password = random_password()?;
        let mut server = PostgresServer {
            port: 0,
            password,
            bin_dir,
            dir: private_dir()?,
            run_as_postgres: owner.is_some(),
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
        Err(FreshServerError(format!(
            "{program} failed ({}): {}",
            out.status,
            last_line(&out.stderr)
        )))
    }

    async fn init_and_start(
        &mut self,
        owner: Option<nix::unistd::User>,
    ) -> Result<(), FreshServerError> {
        let chown = |path: &Path| chown_to(path, owner.as_ref());
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
        remove_dir(&self.dir);
    }
}

impl Drop for PostgresServer {
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
