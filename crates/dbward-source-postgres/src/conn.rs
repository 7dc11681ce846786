//! Talking to the server: through sqlx, connecting with the password set in-process (never in
//! a URL that could be logged) and the configured TLS, mapping failures to the shared error
//! type, and the catalog queries that say which tables a dump holds; and how the client tools
//! (pg_dump, pg_restore, psql) are pointed at the server: TLS through `PGSSL*` variables, the
//! password only through a private password file (`PGPASSFILE`).

use std::collections::BTreeSet;
use std::path::Path;

use dbward_core::secret::{ExposeSecret, SecretFile};
use dbward_core::source::CheckLine;
use dbward_core::tls::TlsMode;
use dbward_core::{DatabaseSettings, Error, TableRows};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tokio::process::Command;

use crate::tool::PgMajor;
use crate::{PostgresSettings, passfile};

/// The name dbward's own catalog connections show in `pg_stat_activity`. pg_dump runs as
/// `dbward`; the two differ so that an operator (or a test) can tell them apart.
pub const SESSION_APPLICATION_NAME: &str = "dbward-session";

/// SQLSTATE `invalid_catalog_name`: the database does not exist.
const INVALID_CATALOG_NAME: &str = "3D000";

/// `postgres://user@host:port/db`, for messages: never holds the password.
pub fn target(settings: &PostgresSettings, database: &str) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        settings.user, settings.host, settings.port, database
    )
}

/// The server's own words for a failure (`password authentication failed for user "x"`)
/// rather than sqlx's wrapper text.
pub fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Why a connection failed, with what to do when TLS was the reason. A refused certificate
/// arrives as an I/O error of kind `InvalidData` (rustls's error inside).
fn connect_reason(settings: &PostgresSettings, err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Tls(cause) => settings.tls.failure(&settings.host, &cause.to_string()),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            settings.tls.failure(&settings.host, &io.to_string())
        }
        other => describe(other),
    }
}

fn is_missing_database(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .is_some_and(|pg| pg.code() == INVALID_CATALOG_NAME),
        _ => false,
    }
}

/// Wraps a failed query with what was being asked.
pub fn query_error(context: &str, err: sqlx::Error) -> Error {
    Error::Query(format!("{context}: {}", describe(&err)))
}

/// The arguments every client tool connects with; nothing secret, so they can be recorded.
pub fn tool_connection_args(settings: &PostgresSettings, database: &str) -> Vec<String> {
    vec![
        "--no-password".to_string(),
        format!("--host={}", settings.host),
        format!("--port={}", settings.port),
        format!("--username={}", settings.user),
        format!("--dbname={}", dbname_argument(database)),
    ]
}

/// A command for a client tool at `program`, and the password file it reads (keep it until
/// the tool has exited). The password reaches the tool only through that 0600 file in the
/// run's secret folder (`PGPASSFILE`), never its argv or environment; an inherited
/// `PGPASSWORD` is removed. TLS is set through `PGSSLMODE` and the certificate variables,
/// so that the tool connects as strictly as dbward's own connections; `application_name`
/// names its sessions.
pub fn tool_command(
    settings: &PostgresSettings,
    program: &Path,
    application_name: &str,
) -> Result<(Command, Option<SecretFile>), Error> {
    let mut command = Command::new(program);
    command.env("PGAPPNAME", application_name).env(
        "PGCONNECT_TIMEOUT",
        // libpq treats anything below 2 seconds as 2.
        settings.connect_timeout.as_secs().max(2).to_string(),
    );
    command.env_remove("PGPASSWORD");
    let passfile = match &settings.password {
        Some(password) => {
            let contents = passfile::line(&settings.host, settings.port, &settings.user, password)
                .map_err(Error::Dump)?;
            let dir = &settings.secret_dir;
            dbward_core::secret::create_private_dir(dir)?;
            let file = SecretFile::create(dir, "dbward-pgpass", &contents)?;
            command.env("PGPASSFILE", file.path());
            Some(file)
        }
        None => None,
    };
    let tls = &settings.tls;
    command.env("PGSSLMODE", tls.mode.as_str());
    let files = [
        ("PGSSLROOTCERT", tls.ca_file.as_deref()),
        ("PGSSLCERT", tls.client.as_ref().map(|c| c.cert.as_path())),
        ("PGSSLKEY", tls.client.as_ref().map(|c| c.key.as_path())),
    ];
    for (variable, file) in files {
        match file {
            Some(path) => command.env(variable, path),
            None => command.env_remove(variable),
        };
    }
    Ok((command, passfile))
}

