//! The pipeline against real `fs` destinations: every codec round-trips, the checksum is of
//! the stored bytes, and one failing destination does not stop the others.

use std::io::Read;

use dbward_core::destination::Destination;
use dbward_destination::FsDestination;
use sha2::{Digest, Sha256};

use super::*;

/// Text-like data that compresses, but not trivially.
fn sample(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if i % 61 == 60 {
                b'\n'
            } else {
                b'a' + (state % 26) as u8
            }
        })
        .collect()
}

async fn targets(dests: &[&FsDestination], key: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for dest in dests {
        out.push(Target {
            destination: dest.name().to_string(),
            upload: dest.begin(key, None).await.unwrap(),
            on_written: Arc::new(|_| {}),
        });
    }
    out
}

fn decompress(compression: Compression, stored: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match compression {
        Compression::Zstd { .. } | Compression::ZstdAuto => {
            zstd::stream::read::Decoder::new(stored)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Gzip { .. } => {
            flate2::read::GzDecoder::new(stored)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::None => out.extend_from_slice(stored),
    }
    out
}

#[tokio::test]
async fn every_codec_round_trips_to_every_destination() {
    let data = sample(3 * 1024 * 1024 + 17);
    for compression in [
        Compression::Zstd { level: 3 },
        Compression::ZstdAuto,
        Compression::Gzip { level: 6 },
        Compression::None,
    ] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (da, db) = (
            FsDestination::new("a", a.path()),
            FsDestination::new("b", b.path()),
        );
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = seen.clone();
        let (totals, outcomes) = run(
            Box::pin(std::io::Cursor::new(data.clone())),
            compression,
            encrypt::Sealing::Plain,
            targets(&[&da, &db], "x/artifact").await,
            Arc::new(move |n| {
                counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            }),
        )
        .await
        .unwrap();
        assert_eq!(totals.dump_bytes, data.len() as u64);
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::Relaxed),
            data.len() as u64
        );
        for outcome in outcomes {
            assert_eq!(
                outcome.result.unwrap().commit().await.unwrap(),
                totals.stored_bytes
            );
        }
        for dir in [&a, &b] {
            let stored = std::fs::read(dir.path().join("x/artifact")).unwrap();
            assert_eq!(hex::encode(Sha256::digest(&stored)), totals.sha256);
            assert_eq!(totals.chunks, chunk_hashes(&stored));
            assert_eq!(decompress(compression, &stored), data, "{compression:?}");
        }
        if compression != Compression::None {
            assert!(
                totals.stored_bytes < totals.dump_bytes * 3 / 4,
                "{compression:?} did not compress"
            );
        }
    }
}

/// A 1 MiB tmpfs fills up while the other destination completes (tests run as root).
#[tokio::test]
async fn a_full_destination_fails_alone() {
    let small = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(small.path())
        .status()
        .unwrap();
    assert!(status.success(), "mounting a tmpfs needs root");
    let good = tempfile::tempdir().unwrap();
    let (full, fine) = (
        FsDestination::new("full", small.path()),
        FsDestination::new("fine", good.path()),
    );
    let data = sample(8 * 1024 * 1024);
    let result = run(
        Box::pin(std::io::Cursor::new(data.clone())),
        Compression::None,
        encrypt::Sealing::Plain,
        targets(&[&full, &fine], "x/artifact").await,
        Arc::new(|_| {}),
    )
    .await;
    let leftovers = std::fs::read_dir(small.path().join(".dbward-staging"))
        .unwrap()
        .count();
    std::process::Command::new("umount")
        .arg(small.path())
        .status()
        .unwrap();

    let (totals, mut outcomes) = result.unwrap();
    let fine_outcome = outcomes.pop().unwrap();
    let full_outcome = outcomes.pop().unwrap();
    let err = full_outcome.result.err().unwrap().to_string();
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(leftovers, 0, "the failed upload left a staged file");
    assert_eq!(
        fine_outcome.result.unwrap().commit().await.unwrap(),
        data.len() as u64
    );
    assert_eq!(totals.stored_bytes, data.len() as u64);
    let stored = std::fs::read(good.path().join("x/artifact")).unwrap();
    assert_eq!(totals.chunks.len(), 2, "8 MiB are two 4 MiB chunks");
    assert_eq!(totals.chunks, chunk_hashes(&stored));
}

