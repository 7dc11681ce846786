//! The object inventory of a MySQL/MariaDB database from `information_schema`: tables, views,
//! sequences, indexes, constraints, routines, triggers and events, and the history rows of
//! each system-versioned table (what a dump without `--dump-history` loses).

use dbward_core::{Error, Inventory, ObjectKind, Result, TableRows};
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::MysqlSettings;
use crate::conn::{list_tables, query_error, quote_ident};

/// The `information_schema.TABLES` type of a table with system versioning (MariaDB).
pub(crate) const SYSTEM_VERSIONED: &str = "SYSTEM VERSIONED";

/// One count per kind, each with the schema as its only parameter.
const COUNTS: &[(ObjectKind, &str)] = &[
    (
        ObjectKind::Indexes,
        "SELECT COUNT(DISTINCT TABLE_NAME, INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?",
    ),
    (
        ObjectKind::Constraints,
        "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?",
    ),
    (
        ObjectKind::Routines,
        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
    ),
    (
        ObjectKind::Triggers,
        "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
    ),
    (
        ObjectKind::Events,
        "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
    ),
];

/// Counts the objects of `database` on the server `settings` reach.
pub async fn take(settings: &MysqlSettings, database: &str) -> Result<Inventory> {
    let mut conn = settings.connect(None).await?;
    let taken = take_on(&mut conn, settings, database).await;
    let _ = conn.close().await;
    taken
}

async fn take_on(
    conn: &mut MySqlConnection,
    settings: &MysqlSettings,
    database: &str,
) -> Result<Inventory> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind(database)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| query_error("cannot list databases", &e))?;
    if exists == 0 {
        return Err(Error::DatabaseMissing {
            source_name: settings.name.clone(),
            database: database.to_string(),
        });
    }
    let tables = list_tables(conn, database).await?;
    let of_type = |types: &[&str]| {
        tables
            .iter()
            .filter(|(_, kind)| types.contains(&kind.as_str()))
            .count() as u64
    };
    let mut inventory = Inventory::default();
    inventory.set(
        ObjectKind::Tables,
        of_type(&["BASE TABLE", SYSTEM_VERSIONED]),
    );
    inventory.set(ObjectKind::Views, of_type(&["VIEW", "SYSTEM VIEW"]));
    inventory.set(ObjectKind::Sequences, of_type(&["SEQUENCE"]));
    for (kind, sql) in COUNTS {
        let count: i64 = sqlx::query_scalar(*sql)
            .bind(database)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(&format!("cannot count the {}", kind.as_str()), &e))?;
        inventory.set(*kind, count.max(0) as u64);
    }
    let mut versioned: Vec<&String> = tables
        .iter()
        .filter(|(_, kind)| kind == SYSTEM_VERSIONED)
        .map(|(name, _)| name)
        .collect();
    versioned.sort();
    for table in versioned {
        let rows = all_versions(conn, database, table).await?;
        let current = count(
            conn,
            &format!("{}.{}", quote_ident(database), quote_ident(table)),
        )
        .await?;
        inventory.history.push(TableRows {
            table: table.clone(),
            rows: rows.saturating_sub(current),
        });
    }
    Ok(inventory)
}

/// Every row `table` holds, current and historical.
pub(crate) async fn all_versions(
    conn: &mut MySqlConnection,
    database: &str,
    table: &str,
) -> Result<u64> {
    count(
        conn,
        &format!(
            "{}.{} FOR SYSTEM_TIME ALL",
            quote_ident(database),
            quote_ident(table)
        ),
    )
    .await
}

async fn count(conn: &mut MySqlConnection, from: &str) -> Result<u64> {
    let rows: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {from}")))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error(&format!("cannot count the rows of {from}"), &e))?;
    Ok(rows.max(0) as u64)
}
