//! The WAL archive's health for `status` and `/metrics`: per `pitr = true` PostgreSQL source,
//! the newest archived WAL file and its age (the real recovery point) and the segments
//! missing since the oldest kept base backup's start, from the catalog's `wal_files`; the
//! verdict (`archiving`, `wal_gap`) is `policy::wal::assess`. Per `pitr = true`
//! MariaDB/MySQL source the same for its binlog archive (`policy::binlog::assess`), the gap
//! counted from the oldest kept dump's binlog position.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use dbward_core::Engine;
use serde::Serialize;

use super::Context;
use super::wal_retention::kept_base_backups;
use crate::policy::binlog::{self, BinlogFacts};
use crate::policy::health::Problem;
use crate::policy::wal::{self, ArchiveFacts};
use dbward_core::binlog::BinlogFileName;

/// One pitr source's WAL archive, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WalHealth {
    pub source: String,
    /// The newest archived WAL file, by archive time.
    pub newest: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub age_seconds: Option<i64>,
    /// Segments missing between the oldest kept base backup's start and the newest archived.
    pub missing_segments: u64,
    /// Archived WAL files the catalog records (any destination).
    pub files: usize,
}

/// A source's archived log files: their names, sorted once each, and the newest archived.
async fn archive_of(
    ctx: &Context,
    source: &str,
) -> anyhow::Result<(Vec<String>, Option<(String, DateTime<Utc>)>)> {
    let records = ctx.catalog.wal_files(source).await?;
    let newest = records
        .iter()
        .max_by(|a, b| a.archived_at.cmp(&b.archived_at).then(a.name.cmp(&b.name)))
        .map(|r| (r.name.clone(), r.archived_at));
    let names = records
        .into_iter()
        .map(|r| r.name)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok((names, newest))
}

/// The WAL health of every pitr source at `now`, and its problems.
pub async fn assess(
    ctx: &Context,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<WalHealth>, Vec<Problem>)> {
    let mut health = Vec::new();
    let mut problems = Vec::new();
    for source in ctx
        .config
        .sources
        .iter()
        .filter(|s| s.pitr && s.engine == Engine::Postgres)
    {
        let (names, newest) = archive_of(ctx, &source.name).await?;
        let bases = kept_base_backups(ctx, &source.name, &BTreeSet::new()).await?;
        // The oldest kept base backup decides what must be there; one whose range is unknown
        // is skipped here (retention keeps everything for it anyway).
        let oldest = bases.iter().flatten().min_by(|a, b| {
            (a.timeline, a.start_wal_file.get(8..)).cmp(&(b.timeline, b.start_wal_file.get(8..)))
        });
        let interval =
            Duration::from_std(source.pitr_settings.wal_archive_interval).unwrap_or(Duration::MAX);
        let facts = ArchiveFacts {
            source: &source.name,
            archived: &names,
            newest: newest.as_ref().map(|(name, at)| (name.as_str(), *at)),
            oldest_kept: oldest.map(|b| (b.start_wal_file.as_str(), b.wal_segment_bytes)),
            interval,
        };
        problems.extend(wal::assess(&facts, now));
        let missing_segments = oldest
            .map(|b| wal::missing_segments(&names, &b.start_wal_file, b.wal_segment_bytes).0)
            .unwrap_or(0);
        health.push(WalHealth {
            source: source.name.clone(),
            archived_at: newest.as_ref().map(|(_, at)| *at),
            age_seconds: newest.as_ref().map(|(_, at)| (now - *at).num_seconds()),
            newest: newest.map(|(name, _)| name),
            missing_segments,
            files: names.len(),
        });
    }
    for source in ctx
        .config
        .sources
        .iter()
        .filter(|s| s.pitr && matches!(s.engine, Engine::Mariadb | Engine::Mysql))
    {
        let (names, newest) = archive_of(ctx, &source.name).await?;
        let oldest = oldest_kept_binlog(ctx, &source.name).await?;
        let facts = BinlogFacts {
            source: &source.name,
            archived: &names,
            newest: newest.as_ref().map(|(name, at)| (name.as_str(), *at)),
            oldest_kept: oldest.as_deref(),
            interval: Duration::from_std(source.pitr_settings.wal_archive_interval)
                .unwrap_or(Duration::MAX),
        };
        problems.extend(binlog::assess(&facts, now));
        let missing_segments = binlog::missing(&facts).0;
        health.push(WalHealth {
            source: source.name.clone(),
            archived_at: newest.as_ref().map(|(_, at)| *at),
            age_seconds: newest.as_ref().map(|(_, at)| (now - *at).num_seconds()),
            newest: newest.map(|(name, _)| name),
            missing_segments,
            files: names.len(),
        });
    }
    Ok((health, problems))
}

/// The binlog file of the oldest binlog position a kept (good, unpruned) dump of `source`
/// records.
async fn oldest_kept_binlog(ctx: &Context, source: &str) -> anyhow::Result<Option<String>> {
    let records = ctx
        .catalog
        .list(&crate::catalog::ListFilter {
            source: Some(source.to_string()),
            database: None,
            status: None,
            limit: None,
        })
        .await?;
    let mut oldest: Option<BinlogFileName> = None;
    for record in records.iter().filter(|r| {
        matches!(
            r.status,
            crate::catalog::BackupStatus::Succeeded | crate::catalog::BackupStatus::Degraded
        ) && r.pruned_at.is_none()
    }) {
        let Some((_, Some(json))) = ctx.catalog.get(&record.id).await? else {
            continue;
        };
        let Ok(manifest) = dbward_core::Manifest::from_json(json.as_bytes()) else {
            continue;
        };
        let Some(file) = manifest
            .binlog_position
            .and_then(|p| BinlogFileName::parse(&p.file).ok())
        else {
            continue;
        };
        if oldest.as_ref().is_none_or(|o| file.number() < o.number()) {
            oldest = Some(file);
        }
    }
    Ok(oldest.map(|f| f.to_string()))
}
