//! `catalog migrate`: a SQLite catalog with a few hundred backups of every status (copies,
//! warnings, verifications, pruned ones, alert state, schedules) copied into PostgreSQL reads
//! back the same (users, tokens and the audit log too), and a second copy adds nothing.

use chrono::{DateTime, Duration, Utc};
use dbward_catalog::{
    BackupEnd, BackupStart, BackupStatus, Catalog, CopyRecord, CopyStatus, ListFilter,
    NewVerification, PgCatalog, RunStatus, SqliteCatalog, migrate,
};
use dbward_core::secret::SecretString;
use dbward_testkit::PgServer;

const STATUSES: [BackupStatus; 5] = [
    BackupStatus::Running,
    BackupStatus::Succeeded,
    BackupStatus::Degraded,
    BackupStatus::Failed,
    BackupStatus::Skipped,
];

fn agent() -> dbward_catalog::AgentRef {
    dbward_catalog::AgentRef {
        id: "01AGENT".into(),
        host: "host".into(),
    }
}

async fn fill(catalog: &dyn Catalog, backups: usize) {
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    for i in 0..backups {
        let id = format!("01MIG{i:05}");
        let run = format!("run-{i}");
        let at = start + Duration::minutes(i as i64 * 7);
        let status = STATUSES[i % STATUSES.len()];
        let database = format!("db{}", i % 4);
        catalog
            .start_run(&run, Some("nightly"), &agent(), at)
            .await
            .unwrap();
        catalog
            .start_backup(&BackupStart {
                id: &id,
                run_id: &run,
                schedule: Some("nightly"),
                source: "pg",
                engine: "postgres",
                database: &database,
                started_at: at,
                agent: &agent(),
            })
            .await
            .unwrap();
        if status == BackupStatus::Running {
            continue;
        }
        let copies = [
            CopyRecord {
                destination: "local".into(),
                path: format!("pg/{database}/{id}.dump.zst"),
                status: CopyStatus::Committed,
                size: Some(100 + i as u64),
                error: None,
            },
            CopyRecord {
                destination: "s3".into(),
                path: format!("pg/{database}/{id}.dump.zst"),
                status: if i % 3 == 0 {
                    CopyStatus::Failed
                } else {
                    CopyStatus::Missing
                },
                size: None,
                error: Some("timed out".into()),
            },
        ];
        let warnings = vec![format!("warning {i}"), "second".to_string()];
        catalog
            .finish_backup(&BackupEnd {
                id: &id,
                status,
                error: (status == BackupStatus::Failed).then_some("boom"),
                finished_at: at + Duration::seconds(3),
                dump_bytes: Some(1000 + i as u64),
                stored_bytes: Some(100 + i as u64),
                sha256: Some("ab"),
                compression: Some("zstd"),
                manifest_json: Some("{}"),
                copies: &copies,
                warnings: &warnings,
                fire: None,
            })
            .await
            .unwrap();
        catalog
            .finish_run(&run, RunStatus::Succeeded, at + Duration::seconds(3))
            .await
            .unwrap();
        if i % 4 == 1 {
            catalog
                .record_verification(&NewVerification {
                    backup_id: &id,
                    level: if i % 8 == 1 { "drill" } else { "key" },
                    ok: i % 3 != 0,
                    at: at + Duration::hours(1),
                    duration_ms: 42,
                    details: r#"{"restore_ms":1000}"#,
                })
                .await
                .unwrap();
        }
        if i % 10 == 2 {
            catalog
                .mark_pruned(&id, at + Duration::days(9), "keep_last")
                .await
                .unwrap();
        }
    }
    let role = dbward_catalog::Role::Operator;
    assert!(
        catalog
            .add_user("alice", role, "$argon2id$x", start)
            .await
            .unwrap()
    );
    assert!(catalog.add_token("ci", role, "ab12", start).await.unwrap());
    catalog
        .record_action(&dbward_catalog::ActionRecord {
            id: "01ACTION".into(),
            at: start,
            actor_kind: dbward_catalog::ActorKind::User,
            actor: "alice".into(),
            action: "backup".into(),
            target: "pg/db1".into(),
        })
        .await
        .unwrap();
    catalog
        .alert_sent(
            "ops",
            &[("pg/db1:stale".into(), "warning".into())],
            &[],
            start,
            "01AGENT",
        )
        .await
        .unwrap();
    catalog
        .alert_failed("ops", &["pg/db2:failed".into()], "HTTP 502", start)
        .await
        .unwrap();
    catalog
        .record_destination_audit(&dbward_catalog::DestinationAuditRecord {
            destination: "local".into(),
            at: start,
            objects: 10,
            bytes: 4096,
            backups: 5,
            missing: 0,
            problems: false,
            error: None,
        })
        .await
        .unwrap();
    catalog
        .register_agent(&dbward_catalog::AgentInfo {
            agent: agent(),
            version: "0.1.0".into(),
            kind: dbward_catalog::AgentKind::Daemon,
            labels: vec!["eu-west".into()],
            pid: 42,
        })
        .await
        .unwrap();
    catalog
        .bind_source("pg", "postgres://db1:5432", &agent(), false)
        .await
        .unwrap();
    catalog
        .see_schedules(&["nightly", "weekly"], start)
        .await
        .unwrap();
    catalog
        .record_wal_file(&dbward_catalog::WalFileRecord {
            source: "pg".into(),
            name: "000000010000000000000003".into(),
            destination: "local".into(),
            timeline: 1,
            bytes: 16 << 20,
            sha256: "ab".repeat(32),
            archived_at: start,
            host: "host".into(),
        })
        .await
        .unwrap();
}

