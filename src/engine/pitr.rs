//! Point-in-time recovery of a `pitr = true` PostgreSQL source into a directory (`restore
//! --database '*' --to-directory DIR`): the newest base backup that ends at or before the
//! target, read chunk-verified like every restore and unpacked; the recovery settings with
//! dbward itself as `restore_command`; then, unless told not to, a private server on a
//! scratch loopback port that recovers to the target, reports where it stopped and is shut
//! down, leaving the directory ready to run. A WAL file that is missing or damaged before the
//! target stops the restore with its name and the last moment that was reached.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dbward_core::Engine;
use dbward_core::layout::{MANIFEST_SUFFIX, escape_segment, is_manifest_key};
use dbward_core::manifest::{Manifest, WHOLE_CLUSTER};
use dbward_core::wal::{Lsn, WalFileKind, WalFileName};
use dbward_source_postgres::PgMajor;
use dbward_source_postgres::recover::{self, RecoveryOutcome, RecoveryTarget};
use serde::Serialize;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::locate::{BackupRef, Located, locate, read_trusted};
use super::observe::Observer;
use super::recovery_base::{good_backups, stored_manifest};
use super::wal::{WalArchive, archived_names};
use super::{Context, UsageError};
use crate::config::Connection;

/// The recovery's server log, kept in the restored directory.
pub const RECOVERY_LOG: &str = "dbward-recovery.log";

/// How long a recovery may run before the restore gives up on it.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// What `restore --to-directory` was asked to do.
#[derive(Debug, Clone)]
pub struct PitrRequest {
    pub source: String,
    /// A particular base backup; by default the newest that ends before the target.
    pub backup_id: Option<String>,
    pub directory: PathBuf,
    pub target: RecoveryTarget,
    /// Run the recovery now (`--no-start` leaves it to the operator).
    pub start: bool,
    pub identity: Option<PathBuf>,
    /// Read the base backup from this destination's manifests, without the catalog.
    pub from: Option<String>,
    /// PITR drill markers to look up in the recovered cluster while it runs.
    pub probe_markers: Option<Vec<String>>,
}

/// What a point-in-time restore did.
#[derive(Debug, Clone, Serialize)]
pub struct PitrSummary {
    pub backup_id: String,
    pub source: String,
    pub directory: PathBuf,
    /// `latest`, the time or the LSN asked for.
    pub target: String,
    /// The destination whose copy of the base backup was unpacked.
    pub copy: String,
    /// Whether a private server ran the recovery.
    pub recovered: bool,
    /// Where recovery stopped, as the server said it.
    pub stopped: Option<String>,
    /// The commit time of the last replayed transaction.
    pub last_transaction_at: Option<String>,
    /// The last WAL file replayed from the archive.
    pub last_wal_file: Option<String>,
    pub duration_ms: u64,
    pub warnings: Vec<String>,
    /// Of the drill markers asked for, those the recovered cluster holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markers_found: Option<Vec<String>>,
}

