//! Point-in-time restore of one database of a `pitr = true` MariaDB/MySQL source
//! (`restore --source S --database D --to-time T --to-database D2`): the newest good dump of
//! D that finished by T and records its binlog position, then the archived binlog files from
//! that position, each fetched and proven like a WAL file (signed entry, stored sha256, the
//! file's own sha256), replayed with `mariadb-binlog --start-position --stop-datetime
//! --database D --rewrite-db D->D2` into the client. Binlog times have one-second
//! precision: events of the second T falls in are replayed. Every file is fetched and the
//! archive is shown to reach T before the database is created; a missing or damaged file
//! before T stops the restore with its name and the last moment that can be reached.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};
use dbward_core::Manifest;
use dbward_core::binlog::BinlogFileName;
use dbward_source_mysql::binlog::{self, Replay};
use serde::Serialize;

use super::locate::BackupRef;
use super::observe::Observer;
use super::recovery_base::{good_backups, stored_manifest};
use super::restore::{self, RestoreRequest};
use super::wal::{self, Fetched, LogKind, WalArchive, archived_names};
use super::{Context, UsageError};

/// What a point-in-time restore of a database was asked to do.
#[derive(Debug, Clone)]
pub struct BinlogRestoreRequest {
    pub source: String,
    pub database: String,
    pub to_database: String,
    pub target: DateTime<Utc>,
    /// A particular dump; by default the newest good one that finished by the target.
    pub backup_id: Option<String>,
    pub identity: Option<PathBuf>,
}

/// What it did.
#[derive(Debug, Clone, Serialize)]
pub struct BinlogRestoreSummary {
    pub backup_id: String,
    pub source: String,
    pub database: String,
    pub target_database: String,
    pub target: String,
    /// Where replay started: `file:position` from the dump's manifest.
    pub start: String,
    /// The binlog files replayed from, in order.
    pub binlog_files: Vec<String>,
    /// The time of the last event in the last file fetched (how far the archive reaches).
    pub archive_reaches: Option<DateTime<Utc>>,
    pub duration_ms: u64,
    pub warnings: Vec<String>,
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Restores `request.database` as it was at `request.target` into `request.to_database`.
pub async fn run(
    ctx: &Context,
    request: &BinlogRestoreRequest,
    progress: &dyn Observer,
) -> anyhow::Result<BinlogRestoreSummary> {
    let started = Instant::now();
    let config = ctx
        .config
        .source(&request.source)
        .filter(|s| s.pitr && LogKind::of(s.engine) == Some(LogKind::Binlog))
        .ok_or_else(|| {
            UsageError(format!(
                "--to-time --to-database restores a MariaDB/MySQL [[source]] with pitr = true, and {:?} is none (a PostgreSQL cluster restores with --to-directory)",
                request.source
            ))
        })?;
    let manifest = choose_dump(ctx, request).await?;
    let position = manifest
        .binlog_position
        .clone()
        .expect("choose_dump keeps dumps with a position");
    let start = BinlogFileName::parse(&position.file)
        .map_err(|e| anyhow::anyhow!("backup {}: {e}", manifest.id))?;
    let archive = WalArchive::open_kind(&ctx.config, Some(&request.source), LogKind::Binlog)?;
    let keyring = super::keys::keyring(ctx, request.identity.as_deref())?;
    let settings = crate::registry::mysql_settings(config, &config.connection, &ctx.scratch);
    // Events of the target's second are replayed: the log keeps whole seconds.
    let stop = request.target.duration_trunc(Duration::seconds(1))? + Duration::seconds(1);
    let scratch = ctx
        .scratch
        .spool
        .join(format!("binlog-restore-{}", ulid::Ulid::new()));
    dbward_core::secret::create_private_dir(&scratch)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", scratch.display()))?;
    let result = async {
        let (files, reaches) = fetch_range(
            &archive,
            &settings,
            &manifest,
            &start,
            stop,
            request.target,
            &scratch,
            keyring.as_ref(),
        )
        .await?;
        let restored = restore::run(
            ctx,
            &RestoreRequest {
                backup: BackupRef::Id(manifest.id.clone()),
                to_source: None,
                to_database: Some(request.to_database.clone()),
                from: None,
                force: false,
                identity: request.identity.clone(),
                jobs: None,
                allow_unsigned: false,
            },
            progress,
        )
        .await?;
        let mut warnings = restored.warnings;
        let replayed = binlog::replay(
            &settings,
            &Replay {
                files: &files,
                start_position: position.position,
                stop,
                database: &request.database,
                to_database: &request.to_database,
            },
        )
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "replaying the binlog into {} failed: {e}; it holds backup {} and part of the replay: drop it before restoring again",
                request.to_database,
                manifest.id
            )
        })?;
        warnings.extend(replayed);
        anyhow::Ok((files, reaches, warnings))
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    let (files, reaches, warnings) = result?;
    Ok(BinlogRestoreSummary {
        backup_id: manifest.id.clone(),
        source: request.source.clone(),
        database: request.database.clone(),
        target_database: request.to_database.clone(),
        target: request
            .target
            .format("%Y-%m-%d %H:%M:%S%.f UTC")
            .to_string(),
        start: format!("{}:{}", position.file, position.position),
        binlog_files: files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect(),
        archive_reaches: reaches,
        duration_ms: started.elapsed().as_millis() as u64,
        warnings,
    })
}

