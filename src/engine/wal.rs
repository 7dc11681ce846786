//! The WAL archive of a `pitr = true` source (`dbward wal push|fetch`, run by PostgreSQL as
//! its `archive_command` and `restore_command`): each file goes through the pipeline
//! (compression, encryption) to every destination of the source's schedules, read back,
//! then committed by a signed entry with its sha256 (`docs/storage-format.md`). Pushing the
//! same bytes again is a no-op; different bytes under a stored name are refused. A fetch
//! proves the stored bytes, the entry's signature and the WAL file's own sha256 before the
//! file appears, atomically, where PostgreSQL asked for it.
//!
//! They run once per WAL file, beside backups, and must not wait for the catalog or fail
//! with it: a push records what it archived in the catalog ([`record_pushed`], for `status`
//! and `prune`) only after the file is safely stored, and the command only warns when that
//! record fails; a fetch never opens the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use dbward_core::Engine;
use dbward_core::binlog::BinlogFileName;
use dbward_core::destination::Destination;
use dbward_core::layout::{wal_entry_key, wal_keys};
use dbward_core::wal::{WAL_ENTRY_FORMAT_VERSION, WalEntry, WalFileName};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::UsageError;
use super::artifact::{VerifiedReader, decompress, decrypt};
use super::backup::read_back_sha256;
use super::keys::Keyring;
use crate::catalog::{Catalog, WalFileRecord};
use crate::config::{Compression, Config, VerifyUpload};
use crate::pipeline::{self, Target};
use crate::registry;

/// What a source's log archive holds: PostgreSQL WAL files or MariaDB/MySQL binlog files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Wal,
    Binlog,
}

impl LogKind {
    /// The kind a `pitr = true` source of `engine` archives; `None` for other engines.
    pub fn of(engine: Engine) -> Option<LogKind> {
        match engine {
            Engine::Postgres => Some(LogKind::Wal),
            Engine::Mariadb | Engine::Mysql => Some(LogKind::Binlog),
            _ => None,
        }
    }

    /// The first extension of a stored file (`<name>.wal.zst`, `<name>.binlog.zst.age`).
    pub fn extension(self) -> &'static str {
        match self {
            LogKind::Wal => "wal",
            LogKind::Binlog => "binlog",
        }
    }

    fn what(self) -> &'static str {
        match self {
            LogKind::Wal => "a PostgreSQL [[source]] with pitr = true",
            LogKind::Binlog => "a MariaDB/MySQL [[source]] with pitr = true",
        }
    }
}

/// A WAL or binlog file name, checked for its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogName {
    Wal(WalFileName),
    Binlog(BinlogFileName),
}

