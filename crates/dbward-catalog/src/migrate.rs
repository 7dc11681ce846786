//! `catalog migrate`: copies every row of a SQLite catalog into a PostgreSQL one, table by
//! table in foreign-key order, in one transaction. Rows already there (same primary key) are
//! kept, so running it again adds nothing; the copy is verified afterwards by counting the
//! source's keys found in the target.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::Row;

use crate::{CatalogError, PgCatalog, Result, SqliteCatalog};

/// How a column is stored in both schemas.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Int,
}

use Kind::{Int, Text};

/// A table: its name, its columns and how many of them (the first ones) make its key.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    key: usize,
}

/// Every table of the schema (version 9) that holds history, access or reports, parents
/// before children. Leases, claimed fires and web sessions are not copied: they belong to the
/// processes running now (a user logs in again after the move); the health summary is
/// recomputed from the copied history.
const TABLES: &[Table] = &[
    Table {
        name: "runs",
        columns: &[
            ("id", Text),
            ("schedule", Text),
            ("host", Text),
            ("started_at", Text),
            ("finished_at", Text),
            ("status", Text),
            ("agent_id", Text),
        ],
        key: 1,
    },
    Table {
        name: "backups",
        columns: &[
            ("id", Text),
            ("run_id", Text),
            ("schedule", Text),
            ("source", Text),
            ("engine", Text),
            ("database_name", Text),
            ("status", Text),
            ("error", Text),
            ("started_at", Text),
            ("finished_at", Text),
            ("dump_bytes", Int),
            ("stored_bytes", Int),
            ("sha256", Text),
            ("compression", Text),
            ("manifest", Text),
            ("pruned_at", Text),
            ("prune_reason", Text),
            ("agent_id", Text),
            ("host", Text),
        ],
        key: 1,
    },
    Table {
        name: "copies",
        columns: &[
            ("backup_id", Text),
            ("destination", Text),
            ("path", Text),
            ("status", Text),
            ("size", Int),
            ("error", Text),
        ],
        key: 2,
    },
    Table {
        name: "warnings",
        columns: &[("backup_id", Text), ("position", Int), ("message", Text)],
        key: 2,
    },
    Table {
        name: "verifications",
        columns: &[
            ("id", Text),
            ("backup_id", Text),
            ("level", Text),
            ("ok", Int),
            ("at", Text),
            ("duration_ms", Int),
            ("details", Text),
            ("source", Text),
            ("database_name", Text),
            ("restore_ms", Int),
        ],
        key: 1,
    },
    Table {
        name: "schedules",
        columns: &[("name", Text), ("first_seen", Text)],
        key: 1,
    },
    Table {
        name: "alert_state",
        columns: &[
            ("channel", Text),
            ("problem", Text),
            ("severity", Text),
            ("last_sent", Text),
            ("agent_id", Text),
        ],
        key: 2,
    },
    Table {
        name: "alert_failures",
        columns: &[
            ("channel", Text),
            ("problem", Text),
            ("at", Text),
            ("error", Text),
        ],
        key: 2,
    },
    Table {
        name: "destination_audits",
        columns: &[
            ("destination", Text),
            ("at", Text),
            ("objects", Int),
            ("bytes", Int),
            ("backups", Int),
            ("missing", Int),
            ("problems", Int),
            ("error", Text),
        ],
        key: 1,
    },
    Table {
        name: "agents",
        columns: &[
            ("id", Text),
            ("host", Text),
            ("version", Text),
            ("kind", Text),
            ("labels", Text),
            ("pid", Int),
            ("started_at", Text),
            ("heartbeat_at", Text),
        ],
        key: 1,
    },
    Table {
        name: "sources",
        columns: &[
            ("name", Text),
            ("address", Text),
            ("agent_id", Text),
            ("host", Text),
            ("first_seen", Text),
        ],
        key: 1,
    },
    Table {
        name: "users",
        columns: &[
            ("name", Text),
            ("role", Text),
            ("password_hash", Text),
            ("created_at", Text),
        ],
        key: 1,
    },
    Table {
        name: "api_tokens",
        columns: &[
            ("name", Text),
            ("role", Text),
            ("sha256", Text),
            ("created_at", Text),
        ],
        key: 1,
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", Text),
            ("at", Text),
            ("actor_kind", Text),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
        ],
        key: 1,
    },
    Table {
        name: "wal_files",
        columns: &[
            ("source", Text),
            ("name", Text),
            ("destination", Text),
            ("timeline", Int),
            ("bytes", Int),
            ("sha256", Text),
            ("archived_at", Text),
            ("host", Text),
        ],
        key: 3,
    },
];

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

/// What was copied of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows in the SQLite catalog.
    pub rows: u64,
    /// Of those, rows the target did not have yet.
    pub added: u64,
}

impl Table {
    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }

    fn key_list(&self) -> String {
        let names: Vec<&str> = self.columns[..self.key].iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

fn decode<R: Row>(row: &R, table: &Table) -> Result<Vec<Value>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Text => Value::Text(row.try_get(i)?),
                Int => Value::Int(row.try_get(i)?),
            })
        })
        .collect()
}

/// Copies every row of `from` that `to` lacks, and verifies that every row of `from` is in
/// `to` afterwards. Both catalogs are at the same schema version (opening migrates them).
pub async fn copy_into(from: &SqliteCatalog, to: &PgCatalog) -> Result<Vec<TableCopy>> {
    let mut report = Vec::new();
    let mut tx = to.pool.begin().await?;
    for table in TABLES {
        let select = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_list(),
            table.name,
            table.key_list()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&from.pool)
            .await?;
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
            table.name,
            table.column_list(),
            placeholders.join(", "),
            table.key_list()
        );
        let mut added = 0;
        for row in &rows {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for value in decode(row, table)? {
                query = match value {
                    Value::Text(v) => query.bind(v),
                    Value::Int(v) => query.bind(v),
                };
            }
            added += query.execute(&mut *tx).await?.rows_affected();
        }
        report.push(TableCopy {
            table: table.name,
            rows: rows.len() as u64,
            added,
        });
    }
    crate::postgres::health::refresh_all(&mut tx).await?;
    tx.commit().await?;
    verify(from, to).await?;
    Ok(report)
}

/// Every key of `from` is in `to`, table by table.
async fn verify(from: &SqliteCatalog, to: &PgCatalog) -> Result<()> {
    for table in TABLES {
        let select = format!("SELECT {} FROM {}", table.key_list(), table.name);
        let key_table = Table {
            name: table.name,
            columns: &table.columns[..table.key],
            key: table.key,
        };
        let source: HashSet<Vec<Value>> = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .fetch_all(&from.pool)
            .await?
            .iter()
            .map(|r| decode(r, &key_table))
            .collect::<Result<_>>()?;
        let target: HashSet<Vec<Value>> = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&to.pool)
            .await?
            .iter()
            .map(|r| decode(r, &key_table))
            .collect::<Result<_>>()?;
        let missing = source.difference(&target).count();
        if missing > 0 {
            return Err(CatalogError::Invalid(format!(
                "after the copy, {missing} of {} rows of table {} are not in the target",
                source.len(),
                table.name
            )));
        }
    }
    Ok(())
}
