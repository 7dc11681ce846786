//! Chunk hashes of a stored artifact (manifest format 3): `ChunkHasher` computes them as the
//! backup writes, `ChunkVerifiedReader` proves each chunk against them before it releases a
//! single byte of it, so a restore never feeds a loader bytes the manifest does not vouch for.

use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

/// The chunk size dbward writes: 4 MiB, also the reader's memory bound.
pub const CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// The largest chunk size a reader accepts, so that a manifest cannot make it hold more.
pub const MAX_CHUNK_BYTES: u64 = 16 * CHUNK_BYTES;

/// sha256 of each `size`-byte chunk of a stream written in pieces of any length. Holds one
/// chunk's hasher, never the bytes.
#[derive(Debug, Clone)]
pub struct ChunkHasher {
    size: u64,
    hasher: Sha256,
    filled: u64,
    done: Vec<String>,
}

impl ChunkHasher {
    pub fn new(size: u64) -> Self {
        assert!(size > 0, "chunks have a size");
        ChunkHasher {
            size,
            hasher: Sha256::new(),
            filled: 0,
            done: Vec::new(),
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (self.size - self.filled).min(data.len() as u64) as usize;
            self.hasher.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == self.size {
                self.close_chunk();
            }
        }
    }

    fn close_chunk(&mut self) {
        let digest = std::mem::take(&mut self.hasher).finalize();
        self.done.push(hex::encode(digest));
        self.filled = 0;
    }

    /// The hashes, the last (shorter) chunk included.
    pub fn finish(mut self) -> Vec<String> {
        if self.filled > 0 {
            self.close_chunk();
        }
        self.done
    }
}

/// Reads whole chunks from `inner`, checks each one's sha256, and only then releases its
/// bytes. Fails with `InvalidData` (naming the copy, the chunk and both hashes) before a bad
/// chunk's first byte, and on a stream shorter or longer than `total` bytes. Holds one chunk.
pub struct ChunkVerifiedReader<R> {
    inner: R,
    chunk_size: u64,
    expected: Vec<String>,
    total: u64,
    label: String,
    /// The chunk being read, or the verified chunk being released.
    buf: Vec<u8>,
    filled: usize,
    released: usize,
    verified: bool,
    /// Index of the chunk in `buf`.
    index: usize,
    failure: Option<String>,
}

impl<R> std::fmt::Debug for ChunkVerifiedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkVerifiedReader")
            .field("label", &self.label)
            .field("index", &self.index)
            .finish()
    }
}

impl<R> ChunkVerifiedReader<R> {
    /// `label` names the copy in errors (`copy on nas (key)`).
    pub fn new(
        inner: R,
        total: u64,
        chunk_size: u64,
        expected: Vec<String>,
        label: String,
    ) -> Self {
        let failure = if chunk_size == 0 || chunk_size > MAX_CHUNK_BYTES {
            Some(format!(
                "the manifest's chunk_size {chunk_size} is outside 1 to {MAX_CHUNK_BYTES} bytes"
            ))
        } else if total.div_ceil(chunk_size) != expected.len() as u64 {
            Some(format!(
                "the manifest lists {} chunks for {total} bytes in chunks of {chunk_size}; it is not consistent",
                expected.len()
            ))
        } else {
            None
        };
        ChunkVerifiedReader {
            inner,
            chunk_size,
            expected,
            total,
            label,
            buf: Vec::new(),
            filled: 0,
            released: 0,
            verified: false,
            index: 0,
            failure,
        }
    }

    fn fail(&mut self, what: String) -> Poll<std::io::Result<()>> {
        let what = format!("{}: {what}", self.label);
        self.failure = Some(what);
        self.failed()
    }

