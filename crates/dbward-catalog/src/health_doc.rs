//! `status`'s read of the whole catalog as one JSON document built by the database: the
//! array of summaries, each with the drills it names and the backups it judges (with their
//! copies, warnings and latest verification nested). The backups' part is written into the
//! summary row by the write that changed them (`judged`, migration 12), so the read walks one
//! table: looking thousands of backups and their copies up at read time was most of `status`'s
//! time on PostgreSQL, and a row per summary, backup, copy and proof cost SQLite a hand-off
//! between its worker thread and the caller per row.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::sql_health::{drill_of, proofs};
use crate::{
    AgentRef, BackupRecord, BackupStatus, CatalogError, CopyRecord, CopyStatus, HealthFacts,
    Proofs, Result, VerificationRecord, bytes, parse_time,
};

/// How one backend writes JSON: SQLite's and PostgreSQL's functions take the same arguments
/// under different names.
pub(crate) struct JsonDialect {
    /// Builds an object from alternating keys and values.
    pub object: &'static str,
    /// Aggregates values (with an optional `ORDER BY` inside) into an array.
    pub array: &'static str,
    /// Marks a subquery's or a column's text as JSON, so the enclosing object embeds it as
    /// JSON, not as a quoted string (SQLite keeps JSON as text; PostgreSQL's `json` values
    /// and column need nothing).
    pub nested: &'static str,
}

pub(crate) const SQLITE: JsonDialect = JsonDialect {
    object: "json_object",
    array: "json_group_array",
    nested: "json",
};

pub(crate) const POSTGRES: JsonDialect = JsonDialect {
    object: "json_build_object",
    array: "json_agg",
    nested: "",
};

/// The document: every summary of a database with a backup not pruned, with the newest
/// failed drill, passed drill and passed key drill it keeps (migration 11) and the backups
/// it judges (migration 12).
pub(crate) fn summaries_sql(d: &JsonDialect) -> String {
    let JsonDialect {
        object,
        array,
        nested,
    } = d;
    format!(
        "SELECT CAST({array}({object}(
            'source', h.source, 'database', h.database_name, 'usable', h.usable,
            'sizes', h.sizes, 'usable_excludes', h.usable_excludes,
            'usable_encrypted', h.usable_encrypted,
            'failed_backup', h.drill_failed_backup, 'failed_at', h.drill_failed_at,
            'failed_restore_ms', h.drill_failed_restore_ms,
            'passed_backup', h.drill_passed_backup, 'passed_at', h.drill_passed_at,
            'passed_restore_ms', h.drill_passed_restore_ms,
            'key_at', h.key_passed_at, 'backups', {nested}(h.judged))) AS TEXT) AS doc
        FROM health_summary h
        WHERE h.newest IS NOT NULL"
    )
}

/// CTEs for the summary's refresh, after `cut` and `picks` (see `sql_health::refresh`):
/// `judged(source, database_name, doc)`, per database the complete records of the backups
/// `status` judges (see [`HealthFacts::backups`]) as a JSON array: the newest ended, usable
/// and succeeded backup, and every backup of the window with a copy `audit` found missing.
/// `in_window` is the condition that a backup `b` is inside `cut`'s window.
pub(crate) fn judged_sql(d: &JsonDialect, in_window: &str) -> String {
    let JsonDialect {
        object,
        array,
        nested,
    } = d;
    format!(
        "wanted(source, database_name, id) AS (
            SELECT source, database_name, ended FROM picks
            UNION SELECT source, database_name, usable FROM picks
            UNION SELECT source, database_name, succeeded FROM picks
            UNION SELECT cut.source, cut.database_name, b.id FROM cut
                JOIN backups b ON {in_window}
              WHERE EXISTS (SELECT 1 FROM copies c
                             WHERE c.backup_id = b.id AND c.status = 'missing')),
        judged AS (SELECT wanted.source, wanted.database_name, {array}({object}(
            'id', b.id, 'schedule', b.schedule, 'source', b.source, 'engine', b.engine,
            'database', b.database_name, 'status', b.status, 'error', b.error,
            'started_at', b.started_at, 'finished_at', b.finished_at,
            'dump_bytes', b.dump_bytes, 'stored_bytes', b.stored_bytes, 'sha256', b.sha256,
            'compression', b.compression, 'pruned_at', b.pruned_at,
            'agent_id', b.agent_id, 'host', b.host,
            'copies', {nested}((SELECT {array}({object}('destination', c.destination,
                    'path', c.path, 'status', c.status, 'size', c.size, 'error', c.error)
                  ORDER BY c.destination)
                FROM copies c WHERE c.backup_id = b.id)),
            'warnings', {nested}((SELECT {array}(w.message ORDER BY w.position)
                FROM warnings w WHERE w.backup_id = b.id)),
            'verification', {nested}((SELECT {object}('level', v.level, 'ok', v.ok, 'at', v.at)
                FROM verifications v WHERE v.backup_id = b.id AND v.level <> 'key'
                ORDER BY v.at DESC, v.id DESC LIMIT 1)))) AS doc
          FROM wanted JOIN backups b ON b.id = wanted.id
          GROUP BY wanted.source, wanted.database_name)"
    )
}