impl LogName {
    pub fn parse(kind: LogKind, name: &str) -> Result<LogName, UsageError> {
        match kind {
            LogKind::Wal => WalFileName::parse(name)
                .map(LogName::Wal)
                .map_err(|e| UsageError(e.to_string())),
            LogKind::Binlog => BinlogFileName::parse(name)
                .map(LogName::Binlog)
                .map_err(|e| UsageError(e.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            LogName::Wal(n) => n.as_str(),
            LogName::Binlog(n) => n.as_str(),
        }
    }

    /// The WAL timeline; 0 for a binlog file (the catalog's `timeline` column).
    pub fn timeline(&self) -> u32 {
        match self {
            LogName::Wal(n) => n.timeline(),
            LogName::Binlog(_) => 0,
        }
    }
}

impl std::fmt::Display for LogName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The config and destinations a WAL or binlog command works with, for one source.
#[derive(Debug)]
pub struct WalArchive<'a> {
    pub source: String,
    pub kind: LogKind,
    /// The destinations of the schedules that back the source up, in config order.
    destinations: Vec<Arc<dyn Destination>>,
    compression: Compression,
    config: &'a Config,
}

impl<'a> WalArchive<'a> {
    /// The WAL archive of `source`, or of the one PostgreSQL `pitr = true` source when none
    /// is named.
    pub fn open(config: &'a Config, source: Option<&str>) -> anyhow::Result<WalArchive<'a>> {
        Self::open_kind(config, source, LogKind::Wal)
    }

    /// The archive of `kind` of `source`, or of the one `pitr = true` source of that kind
    /// when none is named.
    pub fn open_kind(
        config: &'a Config,
        source: Option<&str>,
        kind: LogKind,
    ) -> anyhow::Result<WalArchive<'a>> {
        let pitr: Vec<&str> = config
            .sources
            .iter()
            .filter(|s| s.pitr && LogKind::of(s.engine) == Some(kind))
            .map(|s| s.name.as_str())
            .collect();
        let name = match (source, pitr.as_slice()) {
            (Some(name), _) if pitr.contains(&name) => name.to_string(),
            (Some(name), _) => {
                return Err(UsageError(format!(
                    "source {name:?} is not {} in {}",
                    kind.what(),
                    config.file.display()
                ))
                .into());
            }
            (None, [only]) => only.to_string(),
            (None, []) => {
                return Err(UsageError(format!(
                    "there is no {} in {}",
                    kind.what(),
                    config.file.display()
                ))
                .into());
            }
            (None, _) => {
                return Err(UsageError(format!(
                    "several sources have pitr = true ({}); name one with --source",
                    pitr.join(", ")
                ))
                .into());
            }
        };
        let schedules: Vec<_> = config
            .schedules
            .iter()
            .filter(|s| s.sources.contains(&name))
            .collect();
        let mut destinations = Vec::new();
        for dest in &config.destinations {
            let used = schedules.is_empty()
                || schedules
                    .iter()
                    .any(|s| s.destinations.contains(&dest.name));
            if used {
                destinations.push(
                    registry::destination(dest)
                        .map_err(|e| anyhow::anyhow!("[[destination]] {:?}: {e}", dest.name))?,
                );
            }
        }
        if destinations.is_empty() {
            return Err(UsageError(format!(
                "no [[destination]] to archive the WAL of {name:?} to in {}",
                config.file.display()
            ))
            .into());
        }
        let compression = schedules
            .first()
            .map(|s| s.compression)
            .unwrap_or(Compression::Zstd { level: 3 });
        Ok(WalArchive {
            source: name,
            kind,
            destinations,
            compression,
            config,
        })
    }
}

impl WalArchive<'_> {
    /// How many destinations the archive writes to.
    pub fn destination_count(&self) -> usize {
        self.destinations.len()
    }
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub name: String,
    /// Destinations that now hold it.
    pub stored: Vec<String>,
    /// Destinations that held the same bytes already.
    pub already: Vec<String>,
    /// What the catalog records of it: one row per destination that holds it, stored now or
    /// before (so a push repeated after a catalog outage fills the catalog in).
    pub records: Vec<WalFileRecord>,
}

/// Records what a push archived in the catalog. The caller decides what a failure means:
/// the file is safely archived either way.
pub async fn record_pushed(catalog: &dyn Catalog, pushed: &Pushed) -> anyhow::Result<()> {
    for record in &pushed.records {
        catalog.record_wal_file(record).await?;
    }
    Ok(())
}

/// The catalog row of `name` on `destination`, archived at `archived_at`.
fn wal_record(
    source: &str,
    name: &LogName,
    destination: &str,
    bytes: u64,
    sha256: &str,
    archived_at: chrono::DateTime<Utc>,
    host: &str,
) -> WalFileRecord {
    WalFileRecord {
        source: source.to_string(),
        name: name.to_string(),
        destination: destination.to_string(),
        timeline: name.timeline(),
        bytes,
        sha256: sha256.to_string(),
        archived_at,
        host: host.to_string(),
    }
}

