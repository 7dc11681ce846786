//! The S3 destination against a real S3 protocol server (s3s + s3s-fs, in process, over
//! HTTP on loopback, SigV4 with generated keys): the conformance suite, multipart uploads,
//! and the failures an operator meets (wrong keys, missing bucket, server down).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::S3Server;
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, Tuning, conformance};
use tokio::io::AsyncReadExt;

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    }
}

/// Deterministic, incompressible-looking bytes.
fn chunk(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
async fn s3_passes_the_conformance_suite() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let dest = OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap();
    conformance::run(&dest).await;

    // Under a prefix too, and through the retry layer.
    let mut settings = server.settings("offsite", "backups");
    settings.prefix = "prod/".into();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::s3(settings).unwrap()),
        fast_retries(),
    );
    conformance::run(&dest).await;
    dest.put("a/b.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert!(server.root().join("backups/prod/a/b.json").is_file());
    let listed = dest.list("").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, "a/b.json");
    assert!(listed[0].modified.is_some(), "{listed:?}");
    assert_eq!(dest.clean_staging().await.unwrap(), 0);
    assert_eq!(
        dest.location(),
        format!("s3://backups/prod ({})", server.endpoint())
    );
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

    // 25 MiB + a bit in pipeline-sized chunks: six parts.
    let key = "src/db/2026/01/02/x.dump.zst";
    let mut upload = dest.begin(key).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..101u64 {
        let data = chunk(i, 256 * 1024);
        expected.extend_from_slice(&data);
        upload.write(Bytes::from(data)).await.unwrap();
    }
    assert_eq!(dest.size(key).await.unwrap(), None, "visible before commit");
    assert!(dest.list("src/").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), expected.len() as u64);
    assert_eq!(dest.size(key).await.unwrap(), Some(expected.len() as u64));
    assert!(read_all(&dest, key).await == expected, "content differs");

    // An aborted upload of three parts leaves no object and no part behind.
    let aborted = "src/db/2026/01/02/y.dump.zst";
    let mut upload = dest.begin(aborted).await.unwrap();
    for i in 0..60u64 {
        upload
            .write(Bytes::from(chunk(i, 256 * 1024)))
            .await
            .unwrap();
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
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::s3(settings).unwrap()),
        fast_retries(),
    );
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination offsite: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(
        err.contains("check access_key_id and secret_access_key"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret"), "{err}");
    assert!(
        !err.contains("gave up"),
        "a credential error is not retried: {err}"
    );

    let mut settings = server.settings("offsite", "backups");
    settings.access_key_id = Some(SecretString::from("AKUNKNOWN".to_string()));
    let dest = OpenDalDestination::s3(settings).unwrap();
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials"), "{err}");
}

#[tokio::test]
async fn a_missing_bucket_is_a_clear_error() {
    let server = S3Server::start().await;
    let dest = OpenDalDestination::s3(server.settings("offsite", "nope")).unwrap();
    // (s3s-fs creates a bucket on PUT, unlike real stores: the probe is a listing.)
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.starts_with("destination offsite:"), "{err}");
    assert!(err.contains("bucket \"nope\" does not exist"), "{err}");
    assert!(err.contains("NoSuchBucket"), "{err}");
    assert!(err.contains("create it or correct `bucket`"), "{err}");
    // A HEAD answer has no body to name the cause: S3 reports a missing bucket to `size`
    // as a missing object. `check` probes with a write and a listing.
    assert_eq!(dest.size("db/x").await.unwrap(), None);
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut server = S3Server::start().await;
    server.create_bucket("backups");
    server.stop().await;
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap()),
        fast_retries(),
    );
    let started = std::time::Instant::now();
    let err = dest.size("db/x").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.starts_with("destination offsite: cannot stat db/x: cannot reach s3://backups"),
        "{err}"
    );
    assert!(
        err.contains("check the endpoint and that the server is up"),
        "{err}"
    );
    assert!(err.contains("gave up after 3 attempts"), "{err}");

    let mut upload = dest.begin("db/y").await.unwrap();
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
