//! The restore use case: find the backup and a readable copy, check that the target can read
//! the dump (F15), refuse to touch an existing database without `--force`, stream the copy —
//! checksum-verified and decompressed — into a new database, and drop that database again
//! when anything fails, so a half-restored database never looks like a good one. With
//! `--force` the dump is restored beside the existing database and swapped in only when
//! complete.

use std::time::Instant;

use dbward_core::restore::RestoreTarget;
use serde::Serialize;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::locate::{BackupRef, Located, locate};
use super::{Context, UsageError};
use crate::progress::Progress;
use crate::registry;

/// What `dbward restore` was asked to do.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub backup: BackupRef,
    pub to_source: Option<String>,
    pub to_database: Option<String>,
    pub from: Option<String>,
    pub force: bool,
    pub identity: Option<std::path::PathBuf>,
    /// Parallel jobs for PostgreSQL custom-format dumps (spooled, then `pg_restore --jobs`);
    /// other dumps restore from the stream.
    pub jobs: Option<u32>,
    /// `--allow-unsigned`: accept an unsigned manifest read with `from` (with a warning).
    pub allow_unsigned: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub backup_id: String,
    pub source: String,
    pub database: String,
    pub target_source: String,
    pub target_database: String,
    /// The destination whose copy was restored.
    pub copy: String,
    /// True when an existing database was replaced (`--force`).
    pub replaced: bool,
    pub duration_ms: u64,
    /// Tables and rows the restored dump holds (the manifest's exact counts).
    pub tables: usize,
    pub rows: u64,
    pub warnings: Vec<String>,
}

/// Restores one backup.
pub async fn run(
    ctx: &Context,
    request: &RestoreRequest,
    progress: &Progress,
) -> anyhow::Result<RestoreSummary> {
    let located = locate(
        ctx,
        &request.backup,
        request.from.as_deref(),
        request.allow_unsigned,
    )
    .await?;
    let manifest = &located.manifest;
    let target_source = request
        .to_source
        .clone()
        .unwrap_or_else(|| manifest.source.clone());
    let source_config = ctx.config.source(&target_source).ok_or_else(|| {
        UsageError(format!(
            "no [[source]] named {target_source:?} to restore into (choose one with --to-source)"
        ))
    })?;
    let target = registry::restore_target_with_jobs(source_config, &ctx.scratch, request.jobs);
    let database = request
        .to_database
        .clone()
        .unwrap_or_else(|| manifest.database.clone());
    let keyring = match located.manifest.encryption {
        Some(_) => super::keys::keyring(ctx, request.identity.as_deref())?,
        None => None,
    };
    let started = Instant::now();
    let mut outcome = restore_located(
        target.as_ref(),
        &located,
        &database,
        request.force,
        keyring.as_ref(),
        progress,
    )
    .await?;
    let parallel_capable =
        manifest.engine == dbward_core::Engine::Postgres && manifest.dump_format == "custom";
    if request.jobs.is_some_and(|jobs| jobs > 1) && !parallel_capable {
        outcome.warnings.push(format!(
            "--jobs applies to PostgreSQL custom-format dumps only; this {} {} dump was restored from the stream",
            manifest.engine, manifest.dump_format
        ));
    }
    // The tool loaded the whole dump or the restore failed, so the artifact's exact counts are
    // what was restored; recounting every table would cost a full scan (a drill does that).
    Ok(RestoreSummary {
        backup_id: manifest.id.clone(),
        source: manifest.source.clone(),
        database: manifest.database.clone(),
        target_source,
        target_database: database,
        copy: outcome.copy,
        replaced: outcome.replaced,
        duration_ms: started.elapsed().as_millis() as u64,
        tables: manifest.tables.len(),
        rows: manifest.total_rows(),
        warnings: outcome.warnings,
    })
}

/// How loading a located backup went.
#[derive(Debug)]
pub struct Loaded {
    pub copy: String,
    pub replaced: bool,
    pub warnings: Vec<String>,
}

/// Loads `located` into `database` on `target`; the shared core of restore and drill.
pub async fn restore_located(
    target: &dyn RestoreTarget,
    located: &Located,
    database: &str,
    force: bool,
    keyring: Option<&super::keys::Keyring>,
    progress: &Progress,
) -> anyhow::Result<Loaded> {
    let manifest = &located.manifest;
    if target.engine() != manifest.engine
        && !(is_mysql_family(target.engine()) && is_mysql_family(manifest.engine))
    {
        return Err(UsageError(format!(
            "backup {} is a {} dump; source {} is {}",
            manifest.id,
            manifest.engine,
            target.name(),
            target.engine()
        ))
        .into());
    }
    target.check_compatible(manifest).await?;
    let exists = target.database_exists(database).await?;
    if exists && !force {
        return Err(UsageError(format!(
            "database {database:?} exists on {}; nothing was changed. Restore under another name with --to-database, or replace it with --force",
            target.name()
        ))
        .into());
    }
    // Short and independent of the target's name, so engine name limits are never hit.
    let load_into = if exists {
        format!("dbward_restore_{}", manifest.id.to_lowercase())
    } else {
        database.to_string()
    };
    if exists && target.database_exists(&load_into).await? {
        return Err(UsageError(format!(
            "{load_into:?} exists on {}, left by an earlier forced restore of this backup; drop it (or rename it into place) before retrying",
            target.name()
        ))
        .into());
    }

    let outcome = read_first_good_copy(located, keyring, progress, "restore", async |dump| {
        let loaded = tokio::select! {
            loaded = target.restore(&load_into, manifest, dump) => loaded,
            _ = tokio::signal::ctrl_c() => Err(dbward_core::Error::Dump("interrupted (Ctrl-C)".into())),
        };
        if loaded.is_err()
            && let Err(drop_err) = target.drop_database(&load_into).await
        {
            tracing::error!("could not drop the half-restored database {load_into}: {drop_err}");
        }
        loaded.map_err(|e| {
            format!("restore failed: {e}; the database {load_into:?} it was creating was dropped")
        })
    })
    .await;
    match outcome {
        CopyOutcome::Read {
            copy,
            value: report,
            skipped,
        } => {
            if exists {
                target.replace(&load_into, database).await?;
                tracing::warn!(
                    "replaced the existing database {database} on {}",
                    target.name()
                );
            }
            let mut warnings = report.warnings;
            warnings.extend(skipped.into_iter().map(|s| format!("skipped {s}")));
            Ok(Loaded {
                copy,
                replaced: exists,
                warnings,
            })
        }
        CopyOutcome::Failed { copy, error, .. } => Err(anyhow::anyhow!(
            "restore of backup {} from {copy} failed: {error}",
            manifest.id
        )),
        CopyOutcome::Unreadable { skipped } => Err(anyhow::anyhow!(
            "no copy of backup {} could be read: {}",
            manifest.id,
            skipped.join("; ")
        )),
    }
}

fn is_mysql_family(engine: dbward_core::Engine) -> bool {
    matches!(
        engine,
        dbward_core::Engine::Mysql | dbward_core::Engine::Mariadb
    )
}