/// Fetches (proving each) the archived binlog files from `start` on, in sequence, until a
/// file is missing or damaged or the archive ends; fails unless the files fetched reach
/// `stop`, naming the file that is missing and the last moment that can be reached.
#[allow(clippy::too_many_arguments)]
async fn fetch_range(
    archive: &WalArchive<'_>,
    settings: &dbward_source_mysql::MysqlSettings,
    manifest: &Manifest,
    start: &BinlogFileName,
    stop: DateTime<Utc>,
    target: DateTime<Utc>,
    dir: &Path,
    keyring: Option<&super::keys::Keyring>,
) -> anyhow::Result<(Vec<PathBuf>, Option<DateTime<Utc>>)> {
    let mut names: Vec<BinlogFileName> = archived_names(archive)
        .await
        .into_keys()
        .filter_map(|n| BinlogFileName::parse(&n).ok())
        .filter(|n| n.base() == start.base() && n.number() >= start.number())
        .collect();
    names.sort_by_key(|n| n.number());
    let mut files = Vec::new();
    let mut reaches = None;
    let mut expected = start.clone();
    let mut broken: Option<String> = None;
    let mut newer_archived = false;
    let mut decoded_last = true;
    for name in names {
        if name.number() != expected.number() {
            broken = Some(format!("binlog file {expected} is not in the archive"));
            newer_archived = true;
            break;
        }
        let to = dir.join(name.as_str());
        let archived_at = match wal::fetch(archive, name.as_str(), &to, keyring).await? {
            Fetched::Written { archived_at, .. } => archived_at,
            Fetched::NotArchived => {
                broken = Some(format!("binlog file {name} is not in the archive"));
                break;
            }
            Fetched::Failed(reason) => {
                broken = Some(format!("binlog file {name} cannot be read: {reason}"));
                break;
            }
        };
        files.push(to);
        // A file archived before the stop holds no event at or after it: decoding it to
        // read its last event is only needed from there on (and for the last file).
        decoded_last = archived_at >= stop;
        if decoded_last {
            reaches = binlog::last_event_time(settings, files.last().expect("pushed"))
                .await?
                .or(reaches);
            if reaches.is_some_and(|r| r >= stop) {
                // Later files hold only later events.
                return Ok((files, reaches));
            }
        }
        expected = name.next();
    }
    if !decoded_last && let Some(last) = files.last() {
        // The clocks of this host and the server may differ: the last file decides.
        reaches = binlog::last_event_time(settings, last).await?.or(reaches);
        if reaches.is_some_and(|r| r >= stop) {
            return Ok((files, reaches));
        }
    }
    let dump = format!(
        "the end of backup {} (finished at {})",
        manifest.id,
        at(manifest.finished_at)
    );
    let reachable = match (reaches, files.last()) {
        (Some(t), Some(f)) => format!(
            "{} (the last event of binlog file {})",
            at(t),
            f.file_name().unwrap_or_default().to_string_lossy()
        ),
        _ => dump,
    };
    Err(match broken {
        Some(cause) => anyhow::anyhow!(
            "point-in-time restore to {} stopped: {cause}{}; the last reachable moment is {reachable}. Nothing was restored",
            at(target),
            if newer_archived {
                " though later ones are (a gap)"
            } else {
                ""
            }
        ),
        None => anyhow::anyhow!(
            "point-in-time restore to {} stopped: the binlog archive ends before it (binlog file {expected} is not archived yet); the last reachable moment is {reachable}. Run `dbward binlog push` once the server has closed that file (FLUSH BINARY LOGS) and restore again. Nothing was restored",
            at(target)
        ),
    })
}

/// The dump to start from: the one asked for, or the newest good dump of the database that
/// finished by the target and records a binlog position.
async fn choose_dump(ctx: &Context, request: &BinlogRestoreRequest) -> anyhow::Result<Manifest> {
    let mut without_position = 0;
    let mut oldest = None;
    let candidates = good_backups(ctx, &request.source, Some(&request.database)).await?;
    for record in candidates.iter().filter(|r| {
        request
            .backup_id
            .as_ref()
            .is_none_or(|id| r.id.starts_with(id))
    }) {
        let Some(manifest) = stored_manifest(ctx, &record.id).await? else {
            continue;
        };
        if manifest.binlog_position.is_none() {
            without_position += 1;
            continue;
        }
        if manifest.finished_at <= request.target {
            return Ok(manifest);
        }
        oldest = Some(manifest.finished_at);
    }
    let (source, database) = (&request.source, &request.database);
    Err(UsageError(match oldest {
        Some(t) => format!(
            "no dump of {source}/{database} with a binlog position finished before {}: the oldest good one finished at {}",
            at(request.target),
            at(t)
        ),
        None if without_position > 0 => format!(
            "the good dumps of {source}/{database} record no binlog position (taken before pitr = true); take one with `dbward backup --source {source} --database {database}`"
        ),
        None => format!(
            "no good dump of {source}/{database} in the catalog; take one with `dbward backup --source {source} --database {database}`"
        ),
    })
    .into())
}
