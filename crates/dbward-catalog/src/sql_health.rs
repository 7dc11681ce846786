//! The catalog's reads for `status`, written once for both SQL backends as `sql.rs` is: the
//! health facts of every database in a fixed number of set-based queries, however many
//! databases there are (a per-database loop cost ~100 queries per database), and the batch
//! completion of backup records that `list` and `get` share. Each query walks an index of
//! migration 5 (`backups_live`, `copies_missing`, `verifications_by_database`) a few entries
//! per database instead of reading every backup.

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

/// Per database: the window's cutoff, the ids of the newest backup that ended, the newest
/// usable one and the newest succeeded one, and the newest sizes. $1: window - 1, $2: sizes.
pub(crate) fn picks_query() -> String {
    format!(
        "{LIVE_DATABASES},
        cut AS (SELECT source, database_name,
            (SELECT b.started_at || b.id FROM backups b
              WHERE b.pruned_at IS NULL AND b.source = dbs.source
                AND b.database_name = dbs.database_name
              {NEWEST} LIMIT 1 OFFSET $1) AS cutoff
          FROM dbs)
        SELECT source, database_name, cutoff,
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
                      {NEWEST} LIMIT $2) AS s) AS sizes
          FROM cut"
    )
}

/// Per database: the newest failed drill, passed drill and passed key drill.
pub(crate) fn proofs_query() -> String {
    let newest = |level: &str, ok: u8| {
        format!(
            "(SELECT v.id FROM verifications v
               WHERE v.source = dbs.source AND v.database_name = dbs.database_name
                 AND v.level = '{level}' AND v.ok = {ok}
               ORDER BY v.at DESC LIMIT 1)"
        )
    };
    format!(
        "{LIVE_DATABASES},
        picks AS MATERIALIZED (SELECT {} AS id FROM dbs
            UNION ALL SELECT {} FROM dbs
            UNION ALL SELECT {} FROM dbs)
        SELECT v.source, v.database_name, v.backup_id, v.level, v.ok, v.at, v.details
          FROM picks JOIN verifications v ON v.id = picks.id",
        newest("drill", 0),
        newest("drill", 1),
        newest("key", 1)
    )
}

/// Backups of the window with a copy `audit` found gone.
pub(crate) const MISSING: &str =
    "SELECT b.source, b.database_name, b.id, b.started_at || b.id AS at_id
    FROM copies c JOIN backups b ON b.id = c.backup_id
    WHERE c.status = 'missing' AND b.pruned_at IS NULL";

/// Rows looked up by id at once: few enough for any server's parameter limit.
pub(crate) const CHUNK: usize = 1000;

/// `$1, $2, ..., $n`.
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A verification's restore time, from its recorded details.
pub(crate) fn restore_ms(details: Option<String>) -> Option<u64> {
    details
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|d| d["restore_ms"].as_u64())
}

