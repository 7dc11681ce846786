//! A MariaDB server for tests whose `root` needs a password: either the one `scripts/test.sh`
//! started, or a private `mariadbd` with a data directory in a temporary directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{self, LOOPBACK};
use crate::tls::TestCa;
use crate::util::{self, run_checked, run_client};
use crate::{Server, TestDb, unique_name};

/// Server options shared by `mariadb-install-db` and `mariadbd`: fast and unsafe on crash,
/// which is what a throwaway test server wants. `--loose-` ignores options a version lacks.
const SPEED_OPTIONS: &[&str] = &[
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=64M",
    "--innodb-flush-log-at-trx-commit=0",
    "--loose-innodb-flush-method=nosync",
    "--loose-innodb-doublewrite=0",
];

/// A MariaDB server on loopback whose `root` needs a password over TCP.
#[derive(Clone)]
pub struct MariaServer {
    /// Always `127.0.0.1`.
    pub host: String,
    pub port: u16,
    /// `root`, with every privilege.
    pub user: String,
    pub password: String,
    /// The Unix socket of a private server (the password is needed there too).
    pub socket: Option<PathBuf>,
    /// The private server's directory, when this process started it.
    dir: Option<PathBuf>,
}

server::server_api!(
    MariaServer,
    engine: "MariaDB",
    kind: "server",
    scheme: "mysql",
    extra: socket,
    shared_doc: "The server shared by every test in this process: the one named by the \
        environment (`DBWARD_TEST_MARIADB_PORT`, `DBWARD_TEST_MARIADB_PASSWORD`), else a \
        private server started on first use. Panics if neither is possible.",
);

impl MariaServer {
    /// The server described by `DBWARD_TEST_MARIADB_*`, or `None` when those are not set.
    pub fn from_env() -> Option<Result<MariaServer, String>> {
        let login = server::env_login("DBWARD_TEST_MARIADB")?;
        Some(login.map(|(port, password)| MariaServer {
            host: LOOPBACK.into(),
            port,
            user: "root".into(),
            password,
            socket: None,
            dir: None,
        }))
    }

    /// Starts a new private server in a temporary directory, listening on 127.0.0.1 on a free
    /// port, with a random password for `root`. It is stopped and removed once process
    /// `owner_pid` has exited, or by [`MariaServer::stop`].
    pub fn start_private(owner_pid: u32) -> Result<MariaServer, String> {
        Self::start(owner_pid, false, &[]).map(|(server, _)| server)
    }

    /// Like [`MariaServer::start_private`], with more `mariadbd` options (such as
    /// `--lower-case-table-names=1`).
    pub fn start_private_with(owner_pid: u32, options: &[&str]) -> Result<MariaServer, String> {
        Self::start(owner_pid, false, options).map(|(server, _)| server)
    }

    /// Like [`MariaServer::start_private`], with a certificate for `localhost` and
    /// `127.0.0.1` signed by the returned test CA, and `require_secure_transport`: TCP
    /// clients get in only over TLS.
    pub fn start_private_tls(owner_pid: u32) -> Result<(MariaServer, TestCa), String> {
        Self::start(owner_pid, true, &[])
            .map(|(server, ca)| (server, ca.expect("TLS was asked for")))
    }

