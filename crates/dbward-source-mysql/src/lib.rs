//! dbward's MySQL and MariaDB source: discovers databases over the wire (sqlx), dumps one
//! database with `mariadb-dump`/`mysqldump` (password in a 0600 option file, never in argv
//! or the environment), counts the rows the dump holds from the stream itself, and judges
//! the result by the backup gate.

mod dump;
mod option_file;
mod rows;
mod tool;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dbward_core::process::ToolProcess;
use dbward_core::secret::{ExposeSecret, SecretFile, SecretString};
use dbward_core::source::{CheckLine, Dump, DumpInfo, Source};
use dbward_core::stream::TapReader;
use dbward_core::{Engine, Error, Result};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::{ConnectOptions, Connection, Row};

pub use dump::{COMPLETION_MARKER, has_completion_marker, judge_stderr};
pub use rows::{Counts, RowCounter};
pub use tool::{
    Compat, DumpTool, Flavor, Version, compatibility, parse_server_version, parse_tool_version,
};

/// Schemas every server has that hold no user data.
const SYSTEM_DATABASES: [&str; 4] = ["information_schema", "performance_schema", "mysql", "sys"];

/// Privileges a consistent dump of tables, views, triggers and events needs.
const NEEDED_PRIVILEGES: [&str; 5] = ["SELECT", "LOCK TABLES", "SHOW VIEW", "TRIGGER", "EVENT"];

/// MySQL/MariaDB error numbers this source reacts to.
const ER_BAD_DB_ERROR: u16 = 1049;

/// How to reach and dump one MySQL or MariaDB server; built by the config layer.
#[derive(Debug, Clone)]
pub struct MysqlSettings {
    pub name: String,
    /// `Engine::Mysql` or `Engine::Mariadb`: decides which dump tool is preferred.
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    /// A unix socket to use instead of TCP.
    pub socket: Option<PathBuf>,
    pub user: String,
    /// Never printed: `SecretString`'s `Debug` is redacted.
    pub password: Option<SecretString>,
    /// Where `mariadb-dump`/`mysqldump` live; `None` searches `PATH`.
    pub tool_dir: Option<PathBuf>,
    /// Table names left out of every dump (`--ignore-table=db.table`), listed in the manifest.
    pub exclude_tables: Vec<String>,
    /// Private directory (0700) for the 0600 option file that carries the password.
    pub secret_dir: PathBuf,
    pub connect_timeout: Duration,
}

/// A MySQL or MariaDB server as a dbward `Source`.
#[derive(Debug, Clone)]
pub struct MysqlSource {
    settings: MysqlSettings,
}

impl MysqlSource {
    pub fn new(settings: MysqlSettings) -> Self {
        MysqlSource { settings }
    }

    pub fn settings(&self) -> &MysqlSettings {
        &self.settings
    }

    /// `mysql://user@host:port`, for messages: never holds the password.
    pub fn target(&self) -> String {
        let s = &self.settings;
        match &s.socket {
            Some(socket) => format!("mysql://{}@localhost (socket {})", s.user, socket.display()),
            None => format!("mysql://{}@{}:{}", s.user, s.host, s.port),
        }
    }

    fn connect_options(&self, database: Option<&str>) -> MySqlConnectOptions {
        let s = &self.settings;
        // Built field by field: a URL with the password in it could end up in a log line.
        let mut options = MySqlConnectOptions::new().username(&s.user);
        options = match &s.socket {
            Some(socket) => options.socket(socket),
            None => options.host(&s.host).port(s.port),
        };
        if let Some(password) = &s.password {
            options = options.password(password.expose_secret());
        }
        if let Some(database) = database {
            options = options.database(database);
        }
        options
    }

    async fn connect(&self, database: Option<&str>) -> Result<MySqlConnection> {
        let options = self.connect_options(database);
        let timeout = self.settings.connect_timeout;
        let connected = tokio::time::timeout(timeout, options.connect()).await;
        match connected {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => {
                if let (Some(database), sqlx::Error::Database(db)) = (database, &e)
                    && db
                        .try_downcast_ref::<MySqlDatabaseError>()
                        .is_some_and(|m| m.number() == ER_BAD_DB_ERROR)
                {
                    return Err(Error::DatabaseMissing {
                        source_name: self.settings.name.clone(),
                        database: database.to_string(),
                    });
                }
                Err(Error::Connect {
                    target: self.target(),
                    reason: sqlx_reason(&e),
                })
            }
            Err(_) => Err(Error::Connect {
                target: self.target(),
                reason: format!("no answer within {:?}", timeout),
            }),
        }
    }