    fn failed(&self) -> Poll<std::io::Result<()>> {
        let what = self.failure.clone().unwrap_or_default();
        Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            what,
        )))
    }

    fn chunk_len(&self, index: usize) -> usize {
        let start = index as u64 * self.chunk_size;
        (self.total - start).min(self.chunk_size) as usize
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ChunkVerifiedReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.failure.is_some() {
                return this.failed();
            }
            if this.verified {
                if this.released < this.filled {
                    let n = (this.filled - this.released).min(out.remaining());
                    out.put_slice(&this.buf[this.released..this.released + n]);
                    this.released += n;
                    return Poll::Ready(Ok(()));
                }
                this.verified = false;
                this.filled = 0;
                this.released = 0;
                this.index += 1;
            }
            if this.index == this.expected.len() {
                // Every chunk passed; the copy must end here.
                let mut probe = [0u8; 1];
                let mut probe = ReadBuf::new(&mut probe);
                match Pin::new(&mut this.inner).poll_read(cx, &mut probe) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) if probe.filled().is_empty() => {
                        return Poll::Ready(Ok(()));
                    }
                    Poll::Ready(Ok(())) => {
                        return this.fail(format!(
                            "the copy is longer than the {} bytes the manifest says",
                            this.total
                        ));
                    }
                }
            }
            let want = this.chunk_len(this.index);
            if this.buf.len() < want {
                this.buf.resize(want, 0);
            }
            let mut space = ReadBuf::new(&mut this.buf[this.filled..want]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut space) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let n = space.filled().len();
            if n == 0 {
                let at = this.index as u64 * this.chunk_size + this.filled as u64;
                return this.fail(format!(
                    "the copy ends in chunk {} after {at} bytes, the manifest says {} (truncated?)",
                    this.index, this.total
                ));
            }
            this.filled += n;
            if this.filled == want {
                let digest = hex::encode(Sha256::digest(&this.buf[..want]));
                let expected = &this.expected[this.index];
                if &digest != expected {
                    let what = format!(
                        "chunk {} has sha256 {digest}, the manifest says {expected}; no byte of it was used",
                        this.index
                    );
                    return this.fail(what);
                }
                this.verified = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::AsyncReadExt;

    /// Hands out at most `step` bytes per read, as a network stream might.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self.step.min(self.data.len()).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(()))
        }
    }

    fn hashes(data: &[u8], size: usize) -> Vec<String> {
        data.chunks(size)
            .map(|c| hex::encode(Sha256::digest(c)))
            .collect()
    }

    /// Reads in small pieces; returns what was delivered and the error, if any.
    fn drain(
        stored: &[u8],
        step: usize,
        total: u64,
        size: usize,
        expected: Vec<String>,
    ) -> (Vec<u8>, Option<std::io::Error>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let inner = Trickle { data: stored, step };
            let mut reader =
                ChunkVerifiedReader::new(inner, total, size as u64, expected, "copy on nas".into());
            let mut delivered = Vec::new();
            let mut piece = [0u8; 5];
            loop {
                match reader.read(&mut piece).await {
                    Ok(0) => return (delivered, None),
                    Ok(n) => delivered.extend_from_slice(&piece[..n]),
                    Err(e) => return (delivered, Some(e)),
                }
            }
        })
    }

    proptest! {
        #[test]
        fn the_hasher_matches_hashing_each_chunk(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            size in 1usize..40,
            cut in proptest::collection::vec(1usize..50, 1..10),
        ) {
            let mut hasher = ChunkHasher::new(size as u64);
            let mut rest = &data[..];
            for step in cut.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*step).min(rest.len());
                hasher.update(&rest[..n]);
                rest = &rest[n..];
            }
            prop_assert_eq!(hasher.finish(), hashes(&data, size));
        }

        #[test]
        fn good_bytes_pass_whole(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            size in 1usize..40,
            step in 1usize..50,
        ) {
            let (out, err) = drain(&data, step, data.len() as u64, size, hashes(&data, size));
            prop_assert!(err.is_none(), "{:?}", err);
            prop_assert_eq!(out, data);
        }

        #[test]
        fn a_flipped_byte_releases_nothing_of_its_chunk(
            data in proptest::collection::vec(any::<u8>(), 1..300),
            size in 1usize..40,
            step in 1usize..50,
            at in any::<proptest::sample::Index>(),
        ) {
            let at = at.index(data.len());
            let mut bad = data.clone();
            bad[at] ^= 0x20;
            let (out, err) = drain(&bad, step, data.len() as u64, size, hashes(&data, size));
            let k = at / size;
            prop_assert_eq!(&out[..], &data[..k * size], "exactly chunks 0..k are released");
            let err = err.expect("a flipped byte fails");
            prop_assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
            let text = err.to_string();
            prop_assert!(text.contains(&format!("chunk {k} has sha256")), "{}", text);
            prop_assert!(text.contains(&hashes(&data, size)[k]), "{}", text);
            prop_assert!(text.contains("copy on nas"), "{}", text);
        }
    }

    #[test]
    fn a_truncated_copy_fails_without_its_partial_chunk() {
        let data: Vec<u8> = (0..100u8).collect();
        let (out, err) = drain(&data[..55], 7, 100, 10, hashes(&data, 10));
        assert_eq!(out, &data[..50]);
        let err = err.unwrap().to_string();
        assert!(
            err.contains("ends in chunk 5 after 55 bytes") && err.contains("truncated"),
            "{err}"
        );
    }

    #[test]
    fn extra_bytes_fail_after_the_last_chunk() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut longer = data.clone();
        longer.extend_from_slice(b"USE prod;");
        let (out, err) = drain(&longer, 7, 100, 10, hashes(&data, 10));
        assert_eq!(out, data);
        assert!(
            err.unwrap()
                .to_string()
                .contains("longer than the 100 bytes")
        );
    }

    #[test]
    fn a_chunk_list_that_does_not_fit_the_size_fails_before_any_byte() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut fewer = hashes(&data, 10);
        fewer.pop();
        let (out, err) = drain(&data, 7, 100, 10, fewer);
        assert!(out.is_empty());
        assert!(
            err.unwrap()
                .to_string()
                .contains("lists 9 chunks for 100 bytes")
        );
        let (out, err) = drain(&data, 7, 100, 0, vec![]);
        assert!(out.is_empty() && err.unwrap().to_string().contains("chunk_size 0"));
        let huge = MAX_CHUNK_BYTES as usize + 1;
        let (out, err) = drain(&data, 7, 100, huge, hashes(&data, huge));
        assert!(out.is_empty() && err.unwrap().to_string().contains("outside"));
    }

    #[test]
    fn an_empty_artifact_has_no_chunks() {
        let (out, err) = drain(&[], 1, 0, 10, vec![]);
        assert!(out.is_empty() && err.is_none());
        assert!(ChunkHasher::new(10).finish().is_empty());
    }
}