    fn start(
        owner_pid: u32,
        tls: bool,
        options: &[&str],
    ) -> Result<(MariaServer, Option<TestCa>), String> {
        let mariadbd = util::find_program(&["mariadbd", "mysqld"], &["/usr/sbin", "/usr/libexec"])
            .ok_or(
                "no mariadbd; install the `mariadb-server` package or run `bash scripts/test.sh`",
            )?;
        let install_db = util::find_program(
            &["mariadb-install-db", "mysql_install_db"],
            &["/usr/bin", "/usr/sbin", "/usr/local/bin"],
        )
        .ok_or("no mariadb-install-db; install the `mariadb-server` package")?;
        // The watchdog stops the server through the pid we record at spawn time; mariadbd
        // removes its own pid file on shutdown, which also tells a finished server from a
        // zombie.
        const STOP: &str = r#"pid=$(cat "$1/launch.pid" 2>/dev/null) || exit 0
kill -TERM "$pid" 2>/dev/null
i=0
while [ "$i" -lt 150 ] && [ -e "$1/mariadbd.pid" ] && kill -0 "$pid" 2>/dev/null; do
  sleep 0.1; i=$((i+1))
done
kill -KILL "$pid" 2>/dev/null"#;
        let dir = server::watched_dir(owner_pid, "dbward-mariadb-", |dir| {
            vec![
                "sh".into(),
                "-c".into(),
                STOP.into(),
                "sh".into(),
                OsString::from(dir),
            ]
        })?;

        let password = util::random_hex(16);
        let started = (|| -> Result<(MariaServer, Option<TestCa>), String> {
            let ca = tls
                .then(|| TestCa::generate(&dir.join("tls"), None))
                .transpose()?;
            let instance = Instance {
                dir: dir.clone(),
                mariadbd,
                root: util::running_as_root(),
                tls: ca.clone(),
                options: options.iter().map(|o| o.to_string()).collect(),
            };
            instance.install(&install_db)?;
            let port = instance.start()?;
            instance.secure_root(&password)?;
            let server = MariaServer {
                host: LOOPBACK.into(),
                port,
                user: "root".into(),
                password,
                socket: Some(instance.socket()),
                dir: Some(dir.clone()),
            };
            server.try_sql("", "SELECT 1")?;
            Ok((server, ca))
        })();
        server::or_remove(&dir, started)
    }

    /// Creates a database (utf8mb4) with a unique name starting with `prefix`; it is dropped
    /// when the returned value is dropped.
    pub fn create_database(&self, prefix: &str) -> TestDb {
        let name = unique_name(prefix);
        self.sql(
            "",
            &format!(
                "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                quote_ident(&name)
            ),
        );
        TestDb {
            name,
            server: Server::Maria(self.clone()),
        }
    }

    /// Runs SQL through the `mariadb` client over TCP (password from a 0600 option file, never
    /// argv); `database` may be empty. Returns trimmed stdout in batch form (tab-separated,
    /// no column names). Panics with the client's stderr on failure.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        server::sql_or_panic(self.try_sql(database, sql), "MariaDB", database, sql)
    }

    /// Like [`MariaServer::sql`] but returns the client's failure instead of panicking.
    pub fn try_sql(&self, database: &str, sql: &str) -> Result<String, String> {
        let client = client_program()?;
        // NamedTempFile is created with mode 0600 and removed when dropped.
        let mut options = tempfile::Builder::new()
            .prefix("dbward-mariadb-client-")
            .tempfile()
            .map_err(|e| format!("create a client option file: {e}"))?;
        let escaped = self.password.replace('\\', "\\\\").replace('"', "\\\"");
        std::io::Write::write_all(
            &mut options,
            format!("[client]\npassword=\"{escaped}\"\ndefault-character-set=utf8mb4\n").as_bytes(),
        )
        .map_err(|e| format!("write a client option file: {e}"))?;
        let mut cmd = Command::new(client);
        // --defaults-file must come first; it also keeps ~/.my.cnf out of the picture.
        cmd.arg(format!("--defaults-file={}", options.path().display()))
            .args(["--protocol=TCP", "--batch", "--skip-column-names"])
            .args(["--connect-timeout=10", "-h", &self.host, "-u", &self.user])
            .arg(format!("--port={}", self.port));
        if !database.is_empty() {
            cmd.arg(database);
        }
        run_client(cmd, sql)
    }

    pub(crate) fn drop_database(&self, name: &str) -> Result<(), String> {
        // A connection left open by a test (say, inside a transaction) would make DROP wait
        // on its metadata lock; end those connections first.
        let ids = self.try_sql(
            "",
            &format!(
                "SELECT id FROM information_schema.processlist \
                 WHERE db = '{name}' AND id <> CONNECTION_ID()"
            ),
        )?;
        for id in ids.lines().filter(|l| !l.trim().is_empty()) {
            let _ = self.try_sql("", &format!("KILL CONNECTION {}", id.trim()));
        }
        self.try_sql(
            "",
            &format!("DROP DATABASE IF EXISTS {}", quote_ident(name)),
        )
        .map(drop)
    }
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn client_program() -> Result<PathBuf, String> {
    util::find_program(&["mariadb", "mysql"], &["/usr/bin", "/usr/local/bin"])
        .ok_or_else(|| "no mariadb client; install the `mariadb-client` package".into())
}

