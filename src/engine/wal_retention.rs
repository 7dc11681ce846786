//! WAL retention, run by `prune` after the base backups' retention: for each `pitr = true`
//! PostgreSQL source, deletes from every destination the archived WAL files that no kept
//! base backup's recovery needs (`policy::wal::plan`), entry first (so no half-deleted file
//! is ever committed), then its stored bytes, and forgets them in the catalog. For each
//! `pitr = true` MariaDB/MySQL source the same with the archived binlog files no kept dump's
//! binlog position needs (`policy::binlog::plan`).

use std::collections::BTreeSet;

use dbward_core::layout::wal_folder;
use dbward_core::manifest::{BaseBackup, Manifest, WHOLE_CLUSTER};
use serde::Serialize;

use super::Context;
use super::wal::{LogKind, LogName};
use crate::catalog::ListFilter;
use crate::policy::health::usable;
use crate::policy::{binlog, wal};

/// What WAL retention did on one destination of one source.
#[derive(Debug, Clone, Serialize)]
pub struct WalPruned {
    pub source: String,
    pub destination: String,
    /// WAL files deleted (or that would be, with `--dry-run`), by name.
    pub removed: Vec<String>,
    /// WAL files that stay.
    pub kept: usize,
    /// Why nothing was deleted, when that was the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

/// Applies WAL retention to every pitr source. `pruned_now` are the base backups this prune
/// removed (or would, in a dry run): they no longer count as kept.
pub async fn apply(
    ctx: &Context,
    pruned_now: &BTreeSet<String>,
    dry_run: bool,
    errors: &mut Vec<String>,
) -> anyhow::Result<Vec<WalPruned>> {
    let mut report = Vec::new();
    for source in ctx.config.sources.iter().filter(|s| s.pitr) {
        let Some(kind) = LogKind::of(source.engine) else {
            continue;
        };
        let (bases, dumps) = match kind {
            LogKind::Wal => (
                kept_base_backups(ctx, &source.name, pruned_now).await?,
                Vec::new(),
            ),
            LogKind::Binlog => (
                Vec::new(),
                kept_binlog_starts(ctx, &source.name, pruned_now).await?,
            ),
        };
        let kept: Vec<wal::KeptStart<'_>> = bases
            .iter()
            .map(|b| b.as_ref().map(|b| b.start_wal_file.as_str()))
            .collect();
        let dumps: Vec<&str> = dumps.iter().map(String::as_str).collect();
        let folder = format!("{}/", wal_folder(&source.name));
        for (name, dest) in &ctx.destinations {
            let objects = match dest.list(&folder).await {
                Ok(objects) => objects,
                Err(e) => {
                    errors.push(format!("WAL of {}: {e}", source.name));
                    continue;
                }
            };
            let keys: Vec<String> = objects.into_iter().map(|o| o.key).collect();
            let archived: Vec<String> = keys
                .iter()
                .filter_map(|k| k.strip_prefix(&folder)?.strip_suffix(".json"))
                .filter(|n| LogName::parse(kind, n).is_ok())
                .map(str::to_string)
                .collect();
            if archived.is_empty() {
                continue;
            }
            let plan = match kind {
                LogKind::Wal => wal::plan(&archived, &kept),
                LogKind::Binlog => binlog::plan(&archived, &dumps),
            };
            let mut removed = Vec::new();
            for file in &plan.remove {
                if !dry_run {
                    let entry = format!("{folder}{file}.json");
                    let stored_prefix = format!("{folder}{file}.{}", kind.extension());
                    let doomed = std::iter::once(entry.clone()).chain(
                        keys.iter()
                            .filter(|k| k.starts_with(&stored_prefix))
                            .cloned(),
                    );
                    let mut failed = false;
                    for key in doomed {
                        if let Err(e) = dest.delete(&key).await {
                            errors.push(format!("WAL file {file} of {}: {e}", source.name));
                            failed = true;
                            break;
                        }
                    }
                    if failed {
                        continue;
                    }
                }
                removed.push(file.clone());
            }
            if !dry_run && !removed.is_empty() {
                ctx.catalog
                    .forget_wal_files(&source.name, name, &removed)
                    .await?;
            }
            if !removed.is_empty() {
                tracing::info!(source = %source.name, destination = %name, files = removed.len(), dry_run, "removed WAL files no kept base backup needs");
            }
            report.push(WalPruned {
                source: source.name.clone(),
                destination: name.clone(),
                kept: archived.len() - removed.len(),
                removed,
                held: plan.held,
            });
        }
    }
    Ok(report)
}

/// The binlog file of each kept dump of `source` that records a binlog position (good, not
/// pruned, not pruned by this run).
pub async fn kept_binlog_starts(
    ctx: &Context,
    source: &str,
    pruned_now: &BTreeSet<String>,
) -> anyhow::Result<Vec<String>> {
    let kept = kept_manifests(ctx, source, None, pruned_now).await?;
    Ok(kept
        .into_iter()
        .filter_map(|m| Some(m?.binlog_position?.file))
        .collect())
}

/// The WAL range of each base backup of `source` that retention keeps (good, not pruned,
/// not pruned by this run), newest first; `None` for one whose manifest does not say.
pub async fn kept_base_backups(
    ctx: &Context,
    source: &str,
    pruned_now: &BTreeSet<String>,
) -> anyhow::Result<Vec<Option<BaseBackup>>> {
    let kept = kept_manifests(ctx, source, Some(WHOLE_CLUSTER), pruned_now).await?;
    Ok(kept.into_iter().map(|m| m?.base_backup).collect())
}

/// The manifest of each backup of `source` (of `database`, when given) that retention keeps
/// (good, not pruned, not pruned by this run), newest first; `None` for one without a
/// readable manifest.
async fn kept_manifests(
    ctx: &Context,
    source: &str,
    database: Option<&str>,
    pruned_now: &BTreeSet<String>,
) -> anyhow::Result<Vec<Option<Manifest>>> {
    let filter = ListFilter {
        source: Some(source.to_string()),
        database: database.map(str::to_string),
        status: None,
        limit: None,
    };
    let mut kept = Vec::new();
    for backup in ctx.catalog.list(&filter).await? {
        if !usable(&backup) || pruned_now.contains(&backup.id) {
            continue;
        }
        let manifest = ctx
            .catalog
            .get(&backup.id)
            .await?
            .and_then(|(_, json)| json)
            .and_then(|json| Manifest::from_json(json.as_bytes()).ok());
        kept.push(manifest);
    }
    Ok(kept)
}
