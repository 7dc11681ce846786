//! A fresh PostgreSQL server: `initdb` in a new private directory, `postgres` as dbward's
//! child on a free loopback port (it dies with dbward: parent-death signal), and an
//! immediate shutdown plus removal of the directory when the drill ends — also when it
//! fails. PostgreSQL refuses to run as root: as root `initdb` runs as the system user
//! `postgres` through `runuser` and the server as that user, and without that user the drill
//! refuses with what to do.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use dbward_core::DatabaseSettings;
use dbward_core::secret::{ExposeSecret, SecretString};
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

use super::{
    FRESH_SUPERUSER, FreshServerError, chown_to, dying_with_dbward, free_port, last_line,
    private_dir, random_password, remove_dir, system_user, wait_for_login,
};

/// How long an immediate shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running fresh PostgreSQL server; [`PostgresServer::stop`] ends it and removes its
/// directory, and dropping it without `stop` does the same, blocking.
#[derive(Debug)]
pub struct PostgresServer {
    pub port: u16,
    pub password: SecretString,
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as_postgres: bool,
    /// The `postgres` process, a child of dbward that dies with it.
    server: Option<Child>,
    /// The encoding and locale it was initialised with, in words (the drill's report).
    pub locale: String,
    stopped: bool,
}

/// The fresh server's encoding and locale when the source's are unknown or not installed.
const DEFAULT_LOCALE: (&str, &str) = ("UTF8", "C.UTF-8");

impl PostgresServer {
    /// Starts an empty server with the server tools of major `major` or newer (from
    /// `tool_dir` when set, else `/usr/lib/postgresql/<N>/bin`), initialised with the
    /// source's encoding and locale (`source_locale`, its cluster default as the globals
    /// backup recorded it) when this machine has that locale, else with UTF8 and C.UTF-8.
    pub async fn start(
        tool_dir: Option<&Path>,
        major: u32,
        source_locale: Option<&DatabaseSettings>,
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
            server: None,
            locale: String::new(),
            stopped: false,
        };
        if let Err(e) = server.init_and_start(owner, source_locale).await {
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
        source_locale: Option<&DatabaseSettings>,
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
        self.locale = self.initdb(&pwfile_arg, source_locale).await?;
        drop(pwfile);
        let log = self.dir.join("server.log");
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            match self
                .run_server(&socket_dir, &log, port, owner.as_ref())
                .await
            {
                Ok(child) => {
                    self.port = port;
                    self.server = Some(child);
                    return Ok(());
                }
                Err(e) => last_error = Some(e), // another process took the port: try another
            }
        }
        Err(last_error.expect("three tries"))
    }

    /// Runs `initdb` with the source's encoding and locale, or, when there is none or this
    /// machine lacks it (initdb refuses), with the default; says which.
    async fn initdb(
        &self,
        pwfile_arg: &str,
        source_locale: Option<&DatabaseSettings>,
    ) -> Result<String, FreshServerError> {
        let data = self.data();
        let common = [
            "-D",
            &data,
            "-U",
            FRESH_SUPERUSER,
            pwfile_arg,
            "--auth=scram-sha-256",
            "--no-sync",
        ];
        let default = || {
            vec![
                format!("--encoding={}", DEFAULT_LOCALE.0),
                format!("--locale={}", DEFAULT_LOCALE.1),
            ]
        };
        let wanted = source_locale.map(initdb_locale_args);
        if let Some(args) = &wanted {
            let all: Vec<&str> = common
                .iter()
                .copied()
                .chain(args.iter().map(String::as_str))
                .collect();
            match self.run("initdb", &all).await {
                Ok(()) => return Ok(format!("the source's {}", args.join(" "))),
                // initdb removes what it created when it fails.
                Err(e) => tracing::warn!(
                    "fresh-server drill: initdb with the source's locale failed ({e}); using {} {}",
                    DEFAULT_LOCALE.0,
                    DEFAULT_LOCALE.1
                ),
            }
        }
        let args = default();
        let all: Vec<&str> = common
            .iter()
            .copied()
            .chain(args.iter().map(String::as_str))
            .collect();
        self.run("initdb", &all).await?;
        Ok(match wanted {
            Some(source) => format!(
                "{} (the source's {} is not available on this machine: databases that need it fall back to the C locale)",
                args.join(" "),
                source.join(" ")
            ),
            None => args.join(" "),
        })
    }

    /// Starts `postgres` itself (not through `pg_ctl`, which would detach it from dbward) on
    /// `port`, and waits until the superuser can log in.
    async fn run_server(
        &self,
        socket_dir: &Path,
        log: &Path,
        port: u16,
        owner: Option<&nix::unistd::User>,
    ) -> Result<Child, FreshServerError> {
        let log_file = std::fs::File::create(log)
            .map_err(|e| FreshServerError(format!("create {}: {e}", log.display())))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| FreshServerError(format!("{}: {e}", log.display())))?;
        let program = self.bin_dir.join("postgres");
        // SIGQUIT: PostgreSQL's immediate shutdown, which also ends its backends.
        let mut command = match dying_with_dbward(&program, owner, "QUIT") {
            Some(command) => command,
            None if self.run_as_postgres => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let port_arg = port.to_string();
        let socket = socket_dir.to_string_lossy().into_owned();
        let mut child = command
            .args(["-D", &self.data(), "-p", &port_arg, "-k", &socket])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| FreshServerError(format!("cannot run {}: {e}", program.display())))?;
        match wait_ready(&mut child, port, &self.password).await {
            Ok(()) => Ok(child),
            Err(why) => {
                let _ = child.kill().await;
                let logged = std::fs::read(log).unwrap_or_default();
                Err(FreshServerError(format!(
                    "postgres {why}: {}",
                    last_line(&logged)
                )))
            }
        }
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
        if let Some(mut child) = self.server.take() {
            signal(&child, Signal::SIGQUIT);
            if tokio::time::timeout(STOP_TIMEOUT, child.wait())
                .await
                .is_err()
            {
                tracing::warn!("fresh-server drill: postgres did not stop in time; killed");
                let _ = child.kill().await;
            }
        }
        remove_dir(&self.dir);
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        if let Some(mut child) = self.server.take() {
            signal(&child, Signal::SIGQUIT);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// initdb's options for the source's encoding and locale (collation and character type).
fn initdb_locale_args(source: &DatabaseSettings) -> Vec<String> {
    let collate = source.collation.as_deref().unwrap_or("C");
    let ctype = source.ctype.as_deref().unwrap_or(collate);
    vec![
        format!("--encoding={}", source.encoding),
        format!("--lc-collate={collate}"),
        format!("--lc-ctype={ctype}"),
    ]
}

/// Sends `signal` to a running server.
fn signal(child: &Child, signal: Signal) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
    }
}

