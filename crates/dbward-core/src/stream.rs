//! Stream helpers for judging a dump without holding it: a reader that shows every chunk to
//! an inspector (row counters, completion markers) and a bounded buffer of the last bytes.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Passes reads through and shows each chunk read to `inspect`.
pub struct TapReader<R, F> {
    inner: R,
    inspect: F,
}

impl<R, F> TapReader<R, F> {
    pub fn new(inner: R, inspect: F) -> Self {
        TapReader { inner, inspect }
    }
}

impl<R, F> std::fmt::Debug for TapReader<R, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TapReader")
    }
}

impl<R: AsyncRead + Unpin, F: FnMut(&[u8]) + Unpin> AsyncRead for TapReader<R, F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                (this.inspect)(new);
            }
        }
        poll
    }
}

/// Keeps the first `N` and the last `N` bytes of a stream, however long it is.
#[derive(Debug, Clone)]
pub struct Ends {
    limit: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
}

impl Ends {
    pub fn new(limit: usize) -> Self {
        Ends {
            limit,
            head: Vec::new(),
            tail: std::collections::VecDeque::with_capacity(limit),
            total: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let room = self.limit.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let keep = &chunk[chunk.len().saturating_sub(self.limit)..];
        let overflow = (self.tail.len() + keep.len()).saturating_sub(self.limit);
        self.tail.drain(..overflow);
        self.tail.extend(keep);
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn tail(&self) -> Vec<u8> {
        self.tail.iter().copied().collect()
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

/// How copying a dump into a restore tool's input ended.
#[derive(Debug)]
pub enum Fed {
    /// The dump ended cleanly.
    Complete,
    /// Reading the dump failed: a corrupt or truncated artifact.
    ReadFailed(std::io::Error),
    /// The tool stopped reading (it exited, usually on an SQL error).
    ToolGone(std::io::Error),
}

/// Copies `dump` into `sink` (a restore tool's stdin), keeping its ends for the completion
/// marker. The caller decides, from the outcome, whether the tool may see the end of input.
pub async fn feed<R, W>(dump: &mut R, sink: &mut W, ends: &mut Ends) -> Fed
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match dump.read(&mut buf).await {
            Ok(0) => return Fed::Complete,
            Ok(n) => n,
            Err(e) => return Fed::ReadFailed(e),
        };
        ends.push(&buf[..n]);
        if let Err(e) = sink.write_all(&buf[..n]).await {
            return Fed::ToolGone(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::AsyncReadExt;

    proptest! {
        #[test]
        fn ends_match_the_whole_stream(data in proptest::collection::vec(any::<u8>(), 0..400),
                                       cuts in proptest::collection::vec(1usize..50, 1..20),
                                       limit in 1usize..64) {
            let mut ends = Ends::new(limit);
            let mut rest = &data[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (a, b) = rest.split_at((*cut).min(rest.len()));
                ends.push(a);
                rest = b;
            }
            prop_assert_eq!(ends.head(), &data[..data.len().min(limit)]);
            prop_assert_eq!(ends.tail(), data[data.len().saturating_sub(limit)..].to_vec());
            prop_assert_eq!(ends.total(), data.len() as u64);
        }
    }

    #[tokio::test]
    async fn tap_sees_every_byte_once() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        TapReader::new(&data[..], |c: &[u8]| seen.extend_from_slice(c))
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(seen, data);
    }
}