    /// Collects what the dump will be judged against, on one short-lived connection.
    async fn survey(&self, database: &str) -> Result<Survey> {
        let mut conn = self.connect(Some(database)).await?;
        let result = survey_on(&mut conn, database).await;
        let _ = conn.close().await;
        result
    }
}

/// Facts read from the server just before a dump.
#[derive(Debug)]
struct Survey {
    server_version: String,
    /// Every table and view of the database, with its `TABLE_TYPE`.
    tables: Vec<(String, String)>,
    replica_lag_seconds: Option<f64>,
    warnings: Vec<String>,
}

async fn survey_on(conn: &mut MySqlConnection, database: &str) -> Result<Survey> {
    let server_version = server_version(conn).await?;
    let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot list tables", &e))?;
    let tables = rows
        .into_iter()
        .map(|(name, kind)| (lossy(name), lossy(kind)))
        .collect();
    let (replica_lag_seconds, warnings) = replica_lag(conn).await;
    Ok(Survey {
        server_version,
        tables,
        replica_lag_seconds,
        warnings,
    })
}

async fn server_version(conn: &mut MySqlConnection) -> Result<String> {
    let version: Vec<u8> = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(conn)
        .await
        .map_err(|e| query_error("cannot read the server version", &e))?;
    Ok(lossy(version))
}

/// Seconds the replica is behind its source; `None` when the server is not a replica or the
/// user may not ask (best effort: the statement and column were renamed in MySQL 8.0.22).
async fn replica_lag(conn: &mut MySqlConnection) -> (Option<f64>, Vec<String>) {
    for statement in ["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"] {
        let rows: Vec<MySqlRow> = match sqlx::raw_sql(statement).fetch_all(&mut *conn).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!("{statement} failed: {e}");
                continue;
            }
        };
        let mut lag: Option<f64> = None;
        let mut warnings = Vec::new();
        for row in &rows {
            // The text protocol sends every value as text, whatever the column type says.
            let value = ["Seconds_Behind_Source", "Seconds_Behind_Master"]
                .iter()
                .find_map(|col| row.try_get_unchecked::<Option<String>, _>(*col).ok());
            match value.flatten().and_then(|v| v.trim().parse::<f64>().ok()) {
                Some(seconds) => lag = Some(lag.map_or(seconds, |l: f64| l.max(seconds))),
                None => warnings.push(
                    "the server is a replica whose replication is stopped; replica lag unknown"
                        .to_string(),
                ),
            }
        }
        return (lag, warnings);
    }
    (None, Vec::new())
}

/// Privileges from `NEEDED_PRIVILEGES` that no `SHOW GRANTS` line gives. A heuristic: grants
/// at any level count, and privileges reached only through a role are not seen.
pub fn missing_privileges(grants: &[String]) -> Vec<&'static str> {
    let mut have = BTreeSet::new();
    for grant in grants {
        let upper = grant.to_ascii_uppercase();
        let Some(privs) = upper
            .strip_prefix("GRANT ")
            .and_then(|rest| rest.split_once(" ON ").map(|(p, _)| p))
        else {
            continue;
        };
        if privs.trim_start().starts_with("ALL") {
            return Vec::new();
        }
        for p in privs.split(',') {
            // Column-level grants read `SELECT (`a`, `b`)`.
            let name = p.split('(').next().unwrap_or(p).trim();
            have.insert(name.to_string());
        }
    }
    NEEDED_PRIVILEGES
        .into_iter()
        .filter(|p| !have.contains(*p))
        .collect()
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The server's own words where there are some (`Access denied for user ...`).
fn sqlx_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

fn query_error(what: &str, e: &sqlx::Error) -> Error {
    Error::Query(format!("{what}: {}", sqlx_reason(e)))
}

#[async_trait]
impl Source for MysqlSource {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        self.settings.engine
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        let mut conn = self.connect(None).await?;
        let names: Result<Vec<Vec<u8>>, _> = sqlx::query_scalar("SHOW DATABASES")
            .fetch_all(&mut conn)
            .await;
        let _ = conn.close().await;
        let mut names: Vec<String> = names
            .map_err(|e| query_error("cannot list databases", &e))?
            .into_iter()
            .map(lossy)
            .filter(|n| !SYSTEM_DATABASES.contains(&n.as_str()))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn check(&self) -> Vec<CheckLine> {
        let mut lines = Vec::new();
        let mut server = None;
        match self.connect(None).await {
            Ok(mut conn) => {
                let version = server_version(&mut conn).await;
                let grants: Result<Vec<Vec<u8>>, _> =
                    sqlx::query_scalar("SHOW GRANTS").fetch_all(&mut conn).await;
                let _ = conn.close().await;
                lines.push(match version {
                    Ok(v) => {
                        server = parse_server_version(&v);
                        CheckLine::ok("connect", format!("{}: server {v}", self.target()))
                    }
                    Err(e) => CheckLine::failed("connect", e.to_string()),
                });
                lines.push(self.privileges_line(grants));
            }
            Err(e) => lines.push(CheckLine::failed("connect", e.to_string())),
        }
        lines.push(self.check_tool(server.as_ref()).await);
        lines
    }

