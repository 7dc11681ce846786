//! A PostgreSQL server for tests that insists on a password (`scram-sha-256`): either the one
//! `scripts/test.sh` started, or a private cluster in a temporary directory.

use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::{self, LOOPBACK};
use crate::tls::TestCa;
use crate::util::{self, run_checked, run_client};
use crate::{Server, TestDb, unique_name};

/// A PostgreSQL server on loopback whose superuser needs a password.
#[derive(Clone)]
pub struct PgServer {
    /// Always `127.0.0.1`.
    pub host: String,
    pub port: u16,
    /// The superuser, `postgres`.
    pub user: String,
    pub password: String,
    /// The server's `bin` directory (`psql`, `pg_dump`, ... of the server's own version).
    pub bin_dir: PathBuf,
    /// The private cluster's directory, when this process started it.
    dir: Option<PathBuf>,
}

server::server_api!(
    PgServer,
    engine: "PostgreSQL",
    kind: "cluster",
    scheme: "postgres",
    extra: bin_dir,
    shared_doc: "The server shared by every test in this process: the one named by the \
        environment (`DBWARD_TEST_PG_PORT`, `DBWARD_TEST_PG_PASSWORD`, optional \
        `DBWARD_TEST_PG_BINDIR`), else a private cluster started on first use. Panics if \
        neither is possible.",
);

impl PgServer {
    /// The server described by `DBWARD_TEST_PG_*`, or `None` when those are not set.
    pub fn from_env() -> Option<Result<PgServer, String>> {
        let login = server::env_login("DBWARD_TEST_PG")?;
        Some(login.and_then(|(port, password)| {
            Ok(PgServer {
                host: LOOPBACK.into(),
                port,
                user: "postgres".into(),
                password,
                bin_dir: env_bin_dir().map_or_else(Self::find_bin_dir, Ok)?,
                dir: None,
            })
        }))
    }

    /// Starts a new private cluster in a temporary directory, listening on 127.0.0.1 on a
    /// free port. It is stopped and removed once process `owner_pid` has exited, or by
    /// [`PgServer::stop`]. As root, the cluster runs as user `postgres` (initdb refuses root).
    pub fn start_private(owner_pid: u32) -> Result<PgServer, String> {
        Self::start(owner_pid, false, &[]).map(|(server, _)| server)
    }

    /// Like [`PgServer::start_private`], with `settings` (name, value) written to the
    /// cluster's `postgresql.conf` before it starts, e.g. `("archive_mode", "on")`. As root
    /// the server runs as user `postgres`, and so does any command a setting names.
    pub fn start_private_with(
        owner_pid: u32,
        settings: &[(&str, &str)],
    ) -> Result<PgServer, String> {
        Self::start(owner_pid, false, settings).map(|(server, _)| server)
    }

    /// Like [`PgServer::start_private`], with `ssl = on` and a certificate for `localhost`
    /// and `127.0.0.1` signed by the returned test CA (files in the cluster's directory). It
    /// accepts TCP connections only over TLS (`hostssl`), also on 127.0.0.2, an address the
    /// certificate does not name, and lets a role `dbward_client` (create it to use it) log
    /// in with the CA's client certificate instead of a password.
    pub fn start_private_tls(owner_pid: u32) -> Result<(PgServer, TestCa), String> {
        Self::start(owner_pid, true, &[])
            .map(|(server, ca)| (server, ca.expect("TLS was asked for")))
    }