#[derive(Deserialize)]
struct Summary {
    source: String,
    database: String,
    usable: Option<String>,
    sizes: Option<String>,
    usable_excludes: i64,
    usable_encrypted: i64,
    failed_backup: Option<String>,
    failed_at: Option<String>,
    failed_restore_ms: Option<i64>,
    passed_backup: Option<String>,
    passed_at: Option<String>,
    passed_restore_ms: Option<i64>,
    key_at: Option<String>,
    backups: Option<Vec<Backup>>,
}

#[derive(Deserialize)]
struct Backup {
    id: String,
    schedule: Option<String>,
    source: String,
    engine: String,
    database: String,
    status: String,
    error: Option<String>,
    started_at: String,
    finished_at: Option<String>,
    dump_bytes: Option<i64>,
    stored_bytes: Option<i64>,
    sha256: Option<String>,
    compression: Option<String>,
    pruned_at: Option<String>,
    agent_id: Option<String>,
    host: Option<String>,
    copies: Option<Vec<Copy>>,
    warnings: Option<Vec<String>>,
    verification: Option<Verification>,
}

#[derive(Deserialize)]
struct Copy {
    destination: String,
    path: String,
    status: String,
    size: Option<i64>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Verification {
    level: String,
    ok: i64,
    at: String,
}

/// A database's summary, decoded: which backup is its usable one, what it says, and the
/// backups `status` judges.
pub(crate) struct Picked {
    pub usable: Option<String>,
    /// The usable backup's manifest may list excluded tables that held data or objects the
    /// dump could not keep: `status` needs the manifest itself.
    pub needs_manifest: bool,
    encrypted: bool,
    sizes: Vec<u64>,
    proofs: Proofs,
    backups: Vec<BackupRecord>,
}

type Key = (String, String);

fn maybe_time(text: Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| parse_time(&t)).transpose()
}

fn document<'a, T: Deserialize<'a>>(what: &str, doc: Option<&'a str>) -> Result<Vec<T>> {
    match doc {
        // An aggregate over no rows is NULL.
        None => Ok(Vec::new()),
        Some(doc) => serde_json::from_str(doc)
            .map_err(|e| CatalogError::Invalid(format!("{what} document: {e}"))),
    }
}

/// Decodes the document of [`summaries_sql`].
pub(crate) fn summaries(doc: Option<&str>) -> Result<BTreeMap<Key, Picked>> {
    let mut out = BTreeMap::new();
    for s in document::<Summary>("summaries", doc)? {
        let sizes = s
            .sizes
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .map(|n| n.max(0) as u64)
                    .map_err(|_| CatalogError::Invalid(format!("dump size {v:?}")))
            })
            .collect::<Result<_>>()?;
        let proofs = proofs(
            drill_of(
                s.failed_backup,
                maybe_time(s.failed_at)?,
                false,
                s.failed_restore_ms,
            ),
            drill_of(
                s.passed_backup,
                maybe_time(s.passed_at)?,
                true,
                s.passed_restore_ms,
            ),
            maybe_time(s.key_at)?,
        );
        let mut backups = s
            .backups
            .unwrap_or_default()
            .into_iter()
            .map(record)
            .collect::<Result<Vec<_>>>()?;
        backups.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        out.insert(
            (s.source, s.database),
            Picked {
                usable: s.usable,
                needs_manifest: s.usable_excludes != 0,
                encrypted: s.usable_encrypted != 0,
                sizes,
                proofs,
                backups,
            },
        );
    }
    Ok(out)
}

