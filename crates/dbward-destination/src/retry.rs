//! Retry as a layer around any destination: `Retrying` tries the idempotent calls (`begin`,
//! `put`, `size`, opening a `read`, `delete`, `list`, `clean_staging`) again when they fail
//! with a transient error (`crate::failure::is_transient`: the server unreachable, a
//! connection reset or timed out, 5xx, throttling), waiting exponentially longer each time,
//! a bounded number of times. Each retry is logged with `tracing::warn!`; messages carry no
//! secret because destination errors never do.
//!
//! Not retried: the bytes of an upload (`Upload::write` / `commit`) and of a read once it is
//! streaming. The pipeline hands each chunk over once and cannot rewind, so a failed upload
//! fails that copy (the other destinations go on) and the next run starts afresh. OpenDAL
//! itself re-sends nothing either: each part of a multipart upload is sent once.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dbward_core::destination::{Destination, ObjectMeta, Upload};
use dbward_core::{Error, Result};
use tokio::io::AsyncRead;

use crate::failure::is_transient;

/// How often and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled after each.
    pub first_delay: Duration,
    /// Longest wait between two tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 tries over about 3.5 s (0.5 s, 1 s, 2 s).
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (attempt counts from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << (attempt.saturating_sub(1)).min(16);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// A destination whose idempotent calls are retried on transient errors.
#[derive(Debug)]
pub struct Retrying<D: ?Sized = dyn Destination> {
    inner: Arc<D>,
    policy: RetryPolicy,
}

impl<D: Destination + ?Sized> Retrying<D> {
    pub fn new(inner: Arc<D>, policy: RetryPolicy) -> Self {
        Retrying { inner, policy }
    }

    /// The wrapped destination.
    pub fn inner(&self) -> &Arc<D> {
        &self.inner
    }

    async fn retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T>> + Send,
        T: Send,
    {
        let attempts = self.policy.attempts.max(1);
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(e) if attempt < attempts && is_transient(&e) => {
                    let delay = self.policy.delay(attempt);
                    tracing::warn!(
                        destination = self.inner.name(),
                        attempt,
                        attempts,
                        delay_ms = delay.as_millis() as u64,
                        "{what} failed, retrying: {e}"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) if attempt > 1 => return Err(gave_up(e, attempt)),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Says in the error that it is the last of several tries.
fn gave_up(err: Error, attempts: u32) -> Error {
    match err {
        Error::Destination {
            destination,
            reason,
        } => Error::Destination {
            destination,
            reason: format!("{reason} (gave up after {attempts} attempts)"),
        },
        other => other,
    }
}

#[async_trait]
impl<D: Destination + ?Sized> Destination for Retrying<D> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    async fn begin(&self, key: &str, expected_bytes: Option<u64>) -> Result<Box<dyn Upload>> {
        self.retry(&format!("starting upload of {key}"), || {
            self.inner.begin(key, expected_bytes)
        })
        .await
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.retry(&format!("writing {key}"), || {
            self.inner.put(key, bytes.clone())
        })
        .await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>> {
        self.retry(&format!("stat of {key}"), || self.inner.size(key))
            .await
    }

    async fn read(&self, key: &str) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
        self.retry(&format!("opening {key}"), || self.inner.read(key))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.retry(&format!("deleting {key}"), || self.inner.delete(key))
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.retry(&format!("listing {prefix:?}"), || self.inner.list(prefix))
            .await
    }

    async fn free_bytes(&self) -> Option<u64> {
        self.inner.free_bytes().await
    }

    async fn clean_staging(&self) -> Result<usize> {
        self.retry("cleaning staged uploads", || self.inner.clean_staging())
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::failure::TRANSIENT_MARK;

    /// A destination of our own trait that fails its first `failures` calls of `size`.
    #[derive(Debug)]
    struct Flaky {
        failures: u32,
        transient: bool,
        calls: AtomicU32,
    }

    #[async_trait]
    impl Destination for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn location(&self) -> String {
            "test:flaky".into()
        }
        async fn begin(&self, _: &str, _: Option<u64>) -> Result<Box<dyn Upload>> {
            Err(self.failure())
        }
        async fn put(&self, _: &str, _: Bytes) -> Result<()> {
            self.count()
        }
        async fn size(&self, _: &str) -> Result<Option<u64>> {
            self.count().map(|()| Some(7))
        }
        async fn read(&self, _: &str) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
            Err(self.failure())
        }
        async fn delete(&self, _: &str) -> Result<()> {
            self.count()
        }
        async fn list(&self, _: &str) -> Result<Vec<ObjectMeta>> {
            self.count().map(|()| Vec::new())
        }
        async fn free_bytes(&self) -> Option<u64> {
            None
        }
        async fn clean_staging(&self) -> Result<usize> {
            Ok(0)
        }
    }

    impl Flaky {
        fn new(failures: u32, transient: bool) -> Arc<Self> {
            Arc::new(Flaky {
                failures,
                transient,
                calls: AtomicU32::new(0),
            })
        }
        fn failure(&self) -> Error {
            let reason = if self.transient {
                format!("connection reset {TRANSIENT_MARK}")
            } else {
                "bucket does not exist".into()
            };
            Error::Destination {
                destination: "flaky".into(),
                reason,
            }
        }
        fn count(&self) -> Result<()> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= self.failures {
                Err(self.failure())
            } else {
                Ok(())
            }
        }
    }

    fn fast(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let flaky = Flaky::new(2, true);
        let dest = Retrying::new(flaky.clone(), fast(4));
        assert_eq!(dest.size("k").await.unwrap(), Some(7));
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn retries_are_bounded_and_the_error_says_so() {
        let flaky = Flaky::new(10, true);
        let dest = Retrying::new(flaky.clone(), fast(3));
        let err = dest.delete("k").await.unwrap_err().to_string();
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
        assert!(err.contains("gave up after 3 attempts"), "{err}");
        assert!(
            err.starts_with("destination flaky: connection reset"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let flaky = Flaky::new(10, false);
        let dest = Retrying::new(flaky.clone(), fast(5));
        let err = dest.list("").await.unwrap_err().to_string();
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
        assert_eq!(err, "destination flaky: bucket does not exist");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1), Duration::from_millis(500));
        assert_eq!(policy.delay(2), Duration::from_secs(1));
        assert_eq!(policy.delay(3), Duration::from_secs(2));
        assert_eq!(policy.delay(30), Duration::from_secs(8));
    }
}
