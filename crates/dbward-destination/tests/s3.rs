//! The S3 destination against a real S3 protocol server (s3s + s3s-fs, in process, over
//! HTTP on loopback, SigV4 with generated keys): the conformance suite, multipart uploads,
//! and the failures an operator meets (wrong keys, missing bucket, server down).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::S3Server;
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, Tuning};

use common::{
    SERVER_DOWN_HINT, a_put_under_the_prefix_lists_plainly, assert_error_names,
    assert_refused_credentials, chunk, commit_shows_and_abort_leaves_nothing,
    conformance_plain_and_prefixed, expect_refused_credentials, expect_unreachable, retrying,
};

#[tokio::test]
async fn s3_passes_the_conformance_suite() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let dest = |prefix: &str| {
        let mut settings = server.settings("offsite", "backups");
        settings.prefix = prefix.into();
        OpenDalDestination::s3(settings).unwrap()
    };
    // Under a prefix too, and through the retry layer.
    let dest = conformance_plain_and_prefixed(dest(""), dest("prod/")).await;
    a_put_under_the_prefix_lists_plainly(
        &dest,
        &format!("s3://backups/prod ({})", server.endpoint()),
    )
    .await;
    assert!(server.root().join("backups/prod/a/b.json").is_file());
}

#[tokio::test]
async fn multipart_upload_round_trips_and_abort_leaves_nothing() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let mut settings = server.settings("offsite", "backups");
    settings.tuning = Tuning {
        part_size: 5 * 1024 * 1024,
        ..Tuning::default()
    };
    let dest = OpenDalDestination::s3(settings).unwrap();

    // 25 MiB + a bit in pipeline-sized chunks: six parts. An aborted upload of three parts
    // leaves no object and no part behind.
    let expected: Vec<u8> = (0..101u64).flat_map(|i| chunk(i, 256 * 1024)).collect();
    commit_shows_and_abort_leaves_nothing(
        &dest,
        "src/db/2026/01/02/x.dump.zst",
        &expected,
        "src/db/2026/01/02/y.dump.zst",
        60 * 256 * 1024,
    )
    .await;
    let leftovers: Vec<_> = std::fs::read_dir(server.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect();
    assert!(leftovers.is_empty(), "parts left: {leftovers:?}");
}

#[tokio::test]
async fn an_upload_past_the_part_limit_is_refused_clearly() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let dest = OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap();
    assert_eq!(dest.max_object_bytes(), 16 * 1024 * 1024 * 10_000);
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_error() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let mut settings = server.settings("offsite", "backups");
    settings.secret_access_key = Some(SecretString::from("not-the-secret".to_string()));
    expect_refused_credentials(
        &retrying(OpenDalDestination::s3(settings).unwrap()),
        "offsite",
        &[
            "SignatureDoesNotMatch",
            "check access_key_id and secret_access_key",
        ],
        Some("not-the-secret"),
    )
    .await;

    let mut settings = server.settings("offsite", "backups");
    settings.access_key_id = Some(SecretString::from("AKUNKNOWN".to_string()));
    let dest = OpenDalDestination::s3(settings).unwrap();
    assert_refused_credentials(&dest.list("").await.unwrap_err().to_string());
}

#[tokio::test]
async fn a_missing_bucket_is_a_clear_error() {
    let server = S3Server::start().await;
    let dest = OpenDalDestination::s3(server.settings("offsite", "nope")).unwrap();
    // (s3s-fs creates a bucket on PUT, unlike real stores: the probe is a listing.)
    let err = dest.list("").await.unwrap_err().to_string();
    assert_error_names(
        &err,
        "destination offsite:",
        &[
            "bucket \"nope\" does not exist",
            "NoSuchBucket",
            "create it or correct `bucket`",
        ],
    );
    // A HEAD answer has no body to name the cause: S3 reports a missing bucket to `size`
    // as a missing object. `check` probes with a write and a listing.
    assert_eq!(dest.size("db/x").await.unwrap(), None);
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut server = S3Server::start().await;
    server.create_bucket("backups");
    server.stop().await;
    let dest = expect_unreachable(
        OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap(),
        "offsite",
        "s3://backups",
        &[SERVER_DOWN_HINT],
    )
    .await;

    let mut upload = dest.begin("db/y", None).await.unwrap();
    upload.write(Bytes::from_static(b"data")).await.unwrap();
    let err = upload.commit().await.unwrap_err().to_string();
    assert!(err.contains("cannot reach"), "{err}");
}

#[tokio::test]
async fn retries_ride_out_a_server_restart() {
    let mut server = S3Server::start().await;
    server.create_bucket("backups");
    let inner = OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap();
    inner
        .put("db/x", Bytes::from_static(b"12345"))
        .await
        .unwrap();
    let dest = Retrying::new(
        Arc::new(inner),
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        },
    );
    server.stop().await;
    let (size, ()) = tokio::join!(dest.size("db/x"), async {
        tokio::time::sleep(Duration::from_millis(250)).await;
        server.resume().await;
    });
    assert_eq!(size.unwrap(), Some(5));
}
