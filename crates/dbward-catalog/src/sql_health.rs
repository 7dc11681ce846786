//! The catalog's reads for `status`, written once for both SQL backends as `sql.rs` is: the
//! health facts of every database in a fixed number of set-based queries, however many
//! databases there are (a per-database loop cost ~100 queries per database), and the batch
//! completion of backup records that `list` and `get` share. Each query walks an index of
//! migration 5 (`backups_live`, `copies_missing`, `verifications_by_database`) a few entries
//! per database instead of reading every backup.

use chrono::{DateTime, Utc};

use crate::health_doc::{self, JsonDialect};
use crate::{Proof, Proofs};

/// `dbs(source, database_name)`: the databases with a backup not pruned, found by a skip scan
/// of `backups_live` (one index lookup per source and per database) where `SELECT DISTINCT`
/// would read the whole history. A prefix for a query that reads `dbs`.
pub(crate) const LIVE_DATABASES: &str = "WITH RECURSIVE
    srcs(source) AS (
        SELECT MIN(source) FROM backups WHERE pruned_at IS NULL
        UNION ALL
        SELECT (SELECT MIN(b.source) FROM backups b
                 WHERE b.pruned_at IS NULL AND b.source > srcs.source)
          FROM srcs WHERE srcs.source IS NOT NULL),
    walk(source, database_name) AS (
        SELECT source, (SELECT MIN(b.database_name) FROM backups b
                         WHERE b.pruned_at IS NULL AND b.source = srcs.source)
          FROM srcs WHERE srcs.source IS NOT NULL
        UNION ALL
        SELECT source, (SELECT MIN(b.database_name) FROM backups b
                         WHERE b.pruned_at IS NULL AND b.source = walk.source
                           AND b.database_name > walk.database_name)
          FROM walk WHERE walk.database_name IS NOT NULL),
    dbs AS (SELECT source, database_name FROM walk WHERE database_name IS NOT NULL)";

/// When each schedule was first seen: its first record in `schedules` or its oldest backup,
/// whichever is earlier; the schedules of backups by a skip scan of `backups_by_schedule`.
pub(crate) const FIRST_SEEN: &str = "WITH RECURSIVE
    scheds(name) AS (
        SELECT MIN(schedule) FROM backups WHERE schedule IS NOT NULL
        UNION ALL
        SELECT (SELECT MIN(b.schedule) FROM backups b WHERE b.schedule > scheds.name)
          FROM scheds WHERE scheds.name IS NOT NULL)
    SELECT name, MIN(at) AS at FROM (
        SELECT name, first_seen AS at FROM schedules
        UNION ALL
        SELECT name, (SELECT MIN(b.started_at) FROM backups b WHERE b.schedule = scheds.name)
          FROM scheds WHERE name IS NOT NULL
    ) AS sightings GROUP BY name";

/// A backup of `cut`'s database inside its window: not pruned, and at or after the oldest
/// backup of the window (`cutoff`, `started_at || id`: fixed-width times make text order the
/// order of `ORDER BY started_at, id`; NULL when the database has fewer backups).
const IN_WINDOW: &str = "b.pruned_at IS NULL AND b.source = cut.source
    AND b.database_name = cut.database_name
    AND (cut.cutoff IS NULL OR b.started_at || b.id >= cut.cutoff)";

const NEWEST: &str = "ORDER BY b.started_at DESC, b.id DESC";

/// The databases [`REFRESH_ONE`] recomputes: the one named by `$1` and `$2`, read from its
/// summary row (which the lock has made exist) so that on PostgreSQL the names carry the
/// tables' collation.
const ONE_DATABASE: &str = "WITH RECURSIVE dbs AS (SELECT source, database_name
    FROM health_summary WHERE source = $1 AND database_name = $2)";