async fn everything(catalog: &dyn Catalog) -> String {
    let mut out = format!(
        "{:?}\n",
        catalog.list(&ListFilter::default()).await.unwrap()
    );
    for (source, database) in catalog.databases().await.unwrap() {
        out += &format!("{:?}\n", catalog.proofs(&source, &database).await.unwrap());
    }
    out += &format!("{:?}\n", catalog.health_facts().await.unwrap());
    out += &format!("{:?}\n", catalog.get("01MIG00002").await.unwrap());
    out += &format!("{:?}\n", catalog.verifications("01MIG00001").await.unwrap());
    out += &format!("{:?}\n", catalog.alert_state("ops").await.unwrap());
    out += &format!("{:?}\n", catalog.alert_failures().await.unwrap());
    out += &format!("{:?}\n", catalog.destination_audits().await.unwrap());
    out += &format!("{:?}\n", catalog.holdings().await.unwrap());
    out += &format!("{:?}\n", catalog.first_seen().await.unwrap());
    out += &format!("{:?}\n", catalog.agents().await.unwrap());
    out += &format!("{:?}\n", catalog.users().await.unwrap());
    out += &format!("{:?}\n", catalog.user_credentials("alice").await.unwrap());
    out += &format!("{:?}\n", catalog.tokens().await.unwrap());
    out += &format!("{:?}\n", catalog.actions(10).await.unwrap());
    out += &format!("{:?}\n", catalog.wal_files("pg").await.unwrap());
    out
}

#[tokio::test]
async fn a_sqlite_catalog_copied_into_postgres_reads_back_the_same_and_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteCatalog::open(&dir.path().join("catalog.db"))
        .await
        .unwrap();
    fill(&sqlite, 300).await;
    let db = PgServer::shared().create_database("catalog_migrate");
    let pg = PgCatalog::connect(&SecretString::from(db.url()))
        .await
        .unwrap();

    let first = migrate::copy_into(&sqlite, &pg).await.unwrap();
    let counts: Vec<_> = first.iter().map(|t| (t.table, t.rows, t.added)).collect();
    assert_eq!(
        counts,
        [
            ("runs", 300, 300),
            ("backups", 300, 300),
            ("copies", 480, 480),
            ("warnings", 480, 480),
            ("verifications", 60, 60),
            ("schedules", 2, 2),
            ("alert_state", 1, 1),
            ("alert_failures", 1, 1),
            ("destination_audits", 1, 1),
            ("agents", 1, 1),
            ("sources", 1, 1),
            ("users", 1, 1),
            ("api_tokens", 1, 1),
            ("audit_log", 1, 1),
            ("wal_files", 1, 1),
        ]
    );
    assert_eq!(everything(&pg).await, everything(&sqlite).await);

    let again = migrate::copy_into(&sqlite, &pg).await.unwrap();
    assert!(again.iter().all(|t| t.added == 0), "{again:?}");
    assert_eq!(db.sql("SELECT count(*) FROM backups"), "300");
}
