//! Conformance checks of the [`Reports`](crate::Reports) part: failed alert deliveries kept
//! until one succeeds, what every channel was told, destination audits replaced per
//! destination, what each destination holds, drills and a database's manifests.

use super::{Shape, at, copy, record};
use crate::{BackupStatus, Catalog, CopyStatus, DestinationAuditRecord, NewVerification};

pub(super) async fn run(catalog: &dyn Catalog) {
    alert_failures_last_until_told(catalog).await;
    destination_audits_keep_the_newest(catalog).await;
    holdings_count_committed_copies_not_pruned(catalog).await;
    drills_newest_first_with_their_restore_time(catalog).await;
    manifests_of_one_database_newest_first(catalog).await;
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
