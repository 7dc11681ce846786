//! The conformance suite every catalog implementation passes: each record kind round-trips
//! (runs, backups of every status with warnings and copies, verifications, alert state,
//! schedules seen, pruned backups, imports from a manifest), list filters and `--limit`,
//! id prefixes, latest good, proofs, health facts; then the coordination, access, reports and WAL archive parts. Each implementation's tests call `run` on a new, empty
//! catalog (SQLite in a temporary folder, PostgreSQL in a database of its own).

use chrono::{DateTime, Duration, Utc};

mod access;
mod coordination;
mod health;
mod reports;
mod wal;

use crate::{
    AgentRef, BackupEnd, BackupRecord, BackupStart, BackupStatus, Catalog, CopyRecord, CopyStatus,
    ListFilter, NewVerification, RunStatus, VerificationRecord,
};

/// Runs every check against `catalog`, which must be empty. Each check uses sources of its
/// own, so they do not see each other's records. Panics with the failed expectation, as test
/// helpers do.
pub async fn run(catalog: &dyn Catalog) {
    catalog
        .check_writable()
        .await
        .expect("a new catalog is writable");
    assert!(
        catalog.databases().await.expect("databases").is_empty(),
        "the check wrote nothing"
    );
    every_backup_status_round_trips(catalog).await;
    list_filters_order_and_limit(catalog).await;
    get_accepts_a_unique_prefix(catalog).await;
    latest_good_skips_failed_running_and_pruned(catalog).await;
    interrupted_backups_are_marked_failed(catalog).await;
    copies_on_a_destination_and_their_status(catalog).await;
    verifications_and_proofs(catalog).await;
    health::facts_hold_what_status_judges(catalog).await;
    health::facts_follow_every_write(catalog).await;
    alert_state_round_trips(catalog).await;
    schedules_keep_their_first_sighting(catalog).await;
    import_from_a_manifest_is_idempotent(catalog).await;
    skipped_backups_never_look_running(catalog).await;
    coordination::run(catalog).await;
    access::run(catalog).await;
    reports::run(catalog).await;
    wal::run(catalog).await;
}

/// The agent the suite records as.
fn agent() -> AgentRef {
    AgentRef {
        id: "01AGENTA".into(),
        host: "host-a".into(),
    }
}

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a test timestamp")
}

/// A backup to record with `record`.
struct Shape<'a> {
    id: &'a str,
    source: &'a str,
    database: &'a str,
    started: &'a str,
    status: BackupStatus,
    copies: Vec<CopyRecord>,
    warnings: Vec<String>,
    manifest: &'a str,
}

impl<'a> Shape<'a> {
    fn new(id: &'a str, source: &'a str, database: &'a str, started: &'a str) -> Self {
        Shape {
            id,
            source,
            database,
            started,
            status: BackupStatus::Succeeded,
            copies: vec![copy("local", id, CopyStatus::Committed)],
            warnings: Vec::new(),
            manifest: r#"{"id":"x"}"#,
        }
    }

    fn status(mut self, status: BackupStatus) -> Self {
        self.status = status;
        self
    }
}

fn copy(destination: &str, id: &str, status: CopyStatus) -> CopyRecord {
    CopyRecord {
        destination: destination.into(),
        path: format!("pg/db/{id}.dump.zst"),
        status,
        size: (status != CopyStatus::Failed).then_some(4096),
        error: (status == CopyStatus::Failed).then(|| "upload failed: timed out".to_string()),
    }
}

