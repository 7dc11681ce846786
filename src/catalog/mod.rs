//! The catalog: dbward's history of runs, backups, copies, warnings and verifications, in a
//! SQLite file in `state_dir` (schema in `migrations/`, kept portable to PostgreSQL). Queries
//! are typed functions here; nothing else in dbward writes SQL against the catalog.

mod records;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::policy::health::{Proof, Proofs};

pub use records::{
    BackupRecord, BackupStatus, CopyRecord, CopyStatus, VerificationEntry, VerificationRecord,
};

/// A catalog failure.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {err}")]
    Open { path: String, err: String },
    #[error("catalog query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("catalog holds an invalid record: {0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, CatalogError>;

/// Formats a time the way the catalog stores it.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| CatalogError::Invalid(format!("timestamp {text:?}: {e}")))
}

/// An open catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: SqlitePool,
}

/// A verification to record.
#[derive(Debug, Clone)]
pub struct NewVerification<'a> {
    pub backup_id: &'a str,
    pub level: &'a str,
    pub ok: bool,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    /// JSON with the per-check results.
    pub details: &'a str,
}

/// Filters of `dbward list`.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub source: Option<String>,
    pub database: Option<String>,
    pub status: Option<BackupStatus>,
    pub limit: Option<u32>,
}

/// What is known when a backup starts.
#[derive(Debug, Clone)]
pub struct BackupStart<'a> {
    pub id: &'a str,
    pub run_id: &'a str,
    pub schedule: Option<&'a str>,
    pub source: &'a str,
    pub engine: &'a str,
    pub database: &'a str,
    pub started_at: DateTime<Utc>,
}

/// What is known when a backup ends, whatever its status.
#[derive(Debug, Clone)]
pub struct BackupEnd<'a> {
    pub id: &'a str,
    pub status: BackupStatus,
    pub error: Option<&'a str>,
    pub finished_at: DateTime<Utc>,
    pub dump_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    pub sha256: Option<&'a str>,
    pub compression: Option<&'a str>,
    pub manifest_json: Option<&'a str>,
    pub copies: &'a [CopyRecord],
    pub warnings: &'a [String],
}

impl Catalog {
    /// Opens (creating when absent, readable by this user only) and migrates the catalog.
    pub async fn open(path: &Path) -> Result<Catalog> {
        let open_err = |err: String| CatalogError::Open {
            path: path.display().to_string(),
            err,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir)
                .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        create_private_file(path).map_err(|e| open_err(e.to_string()))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| open_err(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(30))
            .foreign_keys(true);
        // One connection: the bundled SQLite (3.51.1) can deadlock when two connections to
        // the same file close at once in one process (unixClose takes the global VFS mutex
        // then the inode's, a checkpoint-on-close lock takes them the other way round), which
        // hung commands at exit. Writes are serialised by SQLite anyway, and no catalog call
        // holds a connection while it asks for another.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("cannot migrate: {e}")))?;
        Ok(Catalog { pool })
    }

