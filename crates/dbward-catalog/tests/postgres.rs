//! `PgCatalog` against the test kit's PostgreSQL, each test in a database of its own: the
//! conformance suite, a newer schema refused untouched, and connection errors that name the
//! server but never the password.

use dbward_catalog::{PgCatalog, conformance};
use dbward_core::secret::SecretString;
use dbward_testkit::PgServer;

fn url(text: String) -> SecretString {
    SecretString::from(text)
}

#[tokio::test]
async fn pg_catalog_passes_the_conformance_suite() {
    let db = PgServer::shared().create_database("catalog_conf");
    let catalog = PgCatalog::connect(&url(db.url())).await.unwrap();
    conformance::run(&catalog).await;
    // Opening again finds the schema current and keeps the records.
    let again = PgCatalog::connect(&url(db.url())).await.unwrap();
    use dbward_catalog::Catalog;
    assert!(again.has_backup("01IMPORT").await.unwrap());
}

#[tokio::test]
async fn a_pg_catalog_from_a_newer_dbward_is_refused_untouched() {
    let db = PgServer::shared().create_database("catalog_newer");
    drop(PgCatalog::connect(&url(db.url())).await.unwrap());
    db.sql(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', true, '\\x00', 0)",
    );
    let count = "SELECT count(*) FROM _sqlx_migrations";
    let before = db.sql(count);
    let err = PgCatalog::connect(&url(db.url()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "schema version 99, newer than this dbward knows ({})",
            newest_migration()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("/{}", db.name)),
        "names the database: {err}"
    );
    assert_eq!(db.sql(count), before);
}

#[tokio::test]
async fn a_wrong_password_is_one_line_naming_the_server_not_the_password() {
    let pg = PgServer::shared();
    let db = pg.create_database("catalog_auth");
    let wrong = pg.with_password("not-the-password-4711");
    let err = PgCatalog::connect(&url(wrong.url(&db.name)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains("check the user and password in [catalog] url"),
        "{err}"
    );
    assert!(err.contains(&format!("/{}", db.name)), "{err}");
    assert!(!err.contains("not-the-password-4711"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    let port = dbward_testkit::free_port();
    let err = PgCatalog::connect(&url(format!(
        "postgres://dbward:s3cret-pw@127.0.0.1:{port}/catalog"
    )))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "catalog postgres://dbward@127.0.0.1:{port}/catalog: cannot reach the server"
        )),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "{err}");
}

#[tokio::test]
async fn a_user_without_privileges_is_told_what_to_grant() {
    let pg = PgServer::shared();
    let db = pg.create_database("catalog_priv");
    let user = format!("{}_ro", db.name);
    db.sql(&format!(
        "CREATE ROLE {user} LOGIN PASSWORD 'ro-pass'; REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
         GRANT CONNECT ON DATABASE {} TO {user}",
        db.name
    ));
    let admin = db.url();
    let (_, at_host) = admin.split_once('@').unwrap();
    let err = PgCatalog::connect(&url(format!("postgres://{user}:ro-pass@{at_host}")))
        .await
        .unwrap_err()
        .to_string();
    db.sql(&format!("DROP OWNED BY {user}; DROP ROLE {user}"));
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("CREATE on its schema"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_opening_a_new_shared_catalog_at_once_all_succeed() {
    let db = PgServer::shared().create_database("catalog_race");
    let opens = (0..4).map(|_| {
        let url = url(db.url());
        tokio::spawn(async move { PgCatalog::connect(&url).await.map(drop) })
    });
    for open in opens {
        open.await.unwrap().expect("every host opens the catalog");
    }
    assert_eq!(
        db.sql("SELECT count(*) FROM _sqlx_migrations"),
        migration_numbers().len().to_string(),
        "every migration applied once"
    );
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
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
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

/// Another host's write of one database still uncommitted while this one records a drill of
/// it: this refresh waits for that commit and then sees it, so the summary ends with the
/// newest drill of both, not with a view taken before the other's commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_waiting_for_another_leaves_the_health_summary_current() {
    use chrono::{DateTime, Duration, Utc};
    use dbward_catalog::{
        AgentRef, BackupEnd, BackupStart, BackupStatus, Catalog, CopyRecord, CopyStatus,
        NewVerification,
    };
    use sqlx::Connection;
    let db = PgServer::shared().create_database("catalog_summary_race");
    let catalog = PgCatalog::connect(&url(db.url())).await.unwrap();
    let start: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let agent = AgentRef {
        id: "01AGENT".into(),
        host: "host".into(),
    };
    catalog
        .start_run("run-race", None, &agent, start)
        .await
        .unwrap();
    catalog
        .start_backup(&BackupStart {
            id: "01RACE",
            run_id: "run-race",
            schedule: None,
            source: "pg",
            engine: "postgres",
            database: "shop",
            started_at: start,
            agent: &agent,
        })
        .await
        .unwrap();
    let copies = [CopyRecord {
        destination: "local".into(),
        path: "pg/shop/01RACE.dump.zst".into(),
        status: CopyStatus::Committed,
        size: Some(10),
        error: None,
    }];
    catalog
        .finish_backup(&BackupEnd {
            id: "01RACE",
            status: BackupStatus::Succeeded,
            error: None,
            finished_at: start,
            dump_bytes: Some(10),
            stored_bytes: Some(10),
            sha256: Some("ab"),
            compression: Some("zstd"),
            manifest_json: Some("{}"),
            copies: &copies,
            warnings: &[],
            fire: None,
        })
        .await
        .unwrap();

    // The other host: its drill (the newest) recorded, the summary row taken, not committed.
    let mut other = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO verifications (id, backup_id, level, ok, at, duration_ms, details, source,
             database_name)
         VALUES ('01OTHER', '01RACE', 'drill', 1, '2026-06-01T03:00:00.000Z', 1, '{}', 'pg', 'shop')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE health_summary SET source = source WHERE source = 'pg'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let ours = tokio::spawn({
        let catalog = catalog.clone();
        async move {
            catalog
                .record_verification(&NewVerification {
                    backup_id: "01RACE",
                    level: "drill",
                    ok: true,
                    at: start + Duration::hours(1),
                    duration_ms: 1,
                    details: "{}",
                })
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!ours.is_finished(), "our write waits for the other's");
    tx.commit().await.unwrap();
    ours.await.unwrap().unwrap();
    let facts = catalog.health_facts().await.unwrap();
    assert_eq!(
        facts[0].proofs.last_good_drill,
        Some(start + Duration::hours(3)),
        "the other host's newer drill, committed while ours waited"
    );
}
