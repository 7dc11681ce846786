//! The WebDAV destination against WsgiDAV (run as a child process on a loopback port, HTTP
//! Basic authentication): the conformance suite, staged uploads moved into place, leftovers,
//! the in-memory limit, and the failures an operator meets (wrong password, server down).

mod common;

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_core::secret::SecretString;
use dbward_destination::testing::WebdavServer;
use dbward_destination::{OpenDalDestination, Tuning};

use common::{
    SERVER_DOWN_HINT, STAGING, a_live_upload, a_staged_upload_lands_as_a_plain_file, a_stale_part,
    assert_refused_credentials, conformance_plain_and_prefixed, expect_refused_credentials,
    expect_unreachable, retrying,
};

#[tokio::test]
async fn webdav_passes_the_conformance_suite() {
    let server = WebdavServer::start();
    let dest = |root: &str| OpenDalDestination::webdav(server.settings("dav", root)).unwrap();
    // Under a root folder too (created on first write), through the retry layer.
    let dest = conformance_plain_and_prefixed(dest(""), dest("backups/prod")).await;

    // Objects land as plain files under the root; staging is out of sight.
    a_staged_upload_lands_as_a_plain_file(&dest, &server.share().join("backups/prod"), None).await;
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
    let live = a_live_upload(&dest).await;
    let staging = server.share().join(STAGING);
    let crashed = a_stale_part(&staging);
    let fresh = staging.join("01FRESH.part");
    std::fs::write(&fresh, b"another run's upload").unwrap();

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
    let mut upload = dest.begin("big.bin", None).await.unwrap();
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
    let dest = retrying(OpenDalDestination::webdav(settings).unwrap());
    expect_refused_credentials(
        &dest,
        "dav",
        &["check username and password"],
        Some("not-the-password"),
    )
    .await;
    assert_refused_credentials(&dest.list("").await.unwrap_err().to_string());
    assert_refused_credentials(&dest.size("x").await.unwrap_err().to_string());
}

#[tokio::test]
async fn a_server_that_is_down_fails_after_bounded_retries() {
    let mut server = WebdavServer::start();
    let settings = server.settings("dav", "backups");
    server.stop();
    expect_unreachable(
        OpenDalDestination::webdav(settings).unwrap(),
        "dav",
        "webdav:http://127.0.0.1",
        &[SERVER_DOWN_HINT],
    )
    .await;
}
