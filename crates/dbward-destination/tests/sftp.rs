//! The SFTP destination against a real OpenSSH sshd on a loopback port (generated host and
//! user keys, strict host key checking): the conformance suite, staged uploads, leftovers,
//! and a key the server refuses.

mod common;

use dbward_core::destination::Destination;
use dbward_destination::testing::Sshd;
use dbward_destination::{OpenDalDestination, conformance};

use common::{
    STAGING, a_live_upload, a_staged_upload_lands_as_a_plain_file, a_stale_part,
    expect_refused_credentials,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_passes_the_conformance_suite() {
    let sshd = Sshd::start();
    let dest = OpenDalDestination::sftp(sshd.settings("nas")).unwrap();
    conformance::run(&dest).await;

    // Objects land as plain files under the root; staging is out of sight.
    a_staged_upload_lands_as_a_plain_file(&dest, &sshd.data_dir(), Some(1)).await;
    assert!(
        dest.location().starts_with(&format!(
            "sftp://{}@127.0.0.1:{}/",
            sshd.user(),
            sshd.port()
        )),
        "{}",
        dest.location()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_staging_removes_only_stale_leftovers() {
    let sshd = Sshd::start();
    let dest = OpenDalDestination::sftp(sshd.settings("nas")).unwrap();
    let live = a_live_upload(&dest).await;
    let staging = sshd.data_dir().join(STAGING);
    let crashed = a_stale_part(&staging);

    assert_eq!(dest.clean_staging().await.unwrap(), 1);
    assert!(!crashed.exists());
    assert_eq!(live.commit().await.unwrap(), 11);
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_server_refuses_is_a_clear_error() {
    let sshd = Sshd::start();
    let mut settings = sshd.settings("nas");
    settings.key_file = Some(sshd.stranger_key());
    let dest = OpenDalDestination::sftp(settings).unwrap();
    expect_refused_credentials(&dest, "nas", &["check user and key_file"], None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_file_is_refused_up_front() {
    let sshd = Sshd::start();
    let mut settings = sshd.settings("nas");
    settings.key_file = Some(sshd.data_dir().join("no-such-key"));
    let err = OpenDalDestination::sftp(settings).unwrap_err().to_string();
    assert!(
        err.contains("key_file") && err.contains("no-such-key"),
        "{err}"
    );
}
