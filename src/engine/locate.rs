//! Finding a backup to restore or verify: by id or as the newest good backup of a database,
//! from the catalog, or — when the catalog is lost — from the manifests on a destination,
//! which must pass `integrity::Trust::check` first.

use std::sync::Arc;

use dbward_core::Manifest;
use dbward_core::destination::Destination;
use dbward_core::layout::{MANIFEST_SUFFIX, escape_segment, is_manifest_key};
use tokio::io::AsyncReadExt;

use super::{Context, UsageError};
use crate::catalog::CopyStatus;

/// Which backup a command means.
#[derive(Debug, Clone)]
pub enum BackupRef {
    Id(String),
    Latest { source: String, database: String },
}

/// A backup and the copies to read it from, in the order to try them.
#[derive(Debug, Clone)]
pub struct Located {
    pub manifest: Manifest,
    pub copies: Vec<CopyRef>,
}

/// One stored copy of an artifact.
#[derive(Debug, Clone)]
pub struct CopyRef {
    pub destination: Arc<dyn Destination>,
    pub key: String,
}

/// Finds `backup` in the catalog, or on destination `from` (by its manifests alone; an
/// unsigned manifest is accepted only with `allow_unsigned`).
pub async fn locate(
    ctx: &Context,
    backup: &BackupRef,
    from: Option<&str>,
    allow_unsigned: bool,
) -> anyhow::Result<Located> {
    match from {
        Some(name) => {
            let dest = ctx
                .destinations
                .get(name)
                .cloned()
                .ok_or_else(|| UsageError(format!("no [[destination]] named {name:?}")))?;
            let trust = super::integrity::Trust::load(&ctx.config.integrity, allow_unsigned);
            from_destination(dest, backup, &trust).await
        }
        None => from_catalog(ctx, backup).await,
    }
}

async fn from_catalog(ctx: &Context, backup: &BackupRef) -> anyhow::Result<Located> {
    let found = match backup {
        BackupRef::Id(id) => ctx.catalog.get(id).await?,
        BackupRef::Latest { source, database } => ctx.catalog.latest_good(source, database).await?,
    };
    let Some((record, manifest)) = found else {
        return Err(UsageError(match backup {
            BackupRef::Id(id) => format!("no backup with id {id:?} in the catalog (see `dbward list`, or restore with --from DESTINATION)"),
            BackupRef::Latest { source, database } => {
                format!("no good backup of {source}/{database} in the catalog (see `dbward list`)")
            }
        })
        .into());
    };
    if let Some(at) = record.pruned_at {
        anyhow::bail!(
            "backup {} was removed by retention (`dbward prune`) at {}; its copies are deleted",
            record.id,
            at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let manifest = manifest.ok_or_else(|| {
        anyhow::anyhow!(
            "backup {} is {} and has no manifest: nothing was stored",
            record.id,
            record.status
        )
    })?;
    let manifest = Manifest::from_json(manifest.as_bytes())
        .map_err(|e| anyhow::anyhow!("backup {}: {e}", record.id))?;
    let copies = record
        .copies
        .iter()
        .filter(|c| c.status == CopyStatus::Committed)
        .filter_map(|c| {
            ctx.destinations.get(&c.destination).map(|d| CopyRef {
                destination: d.clone(),
                key: c.path.clone(),
            })
        })
        .collect::<Vec<_>>();
    if copies.is_empty() {
        anyhow::bail!(
            "backup {} has no committed copy on a configured destination",
            record.id
        );
    }
    Ok(Located { manifest, copies })
}

async fn from_destination(
    dest: Arc<dyn Destination>,
    backup: &BackupRef,
    trust: &super::integrity::Trust,
) -> anyhow::Result<Located> {
    let (prefix, wanted) = match backup {
        BackupRef::Id(id) => (String::new(), Some(format!("-{id}{MANIFEST_SUFFIX}"))),
        BackupRef::Latest { source, database } => (
            format!("{}/{}/", escape_segment(source), escape_segment(database)),
            None,
        ),
    };
    let mut manifests: Vec<String> = dest
        .list(&prefix)
        .await?
        .into_iter()
        .map(|o| o.key)
        // Only the layout's own keys: a crafted name must not pass for the newest backup.
        .filter(|k| is_manifest_key(k))
        .filter(|k| wanted.as_ref().is_none_or(|w| k.ends_with(w.as_str())))
        .collect();
    // Keys embed the UTC start time, so the greatest key is the newest backup.
    manifests.sort();
    let key = manifests.pop().ok_or_else(|| {
        UsageError(format!(
            "destination {} holds no manifest for {}",
            dest.name(),
            match backup {
                BackupRef::Id(id) => format!("backup {id}"),
                BackupRef::Latest { source, database } => format!("{source}/{database}"),
            }
        ))
    })?;
    read_trusted(dest, &key, trust).await
}

/// The backup whose manifest is at `key` on `dest`, once the manifest passed `trust`.
pub async fn read_trusted(
    dest: Arc<dyn Destination>,
    key: &str,
    trust: &super::integrity::Trust,
) -> anyhow::Result<Located> {
    let mut bytes = Vec::new();
    dest.read(key).await?.read_to_end(&mut bytes).await?;
    let manifest = Manifest::from_json(&bytes).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
    let warning = trust
        .check(key, &manifest)
        .map_err(|e| anyhow::anyhow!("destination {}: {e}", dest.name()))?;
    if let Some(warning) = warning {
        tracing::warn!("destination {}: {warning}", dest.name());
    }
    let folder = key.rsplit_once('/').map(|(f, _)| f).unwrap_or("");
    let artifact = if folder.is_empty() {
        manifest.artifact.clone()
    } else {
        format!("{folder}/{}", manifest.artifact)
    };
    Ok(Located {
        manifest,
        copies: vec![CopyRef {
            destination: dest,
            key: artifact,
        }],
    })
}
