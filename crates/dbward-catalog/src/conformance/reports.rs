//! Conformance checks of the [`Reports`](crate::Reports) part: failed alert deliveries kept
//! until one succeeds, what every channel was told, destination audits replaced per
//! destination, what each destination holds, drills, a database's manifests, and the
//! histories of many databases read at once matching `list` and `proofs` of each.

use super::{Shape, at, copy, record};
use crate::{BackupStatus, Catalog, CopyStatus, DestinationAuditRecord, NewVerification};

pub(super) async fn run(catalog: &dyn Catalog) {
    alert_failures_last_until_told(catalog).await;
    destination_audits_keep_the_newest(catalog).await;
    holdings_count_committed_copies_not_pruned(catalog).await;
    drills_newest_first_with_their_restore_time(catalog).await;
    manifests_of_one_database_newest_first(catalog).await;
    histories_are_list_and_proofs_of_each_database_at_once(catalog).await;
}

/// `histories` gives each database what `list` (with the health window) and `proofs` give
/// it alone: the window cut, pruned backups left out, copies, warnings and verifications
/// filled in, the newest failed and passed drills and key drills, across chunks of databases
/// and for unknown ones an empty history.
async fn histories_are_list_and_proofs_of_each_database_at_once(catalog: &dyn Catalog) {
    let window = crate::HEALTH_WINDOW as usize;
    // "rh"/"shop": more backups than the window, one of the newest pruned, with warnings.
    let ids: Vec<String> = (0..window + 3).map(|i| format!("01RH{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let started = format!("2026-03-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24);
        let mut shape = Shape::new(id, "rh", "shop", &started);
        if i % 7 == 0 {
            shape = shape.status(BackupStatus::Failed);
        }
        shape.warnings = vec![format!("warning of {id}")];
        record(catalog, &shape).await;
    }
    catalog
        .mark_pruned(&ids[window + 1], at("2026-04-01T00:00:00Z"), "keep_last")
        .await
        .expect("mark_pruned");
    // "rh"/"crm": two backups, drills failed and passed, a key drill, a checksum.
    record(
        catalog,
        &Shape::new("01RHCA", "rh", "crm", "2026-03-01T00:00:00Z"),
    )
    .await;
    record(
        catalog,
        &Shape::new("01RHCB", "rh", "crm", "2026-03-02T00:00:00Z"),
    )
    .await;
    for (backup, when, level, ok, details) in [
        (
            "01RHCA",
            "2026-03-03T01:00:00Z",
            "drill",
            true,
            r#"{"restore_ms":900}"#,
        ),
        ("01RHCB", "2026-03-03T02:00:00Z", "drill", false, "{}"),
        ("01RHCB", "2026-03-03T03:00:00Z", "key", true, "{}"),
        ("01RHCB", "2026-03-03T04:00:00Z", "checksum", true, "{}"),
        (
            &ids[window + 2],
            "2026-03-04T00:00:00Z",
            "drill",
            true,
            r#"{"restore_ms":7}"#,
        ),
    ] {
        catalog
            .record_verification(&NewVerification {
                backup_id: backup,
                level,
                ok,
                at: at(when),
                duration_ms: 1000,
                details,
            })
            .await
            .expect("record_verification");
    }
    // Many unknown databases between them, so that the known ones fall in different chunks.
    let mut asked = vec![
        ("rh".to_string(), "shop".to_string()),
        ("rh".to_string(), "crm".to_string()),
    ];
    asked.extend((0..1200).map(|i| ("rh".to_string(), format!("db{i:04}"))));
    asked.push(("rh".to_string(), "zz-shop".to_string()));
    record(
        catalog,
        &Shape::new("01RHZ", "rh", "zz-shop", "2026-03-05T00:00:00Z"),
    )
    .await;
    let histories = catalog.histories(&asked).await.expect("histories");
    assert_eq!(
        histories.len(),
        asked.len(),
        "one history per database asked"
    );
    for (source, database) in [
        ("rh", "shop"),
        ("rh", "crm"),
        ("rh", "zz-shop"),
        ("rh", "db0600"),
    ] {
        let history = &histories[&(source.to_string(), database.to_string())];
        let listed = catalog
            .list(&crate::ListFilter {
                source: Some(source.into()),
                database: Some(database.into()),
                status: None,
                limit: Some(crate::HEALTH_WINDOW),
            })
            .await
            .expect("list");
        assert_eq!(
            history.backups, listed,
            "{source}/{database}: the backups of list"
        );
        let proofs = catalog.proofs(source, database).await.expect("proofs");
        assert_eq!(history.proofs, proofs, "{source}/{database}: its proofs");
    }
    let shop = &histories[&("rh".to_string(), "shop".to_string())];
    assert_eq!(shop.backups.len(), window, "the window cuts");
    assert!(
        shop.backups.iter().all(|b| b.id != ids[window + 1]),
        "no pruned backup"
    );
    assert_eq!(shop.backups[0].id, ids[window + 2], "newest first");
    assert!(shop.backups[0].verification.is_some() && !shop.backups[0].warnings.is_empty());
    assert_eq!(
        shop.proofs.last_good_drill,
        Some(at("2026-03-04T00:00:00Z"))
    );
    let crm = &histories[&("rh".to_string(), "crm".to_string())];
    assert_eq!(crm.backups.len(), 2);
    assert_eq!(
        crm.proofs.last_drill.as_ref().map(|p| (p.at, p.ok)),
        Some((at("2026-03-03T02:00:00Z"), false))
    );
    assert_eq!(crm.proofs.last_good_drill, Some(at("2026-03-03T01:00:00Z")));
    assert_eq!(
        crm.proofs.last_good_drill_restore,
        Some(chrono::Duration::milliseconds(900))
    );
    assert_eq!(crm.proofs.last_good_key, Some(at("2026-03-03T03:00:00Z")));
    let unknown = &histories[&("rh".to_string(), "db0600".to_string())];
    assert!(unknown.backups.is_empty() && *unknown == crate::History::default());
    assert!(
        catalog.histories(&[]).await.expect("histories").is_empty(),
        "nothing asked, nothing read"
    );
}