/// Recomputes the `health_summary` rows of the databases in `dbs` (a CTE the prefix defines)
/// from the history: per database the newest backup not pruned, the window's cutoff, the
/// ids of the newest backup that ended, the newest usable one and the newest succeeded one,
/// the newest sizes, whether the usable one's manifest may list excluded tables with data or
/// objects the dump could not keep (`usable_excludes`) and whether it says the artifact is
/// encrypted,
/// the newest failed drill, passed drill and passed key drill (of pruned backups too), and
/// the records of the backups `status` judges as a JSON document (`judged`, see
/// [`health_doc::judged_sql`]) in `json`'s dialect.
fn refresh(dbs: &str, json: &JsonDialect) -> String {
    let judged = health_doc::judged_sql(json, IN_WINDOW);
    let window = crate::HEALTH_WINDOW.max(1) - 1;
    let sizes = crate::HEALTH_SIZES;
    let verification = |level: &str, ok: u8| {
        format!(
            "(SELECT v.id FROM verifications v
               WHERE v.source = cut.source AND v.database_name = cut.database_name
                 AND v.level = '{level}' AND v.ok = {ok}
               ORDER BY v.at DESC, v.id DESC LIMIT 1)"
        )
    };
    format!(
        "{dbs},
        cut AS (SELECT source, database_name,
            (SELECT b.id FROM backups b
              WHERE b.pruned_at IS NULL AND b.source = dbs.source
                AND b.database_name = dbs.database_name
              {NEWEST} LIMIT 1) AS newest,
            (SELECT b.started_at || b.id FROM backups b
              WHERE b.pruned_at IS NULL AND b.source = dbs.source
                AND b.database_name = dbs.database_name
              {NEWEST} LIMIT 1 OFFSET {window}) AS cutoff
          FROM dbs),
        picks AS (SELECT source, database_name, newest, cutoff,
            (SELECT b.id FROM backups b WHERE {IN_WINDOW}
                AND b.status IN ('succeeded', 'degraded', 'failed') {NEWEST} LIMIT 1) AS ended,
            (SELECT b.id FROM backups b WHERE {IN_WINDOW}
                AND b.status IN ('succeeded', 'degraded')
                AND EXISTS (SELECT 1 FROM copies c
                             WHERE c.backup_id = b.id AND c.status = 'committed')
              {NEWEST} LIMIT 1) AS usable,
            (SELECT b.id FROM backups b WHERE {IN_WINDOW}
                AND b.status = 'succeeded' {NEWEST} LIMIT 1) AS succeeded,
            (SELECT string_agg(CAST(s.dump_bytes AS TEXT), ',' ORDER BY s.started_at DESC, s.id DESC)
               FROM (SELECT b.dump_bytes, b.started_at, b.id FROM backups b WHERE {IN_WINDOW}
                        AND b.status = 'succeeded' AND b.dump_bytes IS NOT NULL
                      {NEWEST} LIMIT {sizes}) AS s) AS sizes,
            {} AS drill_failed, {} AS drill_passed, {} AS key_passed
          FROM cut),
        {judged}
        INSERT INTO health_summary (source, database_name, newest, cutoff, ended, usable,
            succeeded, sizes, usable_excludes, usable_encrypted, drill_failed, drill_passed,
            key_passed, drill_failed_at, drill_failed_backup, drill_failed_restore_ms,
            drill_passed_at, drill_passed_backup, drill_passed_restore_ms, key_passed_at, judged)
        SELECT picks.source, picks.database_name, picks.newest, picks.cutoff, picks.ended,
            picks.usable, picks.succeeded, picks.sizes,
            CASE WHEN EXISTS (SELECT 1 FROM backups m WHERE m.id = picks.usable
                    AND (m.manifest LIKE '%\"excluded_with_data\"%'
                         OR m.manifest LIKE '%\"fidelity\"%')) THEN 1 ELSE 0 END,
            CASE WHEN EXISTS (SELECT 1 FROM backups m WHERE m.id = picks.usable
                    AND (m.manifest LIKE '%\"encryption\":\"age%'
                         OR m.manifest LIKE '%\"encryption\": \"age%')) THEN 1 ELSE 0 END,
            picks.drill_failed, picks.drill_passed, picks.key_passed,
            vf.at, vf.backup_id, vf.restore_ms, vp.at, vp.backup_id, vp.restore_ms, vk.at,
            judged.doc
          FROM picks
          LEFT JOIN verifications vf ON vf.id = picks.drill_failed
          LEFT JOIN verifications vp ON vp.id = picks.drill_passed
          LEFT JOIN verifications vk ON vk.id = picks.key_passed
          LEFT JOIN judged ON judged.source = picks.source
                          AND judged.database_name = picks.database_name
         WHERE true
        ON CONFLICT (source, database_name) DO UPDATE SET newest = excluded.newest,
            cutoff = excluded.cutoff, ended = excluded.ended, usable = excluded.usable,
            succeeded = excluded.succeeded, sizes = excluded.sizes,
            usable_excludes = excluded.usable_excludes,
            usable_encrypted = excluded.usable_encrypted, drill_failed = excluded.drill_failed,
            drill_passed = excluded.drill_passed, key_passed = excluded.key_passed,
            drill_failed_at = excluded.drill_failed_at,
            drill_failed_backup = excluded.drill_failed_backup,
            drill_failed_restore_ms = excluded.drill_failed_restore_ms,
            drill_passed_at = excluded.drill_passed_at,
            drill_passed_backup = excluded.drill_passed_backup,
            drill_passed_restore_ms = excluded.drill_passed_restore_ms,
            key_passed_at = excluded.key_passed_at, judged = excluded.judged",
        verification("drill", 0),
        verification("drill", 1),
        verification("key", 1)
    )
}