    fn start(
        owner_pid: u32,
        tls: bool,
        settings: &[(&str, &str)],
    ) -> Result<(PgServer, Option<TestCa>), String> {
        let bin_dir = env_bin_dir().map_or_else(Self::find_bin_dir, Ok)?;
        let as_postgres = if util::running_as_root() {
            Some((
                util::id(&["-u", "postgres"])?,
                util::id(&["-g", "postgres"])?,
            ))
        } else {
            None
        };
        let cluster_in = |dir: &Path| Cluster {
            dir: dir.to_path_buf(),
            bin_dir: bin_dir.clone(),
            as_postgres: as_postgres.is_some(),
        };
        let dir = server::watched_dir(owner_pid, "dbward-pg-", |dir| {
            let cluster = cluster_in(dir);
            let stop = ["stop", "-w", "-m", "immediate", "-D", &cluster.data_str()];
            let argv = cluster.command_argv("pg_ctl", &stop);
            argv.into_iter().map(OsString::from).collect()
        })?;
        let cluster = cluster_in(&dir);

        let password = util::random_hex(16);
        let started = (|| -> Result<(PgServer, Option<TestCa>), String> {
            cluster.init(as_postgres, &password)?;
            cluster.configure(settings)?;
            let ca = tls
                .then(|| TestCa::generate(&dir.join("tls"), as_postgres))
                .transpose()?;
            let tls_options = match &ca {
                Some(ca) => {
                    cluster.tls_only()?;
                    // 127.0.0.2 reaches the server by an address its certificate lacks.
                    format!(
                        " -c ssl=on -c ssl_cert_file='{}' -c ssl_key_file='{}' \
                         -c ssl_ca_file='{}' -c listen_addresses=127.0.0.1,127.0.0.2",
                        ca.server_cert.display(),
                        ca.server_key.display(),
                        ca.ca_file.display()
                    )
                }
                None => String::new(),
            };
            let port = cluster.start(&tls_options)?;
            let server = PgServer {
                host: LOOPBACK.into(),
                port,
                user: "postgres".into(),
                password,
                bin_dir: bin_dir.clone(),
                dir: Some(dir.clone()),
            };
            server.try_sql("postgres", "SELECT 1")?;
            Ok((server, ca))
        })();
        server::or_remove(&dir, started)
    }

