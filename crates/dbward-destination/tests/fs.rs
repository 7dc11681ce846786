//! The `fs` destination against real directories: the shared conformance suite, staging
//! cleanup, an unwritable directory and a filesystem that fills up mid-write.

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_destination::{FsDestination, conformance};

#[tokio::test]
async fn fs_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run(&FsDestination::new("local", dir.path())).await;
}

#[tokio::test]
async fn clean_staging_removes_abandoned_uploads_but_not_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("local", dir.path());
    let mut live = dest.begin("db/live.bin", None).await.unwrap();
    live.write(Bytes::from_static(b"in progress"))
        .await
        .unwrap();
    let abandoned = dir.path().join(".dbward-staging/crashed.part");
    std::fs::write(&abandoned, b"left by a crashed run").unwrap();

    assert_eq!(dest.clean_staging().await.unwrap(), 1);
    assert!(!abandoned.exists());
    assert_eq!(live.commit().await.unwrap(), 11);
}

/// Regression: a backup failed with "cannot move into place …: No such file or directory"
/// in the fleet simulation, because another daemon's run start cleaned the staging folder in
/// the instant between the upload creating its file and locking it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleaning_while_uploads_start_never_removes_a_live_upload() {
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("local", dir.path());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cleaner = {
        let (dest, stop) = (dest.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                dest.clean_staging().await.unwrap();
            }
        })
    };
    let mut failures = Vec::new();
    for i in 0..2000 {
        let result = async {
            let mut upload = dest.begin(&format!("db/{i}.bin"), None).await?;
            upload.write(Bytes::from_static(b"x")).await?;
            upload.commit().await
        }
        .await;
        if let Err(e) = result {
            failures.push(e.to_string());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    cleaner.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        failures.first()
    );
}

/// A file caught while an upload creates it (before it is locked and named `.part`) is left
/// alone while it is young; one a crash left in that instant goes once it is old.
#[tokio::test]
async fn a_file_being_created_is_cleaned_only_when_old() {
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("local", dir.path());
    let staging = dir.path().join(".dbward-staging");
    std::fs::create_dir_all(&staging).unwrap();
    let young = staging.join("creating-young");
    let old = staging.join("creating-old");
    std::fs::write(&young, b"").unwrap();
    std::fs::write(&old, b"").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    assert_eq!(dest.clean_staging().await.unwrap(), 1);
    assert!(young.exists());
    assert!(!old.exists());
}

#[tokio::test]
async fn unwritable_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let dest = FsDestination::new("local", &file);
    let err = dest
        .begin("db/x", None)
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.starts_with("destination local: cannot create"), "{err}");
    assert!(err.contains("not-a-dir"), "{err}");
}

/// Mounts a 1 MiB tmpfs (tests run as root here and in CI) and fills it mid-upload.
#[tokio::test]
async fn full_filesystem_fails_the_upload_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("mount runs");
    assert!(status.success(), "mounting a tmpfs needs root");
    let result = async {
        let dest = FsDestination::new("small", dir.path());
        assert!(dest.free_bytes().await.unwrap() <= 1 << 20);
        let mut upload = dest.begin("db/big.bin", None).await.unwrap();
        let mut failure = None;
        for _ in 0..8 {
            if let Err(e) = upload.write(Bytes::from(vec![7u8; 512 * 1024])).await {
                failure = Some(e);
                break;
            }
        }
        let failure = match failure {
            Some(e) => {
                upload.abort().await;
                e
            }
            None => upload
                .commit()
                .await
                .expect_err("4 MiB cannot fit in 1 MiB"),
        };
        let listed = dest.list("").await.unwrap();
        let staged = std::fs::read_dir(dir.path().join(".dbward-staging"))
            .unwrap()
            .count();
        (failure.to_string(), listed, staged)
    }
    .await;
    std::process::Command::new("umount")
        .arg(dir.path())
        .status()
        .unwrap();
    let (failure, listed, staged) = result;
    assert!(failure.contains("No space left on device"), "{failure}");
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(staged, 0);
}

#[tokio::test]
async fn artifacts_and_their_folders_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("local", dir.path().join("root"));
    dest.put("src/db/2026/x.dump", Bytes::from_static(b"secret rows"))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("root/src/db/2026/x.dump")), 0o600);
    assert_eq!(mode(&dir.path().join("root/src/db/2026")), 0o700);
    assert_eq!(mode(&dir.path().join("root")), 0o700);
}
