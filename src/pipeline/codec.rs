//! Compression inside the pipeline: one codec chosen up front (F3: never a fallback that
//! rewrites a half-written stream), run on a blocking thread; zstd uses its own worker threads.

use std::io::Write;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::FanOut;
use super::encrypt::Sealed;
use crate::config::Compression;

/// Input per zstd worker job; bounds the compressor's memory.
const ZSTD_JOB_BYTES: u32 = 1 << 20;

/// zstd workers: every core; the dump tool mostly waits on the server.
fn zstd_workers() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// Compresses every chunk from `input` into `sink` until the channel closes.
pub(super) fn compress(
    compression: Compression,
    mut input: mpsc::Receiver<Bytes>,
    sink: Sealed,
) -> std::io::Result<FanOut> {
    match compression {
        Compression::Zstd { level } => {
            let mut encoder = zstd::stream::write::Encoder::new(sink, level)?;
            encoder.multithread(zstd_workers())?;
            // zstd's default job is 4× its window (8 MiB at level 3) per worker, in and out:
            // ~70 MiB peak. 1 MiB jobs keep the process near 30 MiB for +0.4% size.
            encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_BYTES))?;
            encoder.include_checksum(true)?;
            pump(&mut input, &mut encoder)?;
            encoder.finish()?.finish()?.finish()
        }
        Compression::Gzip { level } => {
            let mut encoder = flate2::write::GzEncoder::new(sink, flate2::Compression::new(level));
            pump(&mut input, &mut encoder)?;
            encoder.finish()?.finish()?.finish()
        }
        Compression::None => {
            let mut sink = sink;
            pump(&mut input, &mut sink)?;
            sink.finish()?.finish()
        }
    }
}

fn pump(input: &mut mpsc::Receiver<Bytes>, out: &mut impl Write) -> std::io::Result<()> {
    while let Some(chunk) = input.blocking_recv() {
        out.write_all(&chunk)?;
    }
    Ok(())
}