/// The client tools read `--dbname` as a connection string when it holds `=` or a URI
/// scheme, so a database named `host=elsewhere` would redirect them; such names are quoted as
/// a `dbname='...'` connection string instead.
pub fn dbname_argument(database: &str) -> String {
    let looks_like_conninfo = database.contains('=')
        || database.starts_with("postgresql://")
        || database.starts_with("postgres://");
    if looks_like_conninfo {
        format!(
            "dbname='{}'",
            database.replace('\\', "\\\\").replace('\'', "\\'")
        )
    } else {
        database.to_string()
    }
}

/// An identifier quoted for SQL text, as `quote_ident` would when it must.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal for SQL text (`standard_conforming_strings`, on since PostgreSQL 9.1).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether a missing database is the selected one (a dump: `DatabaseMissing`) or part of the
/// source's configuration (the maintenance database: a connection failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Maintenance,
    Dump,
}

/// Opens one connection to `database`, bounded by the configured connect timeout.
pub async fn connect(
    settings: &PostgresSettings,
    database: &str,
    purpose: Purpose,
) -> Result<PgConnection, Error> {
    let mut options = PgConnectOptions::new()
        .host(&settings.host)
        .port(settings.port)
        .username(&settings.user)
        .database(database)
        .application_name(SESSION_APPLICATION_NAME)
        // sqlx logs a slow statement's text at warning level; `restore --globals` sends
        // password hashes (F23), which must never reach a log.
        .disable_statement_logging();
    if let Some(password) = &settings.password {
        options = options.password(password.expose_secret());
    }
    let tls = &settings.tls;
    dbward_core::tls::install_crypto_provider();
    options = options.ssl_mode(match tls.mode {
        TlsMode::Disable => PgSslMode::Disable,
        TlsMode::Prefer => PgSslMode::Prefer,
        TlsMode::Require => PgSslMode::Require,
        TlsMode::VerifyCa => PgSslMode::VerifyCa,
        TlsMode::VerifyFull => PgSslMode::VerifyFull,
    });
    if let Some(ca_file) = &tls.ca_file {
        options = options.ssl_root_cert(ca_file);
    }
    if let Some(client) = &tls.client {
        options = options
            .ssl_client_cert(&client.cert)
            .ssl_client_key(&client.key);
    }
    let connecting = options.connect();
    let result = match tokio::time::timeout(settings.connect_timeout, connecting).await {
        Ok(result) => result,
        Err(_) => {
            return Err(Error::Connect {
                target: target(settings, database),
                reason: format!(
                    "no answer within {:?} (connect_timeout)",
                    settings.connect_timeout
                ),
            });
        }
    };
    result.map_err(|err| {
        if purpose == Purpose::Dump && is_missing_database(&err) {
            Error::DatabaseMissing {
                source_name: settings.name.clone(),
                database: database.to_string(),
            }
        } else {
            Error::Connect {
                target: target(settings, database),
                reason: connect_reason(settings, &err),
            }
        }
    })
}

/// `check`'s TLS line: what the session negotiated (`pg_stat_ssl`) and the configured mode.
pub async fn tls_line(settings: &PostgresSettings, conn: &mut PgConnection) -> CheckLine {
    let row = sqlx::query_as::<_, (bool, Option<String>, Option<String>)>(
        "SELECT ssl, version, cipher FROM pg_catalog.pg_stat_ssl
          WHERE pid = pg_catalog.pg_backend_pid()",
    )
    .fetch_optional(&mut *conn)
    .await;
    match row {
        Ok(row) => {
            let negotiated = row.and_then(|(ssl, version, cipher)| {
                ssl.then(|| (version.unwrap_or_default(), cipher.unwrap_or_default()))
            });
            settings.tls.check_line(&settings.host, negotiated)
        }
        Err(e) => CheckLine::failed("tls", format!("cannot read pg_stat_ssl: {}", describe(&e))),
    }
}

