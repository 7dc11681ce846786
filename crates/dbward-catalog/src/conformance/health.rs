//! The health facts `status` judges (`Catalog::health_facts`): per database, the newest
//! ended, usable and succeeded backup of its window, those with a missing copy, the size
//! baseline, the proofs (drills of pruned backups too) and the manifest only when it may
//! list excluded tables with data.

use super::{Shape, at, copy, record};
use crate::{BackupStatus, Catalog, CopyStatus, NewVerification, Proofs};

pub(super) async fn facts_hold_what_status_judges(catalog: &dyn Catalog) {
    let with_excluded = r#"{"id":"x","excluded_with_data":["audit.log"]}"#;
    let mut a = Shape::new("01HA", "hf", "shop", "2026-01-01T00:00:00Z");
    a.manifest = with_excluded;
    let mut b = Shape::new("01HB", "hf", "shop", "2026-01-02T00:00:00Z");
    b.copies.push(copy("offsite", "01HB", CopyStatus::Missing));
    b.manifest = with_excluded;
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
    let facts = |window| async move {
        let all = catalog.health_facts(window, 8).await.expect("health_facts");
        all.into_iter()
            .filter(|f| f.source == "hf")
            .collect::<Vec<_>>()
    };
    let wide = facts(30).await;
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
    assert_eq!(wide[0].proofs, Proofs::default());

    // A window of the newest three (01HE running, 01HD failed, 01HC degraded without a
    // copy): nothing usable or succeeded in it, and 01HB's missing copy is outside.
    let narrow = facts(3).await;
    assert_eq!(narrow[1].backups, [get("01HD").await]);
    assert!(narrow[1].sizes.is_empty() && narrow[1].manifest.is_none());
}