/// Archives the WAL (or binlog) file at `path` on every destination.
pub async fn push(archive: &WalArchive<'_>, path: &Path) -> anyhow::Result<Pushed> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UsageError(format!("{} names no WAL file", path.display())))?;
    let name = LogName::parse(archive.kind, file_name)?;
    let (bytes, sha256) = hash_file(path).await?;
    let source = &archive.source;
    let mut missing = Vec::new();
    let mut already = Vec::new();
    let mut records = Vec::new();
    for dest in &archive.destinations {
        match stored_entry(dest.as_ref(), source, name.as_str()).await? {
            None => missing.push(dest.clone()),
            Some(entry) if entry.sha256 == sha256 && entry.bytes == bytes => {
                already.push(dest.name().to_string());
                records.push(wal_record(
                    source,
                    &name,
                    dest.name(),
                    bytes,
                    &sha256,
                    entry.archived_at,
                    &entry.host,
                ));
            }
            Some(entry) => anyhow::bail!(
                "destination {} already holds a different {name} ({} bytes, sha256 {}; this one is {bytes} bytes, sha256 {sha256}); it is not overwritten: a second cluster may be archiving into source {source:?}, give each cluster its own source",
                dest.name(),
                entry.bytes,
                entry.sha256
            ),
        }
    }
    if missing.is_empty() {
        return Ok(Pushed {
            name: name.to_string(),
            stored: Vec::new(),
            already,
            records,
        });
    }
    let signing_key = super::integrity::signing_key(&archive.config.integrity)
        .map_err(|e| anyhow::anyhow!("cannot sign the WAL entry: {e:#}"))?;
    let encryption_mode = archive.config.encryption.as_ref().map(|e| &e.mode);
    let mut extension = archive.kind.extension().to_string();
    if let Some(layer) = archive.compression.extension() {
        extension = format!("{extension}.{layer}");
    }
    if encryption_mode.is_some() {
        extension.push_str(".age");
    }
    let keys = wal_keys(source, name.as_str(), &extension);
    let mut targets = Vec::new();
    for dest in &missing {
        let upload = dest.begin(&keys.artifact, Some(bytes)).await?;
        targets.push(Target {
            destination: dest.name().to_string(),
            upload,
            on_written: Arc::new(|_| {}),
        });
    }
    let input = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let sealing = pipeline::encrypt::Sealing::new(encryption_mode);
    let (totals, outcomes) = pipeline::run(
        Box::pin(input),
        archive.compression,
        sealing,
        targets,
        Arc::new(|_| {}),
    )
    .await?;
    if totals.dump_bytes != bytes {
        anyhow::bail!(
            "{} changed while it was archived ({bytes} bytes, then {})",
            path.display(),
            totals.dump_bytes
        );
    }
    let (encryption, encryption_recipients) = pipeline::encrypt::describe(encryption_mode);
    let mut entry = WalEntry {
        format_version: WAL_ENTRY_FORMAT_VERSION,
        source: source.clone(),
        name: name.to_string(),
        object: keys
            .artifact
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        bytes,
        sha256,
        stored_bytes: totals.stored_bytes,
        stored_sha256: totals.sha256.clone(),
        compression: archive.compression.name().to_string(),
        encryption,
        encryption_recipients,
        host: super::host_name(),
        archived_at: Utc::now(),
        signature: None,
    };
    entry.sign(&signing_key);
    let entry_bytes = Bytes::from(entry.to_json());
    let mut stored = Vec::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        let dest = missing
            .iter()
            .find(|d| d.name() == outcome.destination)
            .expect("an outcome names one of the targets");
        let committed = async {
            let upload = outcome.result.map_err(|e| e.to_string())?;
            upload.commit().await.map_err(|e| e.to_string())?;
            let verify = archive
                .config
                .destination(dest.name())
                .map(|d| d.verify_upload);
            let read_back = match verify {
                Some(VerifyUpload::Checksum) => {
                    Some(read_back_sha256(dest.as_ref(), &keys.artifact).await?)
                }
                _ => None,
            };
            let size = dest.size(&keys.artifact).await.map_err(|e| e.to_string())?;
            if size != Some(totals.stored_bytes)
                || read_back.is_some_and(|digest| digest != totals.sha256)
            {
                return Err(format!(
                    "destination {}: {} did not read back as written",
                    dest.name(),
                    keys.artifact
                ));
            }
            dest.put(&keys.manifest, entry_bytes.clone())
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match committed {
            Ok(()) => {
                stored.push(dest.name().to_string());
                records.push(wal_record(
                    source,
                    &name,
                    dest.name(),
                    bytes,
                    &entry.sha256,
                    entry.archived_at,
                    &entry.host,
                ));
            }
            Err(reason) => {
                let _ = dest.delete(&keys.artifact).await;
                failures.push(reason);
            }
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{name} was not archived on every destination: {}",
            failures.join("; ")
        );
    }
    Ok(Pushed {
        name: name.to_string(),
        stored,
        already,
        records,
    })
}

/// The size and sha256 of a file, read once.
async fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; pipeline::CHUNK_BYTES];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// The entry committing `name` on `dest`, `None` when it has none.
async fn stored_entry(
    dest: &dyn Destination,
    source: &str,
    name: &str,
) -> anyhow::Result<Option<WalEntry>> {
    let key = wal_entry_key(source, name);
    if dest.size(&key).await?.is_none() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    dest.read(&key).await?.read_to_end(&mut bytes).await?;
    WalEntry::from_json(&bytes)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("destination {}: {key}: {e}", dest.name()))
}

/// How a fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Written to the requested path from this destination (after the damaged copies).
    Written {
        destination: String,
        skipped: Vec<String>,
        /// When the file was archived, by its entry.
        archived_at: chrono::DateTime<Utc>,
    },
    /// No destination holds it: the end of the archive for PostgreSQL.
    NotArchived,
    /// A destination holds it, but no copy could be read, proven and written; or a
    /// destination could not be asked. Recovery must stop rather than end here.
    Failed(String),
}

