//! The GCS destination against gcp-storage-emulator (a JSON API emulator run as a child
//! process on a loopback port; it checks no credentials, so the destination sends unsigned
//! requests): the conformance suite, a missing bucket and a server that is down.
//!
//! Not covered here: an upload of `part_size` or more. OpenDAL sends it as an XML API
//! multipart upload (`POST /<bucket>/<key>?uploads`, parts, completion), which the emulator
//! does not implement (it answers 501); smaller objects go in one JSON API upload, which
//! it does. Wrong credentials cannot be tested either: the emulator checks none.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_destination::testing::GcsEmulator;
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, conformance};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn gcs_passes_the_conformance_suite() {
    let emulator = GcsEmulator::start("backups");
    let dest = OpenDalDestination::gcs_anonymous(emulator.settings("gcs")).unwrap();
    conformance::run(&dest).await;

    let mut settings = emulator.settings("gcs");
    settings.prefix = "prod/".into();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::gcs_anonymous(settings).unwrap()),
        fast_retries(),
    );
    conformance::run(&dest).await;
    dest.put("a/b.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let listed = dest.list("").await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, "a/b.json");
    assert_eq!(listed[0].size, 2);
    assert!(listed[0].modified.is_some(), "{listed:?}");
    assert_eq!(dest.clean_staging().await.unwrap(), 0);
    assert_eq!(
        dest.location(),
        format!("gs://backups/prod ({})", emulator.endpoint())
    );
}

#[tokio::test]
async fn a_missing_bucket_is_a_clear_error() {
    let emulator = GcsEmulator::start("backups");
    let mut settings = emulator.settings("gcs");
    settings.bucket = "nope".into();
    let dest = OpenDalDestination::gcs_anonymous(settings).unwrap();
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.starts_with("destination gcs: cannot list /:"), "{err}");
    assert!(err.contains("bucket \"nope\" does not exist"), "{err}");
    assert!(err.contains("create it or correct `bucket`"), "{err}");
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination gcs: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("bucket \"nope\" does not exist"), "{err}");
    let mut upload = dest.begin("db/x").await.unwrap();
    upload.write(Bytes::from_static(b"data")).await.unwrap();
    let err = upload.commit().await.unwrap_err().to_string();
    assert!(err.contains("bucket \"nope\" does not exist"), "{err}");
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut emulator = GcsEmulator::start("backups");
    let settings = emulator.settings("gcs");
    emulator.stop();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::gcs_anonymous(settings).unwrap()),
        fast_retries(),
    );
    let started = std::time::Instant::now();
    let err = dest.size("db/x").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.starts_with("destination gcs: cannot stat db/x: cannot reach gs://backups"),
        "{err}"
    );
    assert!(
        err.contains("check the endpoint and that the server is up"),
        "{err}"
    );
    assert!(err.contains("gave up after 3 attempts"), "{err}");
}