/// The server's version as it names itself (`15.20`) and its major version.
pub async fn server_version(conn: &mut PgConnection) -> Result<(String, PgMajor), Error> {
    let (version, num): (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('server_version_num')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read the server version", e))?;
    let num: u32 = num
        .trim()
        .parse()
        .map_err(|_| Error::Query(format!("unexpected server_version_num {num:?}")))?;
    // `15.20 (Debian 15.20-0+deb12u1)`: the first word is the version.
    let short = version
        .split_whitespace()
        .next()
        .unwrap_or(&version)
        .to_string();
    Ok((short, PgMajor::from_version_num(num)))
}

/// Translates a pg_dump table pattern (psql rules: `*`, `?`, `schema.table`, double quotes
/// keep case and make everything literal) into anchored regexes for `(schema, table)`.
pub fn pattern_to_regex(pattern: &str) -> (Option<String>, String) {
    let mut parts: Vec<String> = vec![String::new()];
    let mut in_quotes = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let current = parts.last_mut().expect("parts is never empty");
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => in_quotes = !in_quotes,
            _ if in_quotes => {
                if "|*+?()[]{}.^$\\".contains(c) {
                    current.push('\\');
                }
                current.push(c);
            }
            '.' => parts.push(String::new()),
            '*' => current.push_str(".*"),
            '?' => current.push('.'),
            '$' => current.push_str("\\$"),
            _ => current.extend(c.to_lowercase()),
        }
    }
    let anchor = |s: &str| format!("^({s})$");
    let name = anchor(parts.last().map(String::as_str).unwrap_or(""));
    // `db.schema.table` names the database too; pg_dump only accepts the current one.
    let schema = (parts.len() >= 2).then(|| anchor(&parts[parts.len() - 2]));
    (schema, name)
}

/// Tables (and partitioned parents) the `--exclude-table` patterns match, qualified the way
/// `quote_ident` does, and the patterns that match nothing (likely a typo worth a warning).
/// Unqualified patterns match tables visible on the search path, as in pg_dump.
pub async fn excluded_tables(
    conn: &mut PgConnection,
    patterns: &[String],
) -> Result<(BTreeSet<String>, Vec<String>), Error> {
    let mut out = BTreeSet::new();
    let mut unmatched = Vec::new();
    for pattern in patterns {
        let (schema, name) = pattern_to_regex(pattern);
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p')
                AND c.relname OPERATOR(pg_catalog.~) $1
                AND CASE WHEN $2::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid)
                         ELSE n.nspname OPERATOR(pg_catalog.~) $2 END",
        )
        .bind(&name)
        .bind(&schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| {
            query_error(
                &format!("cannot resolve exclude_tables pattern {pattern:?}"),
                e,
            )
        })?;
        if rows.is_empty() {
            unmatched.push(pattern.clone());
        }
        out.extend(rows);
    }
    Ok((out, unmatched))
}

/// Which of `tables` (quoted, qualified names from [`excluded_tables`]) hold at least one
/// row, in the session's snapshot. Each is asked under a savepoint, so that a table the user
/// may not read costs a warning, not the snapshot's transaction.
pub async fn tables_with_data(
    conn: &mut PgConnection,
    tables: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    let mut with_data = Vec::new();
    let mut warnings = Vec::new();
    for table in tables {
        let _ = sqlx::raw_sql("SAVEPOINT dbward_excluded")
            .execute(&mut *conn)
            .await;
        // The name is quote_ident's output, safe to write into the statement.
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {table})");
        match sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
        {
            Ok(true) => with_data.push(table.clone()),
            Ok(false) => {}
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK TO SAVEPOINT dbward_excluded")
                    .execute(&mut *conn)
                    .await;
                warnings.push(format!(
                    "cannot tell whether excluded table {table} holds rows: {}",
                    describe(&e)
                ));
            }
        }
        let _ = sqlx::raw_sql("RELEASE SAVEPOINT dbward_excluded")
            .execute(&mut *conn)
            .await;
    }
    (with_data, warnings)
}

/// A table pg_dump may write rows for, as the catalog names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTable {
    /// Schema and table name as stored (unquoted): what an archive's TOC records.
    pub schema: String,
    pub name: String,
    /// `quote_ident(schema) || '.' || quote_ident(name)`: the manifest's name.
    pub qualified: String,
    /// A member of an extension: pg_dump writes its rows only for an extension's
    /// configuration tables, filtered as the extension says, and a restore recreates them
    /// through the extension, so they are not counted.
    pub extension_member: bool,
}

