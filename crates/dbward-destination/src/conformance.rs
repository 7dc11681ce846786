//! The conformance suite every destination type passes: staged uploads are invisible until
//! commit, aborts leave nothing, reads return what was written, listing and deleting behave.
//! Each destination's tests call `run` against a real instance of the service.

use bytes::Bytes;
use dbward_core::destination::Destination;
use tokio::io::AsyncReadExt;

/// Runs every check against `dest`, using keys under `scratch/` (which it removes again).
/// Panics with the failed expectation, as test helpers do.
pub async fn run(dest: &dyn Destination) {
    staged_upload_is_invisible_until_commit(dest).await;
    abort_leaves_nothing(dest).await;
    put_replaces_atomically(dest).await;
    listing_sees_committed_objects_under_a_prefix(dest).await;
    delete_is_idempotent(dest).await;
    hostile_keys_are_refused(dest).await;
}

async fn read_all(dest: &dyn Destination, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    dest.read(key)
        .await
        .unwrap_or_else(|e| panic!("read {key}: {e}"))
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

async fn staged_upload_is_invisible_until_commit(dest: &dyn Destination) {
    let key = "scratch/a/obj.bin";
    let mut upload = dest.begin(key, None).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..64u32 {
        let chunk: Vec<u8> = (0..10_000u32).map(|j| (i * 7 + j) as u8).collect();
        expected.extend_from_slice(&chunk);
        upload.write(Bytes::from(chunk)).await.unwrap();
    }
    assert_eq!(dest.size(key).await.unwrap(), None, "visible before commit");
    assert_eq!(upload.commit().await.unwrap(), expected.len() as u64);
    assert_eq!(dest.size(key).await.unwrap(), Some(expected.len() as u64));
    assert_eq!(read_all(dest, key).await, expected);
    dest.delete(key).await.unwrap();
}

async fn abort_leaves_nothing(dest: &dyn Destination) {
    let key = "scratch/b/aborted.bin";
    let mut upload = dest.begin(key, None).await.unwrap();
    upload.write(Bytes::from_static(b"partial")).await.unwrap();
    upload.abort().await;
    assert_eq!(dest.size(key).await.unwrap(), None);
    assert!(dest.list("scratch/b").await.unwrap().is_empty());
}

async fn put_replaces_atomically(dest: &dyn Destination) {
    let key = "scratch/c/manifest.json";
    dest.put(key, Bytes::from_static(b"first")).await.unwrap();
    dest.put(key, Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(read_all(dest, key).await, b"second");
    dest.delete(key).await.unwrap();
}

async fn listing_sees_committed_objects_under_a_prefix(dest: &dyn Destination) {
    dest.put("scratch/d/x/1", Bytes::from_static(b"1"))
        .await
        .unwrap();
    dest.put("scratch/d/y/22", Bytes::from_static(b"22"))
        .await
        .unwrap();
    dest.put("scratch/e/3", Bytes::from_static(b"3"))
        .await
        .unwrap();
    let listed: Vec<(String, u64)> = dest
        .list("scratch/d/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect();
    assert_eq!(
        listed,
        [
            ("scratch/d/x/1".to_string(), 1),
            ("scratch/d/y/22".to_string(), 2)
        ]
    );
    for key in ["scratch/d/x/1", "scratch/d/y/22", "scratch/e/3"] {
        dest.delete(key).await.unwrap();
    }
}

async fn delete_is_idempotent(dest: &dyn Destination) {
    dest.delete("scratch/never/existed").await.unwrap();
    assert!(dest.read("scratch/never/existed").await.is_err());
}

async fn hostile_keys_are_refused(dest: &dyn Destination) {
    for key in ["", "../escape", "a/../../b", "a//b"] {
        assert!(dest.begin(key, None).await.is_err(), "key {key:?} accepted");
    }
}