fn record(b: Backup) -> Result<BackupRecord> {
    let status = BackupStatus::parse(&b.status)
        .ok_or_else(|| CatalogError::Invalid(format!("backup status {:?}", b.status)))?;
    let copies = b
        .copies
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            Ok(CopyRecord {
                status: CopyStatus::parse(&c.status)
                    .ok_or_else(|| CatalogError::Invalid(format!("copy status {:?}", c.status)))?,
                destination: c.destination,
                path: c.path,
                size: bytes(c.size),
                error: c.error,
            })
        })
        .collect::<Result<_>>()?;
    let verification = b
        .verification
        .map(|v| {
            Ok::<_, CatalogError>(VerificationRecord {
                level: v.level,
                ok: v.ok != 0,
                at: parse_time(&v.at)?,
            })
        })
        .transpose()?;
    Ok(BackupRecord {
        started_at: parse_time(&b.started_at)?,
        finished_at: maybe_time(b.finished_at)?,
        pruned_at: maybe_time(b.pruned_at)?,
        id: b.id,
        schedule: b.schedule,
        source: b.source,
        engine: b.engine,
        database: b.database,
        status,
        error: b.error,
        dump_bytes: bytes(b.dump_bytes),
        stored_bytes: bytes(b.stored_bytes),
        sha256: b.sha256,
        compression: b.compression,
        copies,
        verification,
        warnings: b.warnings.unwrap_or_default(),
        agent: match (b.agent_id, b.host) {
            (Some(id), Some(host)) => Some(AgentRef { id, host }),
            _ => None,
        },
    })
}

/// The decoded summaries with the manifests fetched for the summaries that need theirs.
pub(crate) fn facts(
    picks: BTreeMap<Key, Picked>,
    mut manifests: HashMap<String, String>,
) -> Vec<HealthFacts> {
    picks
        .into_iter()
        .map(|((source, database), p)| HealthFacts {
            manifest: p
                .usable
                .filter(|_| p.needs_manifest)
                .and_then(|id| manifests.remove(&id)),
            source,
            database,
            backups: p.backups,
            sizes: p.sizes,
            proofs: p.proofs,
            encrypted: p.encrypted,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aggregate_over_no_rows_is_no_database() {
        assert!(summaries(None).unwrap().is_empty());
        assert!(facts(BTreeMap::new(), HashMap::new()).is_empty());
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_naming_the_document_not_a_panic() {
        let doc = r#"[{"source":"s","database":"d","usable":null,"sizes":null,
            "usable_excludes":"yes","usable_encrypted":0}]"#;
        let Err(err) = summaries(Some(doc)) else {
            panic!("a flag of the wrong type was accepted")
        };
        assert!(err.to_string().contains("summaries document"), "{err}");
        let doc = r#"[{"source":"s","database":"d","usable":null,"sizes":null,
            "usable_excludes":0,"usable_encrypted":0,
            "backups":[{"id":"b","source":"s","database":"d","engine":"postgres",
            "status":"exploded","started_at":"2026-01-01T00:00:00.000Z"}]}]"#;
        let Err(err) = summaries(Some(doc)) else {
            panic!("an unknown backup status was accepted")
        };
        assert!(err.to_string().contains("exploded"), "{err}");
    }

    #[test]
    fn backups_go_to_their_database_newest_first_with_copies_and_verification() {
        let picks = summaries(Some(
            r#"[{"source":"s","database":"d","usable":"b2","sizes":"10,9",
                "usable_excludes":0,"usable_encrypted":1,
                "passed_backup":"b1","passed_at":"2026-01-02T00:00:00.000Z",
                "passed_restore_ms":2500,
                "backups":[
            {"id":"b1","source":"s","database":"d","engine":"postgres","status":"succeeded",
             "started_at":"2026-01-01T00:00:00.000Z","dump_bytes":9,
             "copies":[{"destination":"local","path":"p1","status":"missing","size":null}],
             "warnings":null,"verification":null},
            {"id":"b2","source":"s","database":"d","engine":"postgres","status":"succeeded",
             "started_at":"2026-01-03T00:00:00.000Z","dump_bytes":10,"agent_id":"a","host":"h",
             "copies":[{"destination":"local","path":"p2","status":"committed","size":4}],
             "warnings":["w"],"verification":{"level":"checksum","ok":0,
             "at":"2026-01-04T00:00:00.000Z"}}]},
              {"source":"s","database":"e","usable":null,"sizes":null,
               "usable_excludes":0,"usable_encrypted":0,"backups":null}]"#,
        ))
        .unwrap();
        let facts = facts(picks, HashMap::new());
        assert_eq!(facts.len(), 2);
        let f = &facts[0];
        let ids: Vec<&str> = f.backups.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["b2", "b1"]);
        assert_eq!(f.sizes, [10, 9]);
        assert!(f.encrypted);
        assert_eq!(
            f.proofs.last_good_drill_restore.unwrap().num_milliseconds(),
            2500
        );
        let newest = &f.backups[0];
        assert_eq!(newest.copies[0].status, CopyStatus::Committed);
        assert_eq!(newest.copies[0].size, Some(4));
        assert_eq!(newest.warnings, ["w"]);
        assert!(!newest.verification.as_ref().unwrap().ok);
        assert_eq!(newest.agent.as_ref().unwrap().host, "h");
        assert_eq!(f.backups[1].copies[0].status, CopyStatus::Missing);
        assert_eq!(facts[1].database, "e");
        assert!(facts[1].backups.is_empty());
    }
}