/// Records a run with one backup shaped by `shape`; a `running` backup is only started.
async fn record(catalog: &dyn Catalog, shape: &Shape<'_>) -> BackupRecord {
    let run_id = format!("run-{}", shape.id);
    let started = at(shape.started);
    catalog
        .start_run(&run_id, Some("nightly"), &agent(), started)
        .await
        .expect("start_run");
    catalog
        .start_backup(&BackupStart {
            id: shape.id,
            run_id: &run_id,
            schedule: Some("nightly"),
            source: shape.source,
            engine: "postgres",
            database: shape.database,
            started_at: started,
            agent: &agent(),
        })
        .await
        .expect("start_backup");
    let mut expected = BackupRecord {
        id: shape.id.into(),
        schedule: Some("nightly".into()),
        source: shape.source.into(),
        engine: "postgres".into(),
        database: shape.database.into(),
        status: BackupStatus::Running,
        error: None,
        started_at: started,
        finished_at: None,
        dump_bytes: None,
        stored_bytes: None,
        sha256: None,
        compression: None,
        copies: Vec::new(),
        verification: None,
        warnings: Vec::new(),
        pruned_at: None,
        agent: Some(agent()),
    };
    if shape.status == BackupStatus::Running {
        return expected;
    }
    let failed = shape.status == BackupStatus::Failed;
    let finished = started + Duration::milliseconds(5_250);
    let error = failed.then_some("pg_dump exited 1: boom");
    let stored = (!failed).then_some(4096);
    catalog
        .finish_backup(&BackupEnd {
            id: shape.id,
            status: shape.status,
            error,
            finished_at: finished,
            dump_bytes: Some(1 << 40),
            stored_bytes: stored,
            sha256: Some("ab12"),
            compression: Some("zstd"),
            manifest_json: Some(shape.manifest),
            copies: &shape.copies,
            warnings: &shape.warnings,
            fire: None,
        })
        .await
        .expect("finish_backup");
    catalog
        .finish_run(&run_id, RunStatus::Succeeded, finished)
        .await
        .expect("finish_run");
    let mut copies = shape.copies.clone();
    copies.sort_by(|a, b| a.destination.cmp(&b.destination));
    expected.status = shape.status;
    expected.error = error.map(String::from);
    expected.finished_at = Some(finished);
    expected.dump_bytes = Some(1 << 40);
    expected.stored_bytes = stored;
    expected.sha256 = Some("ab12".into());
    expected.compression = Some("zstd".into());
    expected.copies = copies;
    expected.warnings = shape.warnings.clone();
    expected
}

fn ids(records: &[BackupRecord]) -> Vec<&str> {
    records.iter().map(|b| b.id.as_str()).collect()
}

async fn list(catalog: &dyn Catalog, filter: ListFilter) -> Vec<BackupRecord> {
    catalog.list(&filter).await.expect("list")
}

fn of_source(source: &str) -> ListFilter {
    ListFilter {
        source: Some(source.into()),
        ..ListFilter::default()
    }
}

