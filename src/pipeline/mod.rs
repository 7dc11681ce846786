//! The streaming pipeline: dump bytes → compression → sha256 of the stored bytes → every
//! destination at once. One pass, bounded memory: every stage hands fixed-size chunks through
//! bounded channels, so a slow destination slows the dump instead of growing a buffer.
//!
//! Memory bound: `INPUT_DEPTH + 1` input chunks and `OUTPUT_DEPTH + 1` output chunks per
//! destination (256 KiB each), plus zstd's workers, each holding a 1 MiB job in and out with
//! its window. Measured by `scripts/bench.sh`: about 30 MiB peak RSS for the whole process,
//! the same at 4× the data.

pub mod adapt;
mod codec;
pub mod encrypt;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use dbward_core::chunked::{CHUNK_BYTES as CHUNK_HASH_BYTES, ChunkHasher};
use dbward_core::destination::Upload;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::config::Compression;

/// Size of the chunks handed between stages.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Dump chunks waiting for the compressor.
const INPUT_DEPTH: usize = 4;
/// Compressed chunks waiting for each destination.
const OUTPUT_DEPTH: usize = 8;

/// What went through the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub dump_bytes: u64,
    pub stored_bytes: u64,
    pub sha256: String,
    /// sha256 of each `dbward_core::chunked::CHUNK_BYTES` chunk of the stored bytes.
    pub chunks: Vec<String>,
    /// The compression levels used (none without compression).
    pub compression_level: Option<dbward_core::manifest::CompressionLevel>,
}

/// An upload to feed, named by its destination.
#[allow(missing_debug_implementations)]
pub struct Target {
    pub destination: String,
    pub upload: Box<dyn Upload>,
    /// Sees the bytes written to this destination (progress).
    pub on_written: Arc<dyn Fn(u64) + Send + Sync>,
}

/// How one target fared: the upload, still uncommitted, or why it failed.
#[allow(missing_debug_implementations)]
pub struct TargetOutcome {
    pub destination: String,
    pub result: Result<Box<dyn Upload>, dbward_core::Error>,
}

/// A failure of the pipeline itself (not of one destination).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("reading the dump failed: {0}")]
    Read(std::io::Error),
    #[error("compression failed: {0}")]
    Compress(std::io::Error),
}

