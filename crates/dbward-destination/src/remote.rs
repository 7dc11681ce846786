//! `OpenDalDestination`: one `Destination` over an OpenDAL `Operator`, for every remote
//! service (S3, SFTP, GCS, Azure Blob, WebDAV). The typed settings and constructors per
//! service live in `crate::services`.
//!
//! How an upload stays invisible until `commit` depends on the service ([`Staging`]):
//!
//! - **Direct** (S3, GCS, Azure Blob): the writer goes to the final key. A multipart
//!   upload (S3), a resumable upload session (GCS) or uncommitted blocks (Azure) are not
//!   objects: nothing is listed or readable under the key until the upload is completed,
//!   which `commit` does; an artifact smaller than one part is sent whole at `commit`.
//!   `abort` aborts the upload. Staging plus a server-side copy would double the bytes moved
//!   and S3 cannot rename.
//! - **Rename** (SFTP, WebDAV): a file being written is visible at its path, so the upload
//!   goes to `.dbward-staging/<ulid>.part` under the root and is renamed onto the key at
//!   `commit` (SFTP uses the atomic `posix-rename@openssh.com`, WebDAV `MOVE`). `abort`
//!   deletes the staged file.
//!
//! Memory: for S3 and Azure uploads OpenDAL's writer keeps at most `upload_concurrency` parts
//! in flight plus the part being filled, so an upload holds about
//! `(upload_concurrency + 1) × part_size` bytes. A GCS session holds one 8 MiB chunk (sent
//! one at a time; `part_size` and `upload_concurrency` do not apply). SFTP writes each chunk
//! through as it comes.
//! WebDAV is the exception: OpenDAL sends a WebDAV object in one PUT, so the upload is held
//! in memory up to `max_buffered_bytes` and refused beyond it with a message saying so.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dbward_core::destination::{Destination, ObjectMeta, Upload};
use dbward_core::{Error, Result};
use futures_util::TryStreamExt;
use opendal::Operator;
use tokio::io::AsyncRead;

use crate::failure::{self, Failure, TRANSIENT_MARK};
use crate::s3_http::S3Transport;

/// Folder under the root that holds uploads in progress (Rename staging only).
pub const STAGING: &str = ".dbward-staging";

/// S3 (and GCS XML, most compatibles) allow at most this many parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// A staged file not modified for this long belongs to a run that died.
const STALE_STAGING_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Knobs shared by the remote services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Size of each part of a multipart upload. The largest object an upload can write is
    /// `part_size × 10,000`: 16 MiB parts allow 156 GiB. Between 5 MiB and 5 GiB.
    pub part_size: usize,
    /// Parts uploaded at once per upload, besides the one being filled (memory: about
    /// `(upload_concurrency + 1) × part_size`). 1 keeps the pipeline's memory bound; raise it
    /// for throughput on links with a long round trip.
    pub upload_concurrency: usize,
    /// Bound on one control call (stat, rename, delete).
    pub op_timeout: Duration,
    /// Bound on one read, write or list call, including one part upload.
    pub io_timeout: Duration,
    /// WebDAV only: largest object held in memory for its single PUT.
    pub max_buffered_bytes: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            part_size: 16 * 1024 * 1024,
            upload_concurrency: 1,
            op_timeout: Duration::from_secs(60),
            io_timeout: Duration::from_secs(300),
            max_buffered_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How uploads are kept invisible until commit (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// Written to the final key; the service publishes it only when the upload completes.
    Direct,
    /// Written under `.dbward-staging/` and renamed onto the key.
    Rename,
}

/// The remote service, for hints in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    Sftp,
    Gcs,
    Azblob,
    Webdav,
}

impl Service {
    fn credentials_hint(self) -> &'static str {
        match self {
            Service::S3 => "check access_key_id and secret_access_key",
            Service::Sftp => {
                "check user and key_file, and that the key's public half is in the server's authorized_keys"
            }
            Service::Gcs => "check the service account credential",
            Service::Azblob => "check account_name and account_key (or the SAS token)",
            Service::Webdav => "check username and password (or the token)",
        }
    }

    fn container_word(self) -> &'static str {
        match self {
            Service::Azblob => "container",
            _ => "bucket",
        }
    }
}

/// A destination on a remote store reached through OpenDAL.
#[derive(Clone)]
pub struct OpenDalDestination {
    name: String,
    location: String,
    service: Service,
    /// The bucket or container, for messages.
    container: Option<String>,
    staging: Staging,
    tuning: Tuning,
    op: Operator,
    /// S3 only: the transport, which remembers Object Lock headers (`crate::s3_http`).
    s3_transport: Option<S3Transport>,
}

