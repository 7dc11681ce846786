//! The catalog's queries, written once for both SQL backends. The schemas of
//! `migrations/sqlite` and `migrations/postgres` have the same tables, columns and value
//! encodings (RFC 3339 text times, integer booleans), so one set of portable, parameterised
//! statements serves both; `sql_catalog!` instantiates it per sqlx driver, because sqlx's
//! generic executor bounds cost more than they save. Rows are decoded with `try_get`, so a
//! column of an unexpected type is an error, never a panic.

/// Implements `Catalog` for `$ty { pool: Pool<_> }`, whose rows are `$row`.
macro_rules! sql_catalog {
    ($ty:ident, $row:ty) => {
        mod queries {
            use std::collections::BTreeMap;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::$ty;
            use super::health::{refresh_of_backup, refresh_one};
            use $crate::sql::BACKUP_COLUMNS;
            use $crate::sql_health::FIRST_SEEN;
            use $crate::{
                AgentRef, AlertState, BackupEnd, BackupRecord, BackupStart, BackupStatus, Catalog,
                CatalogError, CopyRecord, CopyStatus, ListFilter, NewVerification, Proof, Proofs,
                Result, RunStatus, VerificationEntry, bytes, parse_time,
                timestamp,
            };

            type DbRow = $row;

            pub(super) fn time(row: &DbRow, column: &str) -> Result<DateTime<Utc>> {
                parse_time(&row.try_get::<String, _>(column)?)
            }

            pub(super) fn maybe_time(row: &DbRow, column: &str) -> Result<Option<DateTime<Utc>>> {
                row.try_get::<Option<String>, _>(column)?
                    .map(|t| parse_time(&t))
                    .transpose()
            }

            pub(super) fn flag(row: &DbRow, column: &str) -> Result<bool> {
                Ok(row.try_get::<i64, _>(column)? != 0)
            }

            fn backup_status(text: &str) -> Result<BackupStatus> {
                BackupStatus::parse(text)
                    .ok_or_else(|| CatalogError::Invalid(format!("backup status {text:?}")))
            }

            pub(super) fn copy_status(text: &str) -> Result<CopyStatus> {
                CopyStatus::parse(text)
                    .ok_or_else(|| CatalogError::Invalid(format!("copy status {text:?}")))
            }

            pub(super) fn backup_from_row(row: &DbRow) -> Result<BackupRecord> {
                Ok(BackupRecord {
                    id: row.try_get("id")?,
                    schedule: row.try_get("schedule")?,
                    source: row.try_get("source")?,
                    engine: row.try_get("engine")?,
                    database: row.try_get("database_name")?,
                    status: backup_status(&row.try_get::<String, _>("status")?)?,
                    error: row.try_get("error")?,
                    started_at: time(row, "started_at")?,
                    finished_at: maybe_time(row, "finished_at")?,
                    dump_bytes: bytes(row.try_get("dump_bytes")?),
                    stored_bytes: bytes(row.try_get("stored_bytes")?),
                    sha256: row.try_get("sha256")?,
                    compression: row.try_get("compression")?,
                    copies: Vec::new(),
                    verification: None,
                    warnings: Vec::new(),
                    pruned_at: maybe_time(row, "pruned_at")?,
                    agent: match (
                        row.try_get::<Option<String>, _>("agent_id")?,
                        row.try_get::<Option<String>, _>("host")?,
                    ) {
                        (Some(id), Some(host)) => Some(AgentRef { id, host }),
                        _ => None,
                    },
                })
            }

            pub(super) fn copy_from_row(row: &DbRow) -> Result<CopyRecord> {
                Ok(CopyRecord {
                    destination: row.try_get("destination")?,
                    path: row.try_get("path")?,
                    status: copy_status(&row.try_get::<String, _>("status")?)?,
                    size: bytes(row.try_get("size")?),
                    error: row.try_get("error")?,
                })
            }

            fn pairs(rows: &[DbRow]) -> Result<Vec<(String, String)>> {
                rows.iter()
                    .map(|r| Ok((r.try_get("source")?, r.try_get("database_name")?)))
                    .collect()
            }

            impl $ty {
                /// Inserts a backup row; one that is not `running` ends when it starts.
                async fn insert_backup(
                    &self,
                    b: &BackupStart<'_>,
                    status: BackupStatus,
                    error: Option<&str>,
                ) -> Result<()> {
                    let finished_at =
                        (status != BackupStatus::Running).then(|| timestamp(b.started_at));
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO backups (id, run_id, schedule, source, engine, database_name,
                             status, error, started_at, finished_at, agent_id, host)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(b.id)
                    .bind(b.run_id)
                    .bind(b.schedule)
                    .bind(b.source)
                    .bind(b.engine)
                    .bind(b.database)
                    .bind(status.as_str())
                    .bind(error)
                    .bind(timestamp(b.started_at))
                    .bind(finished_at)
                    .bind(&b.agent.id)
                    .bind(&b.agent.host)
                    .execute(&mut *tx)
                    .await?;
                    refresh_one(&mut tx, b.source, b.database).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn newest_verification(
                    &self,
                    source: &str,
                    database: &str,
                    level: &str,
                    only_passed: bool,
                ) -> Result<Option<Proof>> {
                    let row = sqlx::query(
                        "SELECT v.backup_id, v.ok, v.at, v.details FROM verifications v
                         WHERE v.source = $1 AND v.database_name = $2 AND v.level = $3
                           AND (v.ok = 1 OR NOT $4)
                         ORDER BY v.at DESC LIMIT 1",
                    )
                    .bind(source)
                    .bind(database)
                    .bind(level)
                    .bind(only_passed)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|r| {
                        Ok(Proof {
                            backup_id: r.try_get("backup_id")?,
                            at: time(&r, "at")?,
                            ok: flag(&r, "ok")?,
                            restore_ms: $crate::sql_health::restore_ms(r.try_get("details")?),
                        })
                    })
                    .transpose()
                }
            }

            #[async_trait]
            impl Catalog for $ty {
                async fn check_writable(&self) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    // A write statement takes the write lock (SQLite) and needs the write
                    // privilege and a read-write session (PostgreSQL) even when it changes
                    // no row.
                    sqlx::query("DELETE FROM runs WHERE 0 = 1")
                        .execute(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    Ok(())
                }

                async fn start_run(
                    &self,
                    id: &str,
                    schedule: Option<&str>,
                    agent: &AgentRef,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO runs (id, schedule, host, agent_id, started_at, status)
                         VALUES ($1, $2, $3, $4, $5, 'running')",
                    )
                    .bind(id)
                    .bind(schedule)
                    .bind(&agent.host)
                    .bind(&agent.id)
                    .bind(timestamp(at))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn finish_run(
                    &self,
                    id: &str,
                    status: RunStatus,
                    at: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query("UPDATE runs SET status = $1, finished_at = $2 WHERE id = $3")
                        .bind(status.as_str())
                        .bind(timestamp(at))
                        .bind(id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn start_backup(&self, b: &BackupStart<'_>) -> Result<()> {
                    self.insert_backup(b, BackupStatus::Running, None).await
                }

                async fn record_skipped(&self, b: &BackupStart<'_>, reason: &str) -> Result<()> {
                    self.insert_backup(b, BackupStatus::Skipped, Some(reason))
                        .await
                }

                async fn finish_backup(&self, end: &BackupEnd<'_>) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "UPDATE backups SET status = $1, error = $2, finished_at = $3,
                             dump_bytes = $4, stored_bytes = $5, sha256 = $6, compression = $7,
                             manifest = $8
                         WHERE id = $9",
                    )
                    .bind(end.status.as_str())
                    .bind(end.error)
                    .bind(timestamp(end.finished_at))
                    .bind(end.dump_bytes.map(|v| v as i64))
                    .bind(end.stored_bytes.map(|v| v as i64))
                    .bind(end.sha256)
                    .bind(end.compression)
                    .bind(end.manifest_json)
                    .bind(end.id)
                    .execute(&mut *tx)
                    .await?;
                    for copy in end.copies {
                        sqlx::query(
                            "INSERT INTO copies (backup_id, destination, path, status, size, error)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(end.id)
                        .bind(&copy.destination)
                        .bind(&copy.path)
                        .bind(copy.status.as_str())
                        .bind(copy.size.map(|v| v as i64))
                        .bind(copy.error.as_deref())
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (position, message) in end.warnings.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO warnings (backup_id, position, message) VALUES ($1, $2, $3)",
                        )
                        .bind(end.id)
                        .bind(position as i64)
                        .bind(message)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(fire) = end.fire {
                        sqlx::query(
                            "UPDATE fires SET finished_at = $1
                             WHERE kind = $2 AND schedule = $3 AND target = $4 AND fire_at = $5",
                        )
                        .bind(timestamp(end.finished_at))
                        .bind(&fire.kind)
                        .bind(&fire.schedule)
                        .bind(&fire.target)
                        .bind(timestamp(fire.at))
                        .execute(&mut *tx)
                        .await?;
                    }
                    refresh_of_backup(&mut tx, end.id).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn fail_interrupted(
                    &self,
                    source: &str,
                    database: &str,
                    at: DateTime<Utc>,
                ) -> Result<u64> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(
                        "UPDATE backups SET status = 'failed', finished_at = $1,
                             error = 'interrupted: dbward stopped before this backup finished'
                         WHERE source = $2 AND database_name = $3 AND status = 'running'",
                    )
                    .bind(timestamp(at))
                    .bind(source)
                    .bind(database)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() > 0 {
                        refresh_one(&mut tx, source, database).await?;
                    }
                    tx.commit().await?;
                    Ok(done.rows_affected())
                }

                async fn last_stored_bytes(
                    &self,
                    source: &str,
                    database: &str,
                ) -> Result<Option<u64>> {
                    let row = sqlx::query(
                        "SELECT stored_bytes FROM backups
                         WHERE source = $1 AND database_name = $2
                           AND status IN ('succeeded', 'degraded') AND stored_bytes IS NOT NULL
                         ORDER BY started_at DESC LIMIT 1",
                    )
                    .bind(source)
                    .bind(database)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(match row {
                        Some(r) => bytes(r.try_get("stored_bytes")?),
                        None => None,
                    })
                }

                async fn latest_good(
                    &self,
                    source: &str,
                    database: &str,
                ) -> Result<Option<(BackupRecord, Option<String>)>> {
                    let row = sqlx::query(
                        "SELECT id FROM backups
                         WHERE source = $1 AND database_name = $2
                           AND status IN ('succeeded', 'degraded') AND pruned_at IS NULL
                         ORDER BY started_at DESC, id DESC LIMIT 1",
                    )
                    .bind(source)
                    .bind(database)
                    .fetch_optional(&self.pool)
                    .await?;
                    match row {
                        Some(row) => self.get(&row.try_get::<String, _>("id")?).await,
                        None => Ok(None),
                    }
                }

                async fn databases_with_good_backups(&self) -> Result<Vec<(String, String)>> {
                    let rows = sqlx::query(
                        "SELECT DISTINCT source, database_name FROM backups
                         WHERE status IN ('succeeded', 'degraded') AND pruned_at IS NULL
                         ORDER BY source, database_name",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    pairs(&rows)
                }

                async fn databases(&self) -> Result<Vec<(String, String)>> {
                    let rows = sqlx::query(
                        "SELECT source, database_name FROM health_summary
                          WHERE newest IS NOT NULL ORDER BY source, database_name",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    pairs(&rows)
                }

                async fn mark_pruned(
                    &self,
                    id: &str,
                    at: DateTime<Utc>,
                    reason: &str,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "UPDATE backups SET pruned_at = $1, prune_reason = $2 WHERE id = $3",
                    )
                    .bind(timestamp(at))
                    .bind(reason)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    refresh_of_backup(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list(&self, filter: &ListFilter) -> Result<Vec<BackupRecord>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {BACKUP_COLUMNS} FROM backups WHERE ($1 IS NULL OR source = $1)
                            AND ($2 IS NULL OR database_name = $2)
                            AND ($3 IS NULL OR status = $3) AND pruned_at IS NULL
                         ORDER BY started_at DESC, id DESC LIMIT $4"
                    )))
                    .bind(filter.source.as_deref())
                    .bind(filter.database.as_deref())
                    .bind(filter.status.map(BackupStatus::as_str))
                    .bind(filter.limit.map_or(i64::MAX, i64::from))
                    .fetch_all(&self.pool)
                    .await?;
                    let records = rows.iter().map(backup_from_row).collect::<Result<_>>()?;
                    self.complete_many(records).await
                }

                async fn get(&self, id: &str) -> Result<Option<(BackupRecord, Option<String>)>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {BACKUP_COLUMNS}, manifest FROM backups WHERE id = $1 OR id LIKE $2 ORDER BY id LIMIT 2"
                    )))
                    .bind(id)
                    .bind(format!("{}%", id.replace(['%', '_', '\\'], "")))
                    .fetch_all(&self.pool)
                    .await?;
                    let row = match rows.as_slice() {
                        [row] => row,
                        _ => {
                            let mut exact = None;
                            for row in &rows {
                                if row.try_get::<String, _>("id")? == id {
                                    exact = Some(row);
                                }
                            }
                            match exact {
                                Some(row) => row,
                                None => return Ok(None),
                            }
                        }
                    };
                    let manifest: Option<String> = row.try_get("manifest")?;
                    let record = self.complete_many(vec![backup_from_row(row)?]).await?;
                    Ok(record.into_iter().next().map(|r| (r, manifest)))
                }

                async fn has_backup(&self, id: &str) -> Result<bool> {
                    Ok(sqlx::query("SELECT id FROM backups WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .is_some())
                }

                async fn import(
                    &self,
                    manifest: &dbward_core::Manifest,
                    manifest_json: &str,
                    destination: &str,
                    artifact_key: &str,
                    copy_status: CopyStatus,
                    size: Option<u64>,
                ) -> Result<(bool, bool)> {
                    let mut tx = self.pool.begin().await?;
                    let known = sqlx::query("SELECT id FROM backups WHERE id = $1")
                        .bind(&manifest.id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    if !known {
                        let run_id = format!("rebuild-{}", manifest.id);
                        sqlx::query(
                            "INSERT INTO runs (id, schedule, host, started_at, finished_at, status)
                             VALUES ($1, NULL, $2, $3, $4, 'succeeded')",
                        )
                        .bind(&run_id)
                        .bind(&manifest.host)
                        .bind(timestamp(manifest.started_at))
                        .bind(timestamp(manifest.finished_at))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO backups (id, run_id, schedule, source, engine,
                                 database_name, status, error, started_at, finished_at,
                                 dump_bytes, stored_bytes, sha256, compression, manifest)
                             VALUES ($1, $2, NULL, $3, $4, $5, 'succeeded', NULL, $6, $7, $8, $9,
                                 $10, $11, $12)",
                        )
                        .bind(&manifest.id)
                        .bind(&run_id)
                        .bind(&manifest.source)
                        .bind(manifest.engine.as_str())
                        .bind(&manifest.database)
                        .bind(timestamp(manifest.started_at))
                        .bind(timestamp(manifest.finished_at))
                        .bind(manifest.dump_bytes as i64)
                        .bind(manifest.stored_bytes as i64)
                        .bind(&manifest.sha256)
                        .bind(&manifest.compression)
                        .bind(manifest_json)
                        .execute(&mut *tx)
                        .await?;
                        for (position, message) in manifest.warnings.iter().enumerate() {
                            sqlx::query(
                                "INSERT INTO warnings (backup_id, position, message)
                                 VALUES ($1, $2, $3)",
                            )
                            .bind(&manifest.id)
                            .bind(position as i64)
                            .bind(message)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    let copy_added = sqlx::query(
                        "INSERT INTO copies (backup_id, destination, path, status, size, error)
                         VALUES ($1, $2, $3, $4, $5, NULL)
                         ON CONFLICT (backup_id, destination) DO NOTHING",
                    )
                    .bind(&manifest.id)
                    .bind(destination)
                    .bind(artifact_key)
                    .bind(copy_status.as_str())
                    .bind(size.map(|s| s as i64))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        > 0;
                    refresh_of_backup(&mut tx, &manifest.id).await?;
                    tx.commit().await?;
                    Ok((!known, copy_added))
                }

                async fn copies_on(
                    &self,
                    destination: &str,
                ) -> Result<Vec<(String, String, CopyStatus)>> {
                    let rows = sqlx::query(
                        "SELECT c.backup_id, c.path, c.status FROM copies c
                           JOIN backups b ON b.id = c.backup_id
                         WHERE c.destination = $1 AND c.status IN ('committed', 'missing', 'acknowledged')
                           AND b.pruned_at IS NULL
                         ORDER BY c.path",
                    )
                    .bind(destination)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok((
                                r.try_get("backup_id")?,
                                r.try_get("path")?,
                                copy_status(&r.try_get::<String, _>("status")?)?,
                            ))
                        })
                        .collect()
                }

                async fn set_copy_status(
                    &self,
                    backup_id: &str,
                    destination: &str,
                    status: CopyStatus,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "UPDATE copies SET status = $1 WHERE backup_id = $2 AND destination = $3",
                    )
                    .bind(status.as_str())
                    .bind(backup_id)
                    .bind(destination)
                    .execute(&mut *tx)
                    .await?;
                    refresh_of_backup(&mut tx, backup_id).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn record_verification(&self, v: &NewVerification<'_>) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO verifications (id, backup_id, level, ok, at, duration_ms, details,
                             source, database_name, restore_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7,
                             (SELECT source FROM backups WHERE id = $2),
                             (SELECT database_name FROM backups WHERE id = $2), $8)",
                    )
                    .bind(ulid::Ulid::new().to_string())
                    .bind(v.backup_id)
                    .bind(v.level)
                    .bind(i64::from(v.ok))
                    .bind(timestamp(v.at))
                    .bind(v.duration_ms)
                    .bind(v.details)
                    .bind(
                        $crate::sql_health::restore_ms(Some(v.details.to_string()))
                            .and_then(|ms| i64::try_from(ms).ok()),
                    )
                    .execute(&mut *tx)
                    .await?;
                    refresh_of_backup(&mut tx, v.backup_id).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn verifications(&self, backup_id: &str) -> Result<Vec<VerificationEntry>> {
                    let rows = sqlx::query(
                        "SELECT level, ok, at, duration_ms, details FROM verifications
                         WHERE backup_id = $1 ORDER BY at DESC",
                    )
                    .bind(backup_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(VerificationEntry {
                                level: r.try_get("level")?,
                                ok: flag(r, "ok")?,
                                at: time(r, "at")?,
                                duration_ms: bytes(r.try_get("duration_ms")?).unwrap_or(0),
                                details: r
                                    .try_get::<Option<String>, _>("details")?
                                    .and_then(|d| serde_json::from_str(&d).ok())
                                    .unwrap_or(serde_json::Value::Null),
                            })
                        })
                        .collect()
                }

                async fn proofs(&self, source: &str, database: &str) -> Result<Proofs> {
                    let good_drill = self
                        .newest_verification(source, database, "drill", true)
                        .await?;
                    let good_key = self
                        .newest_verification(source, database, "key", true)
                        .await?;
                    Ok(Proofs {
                        last_drill: self
                            .newest_verification(source, database, "drill", false)
                            .await?,
                        last_good_drill: good_drill.as_ref().map(|p| p.at),
                        last_good_drill_restore: good_drill
                            .and_then(|p| p.restore_ms)
                            .map(|ms| chrono::Duration::milliseconds(ms as i64)),
                        last_good_key: good_key.map(|p| p.at),
                    })
                }

                async fn health_facts(&self) -> Result<Vec<$crate::HealthFacts>> {
                    self.read_health_facts().await
                }

                async fn alert_state(&self, channel: &str) -> Result<AlertState> {
                    let rows = sqlx::query(
                        "SELECT problem, severity, last_sent FROM alert_state WHERE channel = $1",
                    )
                    .bind(channel)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let sent = time(r, "last_sent")?;
                            Ok((r.try_get("problem")?, (r.try_get("severity")?, sent)))
                        })
                        .collect()
                }

                async fn alert_sent(
                    &self,
                    channel: &str,
                    firing: &[(String, String)],
                    resolved: &[String],
                    at: DateTime<Utc>,
                    agent_id: &str,
                ) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for (problem, severity) in firing {
                        sqlx::query(
                            "INSERT INTO alert_state (channel, problem, severity, last_sent, agent_id)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (channel, problem) DO UPDATE
                                 SET severity = excluded.severity, last_sent = excluded.last_sent,
                                     agent_id = excluded.agent_id",
                        )
                        .bind(channel)
                        .bind(problem)
                        .bind(severity)
                        .bind(timestamp(at))
                        .bind(agent_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for problem in resolved {
                        sqlx::query("DELETE FROM alert_state WHERE channel = $1 AND problem = $2")
                            .bind(channel)
                            .bind(problem)
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Told now: an earlier failed delivery no longer stands.
                    for problem in firing.iter().map(|(p, _)| p).chain(resolved) {
                        sqlx::query("DELETE FROM alert_failures WHERE channel = $1 AND problem = $2")
                            .bind(channel)
                            .bind(problem)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn see_schedules(&self, names: &[&str], at: DateTime<Utc>) -> Result<()> {
                    for name in names {
                        sqlx::query(
                            "INSERT INTO schedules (name, first_seen) VALUES ($1, $2)
                             ON CONFLICT (name) DO NOTHING",
                        )
                        .bind(name)
                        .bind(timestamp(at))
                        .execute(&self.pool)
                        .await?;
                    }
                    Ok(())
                }

                async fn first_seen(&self) -> Result<BTreeMap<String, DateTime<Utc>>> {
                    let rows = sqlx::query(FIRST_SEEN).fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get("name")?, time(r, "at")?)))
                        .collect()
                }
            }
        }
    };
}

pub(crate) use sql_catalog;

/// The columns of `backups` that make a [`crate::BackupRecord`] (not the manifest).
pub(crate) const BACKUP_COLUMNS: &str = "id, schedule, source, engine, database_name, status,
    error, started_at, finished_at, dump_bytes, stored_bytes, sha256, compression, pruned_at,
    agent_id, host";
