//! The conformance suite every engine's `Source` and `RestoreTarget` pass together: the
//! inventory counts what a fixture made, both sides count alike, a missing database is an
//! error (never an empty inventory a drill would compare with), and a dump restored under
//! another name has the same inventory and row counts as the database it came from. Each
//! engine's tests call [`run`] against a real server (or file) holding their fixture.

use chrono::Utc;

use crate::manifest::MANIFEST_FORMAT_VERSION;
use crate::restore::RestoreTarget;
use crate::source::{Dump, Source};
use crate::{Error, Manifest, ObjectKind};

/// What the suite runs against.
#[derive(Debug)]
pub struct Fixture<'a> {
    pub source: &'a dyn Source,
    /// A target on the same server (or folder) as `source`.
    pub target: &'a dyn RestoreTarget,
    /// A database of `source` holding the engine's fixture objects.
    pub database: &'a str,
    /// Exact counts of the kinds the fixture made; other kinds are not checked.
    pub objects: &'a [(ObjectKind, u64)],
    /// History rows per system-versioned table the fixture made.
    pub history: &'a [(&'a str, u64)],
    /// A free name the suite restores a copy under, and drops again.
    pub copy: &'a str,
    /// A name no database has.
    pub absent: &'a str,
}

/// Runs every check; panics with the failed expectation, as test helpers do.
pub async fn run(fixture: &Fixture<'_>) {
    inventory_counts_what_the_fixture_made(fixture).await;
    source_and_target_count_alike(fixture).await;
    a_missing_database_is_an_error(fixture).await;
    a_restored_copy_has_the_same_inventory_and_rows(fixture).await;
}

async fn inventory_counts_what_the_fixture_made(f: &Fixture<'_>) {
    let inventory = f.source.inventory(f.database).await.unwrap();
    for (kind, count) in f.objects {
        assert_eq!(
            inventory.count(*kind),
            *count,
            "{} of {}: {inventory:?}",
            kind.as_str(),
            f.database
        );
    }
    let history: Vec<(&str, u64)> = inventory
        .history
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(history, f.history, "history rows of {}", f.database);
}

async fn source_and_target_count_alike(f: &Fixture<'_>) {
    assert_eq!(
        f.source.inventory(f.database).await.unwrap(),
        f.target.inventory(f.database).await.unwrap(),
        "the source and the target count {} differently",
        f.database
    );
}

async fn a_missing_database_is_an_error(f: &Fixture<'_>) {
    let from_source = f.source.inventory(f.absent).await;
    assert!(
        matches!(from_source, Err(Error::DatabaseMissing { .. })),
        "source: {from_source:?}"
    );
    let from_target = f.target.inventory(f.absent).await;
    assert!(from_target.is_err(), "target: {from_target:?}");
}

async fn a_restored_copy_has_the_same_inventory_and_rows(f: &Fixture<'_>) {
    let recorded = f.source.inventory(f.database).await.unwrap();
    let Dump {
        info,
        output,
        completion,
    } = f.source.dump(f.database).await.unwrap();
    let mut manifest = manifest_for(f, &info);
    // The target reads the dump to its end while it loads; only then is it judged.
    let restored = f.target.restore(f.copy, &manifest, output).await;
    let report = completion.finish().await.unwrap();
    restored.unwrap_or_else(|e| panic!("restore of {} into {}: {e}", f.database, f.copy));
    manifest.tables = report.tables;
    let copied = f.target.inventory(f.copy).await;
    let rows = f.target.count_rows(f.copy).await;
    f.target.drop_database(f.copy).await.unwrap();
    let differences = recorded.differences(&copied.unwrap());
    assert!(
        differences.is_empty(),
        "{} restored as {}: {}",
        f.database,
        f.copy,
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert_eq!(rows.unwrap(), manifest.tables, "rows of {}", f.copy);
}

/// The manifest a backup of `f.database` would record, as far as a restore reads it.
fn manifest_for(f: &Fixture<'_>, info: &crate::source::DumpInfo) -> Manifest {
    let now = Utc::now();
    Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        id: "01JCONFORMANCE".into(),
        source: f.source.name().into(),
        engine: f.source.engine(),
        database: f.database.into(),
        artifact: format!("conformance.{}", info.extension),
        server_version: info.server_version.clone(),
        dump_tool: info.tool.clone(),
        dump_tool_version: info.tool_version.clone(),
        dump_format: info.format.clone(),
        host: "conformance".into(),
        started_at: now,
        finished_at: now,
        options: info.options.clone(),
        excluded_tables: vec![],
        excluded_with_data: vec![],
        tables: vec![],
        dump_bytes: 0,
        stored_bytes: 0,
        sha256: String::new(),
        compression: "none".into(),
        compression_level: None,
        encryption: None,
        encryption_recipients: vec![],
        replica_lag_seconds: None,
        database_settings: info.database_settings.clone(),
        warnings: vec![],
        fidelity: Vec::new(),
        inventory: None,
        chunk_size: None,
        chunks: None,
        base_backup: None,
        binlog_position: None,
        globals: None,
        signature: None,
    }
}
