//! `SqliteCatalog` against a real file: the conformance suite, privacy of the file, and a
//! catalog from a newer dbward refused untouched.

use dbward_catalog::{Catalog, SqliteCatalog, conformance};
use sqlx::{Connection, SqliteConnection};

#[tokio::test]
async fn sqlite_catalog_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(&dir.path().join("state/catalog.db"))
        .await
        .unwrap();
    conformance::run(&catalog).await;
}

/// A catalog upgraded to version 7 holds history but no summary yet: opening it fills the
/// summary once, from the history, and status then reads what it read before.
#[tokio::test]
async fn opening_an_upgraded_catalog_fills_the_health_summary_from_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let catalog = SqliteCatalog::open(&path).await.unwrap();
    conformance::run(&catalog).await;
    let before = format!("{:?}", catalog.health_facts().await.unwrap());
    assert!(before.len() > 100, "the suite left history: {before}");
    drop(catalog);
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::raw_sql(
        "DELETE FROM health_summary; INSERT INTO catalog_chores (name) VALUES ('health_summary')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let catalog = SqliteCatalog::open(&path).await.unwrap();
    assert_eq!(
        format!("{:?}", catalog.health_facts().await.unwrap()),
        before
    );
}

#[tokio::test]
async fn catalog_file_and_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    SqliteCatalog::open(&dir.path().join("state/catalog.db"))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&dir.path().join("state/catalog.db")), 0o600);
}

#[tokio::test]
async fn a_catalog_from_a_newer_dbward_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    drop(SqliteCatalog::open(&path).await.unwrap());
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let files = || {
        ["catalog.db", "catalog.db-wal"]
            .map(|name| std::fs::read(dir.path().join(name)).unwrap_or_default())
    };
    let before = files();
    let err = SqliteCatalog::open(&path).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "schema version 99, newer than this dbward knows ({})",
            newest_migration()
        )),
        "{err}"
    );
    assert!(err.contains("catalog.db"), "{err}");
    assert!(files() == before, "nothing written");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_an_error_not_a_panic() {
    use dbward_catalog::{Catalog, ListFilter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let catalog = SqliteCatalog::open(&path).await.unwrap();
    let started: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let agent = dbward_catalog::AgentRef {
        id: "01AGENT".into(),
        host: "host".into(),
    };
    catalog.start_run("r", None, &agent, started).await.unwrap();
    catalog
        .start_backup(&dbward_catalog::BackupStart {
            id: "01BAD",
            run_id: "r",
            schedule: None,
            source: "pg",
            engine: "postgres",
            database: "shop",
            started_at: started,
            agent: &agent,
        })
        .await
        .unwrap();
    for (column, value) in [
        ("dump_bytes", "'lots'"),
        ("started_at", "42"),
        ("status", "'exploded'"),
    ] {
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE backups SET dump_bytes = NULL, started_at = '2026-01-01T00:00:00.000Z', \
             status = 'running'; UPDATE backups SET {column} = {value}"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let err = catalog
            .list(&ListFilter::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("catalog query failed") || err.contains("invalid record"),
            "{column}: {err}"
        );
        assert!(catalog.get("01BAD").await.is_err(), "{column}");
    }
}

#[tokio::test]
async fn an_in_memory_stand_in_passes_the_suite_and_keeps_nothing() {
    use dbward_catalog::Catalog;
    let first = SqliteCatalog::in_memory().await.unwrap();
    conformance::run(&first).await;
    assert!(first.has_backup("01IMPORT").await.unwrap());
    let second = SqliteCatalog::in_memory().await.unwrap();
    assert!(!second.has_backup("01IMPORT").await.unwrap());
}

/// The newest schema version this dbward knows: the highest migration number, read from
/// the file names (numbers may have holes while branches add migrations in parallel).
fn newest_migration() -> i64 {
    migration_numbers()
        .into_iter()
        .max()
        .expect("at least one migration")
}

/// The number of every migration file (`0009_wal_files.sql` is 9).
fn migration_numbers() -> Vec<i64> {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("the migrations folder")
        .map(|entry| {
            let name = entry.expect("a migration file").file_name();
            let name = name.to_string_lossy();
            name.split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} does not start with a migration number"))
        })
        .collect()
}