impl fmt::Debug for OpenDalDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The operator holds credentials: only say where.
        f.debug_struct("OpenDalDestination")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("staging", &self.staging)
            .field("tuning", &self.tuning)
            .finish_non_exhaustive()
    }
}

impl OpenDalDestination {
    /// Wraps a built operator. `location` is shown to people and must not hold a secret.
    /// The typed constructors in `crate::services` are the usual way in.
    pub fn from_operator(
        name: impl Into<String>,
        location: impl Into<String>,
        service: Service,
        container: Option<String>,
        staging: Staging,
        tuning: Tuning,
        op: Operator,
    ) -> Self {
        let op = op.layer(
            opendal::layers::TimeoutLayer::new()
                .with_timeout(tuning.op_timeout)
                .with_io_timeout(tuning.io_timeout),
        );
        OpenDalDestination {
            name: name.into(),
            location: location.into(),
            service,
            container,
            staging,
            tuning,
            op,
            s3_transport: None,
        }
    }

    /// Lets the destination read Object Lock headers its S3 transport saw.
    pub(crate) fn with_s3_transport(mut self, transport: S3Transport) -> Self {
        self.s3_transport = Some(transport);
        self
    }

    /// The largest object one upload with the configured `part_size` can write.
    pub fn max_object_bytes(&self) -> u64 {
        self.max_object_bytes_with(self.tuning.part_size)
    }

    fn max_object_bytes_with(&self, part_size: usize) -> u64 {
        match (self.service, self.staging) {
            (Service::Webdav, _) => self.tuning.max_buffered_bytes,
            // A resumable session has no part count; GCS's own object limit is 5 TiB.
            (Service::Gcs, _) => 5 << 40,
            (_, Staging::Direct) => part_size as u64 * MAX_PARTS,
            (_, Staging::Rename) => u64::MAX,
        }
    }

    /// The part size for an upload expected to be about `expected_bytes`: the configured
    /// `part_size`, or larger (whole MiB, at most 5 GiB) so that twice the expected size fits
    /// in [`MAX_PARTS`] parts. Memory per upload grows with it.
    pub fn part_size_for(&self, expected_bytes: Option<u64>) -> usize {
        const MIB: u64 = 1024 * 1024;
        let needed = expected_bytes
            .unwrap_or(0)
            .saturating_mul(2)
            .div_ceil(MAX_PARTS)
            .div_ceil(MIB)
            .saturating_mul(MIB)
            .min(MAX_PART_SIZE);
        self.tuning.part_size.max(needed as usize)
    }

