//! [`WalLog`](crate::WalLog) for both SQL backends, written once like `sql.rs`: the same
//! portable, parameterised statements, decoded with `try_get`.

/// Implements `WalLog` for `$ty { pool }`, whose rows are `$row`.
macro_rules! sql_wal {
    ($ty:ident, $row:ty) => {
        mod wal_queries {
            use async_trait::async_trait;
            use sqlx::Row;

            use super::$ty;
            use $crate::{CatalogError, Result, WalFileRecord, WalLog, parse_time, timestamp};

            fn decode(row: &$row) -> Result<WalFileRecord> {
                let timeline: i64 = row.try_get("timeline")?;
                Ok(WalFileRecord {
                    source: row.try_get("source")?,
                    name: row.try_get("name")?,
                    destination: row.try_get("destination")?,
                    timeline: u32::try_from(timeline).map_err(|_| {
                        CatalogError::Invalid(format!("WAL timeline {timeline}"))
                    })?,
                    bytes: row.try_get::<i64, _>("bytes")?.max(0) as u64,
                    sha256: row.try_get("sha256")?,
                    archived_at: parse_time(&row.try_get::<String, _>("archived_at")?)?,
                    host: row.try_get("host")?,
                })
            }

            #[async_trait]
            impl WalLog for $ty {
                async fn record_wal_file(&self, file: &WalFileRecord) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO wal_files
                             (source, name, destination, timeline, bytes, sha256, archived_at, host)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (source, name, destination) DO NOTHING",
                    )
                    .bind(&file.source)
                    .bind(&file.name)
                    .bind(&file.destination)
                    .bind(i64::from(file.timeline))
                    .bind(i64::try_from(file.bytes).unwrap_or(i64::MAX))
                    .bind(&file.sha256)
                    .bind(timestamp(file.archived_at))
                    .bind(&file.host)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn wal_files(&self, source: &str) -> Result<Vec<WalFileRecord>> {
                    let rows = sqlx::query(
                        "SELECT source, name, destination, timeline, bytes, sha256,
                                archived_at, host
                         FROM wal_files WHERE source = $1
                         ORDER BY name, destination",
                    )
                    .bind(source)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(decode).collect()
                }

                async fn newest_wal_files(&self) -> Result<Vec<WalFileRecord>> {
                    // The newest by archive time, ties broken by name then destination, so
                    // both backends answer alike.
                    let rows = sqlx::query(
                        "SELECT source, name, destination, timeline, bytes, sha256,
                                archived_at, host
                         FROM wal_files w
                         WHERE NOT EXISTS (
                             SELECT 1 FROM wal_files n
                             WHERE n.source = w.source
                               AND (n.archived_at > w.archived_at
                                    OR (n.archived_at = w.archived_at
                                        AND (n.name > w.name
                                             OR (n.name = w.name
                                                 AND n.destination > w.destination)))))
                         ORDER BY source",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(decode).collect()
                }

                async fn forget_wal_files(
                    &self,
                    source: &str,
                    destination: &str,
                    names: &[String],
                ) -> Result<u64> {
                    let mut tx = self.pool.begin().await?;
                    let mut gone = 0;
                    for name in names {
                        gone += sqlx::query(
                            "DELETE FROM wal_files
                             WHERE source = $1 AND destination = $2 AND name = $3",
                        )
                        .bind(source)
                        .bind(destination)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    tx.commit().await?;
                    Ok(gone)
                }
            }
        }
    };
}

pub(crate) use sql_wal;