    /// An empty catalog in memory, for `restore --from` when the catalog file cannot be used:
    /// the command runs as usual, and nothing it writes outlives the process.
    pub async fn in_memory() -> Result<Catalog> {
        let open_err = |err: String| CatalogError::Open {
            path: "(in memory)".into(),
            err,
        };
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| open_err(e.to_string()))?;
        // Each connection to `:memory:` is a database of its own: keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.foreign_keys(true))
            .await
            .map_err(|e| open_err(e.to_string()))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("cannot migrate: {e}")))?;
        Ok(Catalog { pool })
    }

    /// Fails when the catalog cannot take a write (a read-only disk or file, say); writes
    /// nothing.
    pub async fn check_writable(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // A write statement takes the write lock even when it changes no row.
        sqlx::query("DELETE FROM runs WHERE 0 = 1")
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(())
    }

    pub async fn start_run(
        &self,
        id: &str,
        schedule: Option<&str>,
        host: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO runs (id, schedule, host, started_at, status) VALUES ($1, $2, $3, $4, 'running')")
            .bind(id)
            .bind(schedule)
            .bind(host)
            .bind(timestamp(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn finish_run(&self, id: &str, status: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE runs SET status = $1, finished_at = $2 WHERE id = $3")
            .bind(status)
            .bind(timestamp(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a backup as `running`.
    pub async fn start_backup(&self, b: &BackupStart<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO backups (id, run_id, schedule, source, engine, database_name, status, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7)",
        )
        .bind(b.id)
        .bind(b.run_id)
        .bind(b.schedule)
        .bind(b.source)
        .bind(b.engine)
        .bind(b.database)
        .bind(timestamp(b.started_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how a backup ended, with its copies and warnings, in one transaction.
    pub async fn finish_backup(&self, end: &BackupEnd<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE backups SET status = $1, error = $2, finished_at = $3, dump_bytes = $4,
                 stored_bytes = $5, sha256 = $6, compression = $7, manifest = $8
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
            sqlx::query("INSERT INTO warnings (backup_id, position, message) VALUES ($1, $2, $3)")
                .bind(end.id)
                .bind(position as i64)
                .bind(message)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks backups of one database left `running` by a process that died as `failed`.
    /// Called while holding that database's lock, so no live run is touched.
    pub async fn fail_interrupted(
        &self,
        source: &str,
        database: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE backups SET status = 'failed', finished_at = $1,
                 error = 'interrupted: dbward stopped before this backup finished'
             WHERE source = $2 AND database_name = $3 AND status = 'running'",
        )
        .bind(timestamp(at))
        .bind(source)
        .bind(database)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The stored size of the newest succeeded backup of a database, for the free-space check.
    pub async fn last_stored_bytes(&self, source: &str, database: &str) -> Result<Option<u64>> {
        let row = sqlx::query(
            "SELECT stored_bytes FROM backups
             WHERE source = $1 AND database_name = $2 AND status IN ('succeeded', 'degraded')
               AND stored_bytes IS NOT NULL
             ORDER BY started_at DESC LIMIT 1",
        )
        .bind(source)
        .bind(database)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get::<i64, _>(0).max(0) as u64))
    }

    /// The newest backup of a database whose copies were committed (succeeded or degraded).
    pub async fn latest_good(
        &self,
        source: &str,
        database: &str,
    ) -> Result<Option<(BackupRecord, Option<String>)>> {
        let row = sqlx::query(
            "SELECT id FROM backups
             WHERE source = $1 AND database_name = $2 AND status IN ('succeeded', 'degraded')
               AND pruned_at IS NULL
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(source)
        .bind(database)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => self.get(&row.get::<String, _>(0)).await,
            None => Ok(None),
        }
    }

    /// Every (source, database) pair with a good backup, for `verify --latest`.
    pub async fn databases_with_good_backups(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT source, database_name FROM backups
             WHERE status IN ('succeeded', 'degraded') AND pruned_at IS NULL
             ORDER BY source, database_name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every (source, database) pair with a backup not pruned, for `status`.
    pub async fn databases(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT source, database_name FROM backups WHERE pruned_at IS NULL
             ORDER BY source, database_name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The newest restore drill of one database and the newest passed drill and key drill.
    pub async fn proofs(&self, source: &str, database: &str) -> Result<Proofs> {
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

    async fn newest_verification(
        &self,
        source: &str,
        database: &str,
        level: &str,
        only_passed: bool,
    ) -> Result<Option<Proof>> {
        let row = sqlx::query(
            "SELECT v.backup_id, v.ok, v.at, v.details FROM verifications v
               JOIN backups b ON b.id = v.backup_id
             WHERE b.source = $1 AND b.database_name = $2 AND v.level = $3
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
            let details: Option<String> = r.get("details");
            let restore_ms = details
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .and_then(|d| d["restore_ms"].as_u64());
            Ok(Proof {
                backup_id: r.get("backup_id"),
                at: parse_time(&r.get::<String, _>("at"))?,
                ok: r.get::<i64, _>("ok") != 0,
                restore_ms,
            })
        })
        .transpose()
    }

    /// Marks a backup removed by retention: it leaves `list`, `status` and `audit`, and
    /// `show` tells when it went.
    pub async fn mark_pruned(&self, id: &str, at: DateTime<Utc>, reason: &str) -> Result<()> {
        sqlx::query("UPDATE backups SET pruned_at = $1, prune_reason = $2 WHERE id = $3")
            .bind(timestamp(at))
            .bind(reason)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What alert `channel` was last told: problem key → (severity, when it was sent).
    pub async fn alert_state(
        &self,
        channel: &str,
    ) -> Result<BTreeMap<String, (String, DateTime<Utc>)>> {
        let rows =
            sqlx::query("SELECT problem, severity, last_sent FROM alert_state WHERE channel = $1")
                .bind(channel)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let sent = parse_time(&r.get::<String, _>("last_sent"))?;
                Ok((r.get("problem"), (r.get("severity"), sent)))
            })
            .collect()
    }

    /// Records that `channel` was told of `firing` (problem key, severity) and `resolved`.
    pub async fn alert_sent(
        &self,
        channel: &str,
        firing: &[(String, String)],
        resolved: &[String],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (problem, severity) in firing {
            sqlx::query(
                "INSERT INTO alert_state (channel, problem, severity, last_sent) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (channel, problem) DO UPDATE SET severity = excluded.severity, last_sent = excluded.last_sent",
            )
            .bind(channel)
            .bind(problem)
            .bind(severity)
            .bind(timestamp(at))
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
        tx.commit().await?;
        Ok(())
    }

    /// Records `names` as seen at `at` (first sighting only) and returns when each was first
    /// seen: its first record here or its oldest backup, whichever is earlier.
    pub async fn schedules_seen(
        &self,
        names: &[&str],
        at: DateTime<Utc>,
    ) -> Result<BTreeMap<String, DateTime<Utc>>> {
        for name in names {
            sqlx::query("INSERT INTO schedules (name, first_seen) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(timestamp(at))
                .execute(&self.pool)
                .await?;
        }
        let rows = sqlx::query(
            "SELECT name, MIN(at) AS at FROM (
                 SELECT name, first_seen AS at FROM schedules
                 UNION ALL
                 SELECT schedule, started_at FROM backups WHERE schedule IS NOT NULL
             ) GROUP BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.get("name"), parse_time(&r.get::<String, _>("at"))?)))
            .collect()
    }

    /// Every verification of a backup, newest first, with its recorded details.
    pub async fn verifications(&self, backup_id: &str) -> Result<Vec<VerificationEntry>> {
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
                    level: r.get("level"),
                    ok: r.get::<i64, _>("ok") != 0,
                    at: parse_time(&r.get::<String, _>("at"))?,
                    duration_ms: r.get::<Option<i64>, _>("duration_ms").unwrap_or(0).max(0) as u64,
                    details: r
                        .get::<Option<String>, _>("details")
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }

    /// Every committed (or missing) copy on one destination of a backup that is not pruned:
    /// (backup id, artifact key, status).
    pub async fn copies_on(&self, destination: &str) -> Result<Vec<(String, String, CopyStatus)>> {
        let rows = sqlx::query(
            "SELECT c.backup_id, c.path, c.status FROM copies c JOIN backups b ON b.id = c.backup_id
             WHERE c.destination = $1 AND c.status IN ('committed', 'missing') AND b.pruned_at IS NULL
             ORDER BY c.path",
        )
        .bind(destination)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.get(2);
                Ok((r.get(0), r.get(1), records::copy_status(&status)?))
            })
            .collect()
    }

    /// Sets the status of one copy (audit marks vanished copies `missing`, and found ones
    /// `committed` again).
    pub async fn set_copy_status(
        &self,
        backup_id: &str,
        destination: &str,
        status: CopyStatus,
    ) -> Result<()> {
        sqlx::query("UPDATE copies SET status = $1 WHERE backup_id = $2 AND destination = $3")
            .bind(status.as_str())
            .bind(backup_id)
            .bind(destination)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the catalog knows a backup.
    pub async fn has_backup(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM backups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Imports a backup from its manifest (catalog rebuild): a `succeeded` backup in a run of
    /// its own, with one copy. Idempotent: a known backup only gains the copy if it lacks it.
    /// Returns (backup added, copy added).
    pub async fn import(
        &self,
        manifest: &dbward_core::Manifest,
        manifest_json: &str,
        destination: &str,
        artifact_key: &str,
        copy_status: CopyStatus,
        size: Option<u64>,
    ) -> Result<(bool, bool)> {
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("SELECT 1 FROM backups WHERE id = $1")
            .bind(&manifest.id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !known {
            let run_id = format!("rebuild-{}", manifest.id);
            sqlx::query("INSERT INTO runs (id, schedule, host, started_at, finished_at, status) VALUES ($1, NULL, $2, $3, $4, 'succeeded')")
                .bind(&run_id)
                .bind(&manifest.host)
                .bind(timestamp(manifest.started_at))
                .bind(timestamp(manifest.finished_at))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO backups (id, run_id, schedule, source, engine, database_name, status, error,
                     started_at, finished_at, dump_bytes, stored_bytes, sha256, compression, manifest)
                 VALUES ($1, $2, NULL, $3, $4, $5, 'succeeded', NULL, $6, $7, $8, $9, $10, $11, $12)",
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
                    "INSERT INTO warnings (backup_id, position, message) VALUES ($1, $2, $3)",
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
        tx.commit().await?;
        Ok((!known, copy_added))
    }

    /// Records the outcome of a verification.
    pub async fn record_verification(&self, v: &NewVerification<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO verifications (id, backup_id, level, ok, at, duration_ms, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ulid::Ulid::new().to_string())
        .bind(v.backup_id)
        .bind(v.level)
        .bind(i64::from(v.ok))
        .bind(timestamp(v.at))
        .bind(v.duration_ms)
        .bind(v.details)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Backups matching `filter` that retention has not removed, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<BackupRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} WHERE ($1 IS NULL OR source = $1) AND ($2 IS NULL OR database_name = $2)
                AND ($3 IS NULL OR status = $3) AND pruned_at IS NULL
             ORDER BY started_at DESC, id DESC LIMIT $4",
            records::SELECT_BACKUP
        )))
        .bind(filter.source.as_deref())
        .bind(filter.database.as_deref())
        .bind(filter.status.map(BackupStatus::as_str))
        .bind(filter.limit.map(i64::from).unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        self.complete_all(rows).await
    }

    /// One backup by id (or unique id prefix), with its stored manifest.
    pub async fn get(&self, id: &str) -> Result<Option<(BackupRecord, Option<String>)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} WHERE id = $1 OR id LIKE $2 ORDER BY id LIMIT 2",
            records::SELECT_BACKUP
        )))
        .bind(id)
        .bind(format!("{}%", id.replace(['%', '_'], "")))
        .fetch_all(&self.pool)
        .await?;
        let row = match rows.as_slice() {
            [row] => row,
            _ => match rows.iter().find(|r| r.get::<String, _>("id") == id) {
                Some(row) => row,
                None => return Ok(None),
            },
        };
        let manifest: Option<String> = row.get("manifest");
        let record = self.complete(records::backup_from_row(row)?).await?;
        Ok(Some((record, manifest)))
    }

    async fn complete_all(&self, rows: Vec<sqlx::sqlite::SqliteRow>) -> Result<Vec<BackupRecord>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.complete(records::backup_from_row(&row)?).await?);
        }
        Ok(out)
    }

    /// Adds copies, warnings and the latest verification to a backup row.
    async fn complete(&self, mut record: BackupRecord) -> Result<BackupRecord> {
        let copies = sqlx::query(
            "SELECT destination, path, status, size, error FROM copies WHERE backup_id = $1 ORDER BY destination",
        )
        .bind(&record.id)
        .fetch_all(&self.pool)
        .await?;
        record.copies = copies
            .iter()
            .map(records::copy_from_row)
            .collect::<Result<_>>()?;
        let warnings =
            sqlx::query("SELECT message FROM warnings WHERE backup_id = $1 ORDER BY position")
                .bind(&record.id)
                .fetch_all(&self.pool)
                .await?;
        record.warnings = warnings.iter().map(|r| r.get("message")).collect();
        let verification = sqlx::query(
            "SELECT level, ok, at FROM verifications WHERE backup_id = $1 AND level <> 'key' ORDER BY at DESC LIMIT 1",
        )
        .bind(&record.id)
        .fetch_optional(&self.pool)
        .await?;
        record.verification = verification
            .map(|r| -> Result<VerificationRecord> {
                Ok(VerificationRecord {
                    level: r.get("level"),
                    ok: r.get::<i64, _>("ok") != 0,
                    at: parse_time(&r.get::<String, _>("at"))?,
                })
            })
            .transpose()?;
        Ok(record)
    }
}

/// Creates a folder readable by this user only (state holds catalogs and locks).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
