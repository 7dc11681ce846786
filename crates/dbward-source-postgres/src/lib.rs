//! dbward's PostgreSQL source: discovers databases, dumps one with pg_dump inside an exported
//! snapshot, counts every table's rows from pg_dump's own output as it streams past (no
//! table is read twice), and judges the result by the backup gate (exit status, stderr, the
//! format's completion, every table of the snapshot present in the dump).

mod archive;
mod basebackup;
mod conn;
pub mod drill_marker;
mod dump;
mod globals;
mod inspect;
mod inventory;
mod judge;
mod ownership;
mod passfile;
pub mod recover;
mod script;
mod tar;
mod target;
mod tool;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use dbward_core::secret::SecretString;
use dbward_core::source::{CheckLine, Dump, Source};
use dbward_core::tls::TlsSettings;
use dbward_core::{Engine, Inventory, Result};

pub use basebackup::BASE_FORMAT;
use dbward_core::manifest::{GLOBALS, WHOLE_CLUSTER};
pub use globals::GLOBALS_FORMAT;
pub use judge::PLAIN_TRAILER;
pub use target::PostgresTarget;
pub use tool::PgMajor;

use conn::Purpose;

/// The database connected to for discovery and checks when the config names none. It is a
/// system database: discovery leaves it out.
pub const DEFAULT_MAINTENANCE_DATABASE: &str = "postgres";

/// The pg_dump output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PgFormat {
    /// pg_dump's archive format: restorable selectively with pg_restore, listable as a check.
    #[default]
    Custom,
    /// A SQL script for psql.
    Plain,
}

impl PgFormat {
    /// The name recorded in the manifest (`custom`, `plain`).
    pub fn as_str(self) -> &'static str {
        match self {
            PgFormat::Custom => "custom",
            PgFormat::Plain => "plain",
        }
    }

    /// The extension of the uncompressed dump (`dump`, `sql`).
    pub fn extension(self) -> &'static str {
        match self {
            PgFormat::Custom => "dump",
            PgFormat::Plain => "sql",
        }
    }
}

/// How to reach one PostgreSQL server and how to dump it. `Debug` hides the password.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// The source's name from the config.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<SecretString>,
    /// Used for discovery and checks; `postgres` by default.
    pub maintenance_database: String,
    pub format: PgFormat,
    /// Point-in-time recovery: the source's one "database" is the whole cluster
    /// ([`WHOLE_CLUSTER`]), backed up as a physical base backup (pg_basebackup) rather than
    /// dumped; its WAL reaches the destinations through `archive_command`.
    pub pitr: bool,
    /// Where pg_dump lives; `None` searches `/usr/lib/postgresql/<N>/bin` then `PATH`.
    pub tool_dir: Option<PathBuf>,
    /// pg_dump `--exclude-table` patterns; the tables they match are listed in the manifest.
    pub exclude_tables: Vec<String>,
    pub connect_timeout: Duration,
    /// TLS for dbward's connections and the client tools alike.
    pub tls: TlsSettings,
    /// Private directory (0700) for the 0600 password files the client tools read.
    pub secret_dir: PathBuf,
}

/// A PostgreSQL server as a dbward source.
#[derive(Debug)]
pub struct PostgresSource {
    settings: PostgresSettings,
    /// `globals = true`: `Some(with password hashes)`; the source then also dumps its
    /// server-wide objects as the database [`GLOBALS`].
    globals: Option<bool>,
}

impl PostgresSource {
    pub fn new(settings: PostgresSettings) -> Self {
        PostgresSource {
            settings,
            globals: None,
        }
    }

    /// Backs up the server-wide objects too (`globals = true`), with or without the roles'
    /// password hashes (`globals_passwords`).
    pub fn with_globals(mut self, passwords: bool) -> Self {
        self.globals = Some(passwords);
        self
    }

    pub fn settings(&self) -> &PostgresSettings {
        &self.settings
    }

