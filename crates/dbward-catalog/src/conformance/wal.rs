//! Conformance checks of the [`WalLog`](crate::WalLog) part: archived WAL files round-trip
//! per destination, recording one again keeps the first record, the newest per source is
//! the newest by archive time, and retention forgets exactly the files it names.

use super::at;
use crate::{Catalog, WalFileRecord};

pub(super) async fn run(catalog: &dyn Catalog) {
    wal_files_round_trip_and_the_newest_is_found(catalog).await;
    forgetting_removes_only_the_named_files_of_one_destination(catalog).await;
}

fn file(source: &str, name: &str, destination: &str, when: &str) -> WalFileRecord {
    WalFileRecord {
        source: source.into(),
        name: name.into(),
        destination: destination.into(),
        timeline: u32::from_str_radix(&name[..8], 16).expect("a timeline"),
        bytes: 16 << 20,
        sha256: format!("{:0>64}", name.len()),
        archived_at: at(when),
        host: "host-a".into(),
    }
}

async fn wal_files_round_trip_and_the_newest_is_found(catalog: &dyn Catalog) {
    let first = file(
        "wa",
        "000000010000000000000001",
        "disk",
        "2026-03-01T00:00:00Z",
    );
    let second = file(
        "wa",
        "000000010000000000000002",
        "disk",
        "2026-03-01T00:05:00Z",
    );
    let second_elsewhere = WalFileRecord {
        destination: "s3".into(),
        archived_at: at("2026-03-01T00:05:01Z"),
        ..second.clone()
    };
    let other_source = file(
        "wb",
        "000000020000000000000009",
        "disk",
        "2026-03-02T00:00:00Z",
    );
    for f in [&second, &first, &second_elsewhere, &other_source] {
        catalog.record_wal_file(f).await.expect("record_wal_file");
    }
    let again = WalFileRecord {
        archived_at: at("2026-03-05T00:00:00Z"),
        ..first.clone()
    };
    catalog
        .record_wal_file(&again)
        .await
        .expect("recording a file again is not an error");
    assert_eq!(
        catalog.wal_files("wa").await.expect("wal_files"),
        [first.clone(), second.clone(), second_elsewhere.clone()],
        "by name then destination; the first record of a file is kept"
    );
    assert_eq!(
        catalog.wal_files("wb").await.expect("wal_files"),
        std::slice::from_ref(&other_source)
    );
    assert!(catalog.wal_files("wc").await.expect("wal_files").is_empty());
    assert_eq!(
        catalog
            .newest_wal_files()
            .await
            .expect("newest_wal_files")
            .into_iter()
            .filter(|f| f.source == "wa" || f.source == "wb")
            .collect::<Vec<_>>(),
        [second_elsewhere, other_source],
        "the newest by archive time, one per source"
    );
}

async fn forgetting_removes_only_the_named_files_of_one_destination(catalog: &dyn Catalog) {
    for (name, destination) in [
        ("000000010000000000000001", "disk"),
        ("000000010000000000000002", "disk"),
        ("000000010000000000000001", "s3"),
    ] {
        catalog
            .record_wal_file(&file("wf", name, destination, "2026-03-01T00:00:00Z"))
            .await
            .expect("record_wal_file");
    }
    let gone = catalog
        .forget_wal_files(
            "wf",
            "disk",
            &[
                "000000010000000000000001".to_string(),
                "00000001000000000000000F".to_string(),
            ],
        )
        .await
        .expect("forget_wal_files");
    assert_eq!(gone, 1, "only the named file that was there");
    let left: Vec<_> = catalog
        .wal_files("wf")
        .await
        .expect("wal_files")
        .into_iter()
        .map(|f| (f.name, f.destination))
        .collect();
    assert_eq!(
        left,
        [
            ("000000010000000000000001".to_string(), "s3".to_string()),
            ("000000010000000000000002".to_string(), "disk".to_string()),
        ]
    );
}