/// Implements the reads above for `$ty { pool }` (see `sql_catalog!`).
macro_rules! sql_health {
    ($ty:ident) => {
        mod health {
            use std::collections::{BTreeMap, BTreeSet, HashMap};

            use sqlx::Row;

            use super::queries::{backup_from_row, copy_from_row, flag, time};
            use super::$ty;
            use $crate::sql::BACKUP_COLUMNS;
            use $crate::sql_health::{
                CHUNK, MISSING, picks_query, placeholders, proofs_query, restore_ms,
            };
            use $crate::{
                BackupRecord, CatalogError, HealthFacts, Proof, Result, VerificationRecord,
            };

            /// A database: (source, database name).
            type Key = (String, String);

            /// The roles one database's backups play, from `picks_query`.
            struct Picks {
                cutoff: Option<String>,
                ids: Vec<String>,
                usable: Option<String>,
                sizes: Vec<u64>,
            }

            impl $ty {
                pub(super) async fn read_health_facts(
                    &self,
                    window: u32,
                    sizes: u32,
                ) -> Result<Vec<HealthFacts>> {
                    let mut picks: BTreeMap<Key, Picks> = BTreeMap::new();
                    let rows = sqlx::query(sqlx::AssertSqlSafe(picks_query()))
                        .bind(i64::from(window.max(1)) - 1)
                        .bind(i64::from(sizes))
                        .fetch_all(&self.pool)
                        .await?;
                    for r in &rows {
                        let ids: Vec<String> = ["ended", "usable", "succeeded"]
                            .into_iter()
                            .map(|c| r.try_get::<Option<String>, _>(c))
                            .collect::<std::result::Result<Vec<_>, _>>()?
                            .into_iter()
                            .flatten()
                            .collect();
                        let sizes = r
                            .try_get::<Option<String>, _>("sizes")?
                            .unwrap_or_default()
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| {
                                s.parse::<i64>()
                                    .map(|v| v.max(0) as u64)
                                    .map_err(|_| CatalogError::Invalid(format!("dump size {s:?}")))
                            })
                            .collect::<Result<_>>()?;
                        picks.insert(
                            (r.try_get("source")?, r.try_get("database_name")?),
                            Picks {
                                cutoff: r.try_get("cutoff")?,
                                ids,
                                usable: r.try_get("usable")?,
                                sizes,
                            },
                        );
                    }
                    let missing = sqlx::query(MISSING).fetch_all(&self.pool).await?;
                    for r in &missing {
                        let key: Key = (r.try_get("source")?, r.try_get("database_name")?);
                        let at_id: String = r.try_get("at_id")?;
                        if let Some(p) = picks.get_mut(&key)
                            && p.cutoff.as_ref().is_none_or(|c| at_id >= *c)
                        {
                            p.ids.push(r.try_get("id")?);
                        }
                    }
                    let wanted: BTreeSet<&str> = picks
                        .values()
                        .flat_map(|p| p.ids.iter().map(String::as_str))
                        .collect();
                    let mut records = self.records_with_manifests(&wanted).await?;
                    let mut proofs = self.newest_proofs().await?;
                    let mut out = Vec::with_capacity(picks.len());
                    for ((source, database), p) in picks {
                        let ids: BTreeSet<String> = p.ids.into_iter().collect();
                        let mut backups = Vec::with_capacity(ids.len());
                        let mut manifest = None;
                        for (record, stored) in ids.iter().filter_map(|id| records.remove(id)) {
                            if p.usable.as_ref() == Some(&record.id) {
                                manifest = stored;
                            }
                            backups.push(record);
                        }
                        backups.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
                        let proofs = proofs
                            .remove(&(source.clone(), database.clone()))
                            .unwrap_or_default();
                        out.push(HealthFacts {
                            source,
                            database,
                            backups,
                            sizes: p.sizes,
                            proofs,
                            manifest,
                        });
                    }
                    Ok(out)
                }

                /// Complete records by id, each with its manifest when the manifest may
                /// list excluded tables with data (a cheap test that spares reading and
                /// parsing every other manifest).
                async fn records_with_manifests(
                    &self,
                    ids: &BTreeSet<&str>,
                ) -> Result<HashMap<String, (BackupRecord, Option<String>)>> {
                    let ids: Vec<&str> = ids.iter().copied().collect();
                    let mut records = Vec::with_capacity(ids.len());
                    let mut manifests = HashMap::new();
                    for chunk in ids.chunks(CHUNK) {
                        let sql = format!(
                            "SELECT {BACKUP_COLUMNS},
                                 CASE WHEN manifest LIKE '%\"excluded_with_data\"%'
                                      THEN manifest END AS manifest
                               FROM backups WHERE id IN ({})",
                            placeholders(chunk.len())
                        );
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for id in chunk {
                            query = query.bind(*id);
                        }
                        for row in query.fetch_all(&self.pool).await? {
                            let record = backup_from_row(&row)?;
                            let manifest: Option<String> = row.try_get("manifest")?;
                            manifests.insert(record.id.clone(), manifest);
                            records.push(record);
                        }
                    }
                    Ok(self
                        .complete_many(records)
                        .await?
                        .into_iter()
                        .map(|b| {
                            let manifest = manifests.remove(&b.id).flatten();
                            (b.id.clone(), (b, manifest))
                        })
                        .collect())
                }

                /// The proofs of every database with a backup not pruned.
                async fn newest_proofs(&self) -> Result<HashMap<Key, $crate::Proofs>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(proofs_query()))
                        .fetch_all(&self.pool)
                        .await?;
                    let mut out: HashMap<Key, $crate::Proofs> = HashMap::new();
                    for r in &rows {
                        let key: Key = (r.try_get("source")?, r.try_get("database_name")?);
                        let level: String = r.try_get("level")?;
                        let proof = Proof {
                            backup_id: r.try_get("backup_id")?,
                            at: time(r, "at")?,
                            ok: flag(r, "ok")?,
                            restore_ms: restore_ms(r.try_get("details")?),
                        };
                        let proofs = out.entry(key).or_default();
                        if level == "key" {
                            proofs.last_good_key = Some(proof.at);
                            continue;
                        }
                        if proof.ok {
                            proofs.last_good_drill = Some(proof.at);
                            proofs.last_good_drill_restore = proof
                                .restore_ms
                                .map(|ms| chrono::Duration::milliseconds(ms as i64));
                        }
                        if proofs.last_drill.as_ref().is_none_or(|d| proof.at > d.at) {
                            proofs.last_drill = Some(proof);
                        }
                    }
                    Ok(out)
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