/// Reads `--to-time`: RFC 3339, or `YYYY-MM-DD HH:MM:SS[.frac]` with a UTC offset (`+00`,
/// `+02:00`, `Z`). A time without an offset is refused: the server's zone is not ours.
pub fn parse_target_time(text: &str) -> Result<DateTime<Utc>, UsageError> {
    let trimmed = text.trim();
    let parsed = DateTime::parse_from_rfc3339(trimmed)
        .or_else(|_| DateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .or_else(|_| {
            DateTime::parse_from_str(&trimmed.replace('Z', "+00"), "%Y-%m-%d %H:%M:%S%.f%#z")
        });
    parsed.map(|t| t.with_timezone(&Utc)).map_err(|_| {
        UsageError(format!(
            "--to-time {text:?} is not a time with a UTC offset; write it like '2026-12-04 10:14:59+00' or 2026-12-04T10:14:59Z"
        ))
    })
}

/// Restores the cluster of a `pitr = true` source into `request.directory`.
pub async fn run(
    ctx: &Context,
    request: &PitrRequest,
    progress: &dyn Observer,
) -> anyhow::Result<PitrSummary> {
    let started = Instant::now();
    let source = ctx
        .config
        .source(&request.source)
        .filter(|s| s.pitr && s.engine == Engine::Postgres)
        .ok_or_else(|| {
            UsageError(format!(
                "--to-directory restores a PostgreSQL [[source]] with pitr = true, and {:?} is none",
                request.source
            ))
        })?;
    let tool_dir = match &source.connection {
        Connection::Server { tool_dir, .. } => tool_dir.clone(),
        _ => None,
    };
    if request.start && nix::unistd::geteuid().is_root() {
        return Err(UsageError(
            "PostgreSQL does not run as root: run the restore as the user that will own the cluster (for example `runuser -u postgres -- dbward …`), or pass --no-start and start it yourself".into(),
        )
        .into());
    }
    refuse_non_empty(&request.directory)?;
    let located = match (&request.from, &request.backup_id) {
        (None, Some(id)) => locate(ctx, &BackupRef::Id(id.clone()), None, false).await?,
        (None, None) => {
            let id = choose_base_backup(ctx, &request.source, request.target).await?;
            locate(ctx, &BackupRef::Id(id), None, false).await?
        }
        (Some(from), id) => {
            from_destination(ctx, from, &request.source, id.as_deref(), request.target).await?
        }
    };
    let manifest = located.manifest.clone();
    if manifest.base_backup.is_none() || manifest.source != request.source {
        return Err(UsageError(format!(
            "backup {} is not a base backup of source {}",
            manifest.id, request.source
        ))
        .into());
    }
    let keyring = match manifest.encryption {
        Some(_) => super::keys::keyring(ctx, request.identity.as_deref())?,
        None => None,
    };
    let directory = request.directory.as_path();
    let created = create_directory(directory)?;
    let unpacked = read_first_good_copy(
        &located,
        keyring.as_ref(),
        progress,
        "restore",
        async |mut dump| {
            empty_directory(directory).map_err(|e| e.to_string())?;
            recover::unpack(&mut dump, directory)
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await;
    let (copy, mut warnings) = match unpacked {
        CopyOutcome::Read {
            copy,
            value,
            skipped,
        } => {
            let mut warnings = value;
            warnings.extend(skipped.into_iter().map(|s| format!("skipped {s}")));
            std::fs::remove_file(directory.join(CLAIM))?;
            (copy, warnings)
        }
        CopyOutcome::Failed { copy, error, .. } => {
            clean_up(directory, created);
            anyhow::bail!(
                "unpacking base backup {} from {copy} failed: {error}",
                manifest.id
            )
        }
        CopyOutcome::Unreadable { skipped } => {
            clean_up(directory, created);
            anyhow::bail!(
                "no copy of base backup {} could be read: {}",
                manifest.id,
                skipped.join("; ")
            )
        }
    };
    let fetch = restore_command(ctx, &request.source)?;
    recover::prepare(directory, &fetch, request.target)?;
    let mut summary = PitrSummary {
        backup_id: manifest.id.clone(),
        source: request.source.clone(),
        directory: request.directory.clone(),
        target: describe_target(request.target),
        copy,
        recovered: false,
        stopped: None,
        last_transaction_at: None,
        last_wal_file: None,
        duration_ms: 0,
        warnings: Vec::new(),
        markers_found: None,
    };
    if request.start {
        let probe = request.probe_markers.as_ref().map(|ids| MarkerProbe {
            settings: crate::registry::postgres_settings(source, &source.connection, &ctx.scratch),
            ids: ids.clone(),
        });
        let (outcome, found) =
            run_private_server(&manifest, tool_dir.as_deref(), directory, probe).await?;
        summary.markers_found = found;
        judge_recovery(ctx, &manifest, request.target, &outcome)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "{e:#}; {} holds the cluster as far as it was recovered, and the server's log as {RECOVERY_LOG}",
                    directory.display()
                )
            })?;
        summary.recovered = true;
        summary.stopped = outcome.stopped;
        summary.last_transaction_at = outcome.last_transaction_at;
        summary.last_wal_file = outcome.last_restored;
    } else {
        warnings.push(format!(
            "not started (--no-start): start PostgreSQL {} on {} and it recovers to {}",
            manifest.server_version,
            directory.display(),
            summary.target
        ));
    }
    summary.warnings = warnings;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Refuses a directory that exists and is not empty.
fn refuse_non_empty(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(UsageError(format!(
            "{} is not empty; nothing was changed. Restore into a new or empty directory",
            dir.display()
        ))
        .into()),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", dir.display())),
    }
}