/// A private server's files: `DIR/data`, `DIR/mysqld.sock`, `DIR/mariadbd.pid`,
/// `DIR/launch.pid` (what the watchdog stops) and `DIR/error.log`.
struct Instance {
    dir: PathBuf,
    mariadbd: PathBuf,
    /// mariadbd refuses to run as root unless told `--user=root`.
    root: bool,
    /// Serve TLS with these files and refuse TCP clients without it.
    tls: Option<TestCa>,
    /// More server options.
    options: Vec<String>,
}

impl Instance {
    fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    fn user_option(&self) -> Option<&'static str> {
        self.root.then_some("--user=root")
    }

    fn install(&self, install_db: &Path) -> Result<(), String> {
        let mut cmd = Command::new(install_db);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .args(self.user_option())
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(SPEED_OPTIONS)
            .args(&self.options)
            .current_dir(&self.dir);
        run_checked(&mut cmd).map(drop)
    }

    /// Starts mariadbd on a free port and waits until it answers on its socket (a few tries,
    /// in case another process takes the port first).
    fn start(&self) -> Result<u16, String> {
        let log = self.dir.join("error.log");
        server::on_a_free_port(&log, |port| {
            let mut child = self.spawn(port, &log)?;
            self.wait_ready(&mut child).inspect_err(|_| {
                let _ = child.kill();
                let _ = child.wait();
            })
        })
    }

    fn spawn(&self, port: u16, log: &Path) -> Result<Child, String> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.mariadbd);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.join("mariadbd.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--tmpdir={}", self.dir.display()))
            .args(self.user_option())
            .args(self.tls.iter().flat_map(|ca| {
                [
                    format!("--ssl-cert={}", ca.server_cert.display()),
                    format!("--ssl-key={}", ca.server_key.display()),
                    format!("--ssl-ca={}", ca.ca_file.display()),
                    "--require-secure-transport=ON".into(),
                ]
            }))
            .args([
                "--max-connections=300",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
            ])
            .args(SPEED_OPTIONS)
            .args(&self.options)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C aimed at the tests leaves it to the watchdog.
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", self.mariadbd.display()))?;
        std::fs::write(self.dir.join("launch.pid"), child.id().to_string())
            .map_err(|e| format!("record mariadbd's pid: {e}"))?;
        Ok(child)
    }

    fn wait_ready(&self, child: &mut Child) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("mariadbd exited early ({status})"));
            }
            if self.socket_sql("SELECT 1").is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("mariadbd did not accept connections within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SQL as root over the socket, before root has a password.
    fn socket_sql(&self, sql: &str) -> Result<String, String> {
        let mut cmd = Command::new(client_program()?);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args([
                "--protocol=SOCKET",
                "-u",
                "root",
                "--batch",
                "--skip-column-names",
            ]);
        run_client(cmd, sql)
    }

    /// Gives `root` at localhost, 127.0.0.1 and ::1 the password and every privilege, and
    /// removes every other root and anonymous account, so no login works without it.
    fn secure_root(&self, password: &str) -> Result<(), String> {
        let others = self.socket_sql(
            "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.user \
             WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1'))",
        )?;
        let mut sql = String::new();
        for account in others.lines().filter(|l| !l.trim().is_empty()) {
            sql.push_str(&format!("DROP USER {account};\n"));
        }
        for host in ["127.0.0.1", "::1", "localhost"] {
            sql.push_str(&format!(
                "CREATE USER IF NOT EXISTS 'root'@'{host}';\n\
                 GRANT ALL PRIVILEGES ON *.* TO 'root'@'{host}' WITH GRANT OPTION;\n\
                 GRANT PROXY ON ''@'%' TO 'root'@'{host}' WITH GRANT OPTION;\n"
            ));
        }
        // localhost last: it is the account this very session is using.
        for host in ["127.0.0.1", "::1", "localhost"] {
            sql.push_str(&format!(
                "ALTER USER 'root'@'{host}' IDENTIFIED BY '{password}';\n"
            ));
        }
        sql.push_str("FLUSH PRIVILEGES;\n");
        self.socket_sql(&sql).map(drop)
    }
}
