//! The catalog rebuild use case (F17): recreates catalog entries from the manifests on one
//! destination alone. Idempotent: known backups only gain the copy they lack. A manifest that
//! fails `integrity::Trust::check` (unsigned, untrusted key, altered, or found at another
//! backup's key) is reported and never imported.

use serde::Serialize;

use super::scan::{artifact_key, holdings, read_manifest};
use super::{Context, UsageError};
use crate::catalog::CopyStatus;

/// What a rebuild did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RebuildReport {
    pub destination: String,
    pub manifests: usize,
    pub backups_added: usize,
    pub copies_added: usize,
    /// Manifests that could not be read, were refused, or whose artifact is gone.
    pub problems: Vec<String>,
    /// Unsigned manifests imported because of `--allow-unsigned`.
    pub warnings: Vec<String>,
    /// Objects that look like backups but whose keys are not in the layout's shape, with
    /// why: not imported.
    pub skipped: Vec<String>,
}

pub async fn run(ctx: &Context, from: &str, allow_unsigned: bool) -> anyhow::Result<RebuildReport> {
    let dest = ctx
        .destinations
        .get(from)
        .ok_or_else(|| UsageError(format!("no [[destination]] named {from:?}")))?;
    let trust = super::integrity::Trust::load(&ctx.config.integrity, allow_unsigned);
    let held = holdings(dest.as_ref()).await?;
    let mut report = RebuildReport {
        destination: from.to_string(),
        manifests: held.manifests.len(),
        skipped: held.skipped.clone(),
        ..RebuildReport::default()
    };
    for (manifest_key, artifact) in &held.manifests {
        let (manifest, json) = match read_manifest(dest.as_ref(), manifest_key).await {
            Ok(read) => read,
            Err(e) => {
                report.problems.push(e);
                continue;
            }
        };
        match trust.check(manifest_key, &manifest) {
            Ok(None) => {}
            Ok(Some(warning)) => {
                tracing::warn!("{warning}");
                report.warnings.push(warning);
            }
            Err(refused) => {
                report.problems.push(refused);
                continue;
            }
        }
        let key = artifact_key(manifest_key, &manifest);
        let (status, size) = match artifact {
            Some(object) if object.key == key => (CopyStatus::Committed, Some(object.size)),
            _ => {
                report
                    .problems
                    .push(format!("{manifest_key}: its artifact {key} is gone"));
                (CopyStatus::Missing, None)
            }
        };
        let (backup_added, copy_added) = ctx
            .catalog
            .import(&manifest, &json, from, &key, status, size)
            .await?;
        report.backups_added += usize::from(backup_added);
        report.copies_added += usize::from(copy_added);
    }
    Ok(report)
}
