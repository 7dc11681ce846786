//! `dbward restore --globals` (F23): applies a backup of a source's server-wide objects —
//! roles, memberships, tablespaces, database owners and settings — to a target server,
//! creating what it lacks and keeping (and reporting) what it has; an existing role's
//! password changes only with `--overwrite-passwords`.

use std::time::Instant;

use dbward_core::manifest::GLOBALS;
use dbward_core::restore::GlobalsReport;
use serde::Serialize;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::locate::{BackupRef, locate};
use super::observe::Observer;
use super::{Context, UsageError};
use crate::registry;

/// What `dbward restore --globals` was asked to do.
#[derive(Debug, Clone)]
pub struct GlobalsRequest {
    pub backup: BackupRef,
    pub to_source: Option<String>,
    pub from: Option<String>,
    pub overwrite_passwords: bool,
    pub identity: Option<std::path::PathBuf>,
    pub allow_unsigned: bool,
}

/// What a globals restore did.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalsSummary {
    pub backup_id: String,
    pub source: String,
    pub target_source: String,
    pub copy: String,
    pub duration_ms: u64,
    #[serde(flatten)]
    pub report: GlobalsReport,
    pub warnings: Vec<String>,
}

/// The command that brings `source`'s roles onto `target`, for messages.
pub fn restore_command(source: &str, target: &str) -> String {
    let to = if source == target {
        String::new()
    } else {
        format!(" --to-source {target}")
    };
    format!("dbward restore --globals --latest --source {source}{to}")
}

/// Applies one globals backup to its target.
pub async fn run(
    ctx: &Context,
    request: &GlobalsRequest,
    progress: &dyn Observer,
) -> anyhow::Result<GlobalsSummary> {
    let located = locate(
        ctx,
        &request.backup,
        request.from.as_deref(),
        request.allow_unsigned,
    )
    .await?;
    let manifest = &located.manifest;
    if manifest.database != GLOBALS {
        return Err(UsageError(format!(
            "backup {} is a dump of database {:?}, not the server-wide objects of {}: restore it without --globals",
            manifest.id, manifest.database, manifest.source
        ))
        .into());
    }
    let target_source = request
        .to_source
        .clone()
        .unwrap_or_else(|| manifest.source.clone());
    let config = ctx.config.source(&target_source).ok_or_else(|| {
        UsageError(format!(
            "no [[source]] named {target_source:?} to restore into (choose one with --to-source)"
        ))
    })?;
    if config.engine != manifest.engine {
        return Err(UsageError(format!(
            "backup {} holds {} server-wide objects; source {target_source} is {}",
            manifest.id, manifest.engine, config.engine
        ))
        .into());
    }
    let target = registry::restore_target(config, &ctx.scratch);
    let keyring = match manifest.encryption {
        Some(_) => super::keys::keyring(ctx, request.identity.as_deref())?,
        None => None,
    };
    let started = Instant::now();
    let outcome = read_first_good_copy(
        &located,
        keyring.as_ref(),
        progress,
        "restore",
        async |dump| {
            target
                .apply_globals(manifest, dump, request.overwrite_passwords)
                .await
        },
    )
    .await;
    let (copy, report, warnings) = match outcome {
        CopyOutcome::Read {
            copy,
            value,
            skipped,
        } => (
            copy,
            value,
            skipped
                .into_iter()
                .map(|s| format!("skipped {s}"))
                .collect(),
        ),
        CopyOutcome::Failed { copy, error, .. } => {
            return Err(anyhow::anyhow!(
                "restore of the server-wide objects of backup {} from {copy} failed: {error}",
                manifest.id
            ));
        }
        CopyOutcome::Unreadable { skipped } => {
            return Err(anyhow::anyhow!(
                "no copy of backup {} could be read: {}",
                manifest.id,
                skipped.join("; ")
            ));
        }
    };
    let mut warnings: Vec<String> = warnings;
    if manifest.globals.as_ref().is_some_and(|g| !g.passwords) && !report.created.is_empty() {
        warnings.push(format!(
            "the backup holds no password hashes (globals_passwords = false): the {} role(s) created cannot log in with a password until one is set",
            report.created.len()
        ));
    }
    Ok(GlobalsSummary {
        backup_id: manifest.id.clone(),
        source: manifest.source.clone(),
        target_source,
        copy,
        duration_ms: started.elapsed().as_millis() as u64,
        report,
        warnings,
    })
}
