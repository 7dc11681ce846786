//! The Azure Blob destination against Azurite (Microsoft's emulator, run as a child process
//! on a loopback port, checking Shared Key signatures of the development account): the
//! conformance suite, block uploads, and the failures an operator meets (wrong key, missing
//! container, server down).

mod common;

use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::Azurite;
use dbward_destination::{OpenDalDestination, Tuning};

use common::{
    SERVER_DOWN_HINT, a_put_under_the_prefix_lists_plainly, assert_error_names,
    assert_refused_credentials, commit_shows_and_abort_leaves_nothing,
    conformance_plain_and_prefixed, expect_refused_credentials, expect_unreachable,
    probe_write_error, retrying,
};

#[tokio::test]
async fn azblob_passes_the_conformance_suite() {
    let azurite = Azurite::start();
    azurite.create_container("backups");
    let dest = |prefix: &str| {
        let mut settings = azurite.settings("azure", "backups");
        settings.prefix = prefix.into();
        OpenDalDestination::azblob(settings).unwrap()
    };
    // Under a prefix too, and through the retry layer.
    let dest = conformance_plain_and_prefixed(dest(""), dest("prod/")).await;
    a_put_under_the_prefix_lists_plainly(
        &dest,
        &format!("azblob://backups/prod ({})", azurite.endpoint()),
    )
    .await;
}

#[tokio::test]
async fn block_upload_round_trips_and_abort_leaves_nothing() {
    let azurite = Azurite::start();
    azurite.create_container("backups");
    let mut settings = azurite.settings("azure", "backups");
    settings.tuning = Tuning {
        part_size: 5 * 1024 * 1024,
        ..Tuning::default()
    };
    let dest = OpenDalDestination::azblob(settings).unwrap();

    // 12 MiB + a bit: three blocks, committed at the end; an aborted upload of 30 chunks.
    let data: Vec<u8> = (0..12 * 1024 * 1024 + 4321u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    commit_shows_and_abort_leaves_nothing(
        &dest,
        "src/db/x.dump.zst",
        &data,
        "src/db/y.dump.zst",
        30 * 256 * 1024,
    )
    .await;
}

#[tokio::test]
async fn a_wrong_account_key_is_a_clear_error() {
    let azurite = Azurite::start();
    azurite.create_container("backups");
    let mut settings = azurite.settings("azure", "backups");
    // Valid base64, not the account's key.
    settings.account_key = Some(SecretString::from(
        "bm90LXRoZS1rZXktbm90LXRoZS1rZXktbm90LXRoZS1rZXk=".to_string(),
    ));
    let dest = retrying(OpenDalDestination::azblob(settings).unwrap());
    let err = expect_refused_credentials(
        &dest,
        "azure",
        &["check account_name and account_key"],
        Some("bm90LXRoZS1rZXkt"),
    )
    .await;
    assert!(
        err.contains("AuthorizationFailure") || err.contains("AuthenticationFailed"),
        "{err}"
    );
    assert_refused_credentials(&dest.list("").await.unwrap_err().to_string());
}

#[tokio::test]
async fn a_missing_container_is_a_clear_error() {
    let azurite = Azurite::start();
    let dest = OpenDalDestination::azblob(azurite.settings("azure", "nope")).unwrap();
    let missing = "container \"nope\" does not exist";
    let err = probe_write_error(&dest).await;
    assert_error_names(
        &err,
        "destination azure: cannot write probe:",
        &[missing, "ContainerNotFound"],
    );
    let err = dest.list("").await.unwrap_err().to_string();
    assert_error_names(&err, "", &[missing]);
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut azurite = Azurite::start();
    azurite.create_container("backups");
    let settings = azurite.settings("azure", "backups");
    azurite.stop();
    expect_unreachable(
        OpenDalDestination::azblob(settings).unwrap(),
        "azure",
        "azblob://backups",
        &[SERVER_DOWN_HINT],
    )
    .await;
}
