//! Reading a stored artifact back: each chunk proven against the manifest's chunk hashes
//! before any of its bytes pass (`ChunkVerifiedReader`, manifest format 3), or, for older
//! manifests, a reader that checks size and sha256 as the bytes pass and fails at the end of
//! input; then the manifest's decryption and decompression, so restore and verify never trust
//! a corrupt copy silently.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dbward_core::Manifest;
use dbward_core::chunked::ChunkVerifiedReader;
use dbward_core::destination::Destination;

use super::keys::Keyring;
use super::locate::Located;
use super::observe::Observer;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

/// A reader that fails with `InvalidData` at the end of input when the bytes that passed do
/// not have the expected size and sha256, and as soon as they exceed the size.
pub struct VerifiedReader<R> {
    inner: R,
    hasher: Sha256,
    seen: u64,
    expected_size: u64,
    expected_sha256: String,
    label: String,
}

impl<R> std::fmt::Debug for VerifiedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedReader")
            .field("label", &self.label)
            .finish()
    }
}

impl<R> VerifiedReader<R> {
    pub fn new(inner: R, expected_size: u64, expected_sha256: &str, label: String) -> Self {
        VerifiedReader {
            inner,
            hasher: Sha256::new(),
            seen: 0,
            expected_size,
            expected_sha256: expected_sha256.to_string(),
            label,
        }
    }

    fn invalid(&self, what: String) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {what}", self.label),
        )
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifiedReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if new.is_empty() {
                    if this.seen != this.expected_size {
                        return Poll::Ready(Err(this.invalid(format!(
                            "artifact is {} bytes, the manifest says {} (truncated?)",
                            this.seen, this.expected_size
                        ))));
                    }
                    let digest = hex::encode(std::mem::take(&mut this.hasher).finalize());
                    if digest != this.expected_sha256 {
                        return Poll::Ready(Err(this.invalid(format!(
                            "sha256 of the artifact is {digest}, the manifest says {}",
                            this.expected_sha256
                        ))));
                    }
                    return Poll::Ready(Ok(()));
                }
                if this.seen + new.len() as u64 > this.expected_size {
                    // An error must come with no bytes read.
                    buf.set_filled(before);
                    return Poll::Ready(Err(this.invalid(format!(
                        "artifact is longer than the {} bytes the manifest says",
                        this.expected_size
                    ))));
                }
                this.seen += new.len() as u64;
                this.hasher.update(new);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// How reading through a backup's copies ended.
#[derive(Debug)]
pub enum CopyOutcome<T, E> {
    /// The consumer succeeded on `copy`; the copies tried before were skipped, with reasons.
    Read {
        copy: String,
        value: T,
        skipped: Vec<String>,
    },
    /// The consumer failed on `copy` while the copy read cleanly: another copy would fail too.
    Failed {
        copy: String,
        error: E,
        skipped: Vec<String>,
    },
    /// Every copy was missing, unreadable or damaged.
    Unreadable { skipped: Vec<String> },
}

/// Feeds the dump of the first copy that reads cleanly to `consume` (restore, structural
/// check): a copy that cannot be opened, or whose bytes fail while `consume` reads them
/// (checksum, truncation, decryption), is skipped and named; a failure of `consume` itself
/// ends the search.
pub async fn read_first_good_copy<T, E: std::fmt::Display>(
    located: &Located,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
    verb: &str,
    mut consume: impl AsyncFnMut(Pin<Box<dyn AsyncRead + Send>>) -> Result<T, E>,
) -> CopyOutcome<T, E> {
    let mut skipped = Vec::new();
    for copy in &located.copies {
        let name = copy.destination.name().to_string();
        let bar = progress.job(&format!("{verb} {name}"));
        let dump = match open_dump(
            copy.destination.as_ref(),
            &copy.key,
            &located.manifest,
            keyring,
            bar.read_counter(),
        )
        .await
        {
            Ok(dump) => dump,
            Err(reason) => {
                tracing::warn!("skipping the copy on {name}: {reason}");
                skipped.push(format!("copy on {name}: {reason}"));
                continue;
            }
        };
        let (dump, damaged) = flag_read_errors(dump);
        let result = consume(dump).await;
        bar.done();
        match result {
            Ok(value) => {
                return CopyOutcome::Read {
                    copy: name,
                    value,
                    skipped,
                };
            }
            Err(error) if damaged.load(std::sync::atomic::Ordering::SeqCst) => {
                tracing::warn!("the copy on {name} is damaged: {error}; trying the next copy");
                skipped.push(format!("copy on {name}: {error}"));
            }
            Err(error) => {
                return CopyOutcome::Failed {
                    copy: name,
                    error,
                    skipped,
                };
            }
        }
    }
    CopyOutcome::Unreadable { skipped }
}

/// Wraps a dump stream so that the caller learns whether reading it failed (a damaged copy)
/// as opposed to the restore target failing.
fn flag_read_errors(
    inner: Pin<Box<dyn AsyncRead + Send>>,
) -> (
    Pin<Box<dyn AsyncRead + Send>>,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    (
        Box::pin(FlagOnError {
            inner,
            flag: flag.clone(),
        }),
        flag,
    )
}

