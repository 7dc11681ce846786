//! Binlog archiving of a `pitr = true` MariaDB/MySQL source (`dbward binlog push`, and the
//! daemon every `wal_archive_interval`): one pass copies every binlog file the server has
//! closed and the archive lacks, with `mariadb-binlog --read-from-remote-server --raw`, into
//! a private scratch folder, then through the same path as a WAL file ([`super::wal::push`]:
//! pipeline, every destination, read back, a signed entry with its sha256) and records it in
//! the catalog. It resumes from the archive itself: files older than the first archived one
//! are left alone, and a file between the oldest kept dump's binlog file (or the first
//! archived one) and the server's current one that the server no longer has and the archive
//! lacks is lost, reported.
//!
//! One pass, not a streamer: the file the server is writing is archived once the server
//! closes it (`FLUSH BINARY LOGS`, `max_binlog_size`, a restart), so the recovery point is
//! the last rotation; rotate on a schedule (an event running `FLUSH BINARY LOGS`) to bound it.

use std::path::PathBuf;

use dbward_core::binlog::BinlogFileName;
use dbward_source_mysql::binlog;
use serde::Serialize;

use super::wal::{self, LogKind, WalArchive, archived_names};
use super::{Context, UsageError};

/// The job lock a pass holds for its source.
const PUSH_LOCK: &str = "binlog-push";

/// What one pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BinlogPushReport {
    pub source: String,
    /// Files archived by this pass, in order.
    pub pushed: Vec<String>,
    /// Closed files that were archived on every destination already.
    pub already: usize,
    /// The file the server writes now (archived once it is closed).
    pub current: Option<String>,
    /// Files between the first archived one and the current one that neither the archive
    /// nor the server holds: a restore cannot replay past them.
    pub lost: Vec<String>,
    /// Files archived but not recorded in the catalog (they are safe; `status` may show a
    /// gap until `dbward catalog rebuild --from DEST`).
    pub warnings: Vec<String>,
}

/// [`push`], waiting up to `patience` while another pass of the source runs (the PITR drill
/// needs its own pass after the file holding its markers closed).
pub async fn push_waiting(
    ctx: &Context,
    source: &str,
    patience: std::time::Duration,
) -> anyhow::Result<BinlogPushReport> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        match push(ctx, Some(source)).await {
            Err(e)
                if e.downcast_ref::<Busy>().is_some() && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// Another pass of the source holds its lock.
#[derive(Debug, thiserror::Error)]
#[error("binlog push of {name:?} not started: {reason}")]
pub struct Busy {
    name: String,
    reason: String,
}

/// Archives the closed binlog files of `source` (or of the only MariaDB/MySQL pitr source).
pub async fn push(ctx: &Context, source: Option<&str>) -> anyhow::Result<BinlogPushReport> {
    let archive = WalArchive::open_kind(&ctx.config, source, LogKind::Binlog)?;
    // One pass of a source at a time (the daemon's and one from cron may meet).
    let _lock =
        super::lock::try_lock(&ctx.config.state_dir, &archive.source, PUSH_LOCK).map_err(|e| {
            Busy {
                name: archive.source.clone(),
                reason: e.to_string(),
            }
        })?;
    let config = ctx
        .config
        .source(&archive.source)
        .expect("open_kind found the source");
    let settings = crate::registry::mysql_settings(config, &config.connection, &ctx.scratch);
    let state = binlog::state(&settings).await?;
    if !state.enabled {
        return Err(UsageError(binlog::binlog_off(&archive.source).to_string()).into());
    }
    let archived = archived_names(&archive).await;
    let everywhere = archive.destination_count();
    let first_archived = archived
        .keys()
        .filter_map(|n| BinlogFileName::parse(n).ok())
        .min_by_key(|n| n.number());
    let mut report = BinlogPushReport {
        source: archive.source.clone(),
        current: state.current.clone(),
        ..Default::default()
    };
    // From the oldest kept dump's position (or the archive's first file) to the current
    // file, anything the server no longer has and the archive lacks: what a restore needs.
    let oldest_needed = super::wal_retention::kept_binlog_starts(
        ctx,
        &archive.source,
        &std::collections::BTreeSet::new(),
    )
    .await
    .unwrap_or_default()
    .iter()
    .filter_map(|f| BinlogFileName::parse(f).ok())
    .min_by_key(|f| f.number());
    let from = match (&first_archived, oldest_needed) {
        (Some(first), Some(needed)) if needed.number() > first.number() => Some(needed),
        (Some(first), _) => Some(first.clone()),
        (None, _) => None,
    };
    if let (Some(first), Some(current)) = (
        &from,
        state
            .current
            .as_deref()
            .and_then(|c| BinlogFileName::parse(c).ok()),
    ) {
        let on_server: std::collections::BTreeSet<&str> =
            state.files.iter().map(|(n, _)| n.as_str()).collect();
        let mut name = first.clone();
        while name.number() < current.number() && report.lost.len() < 1000 {
            if !archived.contains_key(name.as_str()) && !on_server.contains(name.as_str()) {
                report.lost.push(name.to_string());
            }
            name = name.next();
        }
    }
    let scratch = ctx
        .scratch
        .spool
        .join(format!("binlog-{}", ulid::Ulid::new()));
    dbward_core::secret::create_private_dir(&scratch)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", scratch.display()))?;
    let result = push_closed(
        ctx,
        &archive,
        &settings,
        &state,
        &archived,
        everywhere,
        first_archived,
        &scratch,
        &mut report,
    )
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn push_closed(
    ctx: &Context,
    archive: &WalArchive<'_>,
    settings: &dbward_source_mysql::MysqlSettings,
    state: &binlog::BinlogState,
    archived: &std::collections::BTreeMap<String, Vec<String>>,
    everywhere: usize,
    first_archived: Option<BinlogFileName>,
    scratch: &std::path::Path,
    report: &mut BinlogPushReport,
) -> anyhow::Result<()> {
    for name in state.closed() {
        let parsed =
            BinlogFileName::parse(&name).map_err(|e| anyhow::anyhow!("the server lists {e}"))?;
        if first_archived
            .as_ref()
            .is_some_and(|first| first.base() == parsed.base() && parsed.number() < first.number())
        {
            continue;
        }
        if archived.get(&name).is_some_and(|d| d.len() >= everywhere) {
            report.already += 1;
            continue;
        }
        let path: PathBuf = binlog::copy_file(settings, &name, scratch)
            .await
            .map_err(|e| anyhow::anyhow!("copying binlog file {name} from the server: {e}"))?;
        let pushed = wal::push(archive, &path).await?;
        let _ = std::fs::remove_file(&path);
        if let Err(e) = wal::record_pushed(ctx.catalog.as_ref(), &pushed).await {
            report.warnings.push(format!(
                "{name} archived, but not recorded in the catalog: {e:#}"
            ));
        }
        tracing::info!(source = %archive.source, name = %name, stored = ?pushed.stored, "binlog file archived");
        report.pushed.push(name);
    }
    Ok(())
}
