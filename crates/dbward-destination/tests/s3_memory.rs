//! Memory stays bounded through a large multipart upload and read-back: 200 MiB through the
//! in-process S3 server with the default tuning (16 MiB parts, 1 in flight), measured as the
//! peak resident set (VmHWM) of this test process, server included. Alone in its own test
//! binary so no other test's allocations count.

use bytes::Bytes;
use dbward_core::destination::Destination;
use dbward_destination::OpenDalDestination;
use dbward_destination::testing::S3Server;
use tokio::io::AsyncReadExt;

const TOTAL: usize = 200 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for word in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes()[..word.len()]);
    }
}

/// Order-sensitive checksum, cheap enough for 200 MiB in a debug build.
fn mix(acc: u64, data: &[u8]) -> u64 {
    data.chunks(8).fold(acc, |a, w| {
        let mut b = [0u8; 8];
        b[..w.len()].copy_from_slice(w);
        (a.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x100_0000_01B3)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_multipart_upload_stays_within_bounded_memory() {
    let server = S3Server::start().await;
    server.create_bucket("backups");
    let dest = OpenDalDestination::s3(server.settings("offsite", "backups")).unwrap();
    let before = vm_hwm_kib();

    let key = "src/db/big.dump.zst";
    let mut upload = dest.begin(key, None).await.unwrap();
    let mut written = 0u64;
    let mut sum = 0u64;
    for i in 0..(TOTAL / CHUNK) {
        let mut buf = vec![0u8; CHUNK];
        fill(&mut buf, i as u64);
        sum = mix(sum, &buf);
        written += buf.len() as u64;
        upload.write(Bytes::from(buf)).await.unwrap();
    }
    assert_eq!(upload.commit().await.unwrap(), written);
    let after_upload = vm_hwm_kib();
    assert_eq!(dest.size(key).await.unwrap(), Some(TOTAL as u64));

    let mut reader = dest.read(key).await.unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut back_sum = 0u64;
    let mut pending = Vec::with_capacity(CHUNK);
    let mut read = 0u64;
    loop {
        let n = reader.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        read += n as u64;
        // Checksum in the same 256 KiB blocks as written.
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = (CHUNK - pending.len()).min(rest.len());
            pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if pending.len() == CHUNK {
                back_sum = mix(back_sum, &pending);
                pending.clear();
            }
        }
    }
    assert_eq!(read, TOTAL as u64);
    assert_eq!(back_sum, sum, "content read back differs");
    let peak = vm_hwm_kib();
    eprintln!(
        "VmHWM: {} MiB before, {} MiB after the 200 MiB upload, {} MiB after reading it back",
        before / 1024,
        after_upload / 1024,
        peak / 1024
    );
    // (1 in flight + 1 filling) × 16 MiB = 32 MiB for the upload, plus the server's own
    // buffers and the test's runtime: far below the 200 MiB that passed through.
    assert!(peak < 128 * 1024, "peak RSS {} MiB", peak / 1024);
}
