//! dbward's MySQL and MariaDB source: discovers databases over the wire (sqlx), dumps one
//! database with `mariadb-dump`/`mysqldump` (password in a 0600 option file, never in argv
//! or the environment), counts the rows the dump holds from the stream itself, and judges
//! the result by the backup gate. `MysqlTarget` is the restore side: it loads dumps with the
//! `mariadb`/`mysql` client over the same connection settings and option file.

pub mod binlog;
mod conn;
mod dump;
mod events;
mod globals;
mod inventory;
mod option_file;
mod parallel;
mod rows;
mod split;
mod target;
mod tool;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dbward_core::process::ToolProcess;
use dbward_core::secret::SecretString;
use dbward_core::source::{CheckLine, Dump, DumpInfo, Source};
use dbward_core::stream::TapReader;
use dbward_core::tls::TlsSettings;
use dbward_core::{DatabaseSettings, Engine, Error, FidelityLoss, Inventory, Result};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{Connection, Row};

use conn::{base_tables, list_tables, lossy, query_error, server_version, sqlx_reason};

pub use dump::{COMPLETION_MARKER, has_completion_marker, judge_stderr};
pub use rows::{Counts, RowCounter};
pub use target::{MysqlTarget, restore_compatibility};
pub use tool::{
    Compat, DumpTool, Flavor, Version, compatibility, parse_server_version, parse_tool_version,
};

/// Schemas every server has that hold no user data.
const SYSTEM_DATABASES: [&str; 4] = ["information_schema", "performance_schema", "mysql", "sys"];

/// Privileges a consistent dump of tables, views, triggers and events needs.
const NEEDED_PRIVILEGES: [&str; 5] = ["SELECT", "LOCK TABLES", "SHOW VIEW", "TRIGGER", "EVENT"];

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
    /// TLS for dbward's connections and the client tools alike.
    pub tls: TlsSettings,
}

/// A MySQL or MariaDB server as a dbward `Source`.
#[derive(Debug, Clone)]
pub struct MysqlSource {
    settings: MysqlSettings,
    /// `globals = true`: `Some(with password hashes)`; the source then also backs up its
    /// users, roles and grants as the database `*globals*`.
    globals: Option<bool>,
    /// `pitr = true`: dumps record their binary log position (`--master-data=2`).
    binlog: bool,
}

impl MysqlSource {
    pub fn new(settings: MysqlSettings) -> Self {
        MysqlSource {
            settings,
            globals: None,
            binlog: false,
        }
    }

    /// `pitr = true`: each dump records the binary log position of its snapshot in the
    /// manifest; a server without a binary log is refused.
    pub fn with_binlog_position(mut self) -> Self {
        self.binlog = true;
        self
    }

    /// Backs up the users, roles and grants too (`globals = true`), with or without the
    /// password hashes (`globals_passwords`).
    pub fn with_globals(mut self, passwords: bool) -> Self {
        self.globals = Some(passwords);
        self
    }

    pub fn settings(&self) -> &MysqlSettings {
        &self.settings
    }

    /// `mysql://user@host:port`, for messages: never holds the password.
    pub fn target(&self) -> String {
        self.settings.target()
    }

    async fn connect(&self, database: Option<&str>) -> Result<MySqlConnection> {
        self.settings.connect(database).await
    }

    /// Collects what the dump will be judged against, on one short-lived connection.
    /// Which of the excluded `tables` hold at least one row (best effort: a table that cannot
    /// be read is a warning).
    async fn tables_with_data(
        &self,
        database: &str,
        tables: &[String],
    ) -> (Vec<String>, Vec<String>) {
        if tables.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let mut conn = match self.connect(Some(database)).await {
            Ok(conn) => conn,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![format!(
                        "cannot tell whether excluded tables hold rows: {e}"
                    )],
                );
            }
        };
        let mut with_data = Vec::new();
        let mut warnings = Vec::new();
        for table in tables {
            let sql = format!("SELECT 1 FROM {} LIMIT 1", conn::quote_ident(table));
            match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .fetch_optional(&mut conn)
                .await
            {
                Ok(Some(_)) => with_data.push(table.clone()),
                Ok(None) => {}
                Err(e) => warnings.push(format!(
                    "cannot tell whether excluded table `{table}` holds rows: {}",
                    sqlx_reason(&e)
                )),
            }
        }
        let _ = conn.close().await;
        (with_data, warnings)
    }

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
    /// The database's default character set and collation.
    charset: Option<(String, String)>,
    /// Every table and view of the database, with its `TABLE_TYPE`.
    tables: Vec<(String, String)>,
    replica_lag_seconds: Option<f64>,
    warnings: Vec<String>,
}