async fn every_backup_status_round_trips(catalog: &dyn Catalog) {
    let statuses = [
        BackupStatus::Running,
        BackupStatus::Succeeded,
        BackupStatus::Degraded,
        BackupStatus::Failed,
        BackupStatus::Skipped,
    ];
    let mut expected = Vec::new();
    for (i, status) in statuses.into_iter().enumerate() {
        let id = format!("01RT{i}");
        let started = format!("2026-03-0{}T02:00:00.125Z", i + 1);
        let mut shape = Shape::new(&id, "rt", "shop", &started).status(status);
        shape.warnings = vec![format!("warning {i}"), "ünïcode 'quoted' \"too\"".into()];
        shape.copies = vec![
            copy("zeta", &id, CopyStatus::Committed),
            copy("alpha", &id, CopyStatus::Failed),
            copy("mid", &id, CopyStatus::Missing),
        ];
        let record = record(catalog, &shape).await;
        let (stored, manifest) = catalog.get(&id).await.expect("get").expect("recorded");
        assert_eq!(stored, record, "backup {status} round-trips");
        if status == BackupStatus::Running {
            assert_eq!(manifest, None);
        } else {
            assert_eq!(manifest.as_deref(), Some(r#"{"id":"x"}"#));
        }
        assert!(catalog.has_backup(&id).await.expect("has_backup"));
        expected.push(record);
    }
    expected.reverse();
    assert_eq!(
        list(catalog, of_source("rt")).await,
        expected,
        "list returns whole records"
    );
    assert!(!catalog.has_backup("01NOPE").await.expect("has_backup"));
}

async fn list_filters_order_and_limit(catalog: &dyn Catalog) {
    for (id, db, day, status) in [
        ("01LA", "shop", "01", BackupStatus::Succeeded),
        ("01LB", "crm", "02", BackupStatus::Failed),
        ("01LC", "shop", "03", BackupStatus::Succeeded),
        ("01LD", "shop", "03", BackupStatus::Degraded),
        ("01LE", "crm", "04", BackupStatus::Succeeded),
    ] {
        let started = format!("2026-01-{day}T02:00:00Z");
        record(catalog, &Shape::new(id, "lf", db, &started).status(status)).await;
    }
    record(
        catalog,
        &Shape::new("01LX", "lf-other", "shop", "2026-01-05T00:00:00Z"),
    )
    .await;

    let all = list(catalog, of_source("lf")).await;
    assert_eq!(
        ids(&all),
        ["01LE", "01LD", "01LC", "01LB", "01LA"],
        "newest first, id breaks ties"
    );
    let limited = list(
        catalog,
        ListFilter {
            limit: Some(2),
            ..of_source("lf")
        },
    )
    .await;
    assert_eq!(ids(&limited), ["01LE", "01LD"]);
    let shop = list(
        catalog,
        ListFilter {
            database: Some("shop".into()),
            limit: Some(1),
            ..of_source("lf")
        },
    )
    .await;
    assert_eq!(ids(&shop), ["01LD"]);
    let failed = list(
        catalog,
        ListFilter {
            status: Some(BackupStatus::Failed),
            ..of_source("lf")
        },
    )
    .await;
    assert_eq!(ids(&failed), ["01LB"]);
    let every_shop = list(
        catalog,
        ListFilter {
            database: Some("shop".into()),
            ..ListFilter::default()
        },
    )
    .await;
    assert!(
        ids(&every_shop).contains(&"01LX"),
        "no source filter sees every source"
    );
    assert_eq!(
        catalog
            .last_stored_bytes("lf", "crm")
            .await
            .expect("last_stored_bytes"),
        Some(4096)
    );
    assert_eq!(
        catalog
            .last_stored_bytes("lf", "none")
            .await
            .expect("bytes"),
        None
    );

    catalog
        .mark_pruned("01LA", at("2026-02-01T00:00:00Z"), "keep_daily")
        .await
        .expect("mark_pruned");
    assert_eq!(
        ids(&list(catalog, of_source("lf")).await),
        ["01LE", "01LD", "01LC", "01LB"],
        "pruned backups leave list"
    );
    let (pruned, _) = catalog
        .get("01LA")
        .await
        .expect("get")
        .expect("still known");
    assert_eq!(pruned.pruned_at, Some(at("2026-02-01T00:00:00Z")));
    let databases = catalog.databases().await.expect("databases");
    assert!(databases.contains(&("lf".into(), "shop".into())));
    assert!(databases.contains(&("lf".into(), "crm".into())));
    let good = catalog.databases_with_good_backups().await.expect("good");
    assert!(good.contains(&("lf".into(), "crm".into())));
    assert!(good.windows(2).all(|w| w[0] <= w[1]), "pairs are sorted");
}

async fn get_accepts_a_unique_prefix(catalog: &dyn Catalog) {
    record(
        catalog,
        &Shape::new("01PFXA1", "pf", "shop", "2026-01-01T00:00:00Z"),
    )
    .await;
    record(
        catalog,
        &Shape::new("01PFXA2", "pf", "shop", "2026-01-02T00:00:00Z"),
    )
    .await;
    record(
        catalog,
        &Shape::new("01PFXB", "pf", "shop", "2026-01-03T00:00:00Z"),
    )
    .await;
    let id_of = |found: Option<(BackupRecord, Option<String>)>| found.map(|(b, _)| b.id);
    assert_eq!(
        id_of(catalog.get("01PFXB").await.expect("get")).as_deref(),
        Some("01PFXB")
    );
    assert_eq!(
        id_of(catalog.get("01PFXA2").await.expect("get")).as_deref(),
        Some("01PFXA2")
    );
    assert_eq!(
        id_of(catalog.get("01PFXA").await.expect("get")),
        None,
        "ambiguous prefix"
    );
    assert_eq!(
        id_of(catalog.get("01PF%").await.expect("get")),
        None,
        "wildcards are literal"
    );
    assert_eq!(id_of(catalog.get("zzz").await.expect("get")), None);
}

async fn latest_good_skips_failed_running_and_pruned(catalog: &dyn Catalog) {
    assert!(
        catalog
            .latest_good("lg", "shop")
            .await
            .expect("latest")
            .is_none()
    );
    record(
        catalog,
        &Shape::new("01GA", "lg", "shop", "2026-01-01T00:00:00Z"),
    )
    .await;
    let degraded = Shape::new("01GB", "lg", "shop", "2026-01-02T00:00:00Z");
    record(catalog, &degraded.status(BackupStatus::Degraded)).await;
    let pruned = Shape::new("01GC", "lg", "shop", "2026-01-03T00:00:00Z");
    record(catalog, &pruned).await;
    catalog
        .mark_pruned("01GC", at("2026-01-04T00:00:00Z"), "keep_last")
        .await
        .expect("mark_pruned");
    for (id, status) in [
        ("01GD", BackupStatus::Failed),
        ("01GE", BackupStatus::Running),
    ] {
        let started = format!(
            "2026-01-0{}T00:00:00Z",
            if status == BackupStatus::Failed { 5 } else { 6 }
        );
        record(
            catalog,
            &Shape::new(id, "lg", "shop", &started).status(status),
        )
        .await;
    }
    let (latest, manifest) = catalog
        .latest_good("lg", "shop")
        .await
        .expect("latest_good")
        .expect("a good backup");
    assert_eq!(
        latest.id, "01GB",
        "degraded counts, pruned/failed/running do not"
    );
    assert_eq!(manifest.as_deref(), Some(r#"{"id":"x"}"#));
    assert!(
        catalog
            .latest_good("lg", "other")
            .await
            .expect("latest")
            .is_none()
    );
}

async fn interrupted_backups_are_marked_failed(catalog: &dyn Catalog) {
    let running = Shape::new("01IA", "ir", "shop", "2026-01-01T00:00:00Z");
    record(catalog, &running.status(BackupStatus::Running)).await;
    let now = at("2026-01-01T01:00:00Z");
    assert_eq!(
        catalog
            .fail_interrupted("ir", "other", now)
            .await
            .expect("fail"),
        0
    );
    assert_eq!(
        catalog
            .fail_interrupted("ir", "shop", now)
            .await
            .expect("fail"),
        1
    );
    let (b, _) = catalog.get("01IA").await.expect("get").expect("known");
    assert_eq!(b.status, BackupStatus::Failed);
    assert_eq!(b.finished_at, Some(now));
    assert!(b.error.expect("an error").starts_with("interrupted"));
    assert_eq!(
        catalog
            .fail_interrupted("ir", "shop", now)
            .await
            .expect("fail"),
        0
    );
}

async fn copies_on_a_destination_and_their_status(catalog: &dyn Catalog) {
    let mut two = Shape::new("01CA", "cp", "shop", "2026-01-01T00:00:00Z");
    two.copies = vec![
        copy("cp-local", "01CA", CopyStatus::Committed),
        copy("cp-s3", "01CA", CopyStatus::Failed),
    ];
    record(catalog, &two).await;
    let mut gone = Shape::new("01CB", "cp", "shop", "2026-01-02T00:00:00Z");
    gone.copies = vec![copy("cp-local", "01CB", CopyStatus::Committed)];
    record(catalog, &gone).await;
    catalog
        .mark_pruned("01CB", at("2026-01-03T00:00:00Z"), "keep_last")
        .await
        .expect("mark_pruned");
    let on_local = catalog.copies_on("cp-local").await.expect("copies_on");
    assert_eq!(
        on_local,
        [(
            "01CA".to_string(),
            "pg/db/01CA.dump.zst".to_string(),
            CopyStatus::Committed
        )],
        "pruned backups' copies are not listed"
    );
    assert!(
        catalog
            .copies_on("cp-s3")
            .await
            .expect("copies_on")
            .is_empty(),
        "failed copies are not listed"
    );
    catalog
        .set_copy_status("01CA", "cp-local", CopyStatus::Missing)
        .await
        .expect("set_copy_status");
    assert_eq!(
        catalog.copies_on("cp-local").await.expect("copies_on")[0].2,
        CopyStatus::Missing
    );
    catalog
        .set_copy_status("01CA", "cp-local", CopyStatus::Acknowledged)
        .await
        .expect("set_copy_status");
    assert_eq!(
        catalog.copies_on("cp-local").await.expect("copies_on")[0].2,
        CopyStatus::Acknowledged,
        "an acknowledged copy is still listed: audit may find it again"
    );
    catalog
        .set_copy_status("01CA", "cp-local", CopyStatus::Missing)
        .await
        .expect("set_copy_status");
    let (b, _) = catalog.get("01CA").await.expect("get").expect("known");
    let statuses: Vec<_> = b
        .copies
        .iter()
        .map(|c| (c.destination.as_str(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("cp-local", CopyStatus::Missing),
            ("cp-s3", CopyStatus::Failed)
        ]
    );
}

async fn verifications_and_proofs(catalog: &dyn Catalog) {
    record(
        catalog,
        &Shape::new("01VA", "vf", "shop", "2026-01-01T00:00:00Z"),
    )
    .await;
    let none = catalog.proofs("vf", "shop").await.expect("proofs");
    assert_eq!(none, crate::Proofs::default());
    let verify = |level: &'static str, ok: bool, at_text: &'static str, details: &'static str| {
        NewVerification {
            backup_id: "01VA",
            level,
            ok,
            at: at(at_text),
            duration_ms: 1500,
            details,
        }
    };
    for v in [
        verify(
            "drill",
            true,
            "2026-01-02T00:00:00Z",
            r#"{"restore_ms":61000}"#,
        ),
        verify("key", true, "2026-01-03T00:00:00Z", "{}"),
        verify(
            "drill",
            false,
            "2026-01-04T00:00:00Z",
            r#"{"restore_ms":5}"#,
        ),
        verify("structure", true, "2026-01-05T00:00:00Z", "not json"),
        verify("key", false, "2026-01-06T00:00:00Z", "{}"),
    ] {
        catalog
            .record_verification(&v)
            .await
            .expect("record_verification");
    }
    let proofs = catalog.proofs("vf", "shop").await.expect("proofs");
    let last = proofs.last_drill.expect("a drill");
    assert_eq!(
        (last.backup_id.as_str(), last.ok, last.at),
        ("01VA", false, at("2026-01-04T00:00:00Z"))
    );
    assert_eq!(last.restore_ms, Some(5));
    assert_eq!(proofs.last_good_drill, Some(at("2026-01-02T00:00:00Z")));
    assert_eq!(proofs.last_good_drill_restore, Some(Duration::seconds(61)));
    assert_eq!(proofs.last_good_key, Some(at("2026-01-03T00:00:00Z")));
    assert_eq!(
        catalog.proofs("vf", "other").await.expect("proofs"),
        crate::Proofs::default()
    );

    let entries = catalog.verifications("01VA").await.expect("verifications");
    let levels: Vec<_> = entries.iter().map(|v| (v.level.as_str(), v.ok)).collect();
    assert_eq!(
        levels,
        [
            ("key", false),
            ("structure", true),
            ("drill", false),
            ("key", true),
            ("drill", true)
        ],
        "newest first"
    );
    assert_eq!(
        entries[1].details,
        serde_json::Value::Null,
        "unreadable details read as null"
    );
    assert_eq!(entries[4].details["restore_ms"], 61000);
    assert_eq!(entries[4].duration_ms, 1500);
    let (b, _) = catalog.get("01VA").await.expect("get").expect("known");
    assert_eq!(
        b.verification,
        Some(VerificationRecord {
            level: "structure".into(),
            ok: true,
            at: at("2026-01-05T00:00:00Z"),
        }),
        "a backup's verification is its newest one that is not a key drill"
    );
}

async fn alert_state_round_trips(catalog: &dyn Catalog) {
    assert!(
        catalog
            .alert_state("ops")
            .await
            .expect("alert_state")
            .is_empty()
    );
    let firing = [
        ("pg/shop:stale".to_string(), "warning".to_string()),
        ("pg/crm:failed".to_string(), "critical".to_string()),
    ];
    let t1 = at("2026-01-01T00:00:00Z");
    catalog
        .alert_sent("ops", &firing, &[], t1, "01AGENTA")
        .await
        .expect("alert_sent");
    catalog
        .alert_sent("other", &firing[..1], &[], t1, "01AGENTA")
        .await
        .expect("alert_sent");
    let t2 = at("2026-01-02T00:00:00Z");
    let worse = [("pg/shop:stale".to_string(), "critical".to_string())];
    catalog
        .alert_sent(
            "ops",
            &worse,
            &["pg/crm:failed".to_string()],
            t2,
            "01AGENTB",
        )
        .await
        .expect("alert_sent");
    let state = catalog.alert_state("ops").await.expect("alert_state");
    assert_eq!(state.len(), 1, "resolved problems are forgotten: {state:?}");
    assert_eq!(state["pg/shop:stale"], ("critical".to_string(), t2));
    let other = catalog.alert_state("other").await.expect("alert_state");
    assert_eq!(
        other["pg/shop:stale"],
        ("warning".to_string(), t1),
        "channels are separate"
    );
}

async fn schedules_keep_their_first_sighting(catalog: &dyn Catalog) {
    let t1 = at("2026-05-01T00:00:00Z");
    catalog
        .see_schedules(&["weekly", "hourly"], t1)
        .await
        .expect("see_schedules");
    catalog
        .see_schedules(&["weekly", "monthly"], at("2026-05-02T00:00:00Z"))
        .await
        .expect("see_schedules");
    let seen = catalog.first_seen().await.expect("first_seen");
    assert_eq!(seen["weekly"], t1, "a sighting is kept");
    assert_eq!(seen["hourly"], t1);
    assert_eq!(seen["monthly"], at("2026-05-02T00:00:00Z"));
    // `nightly` was never seen, but earlier checks recorded backups of it: its oldest counts.
    assert_eq!(seen["nightly"], at("2026-01-01T00:00:00Z"));
}

async fn import_from_a_manifest_is_idempotent(catalog: &dyn Catalog) {
    let json = r#"{
        "format_version": 1, "id": "01IMPORT", "source": "im", "engine": "postgres",
        "database": "shop", "artifact": "01IMPORT.dump.zst", "server_version": "17.2",
        "dump_tool": "pg_dump", "dump_tool_version": "17.2", "dump_format": "custom",
        "host": "db-host", "started_at": "2026-02-01T02:00:00.500Z",
        "finished_at": "2026-02-01T02:01:00Z", "options": [], "excluded_tables": [],
        "tables": [], "dump_bytes": 5000, "stored_bytes": 1200, "sha256": "cafe",
        "compression": "zstd", "warnings": ["w-a", "w-b"]
    }"#;
    let manifest = dbward_core::Manifest::from_json(json.as_bytes()).expect("a manifest");
    let key = "im/shop/01IMPORT.dump.zst";
    let import = |destination: &'static str| {
        catalog.import(
            &manifest,
            json,
            destination,
            key,
            CopyStatus::Committed,
            Some(1200),
        )
    };
    assert_eq!(import("im-local").await.expect("import"), (true, true));
    assert_eq!(
        import("im-local").await.expect("import"),
        (false, false),
        "idempotent"
    );
    assert_eq!(
        import("im-s3").await.expect("import"),
        (false, true),
        "a second copy"
    );
    let (b, stored) = catalog
        .get("01IMPORT")
        .await
        .expect("get")
        .expect("imported");
    assert_eq!(stored.as_deref(), Some(json));
    assert_eq!(b.status, BackupStatus::Succeeded);
    assert_eq!(
        (b.source.as_str(), b.database.as_str(), b.engine.as_str()),
        ("im", "shop", "postgres")
    );
    assert_eq!(b.started_at, at("2026-02-01T02:00:00.500Z"));
    assert_eq!(b.finished_at, Some(at("2026-02-01T02:01:00Z")));
    assert_eq!((b.dump_bytes, b.stored_bytes), (Some(5000), Some(1200)));
    assert_eq!(b.warnings, ["w-a", "w-b"]);
    let copies: Vec<_> = b
        .copies
        .iter()
        .map(|c| (c.destination.as_str(), c.path.as_str(), c.size))
        .collect();
    assert_eq!(
        copies,
        [("im-local", key, Some(1200)), ("im-s3", key, Some(1200))]
    );
    assert_eq!(
        catalog
            .latest_good("im", "shop")
            .await
            .expect("latest")
            .map(|(b, _)| b.id)
            .as_deref(),
        Some("01IMPORT")
    );
}

async fn skipped_backups_never_look_running(catalog: &dyn Catalog) {
    let started = at("2026-03-01T01:00:00Z");
    catalog
        .start_run("run-skip", Some("nightly"), &agent(), started)
        .await
        .expect("start_run");
    let start = BackupStart {
        id: "01SKIP",
        run_id: "run-skip",
        schedule: Some("nightly"),
        source: "skip",
        engine: "postgres",
        database: "db",
        started_at: started,
        agent: &agent(),
    };
    catalog
        .record_skipped(&start, "skipped: agent 01AGENTB holds it")
        .await
        .expect("record_skipped");
    let (record, _) = catalog.get("01SKIP").await.expect("get").expect("recorded");
    assert_eq!(record.status, BackupStatus::Skipped);
    assert_eq!(record.finished_at, Some(started));
    assert_eq!(
        record.error.as_deref(),
        Some("skipped: agent 01AGENTB holds it")
    );
    assert_eq!(record.agent, Some(agent()));
    assert_eq!(
        catalog
            .fail_interrupted("skip", "db", started)
            .await
            .expect("fail_interrupted"),
        0,
        "a skipped backup is not an interrupted one"
    );
}