    async fn dump(&self, database: &str) -> Result<Dump> {
        let s = &self.settings;
        let survey = self.survey(database).await?;
        let server = parse_server_version(&survey.server_version).ok_or_else(|| {
            Error::Dump(format!(
                "cannot read the server version {:?}",
                survey.server_version
            ))
        })?;
        let (tool, compat) = tool::choose(s.engine, s.tool_dir.as_deref(), &server).await?;

        let present: BTreeSet<&str> = survey.tables.iter().map(|(n, _)| n.as_str()).collect();
        let mut excluded: Vec<String> = s
            .exclude_tables
            .iter()
            .filter(|t| present.contains(t.as_str()))
            .cloned()
            .collect();
        excluded.sort();
        excluded.dedup();
        let expected: BTreeSet<String> = base_tables(&survey.tables)
            .filter(|name| !s.exclude_tables.contains(name))
            .collect();

        let options = self.dump_options(database, &compat);
        let secret = match &s.password {
            Some(password) => Some(self.write_option_file(password)?),
            None => None,
        };
        let mut command = tokio::process::Command::new(&tool.path);
        if let Some(file) = &secret {
            // The clients only honour this option in first position.
            let mut arg = std::ffi::OsString::from("--defaults-extra-file=");
            arg.push(file.path());
            command.arg(arg);
        }
        command.args(&options);
        // End of options: a database named `--help` must stay a name.
        command.arg("--").arg(database);
        // An inherited MYSQL_PWD would be visible in /proc/<pid>/environ.
        command.env_remove("MYSQL_PWD");
        let (process, stdout) = ToolProcess::spawn(tool.name, command)?;

        let state = Arc::new(Mutex::new(dump::StreamState::new()));
        let tap_state = Arc::clone(&state);
        let output = TapReader::new(stdout, move |chunk: &[u8]| {
            dump::lock(&tap_state).feed(chunk);
        });

        let mut warnings = compat.warnings;
        warnings.extend(survey.warnings);
        let mut info_options = options;
        info_options.push(database.to_string());
        Ok(Dump {
            info: DumpInfo {
                server_version: survey.server_version,
                tool: tool.name.to_string(),
                tool_version: tool.version.text.clone(),
                format: "sql".into(),
                extension: "sql",
                options: info_options,
            },
            output: Box::pin(output),
            completion: Box::new(dump::MysqlCompletion {
                tool: process,
                tool_name: tool.name,
                secret,
                state,
                source_name: s.name.clone(),
                database: database.to_string(),
                expected,
                excluded,
                warnings,
                replica_lag_seconds: survey.replica_lag_seconds,
                source: self.clone(),
            }),
        })
    }
}

/// Tables that hold rows of their own: system-versioned tables are base tables with history;
/// views and sequences are not.
fn base_tables(tables: &[(String, String)]) -> impl Iterator<Item = String> + '_ {
    tables
        .iter()
        .filter(|(_, kind)| kind == "BASE TABLE" || kind == "SYSTEM VERSIONED")
        .map(|(name, _)| name.clone())
}

impl MysqlSource {
    /// The base tables of `database` now.
    async fn base_tables(&self, database: &str) -> Result<BTreeSet<String>> {
        let survey = self.survey(database).await?;
        Ok(base_tables(&survey.tables).collect())
    }

    /// Arguments after the option file and before the database name; none is secret.
    fn dump_options(&self, database: &str, compat: &Compat) -> Vec<String> {
        let s = &self.settings;
        let mut args: Vec<String> = [
            "--single-transaction",
            "--quick",
            "--routines",
            "--triggers",
            "--events",
            "--hex-blob",
            "--default-character-set=utf8mb4",
            "--skip-dump-date",
            // Tablespace DDL is not part of one database and needs PROCESS on MySQL 8.
            "--no-tablespaces",
        ]
        .map(String::from)
        .into();
        match &s.socket {
            Some(socket) => {
                args.push("--protocol=SOCKET".into());
                args.push(format!("--socket={}", socket.display()));
            }
            None => {
                // Without it the clients read `localhost` as "use the default socket" and
                // ignore the port.
                args.push("--protocol=TCP".into());
                args.push(format!("--host={}", s.host));
                args.push(format!("--port={}", s.port));
            }
        }
        args.push(format!("--user={}", s.user));
        args.extend(compat.extra_args.iter().cloned());
        for table in &s.exclude_tables {
            args.push(format!("--ignore-table={database}.{table}"));
        }
        args
    }