/// The file a restore holds in its directory while it unpacks, created exclusively: a second
/// restore into the same directory at the same moment is refused instead of having its files
/// removed by the first one's clean-up.
const CLAIM: &str = ".dbward-restoring";

/// Creates the directory (0700) unless it exists (empty) and claims it; true when it was
/// created.
fn create_directory(dir: &Path) -> anyhow::Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    refuse_non_empty(dir)?;
    let created = match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(anyhow::anyhow!("cannot create {}: {e}", dir.display())),
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(CLAIM))
    {
        Ok(_) => Ok(created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(UsageError(format!(
            "{} is being restored into by another dbward (it holds {CLAIM}); nothing was \
             changed. Restore into another directory",
            dir.display()
        ))
        .into()),
        Err(e) => Err(anyhow::anyhow!("cannot claim {}: {e}", dir.display())),
    }
}

/// Removes what a failed unpack left in `dir` and the claim (the directory itself too, if we
/// made it).
fn clean_up(dir: &Path, created: bool) {
    let _ = empty_directory(dir);
    let _ = std::fs::remove_file(dir.join(CLAIM));
    if created {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes what an unpack put in `dir`, keeping this restore's claim.
fn empty_directory(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name() == Some(std::ffi::OsStr::new(CLAIM)) {
            continue;
        }
        if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn describe_target(target: RecoveryTarget) -> String {
    match target {
        RecoveryTarget::Latest => "latest".into(),
        RecoveryTarget::Time(at) => at.format("%Y-%m-%d %H:%M:%S%.f UTC").to_string(),
        RecoveryTarget::Lsn(lsn) => lsn.to_string(),
    }
}

/// Whether a base backup can be recovered to `target`: it must end before it.
fn reaches(manifest: &Manifest, target: RecoveryTarget) -> bool {
    match target {
        RecoveryTarget::Latest => true,
        RecoveryTarget::Time(at) => manifest.finished_at <= at,
        RecoveryTarget::Lsn(lsn) => manifest
            .base_backup
            .as_ref()
            .and_then(|b| Lsn::parse(&b.stop_lsn).ok())
            .is_some_and(|stop| stop <= lsn),
    }
}

/// The newest good base backup of `source` that ends at or before `target`.
async fn choose_base_backup(
    ctx: &Context,
    source: &str,
    target: RecoveryTarget,
) -> anyhow::Result<String> {
    let mut oldest = None;
    for record in good_backups(ctx, source, Some(WHOLE_CLUSTER)).await? {
        let Some(manifest) = stored_manifest(ctx, &record.id).await? else {
            continue;
        };
        if manifest.base_backup.is_none() {
            continue;
        }
        if reaches(&manifest, target) {
            return Ok(manifest.id);
        }
        oldest = Some(manifest.finished_at);
    }
    Err(UsageError(match oldest {
        None => format!(
            "no good base backup of {source} in the catalog (take one with `dbward backup --source {source}`)"
        ),
        Some(at) => format!(
            "no base backup of {source} ends before {}: the oldest good one ended at {}",
            describe_target(target),
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    })
    .into())
}

/// The newest base backup on destination `from` (by its signed manifests alone) that ends
/// before `target`, or the one with id `id`.
async fn from_destination(
    ctx: &Context,
    from: &str,
    source: &str,
    id: Option<&str>,
    target: RecoveryTarget,
) -> anyhow::Result<Located> {
    let dest = ctx
        .destinations
        .get(from)
        .cloned()
        .ok_or_else(|| UsageError(format!("no [[destination]] named {from:?}")))?;
    let trust = super::integrity::Trust::load(&ctx.config.integrity, false);
    let prefix = format!(
        "{}/{}/",
        escape_segment(source),
        escape_segment(WHOLE_CLUSTER)
    );
    let mut keys: Vec<String> = dest
        .list(&prefix)
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| is_manifest_key(k))
        .filter(|k| id.is_none_or(|id| k.ends_with(&format!("-{id}{MANIFEST_SUFFIX}"))))
        .collect();
    // Keys embed the UTC start time: newest first.
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let mut oldest = None;
    for key in keys {
        let located = read_trusted(dest.clone(), &key, &trust).await?;
        if located.manifest.base_backup.is_none() {
            continue;
        }
        if id.is_some() || reaches(&located.manifest, target) {
            return Ok(located);
        }
        oldest = Some(located.manifest.finished_at);
    }
    Err(UsageError(match oldest {
        None => format!(
            "destination {from} holds no base backup of {source}{}",
            id.map(|id| format!(" with id {id}")).unwrap_or_default()
        ),
        Some(at) => format!(
            "destination {from} holds no base backup of {source} that ends before {}: the oldest ended at {}",
            describe_target(target),
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
    })
    .into())
}

/// `'<this binary>' --config '<config>' wal fetch --source '<source>' %f %p`, quoted for the
/// shell PostgreSQL runs it with.
fn restore_command(ctx: &Context, source: &str) -> anyhow::Result<String> {
    let binary = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot tell where this dbward binary is: {e}"))?;
    let config = std::path::absolute(&ctx.config.file).unwrap_or(ctx.config.file.clone());
    Ok(format!(
        "{} --config {} wal fetch --source {} %f %p",
        shell_quote(&binary.to_string_lossy()),
        shell_quote(&config.to_string_lossy()),
        shell_quote(source)
    ))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs the recovery on a scratch loopback port with sockets in a private folder.
async fn run_private_server(
    manifest: &Manifest,
    tool_dir: Option<&Path>,
    directory: &Path,
    probe: Option<MarkerProbe>,
) -> anyhow::Result<(RecoveryOutcome, Option<Vec<String>>)> {
    let major = PgMajor::parse(&manifest.server_version).ok_or_else(|| {
        anyhow::anyhow!(
            "backup {}: server_version {:?} is not a PostgreSQL version",
            manifest.id,
            manifest.server_version
        )
    })?;
    let binary = recover::server_binary(tool_dir, major).await?;
    // Short, under the temporary folder: a socket path must fit in 107 bytes.
    let run_dir = std::env::temp_dir().join(format!("dbward-pitr-{}", ulid::Ulid::new()));
    dbward_core::secret::create_private_dir(&run_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create a scratch folder for the server at {}: {e}",
            run_dir.display()
        )
    })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| anyhow::anyhow!("cannot find a free loopback port: {e}"))?;
    let outcome = recover::run_recovery_then(
        &binary,
        directory,
        &run_dir,
        port,
        RECOVERY_TIMEOUT,
        async |port| match probe {
            Some(probe) => Some(probe.look_up(port).await),
            None => None,
        },
    )
    .await;
    // The server's log is the evidence of how recovery went: kept beside the cluster.
    let _ = std::fs::copy(run_dir.join("server.log"), directory.join(RECOVERY_LOG));
    let _ = std::fs::remove_dir_all(&run_dir);
    let (outcome, probed) = outcome?;
    let found = probed.flatten().transpose()?;
    Ok((outcome, found))
}

/// How a drill looks its markers up in the recovered cluster: the source's user and
/// password (the copy is the source's cluster), on the private server's loopback port.
struct MarkerProbe {
    settings: dbward_source_postgres::PostgresSettings,
    ids: Vec<String>,
}

impl MarkerProbe {
    async fn look_up(mut self, port: u16) -> anyhow::Result<Vec<String>> {
        self.settings.host = "127.0.0.1".into();
        self.settings.port = port;
        // Loopback to a private server: the source's certificate names another host.
        self.settings.tls.mode = dbward_core::tls::TlsMode::Prefer;
        dbward_source_postgres::drill_marker::markers_present(&self.settings, &self.ids)
            .await
            .map_err(|e| anyhow::anyhow!("reading the drill markers from the recovered copy: {e}"))
    }
}

/// Fails a recovery that did not reach its target, or that ended at a gap of the archive,
/// naming the WAL file and the last moment reached.
async fn judge_recovery(
    ctx: &Context,
    base: &Manifest,
    target: RecoveryTarget,
    outcome: &RecoveryOutcome,
) -> anyhow::Result<()> {
    let missing: Vec<&str> = outcome
        .not_found
        .iter()
        .map(String::as_str)
        .filter(|n| WalFileName::parse(n).is_ok_and(|n| n.kind() == WalFileKind::Segment))
        .collect();
    let reached_until = || match (&outcome.last_transaction_at, &outcome.last_restored) {
        (Some(at), Some(file)) => format!("the last moment reached is {at} (WAL file {file})"),
        (Some(at), None) => format!("the last moment reached is {at}"),
        (None, last_file) => format!(
            "no transaction after the base backup was replayed: the last moment reached is the end of base backup {} (finished at {}, WAL {}){}",
            base.id,
            base.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
            base.base_backup
                .as_ref()
                .map(|b| b.stop_lsn.as_str())
                .unwrap_or("?"),
            last_file
                .as_ref()
                .map(|f| format!(", WAL file {f}"))
                .unwrap_or_default()
        ),
    };
    if !outcome.reached {
        let cause = if let Some(failed) = outcome.fetch_errors.first() {
            format!("WAL file {failed}")
        } else if let Some(name) = missing.first() {
            format!("WAL file {name} is not in the archive")
        } else {
            outcome
                .fatal
                .first()
                .cloned()
                .unwrap_or_else(|| "the server stopped".into())
        };
        anyhow::bail!(
            "recovery to {} failed: {cause}; {}; the server said: {}",
            describe_target(target),
            reached_until(),
            outcome.fatal.join(" / ")
        );
    }
    if target == RecoveryTarget::Latest
        && let Some(first_missing) = missing.first()
    {
        // The end of the archive is where a segment is missing; one missing with later ones
        // archived is a gap, and "latest" would silently be an earlier moment.
        let archive = WalArchive::open(&ctx.config, Some(&base.source))?;
        let later: Option<String> = archived_names(&archive)
            .await
            .into_keys()
            .filter(|n| n.len() == 24 && n[..8] == first_missing[..8])
            .find(|n| n.as_str() > *first_missing);
        if let Some(later) = later {
            anyhow::bail!(
                "recovery stopped at a gap in the archive: WAL file {first_missing} is missing though {later} is archived; {}",
                reached_until()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_restore_into_the_same_directory_is_refused_and_removes_nothing() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("cluster");
        assert!(
            create_directory(&dir).unwrap(),
            "the first restore makes the directory"
        );
        // A second restore, even before the first one unpacked anything, finds the claim.
        let second = create_directory(&dir).unwrap_err();
        assert!(format!("{second:#}").contains("not empty"), "{second:#}");
        assert!(dir.join(CLAIM).is_file(), "the first restore's claim stays");
        std::fs::write(dir.join("PG_VERSION"), "15").unwrap();
        empty_directory(&dir).unwrap();
        assert!(dir.join(CLAIM).is_file(), "emptying keeps the claim");
        clean_up(&dir, true);
        assert!(!dir.exists(), "a failed restore leaves nothing of its own");
    }

    #[test]
    fn target_times_need_an_offset() {
        let want: DateTime<Utc> = "2026-12-04T10:14:59Z".parse().unwrap();
        for text in [
            "2026-12-04 10:14:59+00",
            "2026-12-04 10:14:59Z",
            "2026-12-04T10:14:59Z",
            "2026-12-04 12:14:59+02:00",
            "2026-12-04T11:14:59+01:00",
        ] {
            assert_eq!(parse_target_time(text).unwrap(), want, "{text}");
        }
        let fraction = parse_target_time("2026-12-04 10:14:59.25+00").unwrap();
        assert_eq!(fraction.timestamp_subsec_millis(), 250);
        for bad in ["2026-12-04 10:14:59", "yesterday", "10:14"] {
            let err = parse_target_time(bad).unwrap_err();
            assert!(err.0.contains("UTC offset"), "{bad}: {err}");
        }
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("/srv/it's/dbward"), r"'/srv/it'\''s/dbward'");
    }
}
