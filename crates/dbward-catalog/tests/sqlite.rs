//! `SqliteCatalog` against a real file: the conformance suite, privacy of the file, and a
//! catalog from a newer dbward refused untouched.

use dbward_catalog::{SqliteCatalog, conformance};
use sqlx::{Connection, SqliteConnection};

#[tokio::test]
async fn sqlite_catalog_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(&dir.path().join("state/catalog.db"))
        .await
        .unwrap();
    conformance::run(&catalog).await;
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
        err.contains("schema version 99, newer than this dbward knows (3)"),
        "{err}"
    );
    assert!(err.contains("catalog.db"), "{err}");
    assert!(files() == before, "nothing written");
}
