//! The `Destination` trait: a place that stores artifacts and manifests (local directory,
//! S3, SFTP, ...). Uploads are staged and only become visible under their key on `commit`.

use std::fmt::Debug;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::Result;

/// An object found by `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// A place that stores objects under keys (`/`-separated, relative to the destination root).
#[async_trait]
pub trait Destination: Send + Sync + Debug {
    /// The configured name.
    fn name(&self) -> &str;

    /// Where it stores, for messages (`fs:/var/backups`); never holds a secret.
    fn location(&self) -> String;

    /// Starts a staged upload; nothing is visible under `key` until `commit`.
    /// `expected_bytes` (the previous backup's size, when there is one) lets a store that
    /// uploads in a bounded number of parts choose parts large enough.
    async fn begin(&self, key: &str, expected_bytes: Option<u64>) -> Result<Box<dyn Upload>>;

    /// Stores a small object atomically (the manifest).
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()>;

    /// Size of a committed object, `None` when absent.
    async fn size(&self, key: &str) -> Result<Option<u64>>;

    /// Reads a committed object.
    async fn read(&self, key: &str) -> Result<Pin<Box<dyn AsyncRead + Send>>>;

    /// Removes an object; absent objects are not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Every committed object whose key starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>>;

    /// Bytes free for new objects, where the destination can tell (local disks).
    async fn free_bytes(&self) -> Option<u64>;

    /// Removes staged uploads left by a crashed run; returns how many were removed.
    async fn clean_staging(&self) -> Result<usize>;
}

/// A staged upload of one object.
#[async_trait]
pub trait Upload: Send {
    /// Appends bytes. An error means the upload is lost and must be aborted.
    async fn write(&mut self, chunk: Bytes) -> Result<()>;

    /// Makes everything written durable and visible under the key; returns the stored size.
    async fn commit(self: Box<Self>) -> Result<u64>;

    /// Throws away everything written.
    async fn abort(self: Box<Self>);
}
