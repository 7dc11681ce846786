//! Talking to the server through sqlx: connecting with the password set in-process (never in
//! a URL that could be logged), mapping failures to the shared error type, and the catalog
//! queries that say which tables a dump holds.

use std::collections::BTreeSet;

use dbward_core::secret::ExposeSecret;
use dbward_core::{Error, TableRows};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use crate::PostgresSettings;
use crate::tool::PgMajor;

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
        .application_name(SESSION_APPLICATION_NAME);
    if let Some(password) = &settings.password {
        options = options.password(password.expose_secret());
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
                reason: describe(&err),
            }
        }
    })
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

/// Every table whose rows pg_dump writes: ordinary tables and partitions outside the system
/// schemas, not temporary, not owned by an extension.
pub async fn data_tables(conn: &mut PgConnection) -> Result<Vec<String>, Error> {
    sqlx::query_scalar(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r'
            AND c.relpersistence <> 't'
            AND n.nspname <> 'information_schema'
            AND n.nspname !~ '^pg_'
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                             WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                               AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY n.nspname, c.relname",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot list tables", e))
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

/// Whether the database holds large objects, which pg_dump writes as data blocks too.
pub async fn has_large_objects(conn: &mut PgConnection) -> Result<bool, Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata)")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error("cannot check for large objects", e))
}

/// Seconds the replica is behind its primary (`None` on a primary), and a warning when a
/// replica cannot tell because it has replayed nothing since it started.
pub async fn replica_lag(conn: &mut PgConnection) -> Result<(Option<f64>, Option<String>), Error> {
    let (in_recovery, lag): (bool, Option<f64>) = sqlx::query_as(
        "SELECT pg_catalog.pg_is_in_recovery(),
                extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())::float8",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot measure replica lag", e))?;
    Ok(match (in_recovery, lag) {
        (false, _) => (None, None),
        (true, Some(lag)) => (Some(lag.max(0.0)), None),
        (true, None) => (
            None,
            Some("the source is a replica that has replayed no transaction since it started; replica lag unknown".into()),
        ),
    })
}

/// Closes a connection politely; a failure here changes nothing for the caller.
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
