//! The backups a point-in-time recovery can start from: a source's good (succeeded or
//! degraded), unpruned backups, newest first, and the manifests the catalog stored for them.

use dbward_core::Manifest;

use super::Context;
use crate::catalog::{BackupRecord, BackupStatus, ListFilter};

/// The good, unpruned backups of `source` (of `database`, when given), newest first.
pub(super) async fn good_backups(
    ctx: &Context,
    source: &str,
    database: Option<&str>,
) -> anyhow::Result<Vec<BackupRecord>> {
    let mut backups = ctx
        .catalog
        .list(&ListFilter {
            source: Some(source.to_string()),
            database: database.map(str::to_string),
            status: None,
            limit: None,
        })
        .await?;
    backups.retain(|b| {
        matches!(b.status, BackupStatus::Succeeded | BackupStatus::Degraded)
            && b.pruned_at.is_none()
    });
    Ok(backups)
}

/// The manifest the catalog stored for backup `id`; `None` when it stored none.
pub(super) async fn stored_manifest(ctx: &Context, id: &str) -> anyhow::Result<Option<Manifest>> {
    let Some((_, Some(json))) = ctx.catalog.get(id).await? else {
        return Ok(None);
    };
    Manifest::from_json(json.as_bytes())
        .map(Some)
        .map_err(|e| anyhow::anyhow!("backup {id}: {e}"))
}
