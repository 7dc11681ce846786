//! The WebDAV destination against WsgiDAV (run as a child process on a loopback port, HTTP
//! Basic authentication): the conformance suite, staged uploads moved into place, leftovers,
//! the in-memory limit, and the failures an operator meets (wrong password, server down).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::WebdavServer;
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, Tuning, conformance};
use tokio::io::AsyncReadExt;

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn webdav_passes_the_conformance_suite() {
    let server = WebdavServer::start();
    let dest = OpenDalDestination::webdav(server.settings("dav", "")).unwrap();
    conformance::run(&dest).await;

    // Under a root folder too (created on first write), through the retry layer.
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::webdav(server.settings("dav", "backups/prod")).unwrap()),
        fast_retries(),
    );
    conformance::run(&dest).await;

    // Objects land as plain files under the root; staging is out of sight.
    let key = "src/db/2026/01/02/x.sql.zst";
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut upload = dest.begin(key).await.unwrap();
    for part in data.chunks(256 * 1024) {
        upload.write(Bytes::copy_from_slice(part)).await.unwrap();
    }
    assert!(dest.list("").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), data.len() as u64);
    let root = server.share().join("backups/prod");
    assert!(std::fs::read(root.join(key)).unwrap() == data);
    let staged: Vec<_> = std::fs::read_dir(root.join(".dbward-staging"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(staged.is_empty(), "staged files left: {staged:?}");
    let mut back = Vec::new();
    dest.read(key)
        .await
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert!(back == data);
    let listed = dest.list("src/db/").await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, key);
    assert_eq!(listed[0].size, data.len() as u64);
    assert!(listed[0].modified.is_some());
    assert_eq!(
        dest.location(),
        format!("webdav:{}/backups/prod", server.endpoint())
    );
}

#[tokio::test]
async fn clean_staging_removes_only_stale_leftovers() {
    let server = WebdavServer::start();
    let dest = OpenDalDestination::webdav(server.settings("dav", "")).unwrap();
    // A staged upload of this process, committed after the cleanup.
    let mut live = dest.begin("db/live.bin").await.unwrap();
    live.write(Bytes::from_static(b"in progress"))
        .await
        .unwrap();
    let staging = server.share().join(".dbward-staging");
    std::fs::create_dir_all(&staging).unwrap();
    let fresh = staging.join("01FRESH.part");
    std::fs::write(&fresh, b"another run's upload").unwrap();
    let crashed = staging.join("01CRASHED.part");
    std::fs::write(&crashed, b"left by a crashed run").unwrap();
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&crashed)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();

    assert_eq!(dest.clean_staging().await.unwrap(), 1);
    assert!(!crashed.exists());
    assert!(fresh.exists());
    assert_eq!(live.commit().await.unwrap(), 11);
    assert_eq!(
        std::fs::read(server.share().join("db/live.bin")).unwrap(),
        b"in progress"
    );
}

#[tokio::test]
async fn an_upload_past_the_memory_limit_is_refused_clearly() {
    let server = WebdavServer::start();
    let mut settings = server.settings("dav", "");
    settings.tuning = Tuning {
        max_buffered_bytes: 1000,
        ..Tuning::default()
    };
    let dest = OpenDalDestination::webdav(settings).unwrap();
    let mut upload = dest.begin("big.bin").await.unwrap();
    upload.write(Bytes::from(vec![0u8; 600])).await.unwrap();
    let err = upload
        .write(Bytes::from(vec![0u8; 600]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_buffered_bytes = 1000"), "{err}");
    upload.abort().await;
    assert!(dest.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error() {
    let server = WebdavServer::start();
    let mut settings = server.settings("dav", "backups");
    settings.password = Some(SecretString::from("not-the-password".to_string()));
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::webdav(settings).unwrap()),
        fast_retries(),
    );
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination dav: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(err.contains("check username and password"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
    assert!(
        !err.contains("gave up"),
        "a credential error is not retried: {err}"
    );
    let err = dest.list("").await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials"), "{err}");
    let err = dest.size("x").await.unwrap_err().to_string();
    assert!(err.contains("refused the credentials"), "{err}");
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut server = WebdavServer::start();
    let settings = server.settings("dav", "backups");
    server.stop();
    let dest = Retrying::new(
        Arc::new(OpenDalDestination::webdav(settings).unwrap()),
        fast_retries(),
    );
    let started = std::time::Instant::now();
    let err = dest.size("db/x").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.starts_with("destination dav: cannot stat db/x: cannot reach webdav:http://127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("gave up after 3 attempts"), "{err}");
}
