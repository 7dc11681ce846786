//! The steps the destination tests against real servers share (tests/{s3,s3_object_lock,gcs,
//! azblob,webdav,sftp}.rs): the retry layer they go through, the conformance suite on a plain
//! and a prefixed destination, test data, and the errors an operator meets, checked part by
//! part so that a failure names the part that is missing.
//!
//! Each test file uses some of these; `dead_code` is allowed for the rest.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbward_core::destination::{Destination, Upload};
use dbward_destination::{OpenDalDestination, RetryPolicy, Retrying, conformance};
use tokio::io::AsyncReadExt;

/// Three attempts, quickly: enough to show a retry, short enough for a test.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
    }
}

/// `dest` behind the retry layer with [`fast_retries`].
pub fn retrying(dest: OpenDalDestination) -> Retrying<OpenDalDestination> {
    Retrying::new(Arc::new(dest), fast_retries())
}

/// Deterministic, incompressible-looking bytes.
pub fn chunk(seed: u64, len: usize) -> Vec<u8> {
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

/// The whole object at `key`.
pub async fn read_all(dest: &dyn Destination, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    dest.read(key)
        .await
        .unwrap()
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

/// The conformance suite against `plain`, then against `prefixed` (the same store under a
/// prefix or root folder) through the retry layer, which is returned for further checks.
pub async fn conformance_plain_and_prefixed(
    plain: OpenDalDestination,
    prefixed: OpenDalDestination,
) -> Retrying<OpenDalDestination> {
    conformance::run(&plain).await;
    let dest = retrying(prefixed);
    conformance::run(&dest).await;
    dest
}

/// On a destination under the prefix `prod/` that the conformance suite left empty: an
/// object written as `a/b.json` is listed under that key (with its size and time), nothing is
/// staged, and the destination calls itself `location`.
pub async fn a_put_under_the_prefix_lists_plainly(dest: &dyn Destination, location: &str) {
    dest.put("a/b.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let listed = dest.list("").await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, "a/b.json");
    assert_eq!(listed[0].size, 2);
    assert!(listed[0].modified.is_some(), "{listed:?}");
    assert_eq!(dest.clean_staging().await.unwrap(), 0);
    assert_eq!(dest.location(), location);
}

/// The error of writing the object `probe`, which must fail.
pub async fn probe_write_error(dest: &dyn Destination) -> String {
    dest.put("probe", Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string()
}

/// Asserts that the error `err` starts with `prefix` and names every one of `parts`.
#[track_caller]
pub fn assert_error_names(err: &str, prefix: &str, parts: &[&str]) {
    assert!(
        err.starts_with(prefix),
        "want it to start {prefix:?}: {err}"
    );
    for part in parts {
        assert!(err.contains(part), "want {part:?} in: {err}");
    }
}

/// Asserts that the error `err` holds none of `hidden` (secrets, a retry's "gave up").
#[track_caller]
pub fn assert_error_omits(err: &str, hidden: &[&str]) {
    for part in hidden {
        assert!(!err.contains(part), "want no {part:?} in: {err}");
    }
}

/// A write through `dest` (credentials the server refuses) fails at once: the error of
/// destination `name` says the server refused the credentials, names `parts` (the server's
/// code, the settings to check), holds no `secret`, and was not retried. Returns it.
pub async fn expect_refused_credentials(
    dest: &dyn Destination,
    name: &str,
    parts: &[&str],
    secret: Option<&str>,
) -> String {
    let err = probe_write_error(dest).await;
    assert_error_names(
        &err,
        &format!("destination {name}: cannot write probe:"),
        &["refused the credentials"],
    );
    assert_error_names(&err, "", parts);
    assert_error_omits(&err, secret.as_slice());
    assert!(
        !err.contains("gave up"),
        "a credential error is not retried: {err}"
    );
    err
}

/// Asserts that `err` says the server refused the credentials.
#[track_caller]
pub fn assert_refused_credentials(err: &str) {
    assert_error_names(err, "", &["refused the credentials"]);
}

/// With the server of destination `name` down (`dest` is reached through the retry layer
/// with [`fast_retries`]), a stat fails within seconds, after the bounded retries, naming
/// `location` (what it could not reach) and `hints`. Returns the destination.
pub async fn expect_unreachable(
    dest: OpenDalDestination,
    name: &str,
    location: &str,
    hints: &[&str],
) -> Retrying<OpenDalDestination> {
    let dest = retrying(dest);
    let started = std::time::Instant::now();
    let err = dest.size("db/x").await.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}: {err}",
        started.elapsed()
    );
    assert_error_names(
        &err,
        &format!("destination {name}: cannot stat db/x: cannot reach {location}"),
        &["gave up after 3 attempts"],
    );
    assert_error_names(&err, "", hints);
    dest
}

/// The hint a destination gives when it cannot reach its server.
pub const SERVER_DOWN_HINT: &str = "check the endpoint and that the server is up";

/// Writes `data` through a staged upload in parts of 256 KiB; returns the upload, uncommitted.
pub async fn stage(dest: &dyn Destination, key: &str, data: &[u8]) -> Box<dyn Upload> {
    let mut upload = dest.begin(key, None).await.unwrap();
    for part in data.chunks(256 * 1024) {
        upload.write(Bytes::copy_from_slice(part)).await.unwrap();
    }
    upload
}

/// The staging folder under a file-based destination's root.
pub const STAGING: &str = ".dbward-staging";

/// A staged upload of 3 MB lands as the plain file `root/<key>`, invisible until committed,
/// reads back whole and is listed with its size and time; nothing is left staged. With
/// `staged_while_writing`, that many files are staged before the commit.
pub async fn a_staged_upload_lands_as_a_plain_file(
    dest: &dyn Destination,
    root: &Path,
    staged_while_writing: Option<usize>,
) {
    let key = "src/db/2026/01/02/x.sql.zst";
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let upload = stage(dest, key, &data).await;
    let staged = || -> Vec<_> {
        std::fs::read_dir(root.join(STAGING))
            .map(|d| d.collect())
            .unwrap_or_default()
    };
    if let Some(want) = staged_while_writing {
        assert_eq!(staged().len(), want, "the upload is staged");
    }
    assert!(dest.list("").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), data.len() as u64);
    assert!(
        std::fs::read(root.join(key)).unwrap() == data,
        "file differs"
    );
    let staged = staged();
    assert!(staged.is_empty(), "staged files left: {staged:?}");
    assert!(read_all(dest, key).await == data, "content differs");
    let listed = dest.list("src/db/").await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, key);
    assert_eq!(listed[0].size, data.len() as u64);
    assert!(listed[0].modified.is_some());
}

