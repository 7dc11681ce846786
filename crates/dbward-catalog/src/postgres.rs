//! `PgCatalog`: the catalog in a PostgreSQL database that several hosts share, migrated by
//! `migrations/postgres`. It is named by `postgres://user@host:port/database`, never by its
//! URL, which holds the password.

use std::str::FromStr;
use std::time::Duration;

use dbward_core::secret::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};

use crate::{CatalogError, Result, refuse_newer};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// SQLSTATE classes and codes the connection errors are explained by.
const INVALID_PASSWORD: &str = "28P01";
const INVALID_AUTHORIZATION: &str = "28000";
const INSUFFICIENT_PRIVILEGE: &str = "42501";
const INVALID_CATALOG_NAME: &str = "3D000";

/// A catalog in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgCatalog {
    pub(crate) pool: PgPool,
}

impl PgCatalog {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and migrates the
    /// catalog. A catalog migrated by a newer dbward is refused before anything is written.
    /// Errors name the user, host, port and database, never the password.
    pub async fn connect(url: &SecretString) -> Result<PgCatalog> {
        let options =
            PgConnectOptions::from_str(url.expose_secret()).map_err(|_| CatalogError::Open {
                target: "[catalog] url".into(),
                message:
                    "not a PostgreSQL URL; expected postgres://user:password@host:port/database"
                        .into(),
            })?;
        let target = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        let open_err = |message: String| CatalogError::Open {
            target: target.clone(),
            message,
        };
        let options = options.application_name("dbward");
        // One connection first: a pool retries a refused connection until its timeout and
        // then reports only the timeout; this reports the cause at once.
        tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| open_err(explain(&sqlx::Error::PoolTimedOut)))?
            .map_err(|e| open_err(explain(&e)))?
            .close()
            .await
            .map_err(|e| open_err(explain(&e)))?;
        // No idle timeout and no lifetime, as for SQLite: no pool-maintenance task.
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(CONNECT_TIMEOUT)
            // The catalog's statements are small lookups; the planner prices the status read
            // (a few indexed lookups per database) over the JIT threshold on large catalogs,
            // and compiling it took 340 of its 550 ms on a million backups. A server without
            // the setting (before PostgreSQL 11) keeps its default.
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Best effort: a server that refuses it works as before, only slower.
                    let _ = sqlx::Executor::execute(&mut *conn, "SET jit = off").await;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| open_err(explain(&e)))?;
        let migrated: bool =
            sqlx::query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS migrated")
                .fetch_one(&pool)
                .await
                .and_then(|row| row.try_get("migrated"))
                .map_err(|e| open_err(explain(&e)))?;
        if migrated {
            let applied: Option<i64> =
                sqlx::query("SELECT MAX(version) AS version FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await
                    .and_then(|row| row.try_get("version"))
                    .map_err(|e| open_err(explain(&e)))?;
            refuse_newer(&target, applied, &MIGRATOR)?;
        }
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("cannot migrate: {}", explain_migrate(&e))))?;
        let catalog = PgCatalog { pool };
        catalog.run_chores().await?;
        Ok(catalog)
    }
}

crate::sql::sql_catalog!(PgCatalog, sqlx::postgres::PgRow);
crate::sql_health::sql_health!(
    PgCatalog,
    sqlx::PgConnection,
    crate::sql_health::numbered_placeholders,
    crate::health_doc::POSTGRES
);
crate::sql_access::sql_access!(PgCatalog, sqlx::postgres::PgRow);
crate::sql_reports::sql_reports!(PgCatalog, sqlx::postgres::PgRow);
crate::sql_histories::sql_histories!(
    PgCatalog,
    sqlx::postgres::PgRow,
    crate::sql_health::numbered_placeholders
);
crate::sql_wal::sql_wal!(PgCatalog, sqlx::postgres::PgRow);
crate::sql_coordination::sql_coordination!(
    PgCatalog,
    sqlx::postgres::PgRow,
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
);

/// One line for a connection or query failure, with what to do about it.
fn explain(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let message = db.message();
            match db.code().as_deref() {
                Some(INVALID_PASSWORD | INVALID_AUTHORIZATION) => {
                    format!("{message}; check the user and password in [catalog] url")
                }
                Some(INSUFFICIENT_PRIVILEGE) => format!(
                    "{message}; the catalog's user needs CONNECT on the database and CREATE on its schema"
                ),
                Some(INVALID_CATALOG_NAME) => {
                    format!("{message}; create the database first (CREATE DATABASE ...)")
                }
                _ => message.to_string(),
            }
        }
        sqlx::Error::Io(io) => format!("cannot reach the server: {io}"),
        sqlx::Error::PoolTimedOut => "cannot reach the server: timed out after 15 s".into(),
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        other => other.to_string(),
    }
}

fn explain_migrate(e: &sqlx::migrate::MigrateError) -> String {
    match e {
        sqlx::migrate::MigrateError::Execute(inner) => explain(inner),
        other => other.to_string(),
    }
}
