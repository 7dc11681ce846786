//! Helpers shared by the PostgreSQL test files.

use dbward_core::manifest::MANIFEST_FORMAT_VERSION;
use dbward_core::source::Source;
use dbward_core::{Engine, Manifest};
use dbward_source_postgres::{PostgresSettings, PostgresSource};
use tokio::io::AsyncReadExt;

/// Dumps `database` with the source and returns the dump with the manifest a backup records.
pub async fn dump(settings: PostgresSettings, database: &str) -> (Vec<u8>, Manifest) {
    let mut dump = PostgresSource::new(settings).dump(database).await.unwrap();
    let mut bytes = Vec::new();
    dump.output.read_to_end(&mut bytes).await.unwrap();
    let report = dump.completion.finish().await.unwrap();
    let now = "2026-01-01T02:00:00Z".parse().unwrap();
    let manifest = Manifest {
        format_version: MANIFEST_FORMAT_VERSION,
        id: "01JTESTRESTORE".into(),
        source: "test-pg".into(),
        engine: Engine::Postgres,
        database: database.into(),
        artifact: format!("x.{}", dump.info.extension),
        server_version: dump.info.server_version.clone(),
        dump_tool: dump.info.tool.clone(),
        dump_tool_version: dump.info.tool_version.clone(),
        dump_format: dump.info.format.clone(),
        host: "test".into(),
        started_at: now,
        finished_at: now,
        options: dump.info.options.clone(),
        excluded_tables: report.excluded_tables,
        tables: report.tables,
        dump_bytes: bytes.len() as u64,
        stored_bytes: bytes.len() as u64,
        sha256: String::new(),
        compression: "none".into(),
        compression_level: None,
        encryption: None,
        encryption_recipients: vec![],
        replica_lag_seconds: report.replica_lag_seconds,
        warnings: report.warnings,
        database_settings: dump.info.database_settings.clone(),
        excluded_with_data: report.excluded_with_data,
        chunk_size: None,
        chunks: None,
        fidelity: Vec::new(),
        inventory: None,
        base_backup: None,
        binlog_position: None,
        globals: None,
        signature: None,
    };
    (bytes, manifest)
}
