//! Stream helpers for judging a dump without holding it: a reader that shows every chunk to
//! an inspector (row counters, completion markers), a reader that rewrites the stream as it
//! passes (drill-only edits), and a bounded buffer of the last bytes.

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

/// A streaming edit: sees the bytes as they come and appends what should go on to `out`.
/// It may hold bytes back (a line it has not seen the end of) until more come or `finish`.
pub trait Rewrite: Send + Unpin {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// The input ended: hand on whatever is held back.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// How long a line [`ByLine`] holds before it hands it to the edit unfinished.
pub const MAX_LINE_HOLD: usize = 64 * 1024;

/// An edit of whole lines, for [`ByLine`].
pub trait LineEdit: Send + Unpin {
    /// Whether a line that starts with `start` (its first bytes, no line end yet) may need
    /// the edit; a line that may not passes unseen.
    fn may_edit(&self, start: &[u8]) -> bool;
    /// A held line, with its line end (or, past [`MAX_LINE_HOLD`], its first bytes, the rest
    /// passing unseen): appends what goes on to `out`; appending nothing drops it.
    fn edit(&mut self, line: &[u8], out: &mut Vec<u8>);
}

/// A [`Rewrite`] that holds only the lines a [`LineEdit`] may change, and passes every other
/// byte as it came, without buffering.
#[derive(Debug, Default)]
pub struct ByLine<E> {
    edit: E,
    held: Vec<u8>,
    /// Inside a line already handed on: pass bytes until its end.
    passing: bool,
}

impl<E: LineEdit> ByLine<E> {
    pub fn new(edit: E) -> Self {
        ByLine {
            edit,
            held: Vec::new(),
            passing: false,
        }
    }
}

impl<E: LineEdit> Rewrite for ByLine<E> {
    fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            let end = memchr::memchr(b'\n', input);
            let take = end.map_or(input.len(), |e| e + 1);
            if self.passing {
                out.extend_from_slice(&input[..take]);
            } else {
                self.held.extend_from_slice(&input[..take]);
                if end.is_some() || self.held.len() >= MAX_LINE_HOLD {
                    self.edit.edit(&self.held, out);
                    self.held.clear();
                } else if !self.edit.may_edit(&self.held) {
                    out.append(&mut self.held);
                } else {
                    input = &input[take..];
                    continue;
                }
            }
            self.passing = end.is_none();
            input = &input[take..];
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.held.is_empty() {
            self.edit.edit(&self.held, out);
            self.held.clear();
        }
    }
}

/// Feeds `input` through `rewrite` in pieces of `piece` bytes and returns the whole result:
/// for small inputs, and for tests that an edit does not depend on where chunks end.
pub fn rewrite_whole(mut rewrite: impl Rewrite, input: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        rewrite.push(chunk, &mut out);
    }
    rewrite.finish(&mut out);
    out
}

/// Reads `inner` through a [`Rewrite`].
pub struct Rewriting<R, T> {
    inner: R,
    rewrite: T,
    read: Box<[u8]>,
    out: Vec<u8>,
    sent: usize,
    ended: bool,
}

impl<R, T> std::fmt::Debug for Rewriting<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rewriting")
    }
}

impl<R, T> Rewriting<R, T> {
    pub fn new(inner: R, rewrite: T) -> Self {
        Rewriting {
            inner,
            rewrite,
            read: vec![0; 64 * 1024].into_boxed_slice(),
            out: Vec::new(),
            sent: 0,
            ended: false,
        }
    }
}

impl<R: AsyncRead + Unpin, T: Rewrite> AsyncRead for Rewriting<R, T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.sent < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.sent);
                buf.put_slice(&this.out[this.sent..this.sent + n]);
                this.sent += n;
                return Poll::Ready(Ok(()));
            }
            if this.ended {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = ReadBuf::new(&mut this.read);
            match Pin::new(&mut this.inner).poll_read(cx, &mut chunk) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    this.out.clear();
                    this.sent = 0;
                    let got = chunk.filled();
                    if got.is_empty() {
                        this.rewrite.finish(&mut this.out);
                        this.ended = true;
                    } else {
                        this.rewrite.push(got, &mut this.out);
                    }
                }
            }
        }
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

    /// Drops every `x` and, at the end, says how many bytes it saw.
    struct DropX(usize);

    impl Rewrite for DropX {
        fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
            self.0 += input.len();
            out.extend(input.iter().filter(|&&b| b != b'x'));
        }
        fn finish(&mut self, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("[{}]", self.0).as_bytes());
        }
    }

    #[tokio::test]
    async fn a_rewriting_reader_hands_on_the_edit_and_the_tail() {
        let input: Vec<u8> = b"axbxc".repeat(50_000);
        let mut reader = Rewriting::new(&input[..], DropX(0));
        // Small reads, so that one edited chunk spans many of them.
        let mut out = Vec::new();
        let mut small = [0u8; 1000];
        loop {
            let n = reader.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&small[..n]);
        }
        let mut want = b"abc".repeat(50_000);
        want.extend_from_slice(b"[250000]");
        assert!(out == want, "{} bytes", out.len());
    }

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
