//! [`Reports`](crate::Reports) for both SQL backends, written once like `sql.rs`: the same
//! portable, parameterised statements, decoded with `try_get`.

/// Implements `Reports` for `$ty { pool }`, whose rows are `$row`.
macro_rules! sql_reports {
    ($ty:ident, $row:ty) => {
        mod reports_queries {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::$ty;
            use $crate::{
                AlertFailure, AlertTold, DestinationAuditRecord, DrillRecord, Holding, Reports,
                Result, parse_time, timestamp,
            };

            type DbRow = $row;

            fn time(row: &DbRow, column: &str) -> Result<DateTime<Utc>> {
                parse_time(&row.try_get::<String, _>(column)?)
            }

            fn count(row: &DbRow, column: &str) -> Result<u64> {
                Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
            }

            #[async_trait]
            impl Reports for $ty {
                async fn alert_failed(
                    &self,
                    channel: &str,
                    problems: &[String],
                    error: &str,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for problem in problems {
                        sqlx::query(
                            "INSERT INTO alert_failures (channel, problem, at, error)
                             VALUES ($1, $2, $3, $4)
                             ON CONFLICT (channel, problem) DO UPDATE
                                 SET at = excluded.at, error = excluded.error",
                        )
                        .bind(channel)
                        .bind(problem)
                        .bind(timestamp(at))
                        .bind(error)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn alert_failures(&self) -> Result<Vec<AlertFailure>> {
                    let rows = sqlx::query(
                        "SELECT channel, problem, at, error FROM alert_failures
                         ORDER BY channel, problem",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(AlertFailure {
                                channel: r.try_get("channel")?,
                                problem: r.try_get("problem")?,
                                at: time(r, "at")?,
                                error: r.try_get("error")?,
                            })
                        })
                        .collect()
                }

                async fn alerts_told(&self) -> Result<Vec<AlertTold>> {
                    let rows = sqlx::query(
                        "SELECT channel, problem, severity, last_sent FROM alert_state
                         ORDER BY channel, problem",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(AlertTold {
                                channel: r.try_get("channel")?,
                                problem: r.try_get("problem")?,
                                severity: r.try_get("severity")?,
                                at: time(r, "last_sent")?,
                            })
                        })
                        .collect()
                }

                async fn record_destination_audit(
                    &self,
                    a: &DestinationAuditRecord,
                ) -> Result<()> {
                    let as_int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                    sqlx::query(
                        "INSERT INTO destination_audits
                             (destination, at, objects, bytes, backups, missing, problems, error)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (destination) DO UPDATE
                             SET at = excluded.at, objects = excluded.objects,
                                 bytes = excluded.bytes, backups = excluded.backups,
                                 missing = excluded.missing, problems = excluded.problems,
                                 error = excluded.error",
                    )
                    .bind(&a.destination)
                    .bind(timestamp(a.at))
                    .bind(as_int(a.objects))
                    .bind(as_int(a.bytes))
                    .bind(as_int(a.backups))
                    .bind(as_int(a.missing))
                    .bind(i64::from(a.problems))
                    .bind(a.error.as_deref())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn destination_audits(&self) -> Result<Vec<DestinationAuditRecord>> {
                    let rows = sqlx::query(
                        "SELECT destination, at, objects, bytes, backups, missing, problems, error
                         FROM destination_audits ORDER BY destination",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(DestinationAuditRecord {
                                destination: r.try_get("destination")?,
                                at: time(r, "at")?,
                                objects: count(r, "objects")?,
                                bytes: count(r, "bytes")?,
                                backups: count(r, "backups")?,
                                missing: count(r, "missing")?,
                                problems: r.try_get::<i64, _>("problems")? != 0,
                                error: r.try_get("error")?,
                            })
                        })
                        .collect()
                }

                async fn holdings(&self) -> Result<Vec<Holding>> {
                    let rows = sqlx::query(
                        "SELECT c.destination,
                                CAST(COUNT(*) AS BIGINT) AS copies,
                                CAST(COALESCE(SUM(COALESCE(c.size, b.stored_bytes, 0)), 0)
                                     AS BIGINT) AS bytes,
                                MAX(b.started_at) AS newest
                         FROM copies c JOIN backups b ON b.id = c.backup_id
                         WHERE c.status = 'committed' AND b.pruned_at IS NULL
                         GROUP BY c.destination ORDER BY c.destination",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(Holding {
                                destination: r.try_get("destination")?,
                                copies: count(r, "copies")?,
                                bytes: count(r, "bytes")?,
                                newest: r
                                    .try_get::<Option<String>, _>("newest")?
                                    .map(|t| parse_time(&t))
                                    .transpose()?,
                            })
                        })
                        .collect()
                }

                async fn drills(
                    &self,
                    source: &str,
                    database: &str,
                    limit: u32,
                ) -> Result<Vec<DrillRecord>> {
                    let rows = sqlx::query(
                        "SELECT backup_id, at, ok, duration_ms, details FROM verifications
                         WHERE source = $1 AND database_name = $2 AND level = 'drill'
                         ORDER BY at DESC, id DESC LIMIT $3",
                    )
                    .bind(source)
                    .bind(database)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(DrillRecord {
                                backup_id: r.try_get("backup_id")?,
                                at: time(r, "at")?,
                                ok: r.try_get::<i64, _>("ok")? != 0,
                                duration_ms: r
                                    .try_get::<Option<i64>, _>("duration_ms")?
                                    .map(|v| v.max(0) as u64),
                                restore_ms: $crate::sql_health::restore_ms(r.try_get("details")?),
                            })
                        })
                        .collect()
                }

                async fn histories(
                    &self,
                    databases: &[(String, String)],
                ) -> Result<std::collections::BTreeMap<(String, String), $crate::History>> {
                    self.read_histories(databases).await
                }

                async fn manifests(
                    &self,
                    source: &str,
                    database: &str,
                    limit: u32,
                ) -> Result<Vec<(String, String)>> {
                    let rows = sqlx::query(
                        "SELECT id, manifest FROM backups
                         WHERE source = $1 AND database_name = $2 AND pruned_at IS NULL
                           AND manifest IS NOT NULL
                         ORDER BY started_at DESC, id DESC LIMIT $3",
                    )
                    .bind(source)
                    .bind(database)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("id")?, r.try_get("manifest")?)))
                        .collect()
                }
            }
        }
    };
}

pub(crate) use sql_reports;
