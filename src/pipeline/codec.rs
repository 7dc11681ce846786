//! Compression inside the pipeline: one codec chosen up front (F3: never a fallback that
//! rewrites a half-written stream), run on a blocking thread; zstd uses its own worker threads.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dbward_core::manifest::CompressionLevel;
use tokio::sync::mpsc;
use zstd::stream::raw::CParameter;

use super::FanOut;
use super::adapt::{self, Adapter};
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

/// A zstd encoder at `level`, with worker threads and frame checksums.
fn zstd_encoder(sink: Sealed, level: i32) -> std::io::Result<ZstdEncoder> {
    let mut encoder = zstd::stream::write::Encoder::new(sink, level)?;
    encoder.multithread(zstd_workers())?;
    // zstd's default job is 4× its window (8 MiB at level 3) per worker, in and out:
    // ~70 MiB peak. 1 MiB jobs keep the process near 30 MiB for +0.4% size.
    encoder.set_parameter(CParameter::JobSize(ZSTD_JOB_BYTES))?;
    encoder.include_checksum(true)?;
    Ok(encoder)
}

type ZstdEncoder = zstd::stream::write::Encoder<'static, Sealed>;

/// Compresses every chunk from `input` into `sink` until the channel closes. `held_back`
/// counts the nanoseconds the reader has waited to hand the compressor a chunk (what
/// `compression_level = "auto"` weakens the level for). Returns the sink and the levels used.
pub(super) fn compress(
    compression: Compression,
    mut input: mpsc::Receiver<Bytes>,
    sink: Sealed,
    held_back: &AtomicU64,
) -> std::io::Result<(FanOut, Option<CompressionLevel>)> {
    let fixed = |level: i32| {
        Some(CompressionLevel {
            auto: false,
            lowest: level,
            highest: level,
        })
    };
    match compression {
        Compression::Zstd { level } => {
            let mut encoder = zstd_encoder(sink, level)?;
            pump(&mut input, &mut encoder)?;
            Ok((encoder.finish()?.finish()?.finish()?, fixed(level)))
        }
        Compression::ZstdAuto => {
            let mut adapter = Adapter::default();
            let mut encoder = zstd_encoder(sink, adapter.level())?;
            pump_adapting(&mut input, &mut encoder, held_back, &mut adapter)?;
            let used = adapter.used();
            let levels = CompressionLevel {
                auto: true,
                lowest: used.lowest,
                highest: used.highest,
            };
            Ok((encoder.finish()?.finish()?.finish()?, Some(levels)))
        }
        Compression::Gzip { level } => {
            let mut encoder = flate2::write::GzEncoder::new(sink, flate2::Compression::new(level));
            pump(&mut input, &mut encoder)?;
            Ok((encoder.finish()?.finish()?.finish()?, fixed(level as i32)))
        }
        Compression::None => {
            let mut sink = sink;
            pump(&mut input, &mut sink)?;
            Ok((sink.finish()?.finish()?, None))
        }
    }
}

/// [`pump`], reconsidering the zstd level every [`adapt::WINDOW`] from how long the
/// compressor waited for input and how long the reader waited for it.
fn pump_adapting(
    input: &mut mpsc::Receiver<Bytes>,
    encoder: &mut ZstdEncoder,
    held_back: &AtomicU64,
    adapter: &mut Adapter,
) -> std::io::Result<()> {
    let mut window = Instant::now();
    let mut idle = Duration::ZERO;
    let mut held_before = held_back.load(Ordering::Relaxed);
    loop {
        let waiting = Instant::now();
        let Some(chunk) = input.blocking_recv() else {
            return Ok(());
        };
        idle += waiting.elapsed();
        encoder.write_all(&chunk)?;
        let elapsed = window.elapsed();
        if elapsed >= adapt::WINDOW {
            let held_now = held_back.load(Ordering::Relaxed);
            let held = Duration::from_nanos(held_now.saturating_sub(held_before));
            if let Some(level) = adapter.observe(idle, held, elapsed) {
                encoder.set_parameter(CParameter::CompressionLevel(level))?;
            }
            (window, idle, held_before) = (Instant::now(), Duration::ZERO, held_now);
        }
    }
}

fn pump(input: &mut mpsc::Receiver<Bytes>, out: &mut impl Write) -> std::io::Result<()> {
    while let Some(chunk) = input.blocking_recv() {
        out.write_all(&chunk)?;
    }
    Ok(())
}