async fn survey_on(conn: &mut MySqlConnection, database: &str) -> Result<Survey> {
    let server_version = server_version(conn).await?;
    let charset = conn::schema_charset(conn, database).await?;
    let tables = list_tables(conn, database).await?;
    let (replica_lag_seconds, mut warnings) = replica_lag(conn).await;
    warnings.extend(sequence_defaults_naming_the_database(conn, database).await?);
    Ok(Survey {
        server_version,
        charset,
        tables,
        replica_lag_seconds,
        warnings,
    })
}

/// One warning per column whose default draws from a sequence qualified with the database's
/// own name (`DEFAULT NEXTVAL(db.s)`, as MariaDB stores it): a restore under another name
/// keeps drawing from `db`'s sequence, not from the copy's.
async fn sequence_defaults_naming_the_database(
    conn: &mut MySqlConnection,
    database: &str,
) -> Result<Vec<String>> {
    let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_DEFAULT FROM information_schema.COLUMNS c \
         JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
         WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE <> 'VIEW' AND LOCATE(?, LOWER(c.COLUMN_DEFAULT)) > 0",
    )
    .bind(database)
    .bind(format!("nextval(`{}`.", database.replace('`', "``")).to_lowercase())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read column defaults", &e))?;
    Ok(rows
        .into_iter()
        .map(|(table, column, default)| {
            format!(
                "column `{}`.`{}`: its default {} names this database; a restore under another name still draws from the sequence in `{database}`",
                lossy(table),
                lossy(column),
                lossy(default)
            )
        })
        .collect())
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
                let tls = self.settings.tls_line(&mut conn).await;
                let grants: Result<Vec<Vec<u8>>, _> =
                    sqlx::query_scalar("SHOW GRANTS").fetch_all(&mut conn).await;
                let globals = match self.globals {
                    Some(_) => Some(globals::check_line(&mut conn).await),
                    None => None,
                };
                let _ = conn.close().await;
                lines.push(match version {
                    Ok(v) => {
                        server = parse_server_version(&v);
                        CheckLine::ok("connect", format!("{}: server {v}", self.target()))
                    }
                    Err(e) => CheckLine::failed("connect", e.to_string()),
                });
                lines.push(tls);
                lines.push(self.privileges_line(grants));
                lines.extend(globals);
            }
            Err(e) => lines.push(CheckLine::failed("connect", e.to_string())),
        }
        if self.binlog {
            lines.push(match binlog::state(&self.settings).await {
                Ok(state) if state.enabled => CheckLine::ok(
                    "binlog",
                    format!(
                        "log_bin on; {} file(s), writing {}",
                        state.files.len(),
                        state.current.as_deref().unwrap_or("(none)")
                    ),
                ),
                Ok(_) => CheckLine::failed(
                    "binlog",
                    binlog::binlog_off(&self.settings.name).to_string(),
                ),
                Err(e) => CheckLine::failed("binlog", e.to_string()),
            });
        }
        lines.push(self.check_tool(server.as_ref()).await);
        lines
    }

    async fn dump(&self, database: &str) -> Result<Dump> {
        if database == dbward_core::manifest::GLOBALS {
            return match self.globals {
                Some(passwords) => {
                    globals::start(&self.settings, passwords, self.list_databases().await?).await
                }
                None => Err(Error::Dump(format!(
                    "source {} does not back up its server-wide objects: set globals = true",
                    self.settings.name
                ))),
            };
        }
        let s = &self.settings;
        if self.binlog && !binlog::state(s).await?.enabled {
            return Err(binlog::binlog_off(&s.name));
        }
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
        let (excluded_with_data, unreadable) = self.tables_with_data(database, &excluded).await;
        let expected: BTreeSet<String> = base_tables(&survey.tables)
            .filter(|name| !s.exclude_tables.contains(name))
            .collect();

        let mut options = self.dump_options(database, &compat);
        if self.binlog {
            // The binlog position of the snapshot, as a comment in the dump's header.
            options.push(binlog::dump_option(&tool.version).into());
        }
        let secret = s.option_file()?;
        let command = s.tool_command(
            &tool.path,
            tool.version.flavor,
            secret.as_ref(),
            &options,
            database,
        );
        let (process, stdout) = ToolProcess::spawn(tool.name, command)?;

        let state = Arc::new(Mutex::new(dump::StreamState::new()));
        let tap_state = Arc::clone(&state);
        let output = TapReader::new(stdout, move |chunk: &[u8]| {
            dump::lock(&tap_state).feed(chunk);
        });

        let mut warnings = compat.warnings;
        let fidelity = if options.iter().any(|o| o == tool::DUMP_HISTORY) {
            Vec::new()
        } else {
            history_not_kept(&survey.tables, tool.name)
        };
        warnings.extend(survey.warnings);
        warnings.extend(unreadable);
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
                database_settings: survey
                    .charset
                    .map(|(encoding, collation)| DatabaseSettings {
                        encoding,
                        collation: Some(collation),
                        ctype: None,
                        owner: None,
                        roles: Vec::new(),
                    }),
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
                excluded_with_data,
                warnings,
                fidelity,
                replica_lag_seconds: survey.replica_lag_seconds,
                binlog: self.binlog,
                source: self.clone(),
            }),
        })
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        inventory::take(&self.settings, database).await
    }
}

