//! The SFTP destination against a real OpenSSH sshd on a loopback port (generated host and
//! user keys, strict host key checking): the conformance suite, staged uploads, leftovers,
//! and a key the server refuses.

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_destination::testing::Sshd;
use dbward_destination::{OpenDalDestination, conformance};
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_passes_the_conformance_suite() {
    let sshd = Sshd::start();
    let dest = OpenDalDestination::sftp(sshd.settings("nas")).unwrap();
    conformance::run(&dest).await;

    // Objects land as plain files under the root; staging is out of sight.
    let key = "src/db/2026/01/02/x.sql.zst";
    let mut upload = dest.begin(key).await.unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    for part in data.chunks(256 * 1024) {
        upload.write(Bytes::copy_from_slice(part)).await.unwrap();
    }
    let staged: Vec<_> = std::fs::read_dir(sshd.data_dir().join(".dbward-staging"))
        .unwrap()
        .collect();
    assert_eq!(staged.len(), 1, "the upload is staged");
    assert!(dest.list("").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), data.len() as u64);
    assert_eq!(std::fs::read(sshd.data_dir().join(key)).unwrap(), data);
    let mut back = Vec::new();
    dest.read(key)
        .await
        .unwrap()
        .read_to_end(&mut back)
        .await
        .unwrap();
    assert!(back == data);
    let listed = dest.list("src/db/").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, data.len() as u64);
    assert!(listed[0].modified.is_some());
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
    let mut live = dest.begin("db/live.bin").await.unwrap();
    live.write(Bytes::from_static(b"in progress"))
        .await
        .unwrap();
    let staging = sshd.data_dir().join(".dbward-staging");
    let crashed = staging.join("01CRASHED.part");
    std::fs::write(&crashed, b"left by a crashed run").unwrap();
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&crashed)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();

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
    let err = dest
        .put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("destination nas: cannot write probe:"),
        "{err}"
    );
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(err.contains("check user and key_file"), "{err}");
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
