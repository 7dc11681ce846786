//! The catalog against a real SQLite file: a backup's life, filters, interrupted runs.

use super::*;

async fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("state/catalog.db"))
        .await
        .unwrap();
    (dir, catalog)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn record(catalog: &Catalog, id: &str, db: &str, started: &str, status: BackupStatus) {
    catalog
        .start_run(&format!("run-{id}"), None, "host", at(started))
        .await
        .unwrap();
    catalog
        .start_backup(&BackupStart {
            id,
            run_id: &format!("run-{id}"),
            schedule: Some("nightly"),
            source: "pg",
            engine: "postgres",
            database: db,
            started_at: at(started),
        })
        .await
        .unwrap();
    let copies = [CopyRecord {
        destination: "local".into(),
        path: format!("pg/{db}/{id}.dump.zst"),
        status: CopyStatus::Committed,
        size: Some(100),
        error: None,
    }];
    catalog
        .finish_backup(&BackupEnd {
            id,
            status,
            error: (status == BackupStatus::Failed).then_some("pg_dump exited 1: boom"),
            finished_at: at(started) + chrono::Duration::seconds(5),
            dump_bytes: Some(1000),
            stored_bytes: Some(100),
            sha256: Some("ab"),
            compression: Some("zstd"),
            manifest_json: Some("{}"),
            copies: &copies,
            warnings: &["w1".to_string(), "w2".to_string()],
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn catalog_file_and_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _catalog) = catalog().await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&dir.path().join("state/catalog.db")), 0o600);
}

#[tokio::test]
async fn list_is_newest_first_and_filters() {
    let (_dir, catalog) = catalog().await;
    record(
        &catalog,
        "01A",
        "shop",
        "2026-01-01T02:00:00Z",
        BackupStatus::Succeeded,
    )
    .await;
    record(
        &catalog,
        "01B",
        "crm",
        "2026-01-02T02:00:00Z",
        BackupStatus::Failed,
    )
    .await;
    record(
        &catalog,
        "01C",
        "shop",
        "2026-01-03T02:00:00Z",
        BackupStatus::Succeeded,
    )
    .await;

    let all = catalog.list(&ListFilter::default()).await.unwrap();
    let ids: Vec<_> = all.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["01C", "01B", "01A"]);
    assert_eq!(all[1].error.as_deref(), Some("pg_dump exited 1: boom"));
    assert_eq!(all[0].warnings, ["w1", "w2"]);
    assert_eq!(all[0].copies[0].status, CopyStatus::Committed);

    let shop = catalog
        .list(&ListFilter {
            database: Some("shop".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        shop.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["01C"]
    );
    let failed = catalog
        .list(&ListFilter {
            status: Some(BackupStatus::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        failed.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["01B"]
    );
    assert_eq!(
        catalog.last_stored_bytes("pg", "shop").await.unwrap(),
        Some(100)
    );
    assert_eq!(catalog.last_stored_bytes("pg", "nope").await.unwrap(), None);
}

#[tokio::test]
async fn get_accepts_a_unique_prefix() {
    let (_dir, catalog) = catalog().await;
    record(
        &catalog,
        "01ABC",
        "shop",
        "2026-01-01T02:00:00Z",
        BackupStatus::Succeeded,
    )
    .await;
    record(
        &catalog,
        "01ABD",
        "shop",
        "2026-01-02T02:00:00Z",
        BackupStatus::Succeeded,
    )
    .await;
    assert_eq!(catalog.get("01ABC").await.unwrap().unwrap().0.id, "01ABC");
    assert_eq!(
        catalog.get("01ABD").await.unwrap().unwrap().1.as_deref(),
        Some("{}")
    );
    assert!(
        catalog.get("01AB").await.unwrap().is_none(),
        "ambiguous prefix"
    );
    assert!(catalog.get("zzz").await.unwrap().is_none());
}

#[tokio::test]
async fn interrupted_backups_are_marked_failed() {
    let (_dir, catalog) = catalog().await;
    catalog
        .start_run("r", None, "host", at("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    catalog
        .start_backup(&BackupStart {
            id: "01X",
            run_id: "r",
            schedule: None,
            source: "pg",
            engine: "postgres",
            database: "shop",
            started_at: at("2026-01-01T00:00:00Z"),
        })
        .await
        .unwrap();
    assert_eq!(
        catalog
            .fail_interrupted("pg", "other", Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        catalog
            .fail_interrupted("pg", "shop", Utc::now())
            .await
            .unwrap(),
        1
    );
    let (b, _) = catalog.get("01X").await.unwrap().unwrap();
    assert_eq!(b.status, BackupStatus::Failed);
    assert!(b.error.unwrap().starts_with("interrupted"));
}

#[tokio::test]
async fn an_in_memory_stand_in_works_like_a_catalog_and_keeps_nothing() {
    let first = Catalog::in_memory().await.unwrap();
    first.check_writable().await.unwrap();
    // Every query runs on the one connection, so what one writes the next reads.
    record(
        &first,
        "01A",
        "shop",
        "2026-03-01T00:00:00Z",
        BackupStatus::Succeeded,
    )
    .await;
    assert!(first.has_backup("01A").await.unwrap());
    assert!(first.latest_good("pg", "shop").await.unwrap().is_some());
    let second = Catalog::in_memory().await.unwrap();
    assert!(!second.has_backup("01A").await.unwrap());
}

#[tokio::test]
async fn a_file_catalog_is_writable_and_the_check_writes_nothing() {
    let (_dir, catalog) = catalog().await;
    catalog.check_writable().await.unwrap();
    assert!(catalog.databases().await.unwrap().is_empty());
}