    fn check_key(&self, key: &str) -> Result<()> {
        let valid = !key.is_empty()
            && key
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg != STAGING)
            && !key.contains('\\');
        if valid {
            Ok(())
        } else {
            Err(self.error(format!("invalid object key {key:?}")))
        }
    }

    fn error(&self, reason: String) -> Error {
        Error::Destination {
            destination: self.name.clone(),
            reason,
        }
    }

    /// Turns an OpenDAL error into one line that says what failed and what to do.
    fn fail(&self, doing: &str, err: opendal::Error) -> Error {
        let class = failure::classify(&err);
        self.fail_as(doing, err, class)
    }

    /// As `fail`, for a write: an object store has no folders, so its 404 to a write is
    /// about the bucket or container (GCS and its emulators may say nothing but the status).
    fn fail_write(&self, doing: &str, err: opendal::Error) -> Error {
        if self.staging == Staging::Direct && err.kind() == opendal::ErrorKind::NotFound {
            return self.fail_as(doing, err, Failure::MissingBucket);
        }
        self.fail(doing, err)
    }

    /// As `fail`, with the class known from the call's context.
    fn fail_as(&self, doing: &str, err: opendal::Error, class: Failure) -> Error {
        let detail = failure::detail(&err);
        let container = self.container.as_deref().unwrap_or("?");
        let reason = match class {
            Failure::Unreachable => format!(
                "{doing}: cannot reach {}: {detail} {TRANSIENT_MARK}; check the endpoint and that the server is up",
                self.location
            ),
            Failure::Transient => format!("{doing}: {detail} {TRANSIENT_MARK}"),
            Failure::Credentials => format!(
                "{doing}: {} refused the credentials ({detail}); {}",
                self.location,
                self.service.credentials_hint()
            ),
            Failure::HostKey => format!(
                "{doing}: the host key of {} is not the one known_hosts trusts ({detail}); add the server's key to the known_hosts of the user running dbward (ssh-keyscan), or set known_hosts = \"accept-new\" for a first connection",
                self.location
            ),
            Failure::MissingBucket => format!(
                "{doing}: {} {container:?} does not exist ({detail}); create it or correct `{}` of this destination",
                self.service.container_word(),
                self.service.container_word()
            ),
            Failure::PermissionDenied => format!(
                "{doing}: permission denied on {} ({detail}); the credentials need to list, read, write and delete objects there",
                self.location
            ),
            Failure::NotFound => format!("{doing}: not found ({detail})"),
            Failure::Other => format!("{doing}: {detail}"),
        };
        self.error(reason)
    }

    fn staged_path(&self) -> String {
        format!("{STAGING}/{}.part", ulid::Ulid::new())
    }

    /// The content type objects are written with, where the service needs one said. GCS
    /// stores an upload sent without one as `application/octet-stream`; gcp-storage-emulator
    /// stores none and answers `"contentType": null`, which OpenDAL cannot parse. Saying it
    /// makes both the same.
    fn content_type(&self) -> Option<&'static str> {
        (self.service == Service::Gcs).then_some("application/octet-stream")
    }

    async fn write_whole(
        &self,
        path: &str,
        bytes: impl Into<opendal::Buffer>,
    ) -> opendal::Result<()> {
        let mut write = self.op.write_with(path, bytes);
        if let Some(content_type) = self.content_type() {
            write = write.content_type(content_type);
        }
        write.await.map(|_| ())
    }

    async fn open_writer(&self, path: &str, part_size: usize) -> Result<opendal::Writer> {
        let mut builder = self.op.writer_with(path);
        if let Some(content_type) = self.content_type() {
            builder = builder.content_type(content_type);
        }
        let builder = if self.staging == Staging::Rename {
            // A file written in place: each chunk goes straight on (no parts to fill).
            builder
        } else if self.service == Service::Gcs {
            // A conditional write (`ifGenerationMatch=0`: only if absent, and an artifact key
            // is new by construction) makes OpenDAL use a resumable upload session, 8 MiB
            // chunks sent in order through the JSON API, instead of an XML API multipart
            // upload, which emulators lack. The session is invisible until finalized. It
            // buffers one chunk, so no `chunk` is set: that would add a second buffer.
            builder.if_not_exists(true)
        } else {
            builder
                .chunk(part_size)
                .concurrent(self.tuning.upload_concurrency.max(1))
        };
        builder
            .await
            .map_err(|e| self.fail_write(&format!("cannot start upload of {path}"), e))
    }

    async fn stat(&self, key: &str) -> Result<Option<opendal::Metadata>> {
        match self.op.stat(key).await {
            Ok(meta) if meta.is_dir() => Ok(None),
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(&format!("cannot stat {key}"), e)),
        }
    }

    async fn list_files(&self, dir: &str) -> Result<Vec<opendal::Entry>> {
        let path = if dir.is_empty() { "/" } else { dir };
        match self.op.list_with(path).recursive(true).await {
            Ok(entries) => Ok(entries
                .into_iter()
                .filter(|e| e.metadata().is_file())
                .collect()),
            // A folder never written to is empty (SFTP, WebDAV). An object store has no
            // folders: it lists an existing bucket, even an empty one, so its 404 is about
            // the bucket or container (Azure says `ContainerNotFound`, GCS and its
            // emulators may say nothing but the status).
            Err(e)
                if self.staging == Staging::Direct && e.kind() == opendal::ErrorKind::NotFound =>
            {
                Err(self.fail_as(&format!("cannot list {path}"), e, Failure::MissingBucket))
            }
            Err(e) if is_absent(&e) => Ok(Vec::new()),
            Err(e) => Err(self.fail(&format!("cannot list {path}"), e)),
        }
    }

    async fn content_length(&self, entry: &opendal::Entry) -> Result<u64> {
        let size = entry.metadata().content_length();
        if size > 0 {
            return Ok(size);
        }
        // Some listings leave sizes out; ask for the object itself.
        Ok(self
            .stat(entry.path())
            .await?
            .map(|m| m.content_length())
            .unwrap_or(0))
    }
}