struct FlagOnError {
    inner: Pin<Box<dyn AsyncRead + Send>>,
    flag: Arc<std::sync::atomic::AtomicBool>,
}

impl AsyncRead for FlagOnError {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let poll = self.inner.as_mut().poll_read(cx, buf);
        if let Poll::Ready(Err(_)) = &poll {
            self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        poll
    }
}

/// The dump inside a stored copy: read from `dest`, checked against `manifest`, decrypted
/// with `keyring` when the manifest says it is encrypted, decompressed. `on_read` sees the
/// stored bytes as they are read (progress).
pub async fn open_dump(
    dest: &dyn Destination,
    key: &str,
    manifest: &Manifest,
    keyring: Option<&Keyring>,
    on_read: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>, String> {
    let raw = dest.read(key).await.map_err(|e| e.to_string())?;
    let counted =
        dbward_core::stream::TapReader::new(raw, move |chunk: &[u8]| on_read(chunk.len() as u64));
    let label = format!("copy on {} ({key})", dest.name());
    let verified: Pin<Box<dyn AsyncRead + Send>> = match (manifest.chunk_size, &manifest.chunks) {
        (Some(chunk_size), Some(chunks)) => Box::pin(ChunkVerifiedReader::new(
            counted,
            manifest.stored_bytes,
            chunk_size,
            chunks.clone(),
            label,
        )),
        _ => {
            tracing::warn!(
                "backup {} has no chunk hashes (manifest format {}): its bytes reach the loader before they are proven, and a damaged copy is detected only at its end",
                manifest.id,
                manifest.format_version
            );
            Box::pin(VerifiedReader::new(
                counted,
                manifest.stored_bytes,
                &manifest.sha256,
                label,
            ))
        }
    };
    let plain: Pin<Box<dyn AsyncRead + Send>> = match &manifest.encryption {
        None => verified,
        Some(_) => {
            let what = format!("backup {}", manifest.id);
            decrypt(verified, &what, &manifest.encryption_recipients, keyring).await?
        }
    };
    decompress(&manifest.compression, plain)
}

/// Opens the age layer of `what` (`backup <id>`, `WAL file <name>`), encrypted for
/// `recipients` (fingerprints; none: a passphrase); errors list what it expects and what was
/// offered.
pub async fn decrypt(
    stored: Pin<Box<dyn AsyncRead + Send>>,
    what: &str,
    recipients: &[String],
    keyring: Option<&Keyring>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>, String> {
    use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
    let expected = if recipients.is_empty() {
        "a passphrase".to_string()
    } else {
        format!("recipients {}", recipients.join(", "))
    };
    let Some(keyring) = keyring else {
        return Err(format!(
            "{what} is encrypted for {expected}; pass --identity FILE (or set [encryption] identity)"
        ));
    };
    let decryptor = age::Decryptor::new_async(stored.compat())
        .await
        .map_err(|e| format!("{what}: the age header cannot be read: {e}"))?;
    match decryptor.decrypt_async(keyring.identities()) {
        Ok(reader) => Ok(Box::pin(reader.compat())),
        Err(age::DecryptError::NoMatchingKeys) => Err(format!(
            "the {} cannot decrypt {what}: it was encrypted for {expected}{}",
            keyring.origin(),
            if keyring.fingerprints.is_empty() {
                String::new()
            } else {
                format!(
                    "; the identity answers to {}",
                    keyring.fingerprints.join(", ")
                )
            }
        )),
        Err(e) => Err(format!("{what}: decryption failed: {e}")),
    }
}

/// Wraps a stored stream in the decompression the manifest names.
pub fn decompress(
    compression: &str,
    stored: Pin<Box<dyn AsyncRead + Send>>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>, String> {
    use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
    let buffered = BufReader::with_capacity(256 * 1024, stored);
    Ok(match compression {
        "zstd" => Box::pin(ZstdDecoder::new(buffered)),
        "gzip" => Box::pin(GzipDecoder::new(buffered)),
        "none" => Box::pin(buffered),
        other => {
            return Err(format!(
                "unknown compression {other:?} in the manifest; upgrade dbward"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn read(data: &[u8], size: u64, sha: &str) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        VerifiedReader::new(data, size, sha, "copy".into())
            .read_to_end(&mut out)
            .await?;
        Ok(out)
    }

    #[tokio::test]
    async fn verified_reader_passes_good_bytes_and_fails_bad_ones_at_the_end() {
        let data = b"hello artifact".to_vec();
        let sha = hex::encode(Sha256::digest(&data));
        assert_eq!(read(&data, data.len() as u64, &sha).await.unwrap(), data);

        let mut flipped = data.clone();
        flipped[3] ^= 1;
        let err = read(&flipped, data.len() as u64, &sha).await.unwrap_err();
        assert!(err.to_string().contains("sha256 of the artifact"), "{err}");

        let err = read(&data[..5], data.len() as u64, &sha).await.unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");

        let mut longer = data.clone();
        longer.push(b'!');
        let err = read(&longer, data.len() as u64, &sha).await.unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }
}
