//! The health facts `status` judges (`Catalog::health_facts`): per database, the newest
//! ended, usable and succeeded backup of its window, those with a missing copy, the size
//! baseline, the proofs (drills of pruned backups too) and the manifest only when it may
//! list excluded tables with data or objects the dump could not keep.

use super::{Shape, at, copy, record};
use crate::{BackupStatus, Catalog, CopyStatus, NewVerification, Proofs};

pub(super) async fn facts_hold_what_status_judges(catalog: &dyn Catalog) {
    let with_excluded =
        r#"{"id":"x","encryption":"age-x25519","excluded_with_data":["audit.log"]}"#;
    let mut a = Shape::new("01HA", "hf", "shop", "2026-01-01T00:00:00Z");
    a.manifest = with_excluded;
    let mut b = Shape::new("01HB", "hf", "shop", "2026-01-02T00:00:00Z");
    b.copies.push(copy("offsite", "01HB", CopyStatus::Missing));
    b.copies[1].error = Some("gone: \"404\"\r\nnot found".into());
    b.manifest = with_excluded;
    // Text the catalog must hand back unchanged, whatever it is read through.
    b.warnings = vec![
        "first: \"quoted\", back\\slash\nnew line, tab\t".into(),
        "second: ünïcode ✓, {\"json\": [1]}".into(),
    ];
    let mut c = Shape::new("01HC", "hf", "shop", "2026-01-03T00:00:00Z");
    c.copies = vec![copy("local", "01HC", CopyStatus::Failed)];
    for shape in [
        a,
        b,
        c.status(BackupStatus::Degraded),
        Shape::new("01HD", "hf", "shop", "2026-01-04T00:00:00Z").status(BackupStatus::Failed),
        Shape::new("01HE", "hf", "shop", "2026-01-05T00:00:00Z").status(BackupStatus::Running),
        Shape::new("01HF", "hf", "shop", "2026-01-06T00:00:00Z"),
        Shape::new("01HG", "hf", "crm", "2026-01-01T00:00:00Z"),
        Shape::new("01HH", "hf", "gone", "2026-01-01T00:00:00Z"),
    ] {
        record(catalog, &shape).await;
    }
    for id in ["01HF", "01HH"] {
        catalog
            .mark_pruned(id, at("2026-02-01T00:00:00Z"), "keep_last")
            .await
            .expect("mark_pruned");
    }
    for (id, level, ok, when) in [
        ("01HA", "drill", true, "2026-01-07T00:00:00Z"),
        ("01HB", "drill", false, "2026-01-08T00:00:00Z"),
        ("01HB", "key", true, "2026-01-09T00:00:00Z"),
        ("01HF", "drill", true, "2026-01-10T00:00:00Z"),
    ] {
        catalog
            .record_verification(&NewVerification {
                backup_id: id,
                level,
                ok,
                at: at(when),
                duration_ms: 10,
                details: r#"{"restore_ms":2500}"#,
            })
            .await
            .expect("record_verification");
    }
    let get = async |id: &str| catalog.get(id).await.expect("get").expect("known").0;
    let facts = async || {
        let all = catalog.health_facts().await.expect("health_facts");
        all.into_iter()
            .filter(|f| f.source == "hf")
            .collect::<Vec<_>>()
    };
    let wide = facts().await;
    let names: Vec<_> = wide.iter().map(|f| f.database.as_str()).collect();
    assert_eq!(
        names,
        ["crm", "shop"],
        "databases with a backup not pruned, by name"
    );
    let shop = &wide[1];
    assert_eq!(
        shop.backups,
        [get("01HD").await, get("01HB").await],
        "the newest ended (failed), the newest usable and succeeded one with a missing copy"
    );
    assert_eq!(shop.sizes, [1 << 40, 1 << 40], "succeeded backups' sizes");
    assert_eq!(shop.manifest.as_deref(), Some(with_excluded));
    assert!(
        shop.encrypted,
        "the usable backup's manifest names its encryption"
    );
    assert_eq!(
        shop.proofs,
        catalog.proofs("hf", "shop").await.expect("proofs"),
        "drills of pruned backups count too"
    );
    assert_eq!(
        shop.proofs.last_good_drill,
        Some(at("2026-01-10T00:00:00Z"))
    );
    assert_eq!(wide[0].backups, [get("01HG").await]);
    assert_eq!(
        wide[0].manifest, None,
        "a manifest without excluded tables is not read"
    );
    assert!(!wide[0].encrypted, "a manifest without encryption");
    assert_eq!(wide[0].proofs, Proofs::default());

    // A manifest naming objects the dump could not keep is read as well.
    let with_losses = r#"{"id":"y","fidelity":[{"object":"subscription s","reason":"r"}]}"#;
    let mut lossy = Shape::new("01HX", "hf-fidelity", "lossy", "2026-01-01T00:00:00Z");
    lossy.manifest = with_losses;
    record(catalog, &lossy).await;
    let read: Vec<_> = catalog
        .health_facts()
        .await
        .expect("health_facts")
        .into_iter()
        .filter(|f| f.source == "hf-fidelity")
        .map(|f| f.manifest)
        .collect();
    assert_eq!(read, [Some(with_losses.to_string())]);

    // Thirty newer failed backups push everything usable, succeeded or missing out of the
    // window.
    let ids: Vec<String> = (0..crate::HEALTH_WINDOW)
        .map(|i| format!("01HW{i:02}"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let started = format!("2026-01-{:02}T{:02}:00:00Z", 7 + i / 24, i % 24);
        record(
            catalog,
            &Shape::new(id, "hf", "shop", &started).status(BackupStatus::Failed),
        )
        .await;
    }
    let narrow = facts().await;
    let newest = ids.last().expect("ids");
    assert_eq!(narrow[1].backups, [get(newest).await]);
    assert!(narrow[1].sizes.is_empty() && narrow[1].manifest.is_none());
}

/// Every kind of write reaches the facts: a backup started, ended, skipped, interrupted,
/// pruned, imported, a copy found missing or back, a drill recorded.
pub(super) async fn facts_follow_every_write(catalog: &dyn Catalog) {
    let shop = async || {
        catalog
            .health_facts()
            .await
            .expect("health_facts")
            .into_iter()
            .find(|f| f.source == "fw" && f.database == "shop")
    };
    let ids = async || {
        shop()
            .await
            .map(|f| f.backups.into_iter().map(|b| b.id).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert!(shop().await.is_none(), "no backup, no facts");

    record(
        catalog,
        &Shape::new("01FA", "fw", "shop", "2026-03-01T00:00:00Z"),
    )
    .await;
    assert_eq!(ids().await, ["01FA"], "a backup that ended");

    let running =
        Shape::new("01FB", "fw", "shop", "2026-03-02T00:00:00Z").status(BackupStatus::Running);
    record(catalog, &running).await;
    let failed = catalog
        .fail_interrupted("fw", "shop", at("2026-03-02T01:00:00Z"))
        .await
        .expect("fail_interrupted");
    assert_eq!(failed, 1);
    assert_eq!(
        ids().await,
        ["01FB", "01FA"],
        "interrupted: now the newest that ended"
    );

    catalog
        .set_copy_status("01FA", "local", CopyStatus::Missing)
        .await
        .expect("set_copy_status");
    assert_eq!(
        shop().await.expect("facts").backups[1].copies[0].status,
        CopyStatus::Missing,
        "a copy found gone"
    );
    catalog
        .set_copy_status("01FA", "local", CopyStatus::Committed)
        .await
        .expect("set_copy_status");
    assert_eq!(
        shop().await.expect("facts").backups[1].copies[0].status,
        CopyStatus::Committed,
        "a copy found again"
    );

    catalog
        .record_verification(&NewVerification {
            backup_id: "01FA",
            level: "drill",
            ok: true,
            at: at("2026-03-03T00:00:00Z"),
            duration_ms: 5,
            details: r#"{"restore_ms":1200}"#,
        })
        .await
        .expect("record_verification");
    let proofs = shop().await.expect("facts").proofs;
    assert_eq!(proofs.last_good_drill, Some(at("2026-03-03T00:00:00Z")));
    assert_eq!(
        proofs.last_good_drill_restore,
        Some(chrono::Duration::milliseconds(1200))
    );

    for id in ["01FA", "01FB"] {
        catalog
            .mark_pruned(id, at("2026-04-01T00:00:00Z"), "keep_last")
            .await
            .expect("mark_pruned");
    }
    assert!(shop().await.is_none(), "every backup pruned: no facts");

    let json = r#"{
        "format_version": 1, "id": "01FC", "source": "fw", "engine": "postgres",
        "database": "shop", "artifact": "01FC.dump.zst", "server_version": "17.2",
        "dump_tool": "pg_dump", "dump_tool_version": "17.2", "dump_format": "custom",
        "host": "db-host", "started_at": "2026-04-02T02:00:00Z",
        "finished_at": "2026-04-02T02:01:00Z", "options": [], "excluded_tables": [],
        "tables": [], "dump_bytes": 5000, "stored_bytes": 1200, "sha256": "cafe",
        "compression": "zstd", "warnings": []
    }"#;
    let manifest = dbward_core::Manifest::from_json(json.as_bytes()).expect("a manifest");
    catalog
        .import(
            &manifest,
            json,
            "local",
            "fw/shop/01FC.dump.zst",
            CopyStatus::Committed,
            Some(1200),
        )
        .await
        .expect("import");
    assert_eq!(ids().await, ["01FC"], "a backup found by rebuild");
}