/// An upload begun (and not committed) on `dest`: 11 bytes, `db/live.bin`.
pub async fn a_live_upload(dest: &dyn Destination) -> Box<dyn Upload> {
    let mut live = dest.begin("db/live.bin", None).await.unwrap();
    live.write(Bytes::from_static(b"in progress"))
        .await
        .unwrap();
    live
}

/// A staged part left in `staging` by a run that crashed a day ago; returns its path.
pub fn a_stale_part(staging: &Path) -> PathBuf {
    std::fs::create_dir_all(staging).unwrap();
    let crashed = staging.join("01CRASHED.part");
    std::fs::write(&crashed, b"left by a crashed run").unwrap();
    let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&crashed)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
    crashed
}

/// `data` staged under `key` (in parts of 256 KiB) is invisible until committed, then has its
/// size and reads back whole; an upload of the first `aborted_len` bytes under `aborted`,
/// aborted, leaves no object: only `key` is listed.
pub async fn commit_shows_and_abort_leaves_nothing(
    dest: &dyn Destination,
    key: &str,
    data: &[u8],
    aborted: &str,
    aborted_len: usize,
) {
    let upload = stage(dest, key, data).await;
    assert_eq!(dest.size(key).await.unwrap(), None, "visible before commit");
    assert!(dest.list("src/").await.unwrap().is_empty());
    assert_eq!(upload.commit().await.unwrap(), data.len() as u64);
    assert_eq!(dest.size(key).await.unwrap(), Some(data.len() as u64));
    assert!(read_all(dest, key).await == data, "content differs");

    let upload = stage(dest, aborted, &data[..aborted_len]).await;
    upload.abort().await;
    assert_eq!(dest.size(aborted).await.unwrap(), None);
    assert_eq!(listed_keys(dest, "").await, [key]);
}

/// The keys `dest` lists under `prefix`.
pub async fn listed_keys(dest: &dyn Destination, prefix: &str) -> Vec<String> {
    let listed = dest.list(prefix).await.unwrap();
    listed.into_iter().map(|o| o.key).collect()
}
