//! A fresh MariaDB server: `mariadb-install-db` into a new private directory, `mariadbd` on
//! a free loopback port with its own socket, and a superuser `dbward`@`127.0.0.1` created at
//! start-up by an init file (0600, removed once that user can log in), so no password ever
//! reaches an argument list. The server is killed and its directory removed when the drill
//! ends, and it dies with dbward when dbward is killed (parent-death signal). As root the
//! server runs as the system user `mysql` when there is one, else as root
//! (`--user=root`: mariadbd refuses root without being told).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use dbward_core::secret::{ExposeSecret, SecretFile, SecretString};
use tokio::process::{Child, Command};

use super::{
    FRESH_SUPERUSER, FreshServerError, chown_to, dying_with_dbward, free_port, last_line,
    private_dir, random_password, remove_dir, system_user, wait_for_login,
};

/// Fast and unsafe on crash, which is what a server that lives for one drill wants;
/// `--loose-` ignores options a version lacks.
const SPEED_OPTIONS: &[&str] = &[
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=64M",
    "--innodb-flush-log-at-trx-commit=0",
    "--loose-innodb-flush-method=nosync",
    "--loose-innodb-doublewrite=0",
];

/// The server programs: `(program names, where to look besides PATH)`.
const SERVER: (&[&str], &[&str]) = (&["mariadbd", "mysqld"], &["/usr/sbin", "/usr/libexec"]);
const INSTALL_DB: (&[&str], &[&str]) = (
    &["mariadb-install-db", "mysql_install_db"],
    &["/usr/bin", "/usr/sbin", "/usr/local/bin"],
);

/// A running fresh MariaDB server; [`MariadbServer::stop`] ends it and removes its
/// directory, and dropping it without `stop` does the same.
#[derive(Debug)]
pub struct MariadbServer {
    pub port: u16,
    pub password: SecretString,
    dir: PathBuf,
    server: Option<Child>,
}

impl MariadbServer {
    /// Starts an empty server with the programs from `tool_dir` when set, else from `PATH`,
    /// `/usr/sbin` and the like.
    pub async fn start(tool_dir: Option<&Path>) -> Result<MariadbServer, FreshServerError> {
        let mariadbd = find_program(tool_dir, SERVER)?;
        let install_db = find_program(tool_dir, INSTALL_DB)?;
        // No system user mysql as root: run as root, which mariadbd accepts when told.
        let owner = system_user("mysql").unwrap_or(None);
        let user_option = match &owner {
            Some(user) => Some(format!("--user={}", user.name)),
            None if nix::unistd::geteuid().is_root() => Some("--user=root".to_string()),
            None => None,
        };
        let mut server = MariadbServer {
            port: 0,
            password: random_password()?,
            dir: private_dir()?,
            server: None,
        };
        let started = async {
            chown_to(&server.dir, owner.as_ref())?;
            server.install(&install_db, user_option.as_deref()).await?;
            server
                .run_server(&mariadbd, user_option.as_deref(), owner.as_ref())
                .await
        };
        if let Err(e) = started.await {
            server.stop().await;
            return Err(e);
        }
        Ok(server)
    }

    fn data(&self) -> String {
        format!("--datadir={}", self.dir.join("data").display())
    }

    async fn install(
        &self,
        install_db: &Path,
        user_option: Option<&str>,
    ) -> Result<(), FreshServerError> {
        let out = Command::new(install_db)
            .arg("--no-defaults")
            .arg(self.data())
            .args(user_option)
            .arg("--skip-test-db")
            .arg(format!("--tmpdir={}", self.dir.display()))
            .args(SPEED_OPTIONS)
            .current_dir(&self.dir)
            // Its own directory for temporary files: the system user may not reach TMPDIR.
            .env("TMPDIR", &self.dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| FreshServerError(format!("cannot run {}: {e}", install_db.display())))?;
        if out.status.success() {
            return Ok(());
        }
        Err(FreshServerError(format!(
            "{} failed ({}): {}",
            install_db.display(),
            out.status,
            first_error(&out.stderr)
        )))
    }