/// Writes the archived WAL file `name` to `to` (atomically: a temporary file beside it,
/// renamed once its sha256 is proven).
pub async fn fetch(
    archive: &WalArchive<'_>,
    name: &str,
    to: &Path,
    keyring: Option<&Keyring>,
) -> anyhow::Result<Fetched> {
    let name = LogName::parse(archive.kind, name)?;
    let trust = super::integrity::Trust::load(&archive.config.integrity, false);
    let mut problems = Vec::new();
    for dest in &archive.destinations {
        let entry = match stored_entry(dest.as_ref(), &archive.source, name.as_str()).await {
            Ok(Some(entry)) => entry,
            Ok(None) => continue,
            Err(e) => {
                problems.push(format!("{e:#}"));
                continue;
            }
        };
        match fetch_copy(
            dest.as_ref(),
            &archive.source,
            &entry,
            &name,
            &trust,
            to,
            keyring,
        )
        .await
        {
            Ok(()) => {
                return Ok(Fetched::Written {
                    destination: dest.name().to_string(),
                    skipped: problems,
                    archived_at: entry.archived_at,
                });
            }
            Err(reason) => problems.push(format!("copy on {}: {reason}", dest.name())),
        }
    }
    Ok(if problems.is_empty() {
        Fetched::NotArchived
    } else {
        Fetched::Failed(format!("{name}: {}", problems.join("; ")))
    })
}

async fn fetch_copy(
    dest: &dyn Destination,
    source: &str,
    entry: &WalEntry,
    name: &LogName,
    trust: &super::integrity::Trust,
    to: &Path,
    keyring: Option<&Keyring>,
) -> Result<(), String> {
    match entry.signer() {
        Ok(Some(key)) if trust.trusts(&key) => {}
        Ok(Some(key)) => {
            return Err(format!(
                "its entry is signed by key {} ({key}), which this host does not trust; add it to [integrity] trusted_keys",
                key.key_id()
            ));
        }
        Ok(None) => return Err("its entry is unsigned".into()),
        Err(e) => return Err(format!("its entry: {e}")),
    }
    if entry.name != name.as_str() || entry.source != source || entry.object.contains('/') {
        return Err(format!(
            "its entry describes {} of source {:?} in {:?}, not this file",
            entry.name, entry.source, entry.object
        ));
    }
    let key = format!(
        "{}/{}",
        dbward_core::layout::wal_folder(source),
        entry.object
    );
    let raw = dest.read(&key).await.map_err(|e| e.to_string())?;
    let label = format!("copy on {} ({key})", dest.name());
    let verified = Box::pin(VerifiedReader::new(
        raw,
        entry.stored_bytes,
        &entry.stored_sha256,
        label,
    ));
    let plain = match &entry.encryption {
        None => verified,
        Some(_) => {
            let what = match name {
                LogName::Wal(_) => format!("WAL file {name}"),
                LogName::Binlog(_) => format!("binlog file {name}"),
            };
            decrypt(verified, &what, &entry.encryption_recipients, keyring).await?
        }
    };
    let mut plain = decompress(&entry.compression, plain)?;
    let temporary = temporary_beside(to);
    let written = async {
        let mut file = tokio::fs::File::create(&temporary)
            .await
            .map_err(|e| format!("cannot create {}: {e}", temporary.display()))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; pipeline::CHUNK_BYTES];
        let mut total = 0u64;
        loop {
            let n = plain.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            total += n as u64;
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .await
                .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
        }
        let digest = hex::encode(hasher.finalize());
        if total != entry.bytes || digest != entry.sha256 {
            return Err(format!(
                "the file read back is {total} bytes with sha256 {digest}; its entry says {} bytes, sha256 {}",
                entry.bytes, entry.sha256
            ));
        }
        file.sync_all()
            .await
            .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
        tokio::fs::rename(&temporary, to)
            .await
            .map_err(|e| format!("cannot rename onto {}: {e}", to.display()))
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temporary).await;
    }
    written
}

/// `<to>.dbward-<ulid>`: in the same folder, so the rename is atomic.
fn temporary_beside(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".dbward-{}", ulid::Ulid::new()));
    to.with_file_name(name)
}

/// The names of the WAL files of `source` archived on `dest`, sorted (for telling a gap
/// from the end of the archive).
pub async fn archived_names(archive: &WalArchive<'_>) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let folder = format!("{}/", dbward_core::layout::wal_folder(&archive.source));
    for dest in &archive.destinations {
        let Ok(objects) = dest.list(&folder).await else {
            continue;
        };
        for object in objects {
            if let Some(name) = object
                .key
                .strip_prefix(&folder)
                .and_then(|k| k.strip_suffix(".json"))
                .filter(|n| LogName::parse(archive.kind, n).is_ok())
            {
                found
                    .entry(name.to_string())
                    .or_default()
                    .push(dest.name().to_string());
            }
        }
    }
    found
}