    /// The newest `/usr/lib/postgresql/<N>/bin` that has `initdb` and `pg_ctl`, else
    /// `pg_config --bindir`.
    pub fn find_bin_dir() -> Result<PathBuf, String> {
        let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
        let newest = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                has_tools(&bin).then_some((version, bin))
            })
            .max_by_key(|(version, _)| *version);
        if let Some((_, bin)) = newest {
            return Ok(bin);
        }
        let from_pg_config = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|d| has_tools(d));
        from_pg_config.ok_or_else(|| {
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin; \
             install the `postgresql` package or run `bash scripts/test.sh`"
                .into()
        })
    }

    /// A program from the server's `bin` directory, e.g. `pg_dump`.
    pub fn bin(&self, program: &str) -> PathBuf {
        self.bin_dir.join(program)
    }

    /// Creates a database with a unique name starting with `prefix`; it is dropped (with its
    /// connections) when the returned value is dropped.
    pub fn create_database(&self, prefix: &str) -> TestDb {
        let name = unique_name(prefix);
        self.sql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(&name)),
        );
        TestDb {
            name,
            server: Server::Pg(self.clone()),
        }
    }

    /// Runs SQL through `psql` over TCP with the password; returns trimmed stdout (unaligned,
    /// tuples only, no command tags). Panics with psql's stderr on failure.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        server::sql_or_panic(self.try_sql(database, sql), "PostgreSQL", database, sql)
    }

    /// Like [`PgServer::sql`] but returns psql's failure instead of panicking.
    pub fn try_sql(&self, database: &str, sql: &str) -> Result<String, String> {
        let psql = self.bin("psql");
        let mut cmd = Command::new(if psql.is_file() {
            psql
        } else {
            PathBuf::from("psql")
        });
        cmd.args(["-X", "-A", "-t", "-q", "-w", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.host)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(&self.user)
            .arg("-d")
            .arg(database)
            .args(["-f", "-"])
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGAPPNAME", "dbward-testkit")
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS");
        run_client(cmd, sql)
    }

    pub(crate) fn drop_database(&self, name: &str) -> Result<(), String> {
        self.try_sql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name)),
        )
        .map(drop)
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn env_bin_dir() -> Option<PathBuf> {
    std::env::var_os("DBWARD_TEST_PG_BINDIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A private cluster's files: `DIR/data`, `DIR/sock`, `DIR/server.log`.
struct Cluster {
    dir: PathBuf,
    bin_dir: PathBuf,
    /// Run the server tools as user `postgres` (we are root).
    as_postgres: bool,
}

impl Cluster {
    fn data_str(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Program and arguments to run a server tool, through `runuser` when we are root.
    fn command_argv(&self, program: &str, args: &[&str]) -> Vec<String> {
        let mut argv = Vec::new();
        if self.as_postgres {
            argv.extend(["runuser", "-u", "postgres", "--"].map(String::from));
        }
        argv.push(self.bin_dir.join(program).to_string_lossy().into_owned());
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let argv = self.command_argv(program, args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(&self.dir);
        cmd
    }

    /// `initdb` with scram-sha-256 everywhere and the superuser password from a 0600 file.
    fn init(&self, as_postgres: Option<(u32, u32)>, password: &str) -> Result<(), String> {
        let chown = |path: &Path| match as_postgres {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("chown {} to postgres: {e}", path.display())),
            None => Ok(()),
        };
        chown(&self.dir)?;
        let sock = self.dir.join("sock");
        std::fs::create_dir(&sock).map_err(|e| format!("create {}: {e}", sock.display()))?;
        chown(&sock)?;
        let pwfile = self.dir.join("pwfile");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&pwfile)
            .and_then(|mut f| std::io::Write::write_all(&mut f, password.as_bytes()))
            .map_err(|e| format!("write {}: {e}", pwfile.display()))?;
        chown(&pwfile)?;
        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        let result = run_checked(&mut self.command(
            "initdb",
            &[
                "-D",
                &self.data_str(),
                "-U",
                "postgres",
                &pwfile_arg,
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--locale=C",
                "--encoding=UTF8",
                "--no-sync",
            ],
        ));
        let _ = std::fs::remove_file(&pwfile);
        result.map(drop)
    }

    /// Appends `settings` to `postgresql.conf`, each value quoted.
    fn configure(&self, settings: &[(&str, &str)]) -> Result<(), String> {
        if settings.is_empty() {
            return Ok(());
        }
        let conf = self.dir.join("data").join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf).map_err(|e| format!("read {}: {e}", conf.display()))?;
        for (name, value) in settings {
            text.push_str(&format!("{name} = '{}'\n", value.replace('\'', "''")));
        }
        std::fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))
    }

    /// Lets TCP clients in only over TLS: a connection without it is refused by pg_hba. Role
    /// `dbward_client` (not created here) logs in with the test CA's client certificate.
    fn tls_only(&self) -> Result<(), String> {
        let hba = self.dir.join("data").join("pg_hba.conf");
        std::fs::write(
            &hba,
            "local all all scram-sha-256\n\
             hostssl all dbward_client 127.0.0.0/8 cert\n\
             hostssl all all 127.0.0.0/8 scram-sha-256\n",
        )
        .map_err(|e| format!("write {}: {e}", hba.display()))
    }

    /// `pg_ctl start` on a free port (a few tries, in case another process takes the port),
    /// with `extra` server options.
    fn start(&self, extra: &str) -> Result<u16, String> {
        let log = self.dir.join("server.log");
        server::on_a_free_port(&log, |port| {
            let options = format!(
                "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c max_connections=200 \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off{extra}",
                self.dir.join("sock").display()
            );
            run_checked(&mut self.command(
                "pg_ctl",
                &[
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    &self.data_str(),
                    "-l",
                    &log.to_string_lossy(),
                    "-o",
                    &options,
                ],
            ))
            .map(drop)
        })
    }
}