impl OpenDalDestination {
    /// S3: after the delete by key, removes every version the key still has. On a versioned
    /// bucket (which every bucket with Object Lock is) the delete by key only adds a delete
    /// marker and the data stays, billed; here the data versions go first, then the delete
    /// markers. A version the store refuses to delete (`AccessDenied`: Object Lock retention
    /// or a legal hold) stays, hidden behind its delete marker, and the delete answers
    /// [`Error::Retained`]. A store that cannot list versions (no versioning API, as s3s-fs,
    /// or no `s3:ListBucketVersions` permission) keeps what the delete by key did.
    async fn delete_versions(&self, key: &str) -> Result<()> {
        let entries = match self.op.list_with(key).versions(true).deleted(true).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(destination = %self.name, key, "versions not listed, deleted by key only: {}", failure::detail(&e));
                return Ok(());
            }
        };
        let mut data = Vec::new();
        let mut markers = Vec::new();
        for entry in &entries {
            let meta = entry.metadata();
            if entry.path().trim_start_matches('/') != key || meta.is_dir() {
                continue;
            }
            let Some(version) = meta.version() else {
                continue;
            };
            if meta.is_deleted() {
                markers.push(version.to_string());
            } else {
                data.push(version.to_string());
            }
        }
        let mut refused = Vec::new();
        for version in &data {
            match self.op.delete_with(key).version(version).await {
                Ok(()) => {}
                Err(e) if is_absent(&e) => {}
                Err(e) if failure::classify(&e) == Failure::PermissionDenied => {
                    refused.push((version.clone(), e));
                }
                Err(e) => {
                    return Err(self.fail(&format!("cannot delete version {version} of {key}"), e));
                }
            }
        }
        if refused.is_empty() {
            // Nothing is left behind them: the delete markers go too.
            for version in &markers {
                match self.op.delete_with(key).version(version).await {
                    Ok(()) => {}
                    Err(e) if is_absent(&e) => {}
                    Err(e) => {
                        return Err(self.fail(
                            &format!("cannot delete the delete marker {version} of {key}"),
                            e,
                        ));
                    }
                }
            }
            return Ok(());
        }
        Err(self.retained(key, refused).await)
    }

    /// The error for versions of `key` the store refused to delete, with the retention the
    /// store reports for them (a HEAD by version; `None` where it says none or is not asked).
    async fn retained(&self, key: &str, refused: Vec<(String, opendal::Error)>) -> Error {
        let mut until: Option<chrono::DateTime<chrono::Utc>> = None;
        let mut parts = Vec::new();
        for (version, err) in &refused {
            let lock = match &self.s3_transport {
                Some(transport) => {
                    let _ = self.op.stat_with(key).version(version).await;
                    transport.take_lock(version)
                }
                None => None,
            };
            let detail = failure::detail(err);
            let part = match lock {
                Some(lock) => {
                    if let Some(date) = lock.retain_until {
                        until = Some(until.map_or(date, |u| u.max(date)));
                    }
                    let mut said = Vec::new();
                    if let Some(mode) = &lock.mode {
                        match lock.retain_until {
                            Some(date) => said.push(format!(
                                "Object Lock {mode} until {}",
                                date.format("%Y-%m-%d %H:%M:%S UTC")
                            )),
                            None => said.push(format!("Object Lock {mode}")),
                        }
                    }
                    if lock.legal_hold {
                        said.push("legal hold".into());
                    }
                    format!(
                        "version {version}: {}; the store said {detail}",
                        said.join(", ")
                    )
                }
                None => format!(
                    "version {version}: the store refused to delete it ({detail}): an Object Lock retention or legal hold, or credentials without s3:DeleteObjectVersion"
                ),
            };
            parts.push(part);
        }
        Error::Retained {
            destination: self.name.clone(),
            key: key.to_string(),
            reason: format!(
                "{}; it is hidden behind a delete marker and stays until its retention passes",
                parts.join("; ")
            ),
            until,
        }
    }
}

/// A 404 about the object or folder itself, not about its bucket or container.
fn is_absent(err: &opendal::Error) -> bool {
    err.kind() == opendal::ErrorKind::NotFound && failure::classify(err) != Failure::MissingBucket
}

fn to_chrono(ts: opendal::raw::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    let ts = ts.into_inner();
    chrono::DateTime::from_timestamp(ts.as_second(), ts.subsec_nanosecond().max(0) as u32)
}