async fn manifests_of_one_database_newest_first(catalog: &dyn Catalog) {
    let mut old = Shape::new("01RMA", "rm", "shop", "2026-02-01T00:00:00Z");
    old.manifest = r#"{"id":"01RMA"}"#;
    let mut new = Shape::new("01RMC", "rm", "shop", "2026-02-03T00:00:00Z");
    new.manifest = r#"{"id":"01RMC"}"#;
    let mut gone = Shape::new("01RMB", "rm", "shop", "2026-02-02T00:00:00Z");
    gone.manifest = r#"{"id":"01RMB"}"#;
    for shape in [
        old,
        gone,
        new,
        Shape::new("01RMD", "rm", "shop", "2026-02-04T00:00:00Z").status(BackupStatus::Running),
        Shape::new("01RME", "rm", "crm", "2026-02-05T00:00:00Z"),
    ] {
        record(catalog, &shape).await;
    }
    catalog
        .mark_pruned("01RMB", at("2026-03-01T00:00:00Z"), "keep_last")
        .await
        .expect("mark_pruned");
    let got = catalog
        .manifests("rm", "shop", 10)
        .await
        .expect("manifests");
    assert_eq!(
        got,
        [
            ("01RMC".to_string(), r#"{"id":"01RMC"}"#.to_string()),
            ("01RMA".to_string(), r#"{"id":"01RMA"}"#.to_string()),
        ],
        "this database's manifests, newest first, without pruned backups or running ones (no manifest yet)"
    );
    let one = catalog.manifests("rm", "shop", 1).await.expect("manifests");
    assert_eq!(one.len(), 1, "the limit holds");
    assert!(
        catalog
            .manifests("rm", "nope", 10)
            .await
            .expect("manifests")
            .is_empty()
    );
}

async fn drills_newest_first_with_their_restore_time(catalog: &dyn Catalog) {
    record(
        catalog,
        &Shape::new("01RDA", "rd", "shop", "2026-02-01T00:00:00Z"),
    )
    .await;
    for (when, level, ok, details) in [
        (
            "2026-02-01T01:00:00Z",
            "drill",
            true,
            r#"{"restore_ms":1200}"#,
        ),
        ("2026-02-01T02:00:00Z", "checksum", true, "{}"),
        (
            "2026-02-01T03:00:00Z",
            "drill",
            false,
            r#"{"error":"restore failed"}"#,
        ),
    ] {
        catalog
            .record_verification(&NewVerification {
                backup_id: "01RDA",
                level,
                ok,
                at: at(when),
                duration_ms: 2000,
                details,
            })
            .await
            .expect("record_verification");
    }
    let drills = catalog.drills("rd", "shop", 10).await.expect("drills");
    let got: Vec<_> = drills
        .iter()
        .map(|d| (d.at, d.ok, d.duration_ms, d.restore_ms))
        .collect();
    assert_eq!(
        got,
        [
            (at("2026-02-01T03:00:00Z"), false, Some(2000), None),
            (at("2026-02-01T01:00:00Z"), true, Some(2000), Some(1200)),
        ],
        "drills only, newest first"
    );
    assert_eq!(
        catalog.drills("rd", "shop", 1).await.expect("drills").len(),
        1
    );
    assert!(
        catalog
            .drills("rd", "crm", 10)
            .await
            .expect("drills")
            .is_empty()
    );
}

async fn alert_failures_last_until_told(catalog: &dyn Catalog) {
    let key = "failed|rp|shop|-".to_string();
    let other = "stale|rp|crm|-".to_string();
    let t1 = at("2026-02-01T00:00:00Z");
    let t2 = at("2026-02-01T01:00:00Z");
    catalog
        .alert_failed("rp-hook", &[key.clone(), other.clone()], "HTTP 500", t1)
        .await
        .expect("alert_failed");
    catalog
        .alert_failed("rp-hook", std::slice::from_ref(&key), "timed out", t2)
        .await
        .expect("alert_failed");
    let failures: Vec<_> = catalog
        .alert_failures()
        .await
        .expect("alert_failures")
        .into_iter()
        .filter(|f| f.channel == "rp-hook")
        .map(|f| (f.problem, f.at, f.error))
        .collect();
    assert_eq!(
        failures,
        [
            (key.clone(), t2, "timed out".to_string()),
            (other.clone(), t1, "HTTP 500".to_string()),
        ],
        "the newest failure per problem"
    );
    catalog
        .alert_sent(
            "rp-hook",
            &[(key.clone(), "critical".to_string())],
            std::slice::from_ref(&other),
            t2,
            "01AGENTA",
        )
        .await
        .expect("alert_sent");
    assert!(
        catalog
            .alert_failures()
            .await
            .expect("alert_failures")
            .iter()
            .all(|f| f.channel != "rp-hook"),
        "a problem told (or resolved) forgets its failed delivery"
    );
    let told: Vec<_> = catalog
        .alerts_told()
        .await
        .expect("alerts_told")
        .into_iter()
        .filter(|t| t.channel == "rp-hook")
        .map(|t| (t.problem, t.severity, t.at))
        .collect();
    assert_eq!(told, [(key, "critical".to_string(), t2)]);
}

async fn destination_audits_keep_the_newest(catalog: &dyn Catalog) {
    let first = DestinationAuditRecord {
        destination: "rp-offsite".into(),
        at: at("2026-02-02T00:00:00Z"),
        objects: 4,
        bytes: 8192,
        backups: 2,
        missing: 1,
        problems: true,
        error: None,
    };
    catalog
        .record_destination_audit(&first)
        .await
        .expect("record_destination_audit");
    let newer = DestinationAuditRecord {
        at: at("2026-02-03T00:00:00Z"),
        objects: 0,
        bytes: 0,
        backups: 0,
        missing: 0,
        error: Some("cannot list: access denied".into()),
        ..first.clone()
    };
    catalog
        .record_destination_audit(&newer)
        .await
        .expect("record_destination_audit");
    let audits: Vec<_> = catalog
        .destination_audits()
        .await
        .expect("destination_audits")
        .into_iter()
        .filter(|a| a.destination == "rp-offsite")
        .collect();
    assert_eq!(audits, [newer]);
}

async fn holdings_count_committed_copies_not_pruned(catalog: &dyn Catalog) {
    for (id, started, status) in [
        ("01RPA", "2026-02-01T00:00:00Z", CopyStatus::Committed),
        ("01RPB", "2026-02-02T00:00:00Z", CopyStatus::Committed),
        ("01RPC", "2026-02-03T00:00:00Z", CopyStatus::Missing),
        ("01RPD", "2026-02-04T00:00:00Z", CopyStatus::Committed),
    ] {
        let mut shape = Shape::new(id, "rp", "shop", started);
        shape.copies = vec![copy("rp-store", id, status)];
        record(catalog, &shape).await;
    }
    catalog
        .mark_pruned("01RPD", at("2026-02-05T00:00:00Z"), "keep_last")
        .await
        .expect("mark_pruned");
    let holding = catalog
        .holdings()
        .await
        .expect("holdings")
        .into_iter()
        .find(|h| h.destination == "rp-store")
        .expect("rp-store holds copies");
    assert_eq!(
        (holding.copies, holding.bytes, holding.newest),
        (2, 2 * 4096, Some(at("2026-02-02T00:00:00Z"))),
        "committed copies of backups not pruned"
    );
}