/// Streams `input` through `compression` into every target. Returns the totals and each
/// target's outcome; targets that failed have already been aborted. When every target
/// fails, reading stops early and the totals cover what was read.
pub async fn run(
    mut input: Pin<Box<dyn AsyncRead + Send>>,
    compression: Compression,
    sealing: encrypt::Sealing,
    targets: Vec<Target>,
    on_read: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<(Totals, Vec<TargetOutcome>), PipelineError> {
    let mut senders = Vec::with_capacity(targets.len());
    let mut writers = Vec::with_capacity(targets.len());
    for target in targets {
        let (tx, rx) = mpsc::channel::<Bytes>(OUTPUT_DEPTH);
        senders.push(Some(tx));
        writers.push((
            target.destination,
            tokio::spawn(feed(target.upload, rx, target.on_written)),
        ));
    }

    let (input_tx, input_rx) = mpsc::channel::<Bytes>(INPUT_DEPTH);
    let sink = FanOut {
        pending: BytesMut::with_capacity(CHUNK_BYTES),
        hasher: Sha256::new(),
        chunker: ChunkHasher::new(CHUNK_HASH_BYTES),
        stored_bytes: 0,
        outputs: senders,
    };
    let held_back = Arc::new(AtomicU64::new(0));
    let compressor_held_back = held_back.clone();
    let compressor = tokio::task::spawn_blocking(move || {
        let sealed = sealing.wrap(sink)?;
        codec::compress(compression, input_rx, sealed, &compressor_held_back)
    });

    let mut dump_bytes = 0u64;
    let read_result = loop {
        let mut chunk = BytesMut::with_capacity(CHUNK_BYTES);
        match input.read_buf(&mut chunk).await {
            Ok(0) => break Ok(()),
            Ok(n) => {
                dump_bytes += n as u64;
                on_read(n as u64);
                // The compressor stops taking input only when every destination failed.
                let handing = Instant::now();
                if input_tx.send(chunk.freeze()).await.is_err() {
                    break Ok(());
                }
                let waited = u64::try_from(handing.elapsed().as_nanos()).unwrap_or(u64::MAX);
                held_back.fetch_add(waited, Ordering::Relaxed);
            }
            Err(e) => break Err(e),
        }
    };
    drop(input_tx);
    let compressed = compressor
        .await
        .map_err(|e| PipelineError::Compress(std::io::Error::other(e.to_string())))?;

    let mut outcomes = Vec::with_capacity(writers.len());
    for (destination, task) in writers {
        let result = task.await.unwrap_or_else(|e| {
            Err(dbward_core::Error::Destination {
                destination: destination.clone(),
                reason: format!("upload task stopped: {e}"),
            })
        });
        outcomes.push(TargetOutcome {
            destination,
            result,
        });
    }
    read_result.map_err(PipelineError::Read)?;
    let (sink, compression_level) = match compressed {
        Ok(done) => done,
        Err(e) if outcomes.iter().all(|o| o.result.is_err()) => {
            // The compressor gave up because nobody was listening; the targets say why.
            tracing::debug!("compressor stopped: {e}");
            return Ok((
                Totals {
                    dump_bytes,
                    stored_bytes: 0,
                    sha256: String::new(),
                    chunks: Vec::new(),
                    compression_level: None,
                },
                outcomes,
            ));
        }
        Err(e) => {
            for outcome in outcomes {
                if let Ok(upload) = outcome.result {
                    upload.abort().await;
                }
            }
            return Err(PipelineError::Compress(e));
        }
    };
    Ok((
        Totals {
            dump_bytes,
            stored_bytes: sink.stored_bytes,
            sha256: hex::encode(sink.hasher.finalize()),
            chunks: sink.chunker.finish(),
            compression_level,
        },
        outcomes,
    ))
}

/// Writes every chunk into one upload; on the first error aborts it and stops listening,
/// which the fan-out notices.
async fn feed(
    mut upload: Box<dyn Upload>,
    mut chunks: mpsc::Receiver<Bytes>,
    on_written: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<Box<dyn Upload>, dbward_core::Error> {
    while let Some(chunk) = chunks.recv().await {
        let len = chunk.len() as u64;
        if let Err(e) = upload.write(chunk).await {
            drop(chunks);
            upload.abort().await;
            return Err(e);
        }
        on_written(len);
    }
    Ok(upload)
}

/// The end of the compressor: hashes and counts the stored bytes (whole and per manifest
/// chunk) and hands full chunks to every destination still listening.
pub(crate) struct FanOut {
    pending: BytesMut,
    hasher: Sha256,
    chunker: ChunkHasher,
    stored_bytes: u64,
    outputs: Vec<Option<mpsc::Sender<Bytes>>>,
}

impl FanOut {
    fn send_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = self.pending.split().freeze();
        self.pending.reserve(CHUNK_BYTES);
        for output in &mut self.outputs {
            if let Some(tx) = output
                && tx.blocking_send(chunk.clone()).is_err()
            {
                *output = None;
            }
        }
        if self.outputs.iter().all(Option::is_none) {
            return Err(std::io::Error::other("every destination failed"));
        }
        Ok(())
    }

    /// Sends what is left; dropping the senders then tells each destination the end.
    fn finish(mut self) -> std::io::Result<Self> {
        self.send_pending()?;
        self.outputs.clear();
        Ok(self)
    }
}

impl std::io::Write for FanOut {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(data);
        self.chunker.update(data);
        self.stored_bytes += data.len() as u64;
        self.pending.extend_from_slice(data);
        if self.pending.len() >= CHUNK_BYTES {
            self.send_pending()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