#[async_trait]
impl Destination for OpenDalDestination {
    fn name(&self) -> &str {
        &self.name
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    async fn begin(&self, key: &str, expected_bytes: Option<u64>) -> Result<Box<dyn Upload>> {
        self.check_key(key)?;
        let path = match self.staging {
            Staging::Direct => key.to_string(),
            Staging::Rename => self.staged_path(),
        };
        let part_size = self.part_size_for(expected_bytes);
        if part_size != self.tuning.part_size {
            tracing::info!(destination = %self.name, key, part_size, expected_bytes, "larger parts for this upload, so that twice the last backup's size fits in {MAX_PARTS} parts");
        }
        let writer = if self.service == Service::Webdav {
            None
        } else {
            Some(self.open_writer(&path, part_size).await?)
        };
        Ok(Box::new(RemoteUpload {
            destination: self.clone(),
            writer,
            buffered: Vec::new(),
            path,
            key: key.to_string(),
            written: 0,
            limit: self.max_object_bytes_with(part_size),
            done: false,
        }))
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.check_key(key)?;
        match self.staging {
            // One PUT replaces the object atomically.
            Staging::Direct => self
                .write_whole(key, bytes)
                .await
                .map_err(|e| self.fail_write(&format!("cannot write {key}"), e)),
            Staging::Rename => {
                let staged = self.staged_path();
                if let Err(e) = self.write_whole(&staged, bytes).await {
                    let _ = self.op.delete(&staged).await;
                    return Err(self.fail(&format!("cannot write {key}"), e));
                }
                if let Err(e) = self.op.rename(&staged, key).await {
                    let _ = self.op.delete(&staged).await;
                    return Err(self.fail(&format!("cannot move {key} into place"), e));
                }
                Ok(())
            }
        }
    }

    async fn size(&self, key: &str) -> Result<Option<u64>> {
        self.check_key(key)?;
        Ok(self.stat(key).await?.map(|m| m.content_length()))
    }

    async fn read(&self, key: &str) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
        self.check_key(key)?;
        // Stat first: a missing object fails here, not at the first read.
        let size = match self.stat(key).await? {
            Some(meta) => meta.content_length(),
            None => return Err(self.error(format!("cannot read {key}: no such object"))),
        };
        let reader = self
            .op
            .reader_with(key)
            .chunk(4 * 1024 * 1024)
            .await
            .map_err(|e| self.fail(&format!("cannot read {key}"), e))?;
        let stream = reader
            .into_bytes_stream(0..size)
            .await
            .map_err(|e| self.fail(&format!("cannot read {key}"), e))?;
        let name = self.name.clone();
        let key = key.to_string();
        let stream = stream.map_err(move |e| {
            std::io::Error::new(
                e.kind(),
                format!("destination {name}: reading {key} failed: {e}"),
            )
        });
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.check_key(key)?;
        match self.op.delete(key).await {
            Ok(()) => {}
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(self.fail(&format!("cannot delete {key}"), e)),
        }
        if self.service == Service::S3 {
            self.delete_versions(key).await?;
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        // List the folder that holds the prefix, then keep what starts with it: services
        // differ in what a non-folder path lists.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..=i],
            None => "",
        };
        let mut out = Vec::new();
        for entry in self.list_files(dir).await? {
            let key = entry.path().trim_start_matches('/');
            if !key.starts_with(prefix) || key.split('/').any(|seg| seg == STAGING) {
                continue;
            }
            out.push(ObjectMeta {
                key: key.to_string(),
                size: self.content_length(&entry).await?,
                modified: entry.metadata().last_modified().and_then(to_chrono),
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn free_bytes(&self) -> Option<u64> {
        None
    }

    async fn clean_staging(&self) -> Result<usize> {
        match self.staging {
            // Abandoned multipart uploads are not objects and OpenDAL cannot list them: a
            // bucket lifecycle rule (AbortIncompleteMultipartUpload, on S3 and on GCS, whose
            // XML multipart uploads do not expire on their own) removes them; Azure drops
            // uncommitted blocks after a week.
            Staging::Direct => Ok(0),
            Staging::Rename => {
                let now = chrono::Utc::now();
                let stale = chrono::Duration::from_std(STALE_STAGING_AFTER).expect("fits");
                let mut removed = 0;
                for entry in self.list_files(&format!("{STAGING}/")).await? {
                    // A live upload keeps touching its file; a crashed one's stops changing.
                    let modified = entry.metadata().last_modified().and_then(to_chrono);
                    let modified = match modified {
                        Some(m) => Some(m),
                        None => self
                            .stat(entry.path())
                            .await?
                            .and_then(|m| m.last_modified())
                            .and_then(to_chrono),
                    };
                    if modified.is_some_and(|m| now - m > stale) {
                        self.op.delete(entry.path()).await.map_err(|e| {
                            self.fail(&format!("cannot delete {}", entry.path()), e)
                        })?;
                        tracing::info!(destination = %self.name, file = entry.path(), "removed leftover staged upload");
                        removed += 1;
                    }
                }
                Ok(removed)
            }
        }
    }
}

/// One upload in progress.
struct RemoteUpload {
    destination: OpenDalDestination,
    /// `None` for WebDAV, whose single PUT is sent at commit from `buffered`.
    writer: Option<opendal::Writer>,
    buffered: Vec<Bytes>,
    /// Where the bytes go: the key (Direct) or the staged file (Rename).
    path: String,
    key: String,
    written: u64,
    limit: u64,
    done: bool,
}

impl RemoteUpload {
    fn too_large(&self) -> Error {
        let d = &self.destination;
        let reason = if d.service == Service::Webdav {
            format!(
                "cannot upload {}: WebDAV uploads are held in memory and this one passed max_buffered_bytes = {} bytes; raise it or use an sftp or s3 destination for artifacts this large",
                self.key, d.tuning.max_buffered_bytes
            )
        } else {
            format!(
                "cannot upload {}: it passed {} bytes, the most {MAX_PARTS} parts of {} bytes can hold; raise part_size",
                self.key,
                self.limit,
                self.limit / MAX_PARTS
            )
        };
        d.error(reason)
    }

    async fn finish(&mut self) -> Result<()> {
        let d = self.destination.clone();
        match self.writer.as_mut() {
            Some(writer) => {
                let meta = writer.close().await.map_err(|e| {
                    d.fail_write(&format!("cannot complete upload of {}", self.key), e)
                })?;
                let reported = meta.content_length();
                if reported != 0 && reported != self.written {
                    return Err(d.error(format!(
                        "upload of {} stored {reported} bytes, {} were written",
                        self.key, self.written
                    )));
                }
            }
            None => {
                let buffer: opendal::Buffer =
                    std::mem::take(&mut self.buffered).into_iter().collect();
                d.write_whole(&self.path, buffer)
                    .await
                    .map_err(|e| d.fail(&format!("cannot upload {}", self.key), e))?;
            }
        }
        if self.path != self.key {
            d.op.rename(&self.path, &self.key)
                .await
                .map_err(|e| d.fail(&format!("cannot move {} into place", self.key), e))?;
        }
        Ok(())
    }

    async fn discard(&mut self) {
        let d = &self.destination;
        if let Some(writer) = self.writer.as_mut()
            && let Err(e) = writer.abort().await
        {
            tracing::warn!(destination = %d.name, key = %self.key, "aborting the upload failed: {}", failure::detail(&e));
        }
        if self.path != self.key {
            let _ = d.op.delete(&self.path).await;
        }
        self.buffered.clear();
    }
}

#[async_trait]
impl Upload for RemoteUpload {
    async fn write(&mut self, chunk: Bytes) -> Result<()> {
        let len = chunk.len() as u64;
        if self.written + len > self.limit {
            return Err(self.too_large());
        }
        self.written += len;
        match self.writer.as_mut() {
            Some(writer) => {
                let result = writer.write(chunk).await;
                result.map_err(|e| {
                    self.destination
                        .fail_write(&format!("cannot upload {}", self.key), e)
                })
            }
            None => {
                self.buffered.push(chunk);
                Ok(())
            }
        }
    }

    async fn commit(mut self: Box<Self>) -> Result<u64> {
        self.done = true;
        match self.finish().await {
            Ok(()) => Ok(self.written),
            Err(e) => {
                self.discard().await;
                Err(e)
            }
        }
    }

    async fn abort(mut self: Box<Self>) {
        self.done = true;
        self.discard().await;
    }
}

impl Drop for RemoteUpload {
    fn drop(&mut self) {
        // Dropped without commit or abort (a cancelled task): throw the upload away in the
        // background so that no multipart upload or staged file lingers.
        if self.done {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut orphan = RemoteUpload {
                destination: self.destination.clone(),
                writer: self.writer.take(),
                buffered: Vec::new(),
                path: self.path.clone(),
                key: self.key.clone(),
                written: self.written,
                limit: self.limit,
                done: true,
            };
            runtime.spawn(async move { orphan.discard().await });
        }
    }
}