    async fn check_lines(&self) -> Vec<CheckLine> {
        let db = &self.settings.maintenance_database;
        let mut conn = match conn::connect(&self.settings, db, Purpose::Maintenance).await {
            Ok(conn) => conn,
            Err(e) => {
                return vec![
                    CheckLine::failed("connect", e.to_string()),
                    CheckLine::failed("tls", "not checked: cannot connect"),
                    CheckLine::failed("privileges", "not checked: cannot connect"),
                    CheckLine::failed("pg_dump", "not checked: the server version is unknown"),
                ];
            }
        };
        let mut lines = Vec::with_capacity(4);
        let server = conn::server_version(&mut conn).await;
        match &server {
            Ok((version, _)) => lines.push(CheckLine::ok(
                "connect",
                format!("{}: PostgreSQL {version}", conn::target(&self.settings, db)),
            )),
            Err(e) => lines.push(CheckLine::failed("connect", e.to_string())),
        }
        lines.push(conn::tls_line(&self.settings, &mut conn).await);
        if self.settings.pitr {
            lines.extend(basebackup::check_lines(&self.settings, &mut conn, &server).await);
            conn::close(conn).await;
            return lines;
        }
        lines.push(self.check_privileges(&mut conn).await);
        let superuser = conn::is_superuser(&mut conn).await;
        conn::close(conn).await;
        if let Some(passwords) = self.globals {
            lines.push(globals::check_line(&self.settings, &server, superuser, passwords).await);
        }
        lines.push(match server {
            Ok((version, major)) => {
                let need = tool::Need::pg_dump(major, &version);
                match tool::find_tool(self.settings.tool_dir.as_deref(), &need).await {
                    Ok(found) => CheckLine::ok(
                        "pg_dump",
                        format!(
                            "{} {} (compatible with server major {major})",
                            found.path.display(),
                            found.version
                        ),
                    ),
                    Err(e) => CheckLine::failed("pg_dump", e.to_string()),
                }
            }
            Err(_) => CheckLine::failed("pg_dump", "not checked: the server version is unknown"),
        });
        lines
    }

    async fn check_privileges(&self, conn: &mut sqlx::PgConnection) -> CheckLine {
        // pg_has_role() raises an error for a role that does not exist (before PostgreSQL 14
        // there is no pg_read_all_data), so look the role up first.
        let row: std::result::Result<(bool, bool, bool), sqlx::Error> = sqlx::query_as(
            "SELECT r.rolsuper,
                    EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pg_read_all_data'),
                    COALESCE((SELECT pg_catalog.pg_has_role(current_user, g.oid, 'MEMBER')
                                FROM pg_catalog.pg_roles g WHERE g.rolname = 'pg_read_all_data'), false)
               FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
        )
        .fetch_one(&mut *conn)
        .await;
        let user = &self.settings.user;
        match row {
            Ok((true, _, _)) => CheckLine::ok("privileges", format!("{user} is a superuser")),
            Ok((false, _, true)) => CheckLine::ok(
                "privileges",
                format!("{user} is a member of pg_read_all_data"),
            ),
            Ok((false, true, false)) => CheckLine::failed(
                "privileges",
                format!(
                    "{user} is neither a superuser nor a member of pg_read_all_data; it needs SELECT on every table: GRANT pg_read_all_data TO {user}"
                ),
            ),
            Ok((false, false, false)) => CheckLine::failed(
                "privileges",
                format!(
                    "{user} is not a superuser; it needs USAGE on every schema and SELECT on every table and sequence of every database (pg_read_all_data needs PostgreSQL 14)"
                ),
            ),
            Err(e) => CheckLine::failed(
                "privileges",
                format!("cannot read the role's privileges: {}", conn::describe(&e)),
            ),
        }
    }
}

#[async_trait]
impl Source for PostgresSource {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        if self.settings.pitr {
            return Ok(vec![WHOLE_CLUSTER.to_string()]);
        }
        let db = &self.settings.maintenance_database;
        let mut conn = conn::connect(&self.settings, db, Purpose::Maintenance).await?;
        // Templates and the `postgres` maintenance database are system databases: left out
        // of discovery (and so of globs); a config naming one literally still gets it.
        let names = sqlx::query_scalar(
            "SELECT datname::text FROM pg_catalog.pg_database
              WHERE datallowconn AND NOT datistemplate AND datname <> $1 ORDER BY 1",
        )
        .bind(DEFAULT_MAINTENANCE_DATABASE)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| conn::query_error("cannot list databases", e));
        conn::close(conn).await;
        names
    }

    async fn check(&self) -> Vec<CheckLine> {
        self.check_lines().await
    }

    async fn dump(&self, database: &str) -> Result<Dump> {
        if database == GLOBALS {
            return match self.globals {
                Some(passwords) => globals::start(&self.settings, passwords).await,
                None => Err(dbward_core::Error::Dump(format!(
                    "source {} does not back up its server-wide objects: set globals = true",
                    self.settings.name
                ))),
            };
        }
        match (self.settings.pitr, database == WHOLE_CLUSTER) {
            (true, true) => basebackup::start(&self.settings).await,
            (false, _) => dump::start(&self.settings, database).await,
            (true, false) => Err(dbward_core::Error::Dump(format!(
                "source {} has pitr = true: its backups are base backups of the whole cluster (database {WHOLE_CLUSTER:?}), not dumps of {database:?}",
                self.settings.name
            ))),
        }
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        inventory::take(&self.settings, database).await
    }
}