/// Every table whose rows pg_dump may write: ordinary tables and partitions outside the
/// system schemas, not temporary, and not unlogged when dumping from a replica (pg_dump
/// skips those there, since a standby cannot read them); extension members are marked.
pub async fn table_listing(
    conn: &mut PgConnection,
    in_recovery: bool,
) -> Result<Vec<ListedTable>, Error> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text,
                quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r'
            AND c.relpersistence <> 't'
            AND NOT ($1 AND c.relpersistence = 'u')
            AND n.nspname <> 'information_schema'
            AND n.nspname !~ '^pg_'
          ORDER BY n.nspname, c.relname",
    )
    .bind(in_recovery)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot list tables", e))?;
    Ok(rows
        .into_iter()
        .map(|(schema, name, qualified, extension_member)| ListedTable {
            schema,
            name,
            qualified,
            extension_member,
        })
        .collect())
}

/// The tables whose rows a dump holds and the manifest counts, named as the manifest names
/// them: the listing without extension members.
pub async fn data_tables(conn: &mut PgConnection, in_recovery: bool) -> Result<Vec<String>, Error> {
    Ok(table_listing(conn, in_recovery)
        .await?
        .into_iter()
        .filter(|t| !t.extension_member)
        .map(|t| t.qualified)
        .collect())
}

/// Exact row counts of `tables` as the connection's snapshot sees them.
pub async fn count_rows(
    conn: &mut PgConnection,
    tables: &[String],
) -> Result<Vec<TableRows>, Error> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        // `table` was quoted by the server's quote_ident, so it is one safe identifier pair.
        let sql = format!("SELECT count(*) FROM {table}");
        let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(&format!("cannot count rows of {table}"), e))?;
        out.push(TableRows {
            table: table.clone(),
            rows: u64::try_from(rows).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Whether the server is a replica, how many seconds it is behind its primary, and a warning
/// when a replica cannot tell because it has replayed nothing since it started.
pub struct ReplicaState {
    pub in_recovery: bool,
    pub lag_seconds: Option<f64>,
    pub warning: Option<String>,
}

/// Reads the replica state inside the snapshot transaction, so the lag belongs to the data.
pub async fn replica_state(conn: &mut PgConnection) -> Result<ReplicaState, Error> {
    let (in_recovery, lag): (bool, Option<f64>) = sqlx::query_as(
        "SELECT pg_catalog.pg_is_in_recovery(),
                extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot measure replica lag", e))?;
    let (lag_seconds, warning) = match (in_recovery, lag) {
        (false, _) => (None, None),
        (true, Some(lag)) => (Some(lag.max(0.0)), None),
        (true, None) => (
            None,
            Some("the source is a replica that has replayed no transaction since it started; replica lag unknown".into()),
        ),
    };
    Ok(ReplicaState {
        in_recovery,
        lag_seconds,
        warning,
    })
}

/// Whether the connected role is a superuser (it may then restore ownership and grants).
pub async fn is_superuser(conn: &mut PgConnection) -> Result<bool, Error> {
    sqlx::query_scalar("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")
        .fetch_optional(&mut *conn)
        .await
        .map(|row| row.unwrap_or(false))
        .map_err(|e| query_error("cannot read the role's attributes", e))
}

/// The connected database's encoding and locale, as `CREATE DATABASE` takes them.
pub async fn database_settings(conn: &mut PgConnection) -> Result<DatabaseSettings, Error> {
    let (encoding, collation, ctype): (String, String, String) = sqlx::query_as(
        "SELECT pg_catalog.pg_encoding_to_char(encoding)::text, datcollate::text, datctype::text
           FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read the database's encoding and locale", e))?;
    // Every role that owns or is granted an object of this database (pg_shdepend), and the
    // bootstrap superuser when it owns one (its objects are pinned, so pg_shdepend leaves
    // them out): what a restore keeping ownership needs on its target (F23). The database's
    // own owner is not needed: a restore creates the database itself.
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.rolname::text FROM pg_catalog.pg_shdepend d
           JOIN pg_catalog.pg_roles r ON r.oid = d.refobjid
          WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
            AND d.dbid = (SELECT oid FROM pg_catalog.pg_database
                           WHERE datname = pg_catalog.current_database())
            AND r.rolname !~ '^pg_'
         UNION
         SELECT pg_catalog.pg_get_userbyid(10)::text WHERE EXISTS (
             SELECT 1 FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relowner = 10 AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
             UNION ALL
             SELECT 1 FROM pg_catalog.pg_proc p
               JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              WHERE p.proowner = 10 AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
             UNION ALL
             SELECT 1 FROM pg_catalog.pg_namespace
              WHERE nspowner = 10 AND nspname NOT IN ('public', 'information_schema')
                AND nspname !~ '^pg_')
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read the roles the database's objects belong to", e))?;
    let owner: String = sqlx::query_scalar(
        "SELECT pg_catalog.pg_get_userbyid(datdba)::text FROM pg_catalog.pg_database
          WHERE datname = pg_catalog.current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read the database's owner", e))?;
    Ok(DatabaseSettings {
        encoding,
        collation: Some(collation),
        ctype: Some(ctype),
        owner: Some(owner),
        roles,
    })
}

/// Whether `database` exists on the server.
pub async fn database_exists(conn: &mut PgConnection, database: &str) -> Result<bool, Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error(&format!("cannot look up database {database:?}"), e))
}

/// The longest name the server keeps (`NAMEDATALEN - 1`, 63 unless it was built otherwise).
pub async fn max_identifier_length(conn: &mut PgConnection) -> Result<usize, Error> {
    let text: String =
        sqlx::query_scalar("SELECT pg_catalog.current_setting('max_identifier_length')")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error("cannot read max_identifier_length", e))?;
    text.trim().parse().map_err(|e| {
        Error::Query(format!(
            "max_identifier_length {text:?} is not a number: {e}"
        ))
    })
}

/// Runs one statement built from quoted identifiers.
pub async fn execute(conn: &mut PgConnection, what: &str, sql: String) -> Result<(), Error> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|e| query_error(what, e))
}

