//! The catalog rebuild use case (F17): recreates catalog entries from the manifests on one
//! destination alone. Idempotent: known backups only gain the copy they lack. A manifest that
//! fails `integrity::Trust::check` (unsigned, untrusted key, altered, or found at another
//! backup's key) is reported and never imported. The WAL files of pitr sources are recorded
//! from their signed entries too, so `status` does not take the whole archive for a gap.

use serde::Serialize;

use super::scan::{artifact_key, holdings, read_manifest};
use super::{Context, UsageError};
use crate::catalog::{CopyStatus, WalFileRecord};
use dbward_core::wal::WalEntry;

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
    /// Archived WAL files of pitr sources recorded from their signed entries (for `status`
    /// and `prune`).
    pub wal_files: usize,
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
    record_wal_files(ctx, from, dest.as_ref(), &trust, &mut report).await?;
    Ok(report)
}

/// Records the WAL files of every pitr source archived on `dest`, from their entries: only
/// an entry signed by a trusted key that describes the file it commits counts (the same
/// proof `wal fetch` asks for).
async fn record_wal_files(
    ctx: &Context,
    from: &str,
    dest: &dyn dbward_core::destination::Destination,
    trust: &super::integrity::Trust,
    report: &mut RebuildReport,
) -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    for source in ctx.config.sources.iter().filter(|s| s.pitr) {
        let Some(kind) = super::wal::LogKind::of(source.engine) else {
            continue;
        };
        let folder = format!("{}/", dbward_core::layout::wal_folder(&source.name));
        let objects = match dest.list(&folder).await {
            Ok(objects) => objects,
            Err(e) => {
                report.problems.push(format!("WAL of {}: {e}", source.name));
                continue;
            }
        };
        for object in objects {
            let Some(name) = object
                .key
                .strip_prefix(&folder)
                .and_then(|k| k.strip_suffix(".json"))
                .and_then(|n| super::wal::LogName::parse(kind, n).ok())
            else {
                continue;
            };
            let mut bytes = Vec::new();
            let read = async {
                dest.read(&object.key)
                    .await?
                    .read_to_end(&mut bytes)
                    .await?;
                anyhow::Ok(())
            }
            .await;
            let entry = read
                .map_err(|e| format!("{e:#}"))
                .and_then(|()| WalEntry::from_json(&bytes));
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    report.problems.push(format!("{}: {e}", object.key));
                    continue;
                }
            };
            let signed = matches!(entry.signer(), Ok(Some(key)) if trust.trusts(&key));
            if !signed || entry.name != name.as_str() || entry.source != source.name {
                report.problems.push(format!(
                    "{}: not recorded: its entry is unsigned, signed by a key this host does not trust, or describes another file",
                    object.key
                ));
                continue;
            }
            ctx.catalog
                .record_wal_file(&WalFileRecord {
                    source: source.name.clone(),
                    name: name.to_string(),
                    destination: from.to_string(),
                    timeline: name.timeline(),

                    bytes: entry.bytes,
                    sha256: entry.sha256,
                    archived_at: entry.archived_at,
                    host: entry.host,
                })
                .await?;
            report.wal_files += 1;
        }
    }
    Ok(())
}
