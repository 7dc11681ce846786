//! The GCS destination against gcp-storage-emulator (a JSON API emulator run as a child
//! process on a loopback port; it checks no credentials, so the destination sends unsigned
//! requests): the conformance suite, uploads of several resumable chunks, a missing bucket
//! and a server that is down.
//!
//! Not covered here: wrong credentials (the emulator checks none), and the refusal to replace
//! an existing object that the upload's `ifGenerationMatch=0` asks GCS for (the emulator
//! ignores preconditions).

mod common;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_destination::OpenDalDestination;
use dbward_destination::testing::GcsEmulator;

use common::{
    SERVER_DOWN_HINT, a_put_under_the_prefix_lists_plainly, assert_error_names, chunk,
    commit_shows_and_abort_leaves_nothing, conformance_plain_and_prefixed, expect_unreachable,
    probe_write_error,
};

const MISSING: &str = "bucket \"nope\" does not exist";

#[tokio::test]
async fn gcs_passes_the_conformance_suite() {
    let emulator = GcsEmulator::start("backups");
    let dest = |prefix: &str| {
        let mut settings = emulator.settings("gcs");
        settings.prefix = prefix.into();
        OpenDalDestination::gcs(settings).unwrap()
    };
    let dest = conformance_plain_and_prefixed(dest(""), dest("prod/")).await;
    a_put_under_the_prefix_lists_plainly(
        &dest,
        &format!("gs://backups/prod ({})", emulator.endpoint()),
    )
    .await;
}

#[tokio::test]
async fn an_upload_of_several_chunks_round_trips_and_abort_leaves_nothing() {
    let emulator = GcsEmulator::start("backups");
    let dest = OpenDalDestination::gcs(emulator.settings("gcs")).unwrap();

    // 25 MiB + a bit goes as a resumable session of four 8 MiB chunks, the last one short;
    // an upload aborted after two chunks leaves no object.
    let expected: Vec<u8> = (0..101u64).flat_map(|i| chunk(i, 256 * 1024)).collect();
    commit_shows_and_abort_leaves_nothing(
        &dest,
        "src/db/2026/01/02/x.dump.zst",
        &expected,
        "src/db/2026/01/02/y.dump.zst",
        70 * 256 * 1024,
    )
    .await;
}

#[tokio::test]
async fn a_missing_bucket_is_a_clear_error() {
    let emulator = GcsEmulator::start("backups");
    let mut settings = emulator.settings("gcs");
    settings.bucket = "nope".into();
    let dest = OpenDalDestination::gcs(settings).unwrap();
    let err = dest.list("").await.unwrap_err().to_string();
    assert_error_names(
        &err,
        "destination gcs: cannot list /:",
        &[MISSING, "create it or correct `bucket`"],
    );
    let err = probe_write_error(&dest).await;
    assert_error_names(&err, "destination gcs: cannot write probe:", &[MISSING]);
    let mut upload = dest.begin("db/x", None).await.unwrap();
    upload.write(Bytes::from_static(b"data")).await.unwrap();
    let err = upload.commit().await.unwrap_err().to_string();
    assert_error_names(&err, "", &[MISSING]);
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut emulator = GcsEmulator::start("backups");
    let settings = emulator.settings("gcs");
    emulator.stop();
    expect_unreachable(
        OpenDalDestination::gcs(settings).unwrap(),
        "gcs",
        "gs://backups",
        &[SERVER_DOWN_HINT],
    )
    .await;
}