/// Waits until the superuser can log in over TCP, or says why it will not.
async fn wait_ready(child: &mut Child, port: u16, password: &SecretString) -> Result<(), String> {
    use sqlx::Connection;
    let login = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(FRESH_SUPERUSER)
        .password(password.expose_secret())
        .database("postgres")
        .ssl_mode(sqlx::postgres::PgSslMode::Disable);
    wait_for_login(child, || async {
        match sqlx::postgres::PgConnection::connect_with(&login).await {
            Ok(connection) => {
                let _ = connection.close().await;
                true
            }
            Err(_) => false,
        }
    })
    .await
}

/// The directory of `initdb` and `postgres`: `tool_dir`, else the oldest
/// `/usr/lib/postgresql/<N>/bin` with N at least the source server's major.
fn server_bin_dir(tool_dir: Option<&Path>, major: u32) -> Result<PathBuf, FreshServerError> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = tool_dir {
        return if has_tools(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(FreshServerError(format!(
                "no initdb and postgres in tool_dir {}",
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
            "no PostgreSQL server tools (initdb, postgres) of major {major} or newer under /usr/lib/postgresql/*/bin: install postgresql-{major} or set tool_dir"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real initdb refuses a locale this machine lacks; the server still starts, with the
    /// default, and says what the source had.
    #[tokio::test]
    async fn a_source_locale_this_machine_lacks_falls_back_to_the_default_and_says_so() {
        let tool_dir = std::env::var_os("DBWARD_TEST_PG_BINDIR").map(PathBuf::from);
        let missing = DatabaseSettings {
            encoding: "UTF8".into(),
            collation: Some("xx_XX.UTF-8".into()),
            ctype: None,
            owner: None,
            roles: Vec::new(),
        };
        let server = PostgresServer::start(tool_dir.as_deref(), 0, Some(&missing))
            .await
            .expect("a fresh PostgreSQL server (install postgresql or set DBWARD_TEST_PG_BINDIR)");
        let locale = server.locale.clone();
        let dir = server.dir.clone();
        server.stop().await;
        assert_eq!(
            locale,
            "--encoding=UTF8 --locale=C.UTF-8 (the source's --encoding=UTF8 --lc-collate=xx_XX.UTF-8 --lc-ctype=xx_XX.UTF-8 is not available on this machine: databases that need it fall back to the C locale)"
        );
        assert!(!dir.exists(), "stop removes {}", dir.display());
    }
}