    /// Starts the server on a free port (a few tries, in case another process takes the
    /// port first) and waits until it listens.
    async fn run_server(
        &mut self,
        mariadbd: &Path,
        user_option: Option<&str>,
        owner: Option<&nix::unistd::User>,
    ) -> Result<(), FreshServerError> {
        // PROXY ... WITH GRANT OPTION (which the globals' own PROXY grants need) is written
        // into the table as mariadb-install-db does for root: the init file runs as no
        // user, and GRANT PROXY wants a grantor who holds it.
        let init = SecretString::from(format!(
            "CREATE USER IF NOT EXISTS '{FRESH_SUPERUSER}'@'127.0.0.1' IDENTIFIED BY '{}';\n\
             GRANT ALL PRIVILEGES ON *.* TO '{FRESH_SUPERUSER}'@'127.0.0.1' WITH GRANT OPTION;\n\
             INSERT IGNORE INTO mysql.proxies_priv (Host, User, Proxied_host, Proxied_user, With_grant, Grantor) \
             VALUES ('127.0.0.1', '{FRESH_SUPERUSER}', '', '', 1, '');\n\
             FLUSH PRIVILEGES;\n",
            self.password.expose_secret()
        ));
        let log = self.dir.join("error.log");
        let socket = self.dir.join("mysqld.sock");
        let mut last_error = None;
        for _ in 0..3 {
            // A new init file each try, removed once the superuser it creates can log in.
            let init_file = SecretFile::create(&self.dir, "init", &init)
                .map_err(|e| FreshServerError(format!("cannot write the init file: {e}")))?;
            chown_to(init_file.path(), owner)?;
            let port = free_port()?;
            // As root with a system user mysql, setpriv starts the server as mysql (its own
            // --user would clear the parent-death signal); without setpriv, --user does.
            let (mut command, server_user) = match dying_with_dbward(mariadbd, owner, "KILL") {
                Some(command) => (command, user_option.filter(|_| owner.is_none())),
                None => (Command::new(mariadbd), user_option),
            };
            let mut child = command
                .arg("--no-defaults")
                .arg(self.data())
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--socket={}", socket.display()))
                .arg(format!(
                    "--pid-file={}",
                    self.dir.join("mariadbd.pid").display()
                ))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--tmpdir={}", self.dir.display()))
                .arg(format!("--init-file={}", init_file.path().display()))
                .args(server_user)
                .arg("--character-set-server=utf8mb4")
                .args(SPEED_OPTIONS)
                .current_dir(&self.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| FreshServerError(format!("cannot run {}: {e}", mariadbd.display())))?;
            match wait_ready(&mut child, port, &self.password).await {
                Ok(()) => {
                    self.port = port;
                    self.server = Some(child);
                    return Ok(());
                }
                Err(why) => {
                    let _ = child.kill().await;
                    let logged = std::fs::read(&log).unwrap_or_default();
                    last_error = Some(FreshServerError(format!(
                        "{} {why}: {}",
                        mariadbd.display(),
                        first_error(&logged)
                    )));
                }
            }
        }
        Err(last_error.expect("three tries"))
    }

    /// Kills the server (it holds nothing worth keeping) and removes its directory.
    pub async fn stop(mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill().await;
        }
        remove_dir(&self.dir);
        self.dir = PathBuf::new();
    }
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        if let Some(server) = &mut self.server {
            let _ = server.start_kill();
        }
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits until the superuser can log in — which also means the server has read its init
/// file, which it does only after it listens — or says why it will not.
async fn wait_ready(child: &mut Child, port: u16, password: &SecretString) -> Result<(), String> {
    use sqlx::Connection;
    let login = sqlx::mysql::MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(FRESH_SUPERUSER)
        .password(password.expose_secret())
        .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled);
    wait_for_login(child, || async {
        match sqlx::mysql::MySqlConnection::connect_with(&login).await {
            Ok(connection) => {
                let _ = connection.close().await;
                true
            }
            Err(_) => false,
        }
    })
    .await
}

/// The first of `names` in `tool_dir` when it is set, else in `PATH` or `places`.
fn find_program(
    tool_dir: Option<&Path>,
    (names, places): (&[&str], &[&str]),
) -> Result<PathBuf, FreshServerError> {
    let dirs: Vec<PathBuf> = match tool_dir {
        Some(dir) => vec![dir.to_path_buf()],
        None => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(places.iter().map(PathBuf::from))
            .collect(),
    };
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            let where_ = match tool_dir {
                Some(dir) => format!("in tool_dir {}", dir.display()),
                None => format!("in PATH or {}", places.join(", ")),
            };
            FreshServerError(format!(
                "no MariaDB server program ({}) {where_}: install the mariadb-server package or set tool_dir",
                names.join(" or ")
            ))
        })
}

/// The first `[ERROR]` line MariaDB wrote (the cause; the last is only "Aborting"), else its
/// last line.
fn first_error(said: &[u8]) -> String {
    String::from_utf8_lossy(said)
        .lines()
        .find(|l| l.contains("[ERROR]"))
        .map(str::to_string)
        .unwrap_or_else(|| last_line(said))
}