/// Ends every other session connected to `database`.
pub async fn terminate_sessions(conn: &mut PgConnection, database: &str) -> Result<(), Error> {
    sqlx::query(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
          WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
    )
    .bind(database)
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(|e| query_error(&format!("cannot end the sessions on {database:?}"), e))
}

/// Drops `database` if it exists, ending its sessions first (`WITH (FORCE)` from 13 on).
pub async fn drop_database(conn: &mut PgConnection, database: &str) -> Result<(), Error> {
    let (_, major) = server_version(conn).await?;
    terminate_sessions(conn, database).await?;
    let force = if major >= PgMajor::from_version_num(130000) {
        " WITH (FORCE)"
    } else {
        ""
    };
    let sql = format!("DROP DATABASE IF EXISTS {}{force}", quote_ident(database));
    execute(conn, &format!("cannot drop database {database:?}"), sql).await
}

/// Closes a connection politely; a failure here changes nothing for the caller.
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_that_look_like_connection_strings_are_quoted() {
        assert_eq!(dbname_argument("shop"), "shop");
        assert_eq!(dbname_argument("host=evil"), "dbname='host=evil'");
        assert_eq!(
            dbname_argument("postgres://x/y'z"),
            "dbname='postgres://x/y\\'z'"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("shop"), "\"shop\"");
        assert_eq!(quote_ident("a\"b c"), "\"a\"\"b c\"");
    }

    #[test]
    fn table_patterns_follow_psql_rules() {
        let cases = [
            ("orders", None, "^(orders)$"),
            ("Orders", None, "^(orders)$"),
            ("public.orders", Some("^(public)$"), "^(orders)$"),
            ("audit.log_*", Some("^(audit)$"), "^(log_.*)$"),
            ("t?", None, "^(t.)$"),
            ("\"Mixed.Case\"", None, "^(Mixed\\.Case)$"),
            ("\"a\"\"b\"", None, "^(a\"b)$"),
            ("db.s.t", Some("^(s)$"), "^(t)$"),
            ("price$", None, "^(price\\$)$"),
        ];
        for (pattern, schema, name) in cases {
            let (s, n) = pattern_to_regex(pattern);
            assert_eq!((s.as_deref(), n.as_str()), (schema, name), "{pattern}");
        }
    }
}