    fn write_option_file(&self, password: &SecretString) -> Result<SecretFile> {
        let dir = &self.settings.secret_dir;
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io("cannot create secret directory", dir, e))?;
        }
        let contents = option_file::client_section(password).map_err(Error::Dump)?;
        SecretFile::create(dir, "dbward-mysql", &contents)
    }

    fn privileges_line(&self, grants: Result<Vec<Vec<u8>>, sqlx::Error>) -> CheckLine {
        const ITEM: &str = "privileges";
        let grants: Vec<String> = match grants {
            Ok(grants) => grants.into_iter().map(lossy).collect(),
            Err(e) => {
                return CheckLine::failed(ITEM, format!("SHOW GRANTS failed: {}", sqlx_reason(&e)));
            }
        };
        let missing = missing_privileges(&grants);
        if missing.is_empty() {
            return CheckLine::ok(ITEM, NEEDED_PRIVILEGES.join(", "));
        }
        let user = &self.settings.user;
        CheckLine::failed(
            ITEM,
            format!(
                "{user} lacks {}; grant them: GRANT {} ON *.* TO '{user}'@'<host>'",
                missing.join(", "),
                NEEDED_PRIVILEGES.join(", "),
            ),
        )
    }

    async fn check_tool(&self, server: Option<&Version>) -> CheckLine {
        let s = &self.settings;
        const ITEM: &str = "dump tool";
        let Some(server) = server else {
            // Without the server the pairing cannot be judged; still show what is installed.
            let found = tool::locate(s.engine, s.tool_dir.as_deref());
            let first = match found {
                Ok(found) => found.into_iter().next(),
                Err(e) => return CheckLine::failed(ITEM, e.to_string()),
            };
            let Some((name, path)) = first else {
                return CheckLine::failed(ITEM, "no dump tool found");
            };
            return match tool::probe(name, &path).await {
                Ok(t) => CheckLine::ok(
                    ITEM,
                    format!(
                        "{} {}; compatibility not checked (server unreachable)",
                        t.path.display(),
                        t.version.text
                    ),
                ),
                Err(e) => CheckLine::failed(ITEM, e.to_string()),
            };
        };
        match tool::choose(s.engine, s.tool_dir.as_deref(), server).await {
            Ok((t, compat)) => {
                let mut detail = format!(
                    "{} {}; compatible with server {}",
                    t.path.display(),
                    t.version.text,
                    server.text
                );
                for w in compat.warnings {
                    detail.push_str("; warning: ");
                    detail.push_str(&w);
                }
                CheckLine::ok(ITEM, detail)
            }
            Err(e) => CheckLine::failed(ITEM, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MysqlSettings {
        MysqlSettings {
            name: "m".into(),
            engine: Engine::Mariadb,
            host: "db1".into(),
            port: 3307,
            socket: None,
            user: "backup".into(),
            password: Some(SecretString::from("hunter2-secret")),
            tool_dir: None,
            exclude_tables: vec!["audit".into()],
            secret_dir: PathBuf::from("/nonexistent"),
            connect_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let source = MysqlSource::new(settings());
        let text = format!("{source:?} {:?}", source.settings());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!source.target().contains("hunter2"));
        assert_eq!(source.target(), "mysql://backup@db1:3307");
    }

    #[test]
    fn dump_options_hold_no_secret_and_force_tcp() {
        let source = MysqlSource::new(settings());
        let args = source.dump_options("shop", &Compat::default());
        assert!(args.iter().all(|a| !a.contains("hunter2")));
        for want in [
            "--protocol=TCP",
            "--host=db1",
            "--port=3307",
            "--user=backup",
            "--ignore-table=shop.audit",
            "--single-transaction",
            "--skip-dump-date",
        ] {
            assert!(
                args.iter().any(|a| a == want),
                "{want} missing from {args:?}"
            );
        }
        assert!(!args.iter().any(|a| a == "--databases"));
    }

    #[test]
    fn privileges_heuristic() {
        let all =
            ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION".to_string()];
        assert!(missing_privileges(&all).is_empty());
        let some = [
            "GRANT USAGE ON *.* TO `b`@`%`".to_string(),
            "GRANT SELECT, LOCK TABLES, SHOW VIEW ON `shop`.* TO `b`@`%`".to_string(),
        ];
        assert_eq!(missing_privileges(&some), ["TRIGGER", "EVENT"]);
        let column = [
            "GRANT SELECT (`a`), LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON `s`.* TO `b`@`%`"
                .to_string(),
        ];
        assert!(missing_privileges(&column).is_empty());
    }
}