/// One loss per system-versioned table when the dump leaves history out: its history rows
/// are not in the backup (the drill reports them missing).
fn history_not_kept(tables: &[(String, String)], tool_name: &str) -> Vec<FidelityLoss> {
    tables
        .iter()
        .filter(|(_, kind)| kind == inventory::SYSTEM_VERSIONED)
        .map(|(table, _)| FidelityLoss {
            object: format!("system-versioned table `{table}`"),
            reason: format!(
                "its history rows are not in this backup ({tool_name} and the server need MariaDB 10.11+ for {}): upgrade both to keep them",
                tool::DUMP_HISTORY
            ),
        })
        .collect()
}

impl MysqlSource {
    /// The base tables of `database` now.
    async fn base_tables(&self, database: &str) -> Result<BTreeSet<String>> {
        let survey = self.survey(database).await?;
        Ok(base_tables(&survey.tables).collect())
    }

    /// Arguments after the option file and before the database name; none is secret.
    fn dump_options(&self, database: &str, compat: &Compat) -> Vec<String> {
        let mut args = dump_args(&self.settings, compat);
        for table in &self.settings.exclude_tables {
            args.push(format!("--ignore-table={database}.{table}"));
        }
        args
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

/// What every dump of a whole database gets, by the source and by `MysqlTarget::replace`:
/// a consistent snapshot of tables, views, routines, triggers and events in utf8mb4, blobs in
/// hex, plus the connection and the tool's compatibility arguments. Nothing here is secret.
pub(crate) fn dump_args(settings: &MysqlSettings, compat: &Compat) -> Vec<String> {
    let mut args: Vec<String> = [
        "--single-transaction",
        "--quick",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        "--skip-dump-date",
        // `LOCK TABLES t WRITE` around a table's rows fails the restore when a column default
        // reads a sequence (`DEFAULT NEXTVAL(s)`: s "was not locked"); the locks only speed
        // up MyISAM loads.
        "--skip-add-locks",
        // Tablespace DDL is not part of one database and needs PROCESS on MySQL 8.
        "--no-tablespaces",
    ]
    .map(String::from)
    .into();
    args.extend(settings.connection_args());
    args.extend(compat.extra_args.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_system_versioned_table_without_its_history_is_a_fidelity_loss() {
        let tables = [
            ("plain".to_string(), "BASE TABLE".to_string()),
            (
                "prices".to_string(),
                inventory::SYSTEM_VERSIONED.to_string(),
            ),
        ];
        let lost = history_not_kept(&tables, "mysqldump");
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].object, "system-versioned table `prices`");
        assert!(
            lost[0].reason.starts_with("its history rows are not in this backup (mysqldump and the server need MariaDB 10.11+ for --dump-history)"),
            "{}",
            lost[0].reason
        );
    }

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
            tls: Default::default(),
        }
    }

    #[test]
    fn tls_options_follow_the_tools_flavour() {
        use dbward_core::tls::{ClientCert, TlsMode};
        let mut s = settings();
        let cases = [
            (TlsMode::Disable, "--skip-ssl", "--ssl-mode=DISABLED"),
            (
                TlsMode::Prefer,
                "--ssl --skip-ssl-verify-server-cert",
                "--ssl-mode=PREFERRED",
            ),
            (
                TlsMode::Require,
                "--ssl --skip-ssl-verify-server-cert",
                "--ssl-mode=REQUIRED",
            ),
            (
                TlsMode::VerifyCa,
                "--ssl --ssl-verify-server-cert --ssl-ca=/ca.pem",
                "--ssl-mode=VERIFY_CA --ssl-ca=/ca.pem",
            ),
            (
                TlsMode::VerifyFull,
                "--ssl --ssl-verify-server-cert --ssl-ca=/ca.pem",
                "--ssl-mode=VERIFY_IDENTITY --ssl-ca=/ca.pem",
            ),
        ];
        for (mode, mariadb, mysql) in cases {
            s.tls.mode = mode;
            s.tls.ca_file = mode.verifies().then(|| "/ca.pem".into());
            assert_eq!(s.tls_args(Flavor::Mariadb).join(" "), mariadb, "{mode}");
            assert_eq!(s.tls_args(Flavor::Mysql).join(" "), mysql, "{mode}");
        }
        s.tls.client = Some(ClientCert {
            cert: "/c.pem".into(),
            key: "/k.pem".into(),
        });
        assert!(s.tls_args(Flavor::Mariadb).ends_with(&[
            "--ssl-cert=/c.pem".to_string(),
            "--ssl-key=/k.pem".to_string()
        ]));
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
            "--skip-add-locks",
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