/// Takes the summary row of database (`$1`, `$2`), creating it when new, before
/// [`REFRESH_ONE`]: on PostgreSQL two writers of one database then refresh one after the
/// other, the second from a snapshot that holds the first's commit (READ COMMITTED takes one
/// per statement), so neither overwrites the row with a view that misses the other's write.
pub(crate) const LOCK_ONE: &str = "INSERT INTO health_summary (source, database_name)
    VALUES ($1, $2)
    ON CONFLICT (source, database_name) DO UPDATE SET source = excluded.source";

/// The summary of database (`$1`, `$2`), recomputed; after [`LOCK_ONE`] in the same
/// transaction as the write that changed its history.
pub(crate) fn refresh_one_sql(json: &JsonDialect) -> String {
    refresh(ONE_DATABASE, json)
}

/// Every database's summary, recomputed (the chores of migrations 7, 11 and 12, and after
/// `catalog migrate` copied a history).
pub(crate) fn refresh_all_sql(json: &JsonDialect) -> String {
    refresh(LIVE_DATABASES, json)
}

/// Rows looked up by id at once: few enough for any server's parameter limit.
pub(crate) const CHUNK: usize = 1000;

/// `$1, $2, ..., $n`: PostgreSQL's parameters of an `IN` list.
pub(crate) fn numbered_placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?, ?, ..., ?`: SQLite's. SQLite finds a numbered parameter by searching the statement's
/// parameter names, once per value bound, which makes a list of [`CHUNK`] numbered ones
/// quadratic (a tenth of `status`'s time on 10,000 databases); anonymous ones have no name.
pub(crate) fn anonymous_placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A drill the summary names, from its columns (all `None` when it names none).
pub(crate) fn drill_of(
    backup_id: Option<String>,
    at: Option<DateTime<Utc>>,
    ok: bool,
    restore_ms: Option<i64>,
) -> Option<Proof> {
    Some(Proof {
        backup_id: backup_id?,
        at: at?,
        ok,
        restore_ms: restore_ms.and_then(|ms| u64::try_from(ms).ok()),
    })
}

/// A verification's restore time, from its details: written beside them (migration 11) when
/// the verification is recorded. Only that field is decoded: a drill's details hold a check
/// per table.
pub(crate) fn restore_ms(details: Option<String>) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Timing {
        restore_ms: Option<u64>,
    }
    details
        .and_then(|d| serde_json::from_str::<Timing>(&d).ok())
        .and_then(|t| t.restore_ms)
}

/// A database's proofs from the drills and key drill its summary names: the newest failed
/// drill, the newest passed one and the newest passed key drill. The newer drill is the last
/// one; a failure at the same moment as a pass counts as the last, so it is not hidden.
pub(crate) fn proofs(
    failed: Option<Proof>,
    passed: Option<Proof>,
    key_passed: Option<DateTime<Utc>>,
) -> Proofs {
    let last_good_drill = passed.as_ref().map(|p| p.at);
    let last_good_drill_restore = passed
        .as_ref()
        .and_then(|p| p.restore_ms)
        .map(|ms| chrono::Duration::milliseconds(ms as i64));
    let last_drill = match (failed, passed) {
        (Some(f), Some(p)) => Some(if f.at >= p.at { f } else { p }),
        (f, p) => f.or(p),
    };
    Proofs {
        last_drill,
        last_good_drill,
        last_good_drill_restore,
        last_good_key: key_passed,
    }
}

/// Implements the summary's upkeep and the reads above for `$ty { pool }` (see
/// `sql_catalog!`), whose connections are `$conn` and whose lists of parameters
/// `$placeholders` writes.
macro_rules! sql_health {
    ($ty:ident, $conn:ty, $placeholders:path, $json:path) => {
        pub(crate) mod health {
            use std::collections::{BTreeSet, HashMap};

            use sqlx::Row;

            use super::queries::{copy_from_row, flag, time};
            use super::$ty;
            use $crate::health_doc;
            use $crate::sql_health::{CHUNK, LOCK_ONE, refresh_all_sql, refresh_one_sql};

            static SUMMARIES_DOC: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| health_doc::summaries_sql(&$json));
            static REFRESH_ONE: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| refresh_one_sql(&$json));
            static REFRESH_ALL: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| refresh_all_sql(&$json));

            fn placeholders(n: usize) -> String {
                $placeholders(n)
            }
            use $crate::{BackupRecord, HealthFacts, Result, VerificationRecord};

            /// Recomputes the summary of database `source`/`database` inside the
            /// transaction that changed its history (every write of backups, copies and
            /// verifications ends with this).
            pub(crate) async fn refresh_one(
                conn: &mut $conn,
                source: &str,
                database: &str,
            ) -> Result<()> {
                for sql in [LOCK_ONE, REFRESH_ONE.as_str()] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(source)
                        .bind(database)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// Recomputes the summary of backup `id`'s database (nothing when unknown).
            pub(crate) async fn refresh_of_backup(conn: &mut $conn, id: &str) -> Result<()> {
                let row = sqlx::query("SELECT source, database_name FROM backups WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(row) = row {
                    let source: String = row.try_get("source")?;
                    let database: String = row.try_get("database_name")?;
                    refresh_one(conn, &source, &database).await?;
                }
                Ok(())
            }

            /// Recomputes every database's summary.
            pub(crate) async fn refresh_all(conn: &mut $conn) -> Result<()> {
                sqlx::query(sqlx::AssertSqlSafe(REFRESH_ALL.as_str()))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            impl $ty {
                /// Does the work migrations left for `open` (`catalog_chores`), once; a
                /// catalog with none left is only read (a read-only user can open it).
                pub(crate) async fn run_chores(&self) -> Result<()> {
                    let pending = sqlx::query("SELECT name FROM catalog_chores")
                        .fetch_optional(&self.pool)
                        .await?
                        .is_some();
                    if !pending {
                        return Ok(());
                    }
                    let mut tx = self.pool.begin().await?;
                    let done =
                        sqlx::query("DELETE FROM catalog_chores WHERE name = 'health_summary'")
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    if done > 0 {
                        refresh_all(&mut tx).await?;
                        tx.commit().await?;
                    }
                    Ok(())
                }

                pub(super) async fn read_health_facts(&self) -> Result<Vec<HealthFacts>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(SUMMARIES_DOC.as_str()))
                        .fetch_one(&self.pool)
                        .await?;
                    let summaries: Option<String> = row.try_get("doc")?;
                    drop(row);
                    let picks = health_doc::summaries(summaries.as_deref())?;
                    drop(summaries);
                    let with_manifest: BTreeSet<&str> = picks
                        .values()
                        .filter(|p| p.needs_manifest)
                        .filter_map(|p| p.usable.as_deref())
                        .collect();
                    let manifests = self.manifests(&with_manifest).await?;
                    Ok(health_doc::facts(picks, manifests))
                }

                /// Stored manifests by backup id.
                async fn manifests(&self, ids: &BTreeSet<&str>) -> Result<HashMap<String, String>> {
                    let ids: Vec<&str> = ids.iter().copied().collect();
                    let mut manifests = HashMap::new();
                    for chunk in ids.chunks(CHUNK) {
                        let sql = format!(
                            "SELECT id, manifest FROM backups
                              WHERE id IN ({}) AND manifest IS NOT NULL",
                            placeholders(chunk.len())
                        );
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for id in chunk {
                            query = query.bind(*id);
                        }
                        for row in query.fetch_all(&self.pool).await? {
                            manifests.insert(row.try_get("id")?, row.try_get("manifest")?);
                        }
                    }
                    Ok(manifests)
                }

                /// Adds copies, warnings and the latest verification that is not a key
                /// drill to backup rows, a few queries per [`CHUNK`] records.
                pub(super) async fn complete_many(
                    &self,
                    mut records: Vec<BackupRecord>,
                ) -> Result<Vec<BackupRecord>> {
                    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
                    let mut copies: HashMap<String, Vec<_>> = HashMap::new();
                    let mut warnings: HashMap<String, Vec<String>> = HashMap::new();
                    let mut verifications: HashMap<String, VerificationRecord> = HashMap::new();
                    for chunk in ids.chunks(CHUNK) {
                        let list = placeholders(chunk.len());
                        let fetch = |sql: String| {
                            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                            for id in chunk {
                                query = query.bind(id.as_str());
                            }
                            query.fetch_all(&self.pool)
                        };
                        for r in fetch(format!(
                            "SELECT backup_id, destination, path, status, size, error
                               FROM copies WHERE backup_id IN ({list})
                              ORDER BY backup_id, destination"
                        ))
                        .await?
                        {
                            let copy = copy_from_row(&r)?;
                            copies
                                .entry(r.try_get("backup_id")?)
                                .or_default()
                                .push(copy);
                        }
                        for r in fetch(format!(
                            "SELECT backup_id, message FROM warnings
                              WHERE backup_id IN ({list}) ORDER BY backup_id, position"
                        ))
                        .await?
                        {
                            let message = r.try_get("message")?;
                            warnings
                                .entry(r.try_get("backup_id")?)
                                .or_default()
                                .push(message);
                        }
                        // Newest first: the first of each backup is its latest.
                        for r in fetch(format!(
                            "SELECT backup_id, level, ok, at FROM verifications
                              WHERE backup_id IN ({list}) AND level <> 'key'
                              ORDER BY backup_id, at DESC"
                        ))
                        .await?
                        {
                            let id: String = r.try_get("backup_id")?;
                            if !verifications.contains_key(&id) {
                                let v = VerificationRecord {
                                    level: r.try_get("level")?,
                                    ok: flag(&r, "ok")?,
                                    at: time(&r, "at")?,
                                };
                                verifications.insert(id, v);
                            }
                        }
                    }
                    for record in &mut records {
                        record.copies = copies.remove(&record.id).unwrap_or_default();
                        record.warnings = warnings.remove(&record.id).unwrap_or_default();
                        record.verification = verifications.remove(&record.id);
                    }
                    Ok(records)
                }
            }
        }
    };
}

pub(crate) use sql_health;

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::{drill_of, proofs, restore_ms};
    use crate::Proof;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minute)
    }

    fn drill(backup: &str, minute: i64, ok: bool, restore_ms: Option<u64>) -> Option<Proof> {
        Some(Proof {
            backup_id: backup.into(),
            at: at(minute),
            ok,
            restore_ms,
        })
    }

    #[test]
    fn the_last_drill_is_the_newer_of_the_failed_and_the_passed_one_and_a_tie_is_a_failure() {
        // (failed, passed, key) → (last drill's backup, last good drill, its restore, key)
        let table = [
            (None, None, None, (None, None, None, None)),
            (
                drill("f", 5, false, None),
                None,
                None,
                (Some("f"), None, None, None),
            ),
            (
                None,
                drill("p", 5, true, Some(1500)),
                Some(at(1)),
                (Some("p"), Some(at(5)), Some(1500), Some(at(1))),
            ),
            (
                drill("f", 4, false, Some(9)),
                drill("p", 5, true, None),
                None,
                (Some("p"), Some(at(5)), None, None),
            ),
            (
                drill("f", 6, false, None),
                drill("p", 5, true, Some(700)),
                None,
                (Some("f"), Some(at(5)), Some(700), None),
            ),
            (
                drill("f", 5, false, None),
                drill("p", 5, true, None),
                None,
                (Some("f"), Some(at(5)), None, None),
            ),
        ];
        for (failed, passed, key, want) in table {
            let got = proofs(failed.clone(), passed.clone(), key);
            let last = got.last_drill.as_ref().map(|d| d.backup_id.as_str());
            let restore = got
                .last_good_drill_restore
                .map(|d| d.num_milliseconds() as u64);
            assert_eq!(
                (last, got.last_good_drill, restore, got.last_good_key),
                want,
                "{failed:?} {passed:?}"
            );
        }
    }

    #[test]
    fn a_drill_the_summary_does_not_name_is_none() {
        assert_eq!(drill_of(None, None, true, None), None);
        assert_eq!(
            drill_of(Some("b".into()), Some(at(1)), true, Some(3)),
            drill("b", 1, true, Some(3))
        );
        assert_eq!(
            drill_of(Some("b".into()), Some(at(1)), true, Some(-3)),
            drill("b", 1, true, None),
            "a negative time is no time"
        );
    }

    #[test]
    fn the_restore_time_is_read_from_a_drills_details_and_nothing_else_is_needed() {
        let table = [
            (
                Some(r#"{"restore_ms":1500,"checks":[{"name":"t","ok":true}]}"#),
                Some(1500),
            ),
            (Some(r#"{"checks":[]}"#), None),
            (Some(r#"{"restore_ms":null}"#), None),
            (Some(r#"{"restore_ms":-3}"#), None),
            (Some("not json"), None),
            (None, None),
        ];
        for (details, want) in table {
            assert_eq!(restore_ms(details.map(str::to_owned)), want, "{details:?}");
        }
    }
}