/// The manifest's chunk list, computed the obvious way.
fn chunk_hashes(stored: &[u8]) -> Vec<String> {
    stored
        .chunks(dbward_core::chunked::CHUNK_BYTES as usize)
        .map(|c| hex::encode(Sha256::digest(c)))
        .collect()
}

#[tokio::test]
async fn encrypted_artifacts_decrypt_with_either_recipient_and_hash_the_ciphertext() {
    let data = sample(1024 * 1024 + 3);
    let (alice, bob) = (
        age::x25519::Identity::generate(),
        age::x25519::Identity::generate(),
    );
    let mode = crate::config::EncryptionMode::Recipients(vec![alice.to_public(), bob.to_public()]);
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("a", dir.path());
    let (totals, mut outcomes) = run(
        Box::pin(std::io::Cursor::new(data.clone())),
        Compression::Zstd { level: 3 },
        encrypt::Sealing::new(Some(&mode)),
        targets(&[&dest], "x/artifact.age").await,
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    outcomes
        .pop()
        .unwrap()
        .result
        .unwrap()
        .commit()
        .await
        .unwrap();
    let stored = std::fs::read(dir.path().join("x/artifact.age")).unwrap();
    assert!(stored.starts_with(b"age-encryption.org/v1"));
    assert_eq!(hex::encode(Sha256::digest(&stored)), totals.sha256);
    for identity in [&alice, &bob] {
        let decryptor = age::Decryptor::new(&stored[..]).unwrap();
        let mut plain = Vec::new();
        decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(decompress(Compression::Zstd { level: 3 }, &plain), data);
    }
    let stranger = age::x25519::Identity::generate();
    let decryptor = age::Decryptor::new(&stored[..]).unwrap();
    assert!(
        decryptor
            .decrypt(std::iter::once(&stranger as &dyn age::Identity))
            .is_err()
    );
}

/// Streams `reader` through `compression = "auto"` into one fs destination; returns the levels
/// used, after checking the stored bytes decompress to `expected_len` bytes.
async fn auto_levels(
    reader: Pin<Box<dyn AsyncRead + Send>>,
    expected_len: u64,
) -> dbward_core::manifest::CompressionLevel {
    let dir = tempfile::tempdir().unwrap();
    let dest = FsDestination::new("a", dir.path());
    let (totals, outcomes) = run(
        reader,
        Compression::ZstdAuto,
        encrypt::Sealing::Plain,
        targets(&[&dest], "x/auto").await,
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    for outcome in outcomes {
        outcome.result.unwrap().commit().await.unwrap();
    }
    assert_eq!(totals.dump_bytes, expected_len);
    let stored = std::fs::read(dir.path().join("x/auto")).unwrap();
    let mut decoder = zstd::stream::read::Decoder::new(&stored[..]).unwrap();
    let restored = std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
    assert_eq!(
        restored, expected_len,
        "the stream decompresses whole across level changes"
    );
    let levels = totals.compression_level.expect("zstd records its levels");
    assert!(levels.auto);
    assert!(
        adapt::LOWEST <= levels.lowest && levels.highest <= adapt::HIGHEST,
        "{levels:?}"
    );
    levels
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_strengthens_the_level_behind_a_slow_dump() {
    let (mut writer, reader) = tokio::io::duplex(1 << 20);
    let chunk = sample(64 * 1024);
    let chunks = 120;
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for _ in 0..chunks {
            writer.write_all(&chunk).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    let levels = auto_levels(Box::pin(reader), chunks * 64 * 1024).await;
    assert!(
        levels.highest > adapt::START,
        "an idle compressor works harder: {levels:?}"
    );
    assert_eq!(levels.lowest, adapt::START, "and never weaker: {levels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_weakens_the_level_when_it_holds_a_fast_dump_back() {
    let block = sample(8 * 1024 * 1024);
    let repeats = 16;
    let (mut writer, reader) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for _ in 0..repeats {
            writer.write_all(&block).await.unwrap();
        }
    });
    let levels = auto_levels(Box::pin(reader), repeats * 8 * 1024 * 1024).await;
    assert!(
        levels.lowest < adapt::START,
        "a compressor that holds the dump back eases off: {levels:?}"
    );
}
