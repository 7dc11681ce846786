//! [`Reports::histories`](crate::Reports::histories) for both SQL backends, written once
//! like `sql.rs`: the windows of backups and the proofs of many databases in two queries per
//! chunk of databases (row-value `IN (VALUES ...)` lists, which SQLite and PostgreSQL both
//! take), instead of two per database.

use crate::sql_health::CHUNK;

/// Databases looked up at once: two parameters each, within [`CHUNK`].
pub(crate) const DATABASES_PER_QUERY: usize = CHUNK / 2;

/// `(p1, p2), (p3, p4), ...` from a backend's list of `2 * pairs` placeholders.
pub(crate) fn pairs(placeholders: &str) -> String {
    let each: Vec<&str> = placeholders.split(", ").collect();
    each.chunks(2)
        .map(|pair| format!("({})", pair.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Implements the reads above for `$ty { pool }`, whose rows are `$row` and whose lists of
/// parameters `$placeholders` writes.
macro_rules! sql_histories {
    ($ty:ident, $row:ty, $placeholders:path) => {
        mod histories_queries {
            use std::collections::BTreeMap;

            use sqlx::Row;

            use super::queries::{backup_from_row, flag, time};
            use super::$ty;
            use $crate::sql::BACKUP_COLUMNS;
            use $crate::sql_histories::{DATABASES_PER_QUERY, pairs};
            use $crate::{History, Proof, Result};

            type DbRow = $row;

            fn proof(r: &DbRow) -> Result<Proof> {
                Ok(Proof {
                    backup_id: r.try_get("backup_id")?,
                    at: time(r, "at")?,
                    ok: flag(r, "ok")?,
                    restore_ms: $crate::sql_health::restore_ms(r.try_get("details")?),
                })
            }

            impl $ty {
                pub(crate) async fn read_histories(
                    &self,
                    databases: &[(String, String)],
                ) -> Result<BTreeMap<(String, String), History>> {
                    let mut out: BTreeMap<(String, String), History> = databases
                        .iter()
                        .map(|key| (key.clone(), History::default()))
                        .collect();
                    let keys: Vec<(String, String)> = out.keys().cloned().collect();
                    for chunk in keys.chunks(DATABASES_PER_QUERY) {
                        let list = pairs(&$placeholders(chunk.len() * 2));
                        let fetch = |sql: String| {
                            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                            for (source, database) in chunk {
                                query = query.bind(source.as_str()).bind(database.as_str());
                            }
                            query.fetch_all(&self.pool)
                        };
                        // The newest HEALTH_WINDOW backups not pruned of each, as `list`.
                        let rows = fetch(format!(
                            "SELECT {BACKUP_COLUMNS} FROM (
                                 SELECT {BACKUP_COLUMNS}, ROW_NUMBER() OVER (
                                     PARTITION BY source, database_name
                                     ORDER BY started_at DESC, id DESC) AS position
                                 FROM backups
                                 WHERE pruned_at IS NULL
                                   AND (source, database_name) IN (VALUES {list})
                             ) w
                             WHERE position <= {window}
                             ORDER BY source, database_name, started_at DESC, id DESC",
                            window = $crate::HEALTH_WINDOW
                        ))
                        .await?;
                        let records = rows
                            .iter()
                            .map(backup_from_row)
                            .collect::<Result<Vec<_>>>()?;
                        for record in self.complete_many(records).await? {
                            let key = (record.source.clone(), record.database.clone());
                            if let Some(history) = out.get_mut(&key) {
                                history.backups.push(record);
                            }
                        }
                        // The newest drill and key drill of each, failed and passed.
                        let rows = fetch(format!(
                            "SELECT source, database_name, level, ok, backup_id, at, details
                             FROM (
                                 SELECT source, database_name, level, ok, backup_id, at,
                                        details, ROW_NUMBER() OVER (
                                     PARTITION BY source, database_name, level, ok
                                     ORDER BY at DESC, id DESC) AS position
                                 FROM verifications
                                 WHERE level IN ('drill', 'key')
                                   AND (source, database_name) IN (VALUES {list})
                             ) w
                             WHERE position = 1"
                        ))
                        .await?;
                        let mut newest: BTreeMap<(String, String), [Option<Proof>; 3]> =
                            BTreeMap::new();
                        for r in &rows {
                            let key = (r.try_get("source")?, r.try_get("database_name")?);
                            let found = proof(r)?;
                            let slot = match (r.try_get::<String, _>("level")?.as_str(), found.ok) {
                                ("drill", false) => 0,
                                ("drill", true) => 1,
                                ("key", true) => 2,
                                _ => continue,
                            };
                            newest.entry(key).or_default()[slot] = Some(found);
                        }
                        for (key, [failed, passed, key_passed]) in newest {
                            if let Some(history) = out.get_mut(&key) {
                                history.proofs = $crate::sql_health::proofs(
                                    failed,
                                    passed,
                                    key_passed.map(|p| p.at),
                                );
                            }
                        }
                    }
                    Ok(out)
                }
            }
        }
    };
}

pub(crate) use sql_histories;
