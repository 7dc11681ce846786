//! The Azure Blob destination against Azurite (Microsoft's emulator, run as a child process
//! on a loopback port, checking Shared Key signatures of the development account): the
//! conformance suite, block uploads, and the failures an operator meets (wrong key, missing
//! container, server down).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::Azurite;
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, Tuning, conformance};
use tokio::io::AsyncReadExt;

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    }
}

async fn read_all(dest: &dyn Destination, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    dest.read(key)
        .await
        .unwrap()
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn azblob_passes_the_conformance_suite() {
    let azurite = Azurite::start();
    azurite.create_container("backups");
    let dest = OpenDalDestination::azblob(azurite.settings("azure", "backups")).unwrap();
    conformance::run(&dest).await;

    // Under a prefix too, and through the retry layer.
    let mut settings = azurite.settings("azure", "backups");
    settings.prefix = "prod/".into();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::azblob(settings).unwrap()),
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
        format!("azblob://backups/prod ({})", azurite.endpoint())
    );
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

    // 12 MiB + a bit: three blocks, committed at the end.
    let key = "src/db/x.dump.zst";
    let data: Vec<u8> = (0..12 * 1024 * 1024 + 4321u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut upload = dest.begin(key).await.unwrap();
    for part in data.chunks(256 * 1024) {
        upload.write(Bytes::copy_from_slice(part)).await.unwrap();
    }
    assert_eq!(dest.size(key).await.unwrap(), None, "visible before commit");
    assert!(dest.list("src/").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), data.len() as u64);
    assert_eq!(dest.size(key).await.unwrap(), Some(data.len() as u64));
    assert!(read_all(&dest, key).await == data, "content differs");

    let aborted = "src/db/y.dump.zst";
    let mut upload = dest.begin(aborted).await.unwrap();
    for part in data.chunks(256 * 1024).take(30) {
        upload.write(Bytes::copy_from_slice(part)).await.unwrap();
    }
    upload.abort().await;
    assert_eq!(dest.size(aborted).await.unwrap(), None);
    let listed: Vec<String> = dest
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, [key]);
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
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::azblob(settings).unwrap()),
        fast_retries(),
    );
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination azure: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(
        err.contains("AuthorizationFailure") || err.contains("AuthenticationFailed"),
        "{err}"
    );
    assert!(err.contains("check account_name and account_key"), "{err}");
    assert!(!err.contains("bm90LXRoZS1rZXkt"), "{err}");
    assert!(
        !err.contains("gave up"),
        "a credential error is not retried: {err}"
    );
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials"), "{err}");
}

#[tokio::test]
async fn a_missing_container_is_a_clear_error() {
    let azurite = Azurite::start();
    let dest = OpenDalDestination::azblob(azurite.settings("azure", "nope")).unwrap();
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination azure: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("container \"nope\" does not exist"), "{err}");
    assert!(err.contains("ContainerNotFound"), "{err}");
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.contains("container \"nope\" does not exist"), "{err}");
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut azurite = Azurite::start();
    azurite.create_container("backups");
    let settings = azurite.settings("azure", "backups");
    azurite.stop();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::azblob(settings).unwrap()),
        fast_retries(),
    );
    let started = std::time::Instant::now();
    let err = dest.size("db/x").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.starts_with("destination azure: cannot stat db/x: cannot reach azblob://backups"),
        "{err}"
    );
    assert!(
        err.contains("check the endpoint and that the server is up"),
        "{err}"
    );
    assert!(err.contains("gave up after 3 attempts"), "{err}");
}
