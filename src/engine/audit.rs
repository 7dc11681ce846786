//! The audit use case (F14, F16): compares what each destination holds with the catalog.
//! Copies the catalog knows but the destination lost are reported and marked `missing`
//! (and `committed` again if they reappear, even after an operator acknowledged them lost);
//! committed backups the catalog does not know are
//! reported for `catalog rebuild`; uncommitted leftovers older than the grace period are
//! listed for `prune`. Audit sees what a listing shows: a leftover that `prune` deleted but
//! the store keeps under an S3 Object Lock is hidden behind its delete marker, so it is
//! neither a leftover nor missing here (prune reported it as retained by lock); the store
//! removes its data once the retention has passed. Every manifest passes
//! `integrity::Trust::check`; one that fails (unsigned, untrusted, altered, misplaced) is a
//! problem, reported under `untrusted`.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::scan::{holdings, read_manifest};
use super::{Context, UsageError};
use crate::catalog::CopyStatus;
use dbward_catalog::DestinationAuditRecord;

/// Leftovers younger than this may belong to a backup still running.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(24 * 3600);

/// One destination's audit.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DestinationAudit {
    pub destination: String,
    pub location: String,
    pub objects: usize,
    pub bytes: u64,
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    /// Committed backups on the destination.
    pub backups: usize,
    /// Catalog copies the destination no longer holds: `backup id: key`.
    pub missing: Vec<String>,
    /// Committed backups on the destination the catalog does not know (ids).
    pub unknown: Vec<String>,
    /// Uncommitted artifacts older than the grace period (keys), removed by `prune`.
    pub leftovers: Vec<String>,
    /// Manifests whose artifact is gone, or that cannot be read.
    pub broken: Vec<String>,
    /// Manifests that fail the signature or location check: not to be trusted or imported.
    pub untrusted: Vec<String>,
    /// Objects that look like backups but whose keys are not in the layout's shape, with
    /// why: left alone.
    pub skipped: Vec<String>,
    /// Set when the destination could not be listed at all.
    pub error: Option<String>,
}

impl DestinationAudit {
    pub fn problems(&self) -> bool {
        self.error.is_some()
            || !self.missing.is_empty()
            || !self.broken.is_empty()
            || !self.untrusted.is_empty()
    }
}

/// Audits every destination, or only `only`.
pub async fn run(ctx: &Context, only: Option<&str>) -> anyhow::Result<Vec<DestinationAudit>> {
    if let Some(name) = only
        && !ctx.destinations.contains_key(name)
    {
        return Err(UsageError(format!("no [[destination]] named {name:?}")).into());
    }
    let trust = super::integrity::Trust::load(&ctx.config.integrity, false);
    let mut audits = Vec::new();
    for (name, dest) in &ctx.destinations {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut audit = DestinationAudit {
            destination: name.clone(),
            location: dest.location(),
            ..DestinationAudit::default()
        };
        let held = match holdings(dest.as_ref()).await {
            Ok(held) => held,
            Err(e) => {
                audit.error = Some(e.to_string());
                remember(ctx, &audit).await?;
                audits.push(audit);
                continue;
            }
        };
        audit.objects = held.objects;
        audit.bytes = held.bytes;
        audit.oldest = held.oldest;
        audit.newest = held.newest;
        audit.skipped = held.skipped.clone();
        let present: BTreeSet<String> = held
            .manifests
            .values()
            .filter_map(|artifact| artifact.as_ref().map(|a| a.key.clone()))
            .collect();
        audit.backups = present.len();
        let mut catalog_keys = BTreeSet::new();
        for (backup_id, key, status) in ctx.catalog.copies_on(name).await? {
            catalog_keys.insert(key.clone());
            let here = present.contains(&key);
            match (here, status) {
                (false, CopyStatus::Committed) => {
                    ctx.catalog
                        .set_copy_status(&backup_id, name, CopyStatus::Missing)
                        .await?;
                    tracing::error!(destination = %name, backup = %backup_id, "copy {key} is missing");
                    audit.missing.push(format!("{backup_id}: {key}"));
                }
                // Accepted as lost by an operator: no longer reported.
                (false, CopyStatus::Acknowledged) => {}
                (false, _) => audit.missing.push(format!("{backup_id}: {key}")),
                (true, CopyStatus::Missing | CopyStatus::Acknowledged) => {
                    ctx.catalog
                        .set_copy_status(&backup_id, name, CopyStatus::Committed)
                        .await?;
                }
                (true, _) => {}
            }
        }
        for (manifest_key, artifact) in &held.manifests {
            let Some(artifact) = artifact else {
                audit
                    .broken
                    .push(format!("{manifest_key}: its artifact is gone"));
                continue;
            };
            let manifest = match read_manifest(dest.as_ref(), manifest_key).await {
                Ok((manifest, _)) => manifest,
                Err(e) => {
                    audit.broken.push(e);
                    continue;
                }
            };
            if let Err(refused) = trust.check(manifest_key, &manifest) {
                tracing::error!(destination = %name, "{refused}");
                audit.untrusted.push(refused);
            } else if !catalog_keys.contains(&artifact.key)
                && !ctx.catalog.has_backup(&manifest.id).await?
            {
                audit.unknown.push(manifest.id);
            }
        }
        let cutoff = Utc::now() - chrono::Duration::from_std(LEFTOVER_GRACE).expect("small");
        audit.leftovers = held
            .uncommitted
            .iter()
            .filter(|o| o.modified.is_none_or(|m| m < cutoff))
            .filter(|o| !catalog_keys.contains(&o.key))
            .map(|o| o.key.clone())
            .collect();
        remember(ctx, &audit).await?;
        audits.push(audit);
    }
    Ok(audits)
}

/// Records the outcome of one destination's audit, for the dashboard's destinations page.
async fn remember(ctx: &Context, audit: &DestinationAudit) -> anyhow::Result<()> {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    ctx.catalog
        .record_destination_audit(&DestinationAuditRecord {
            destination: audit.destination.clone(),
            at: Utc::now(),
            objects: count(audit.objects),
            bytes: audit.bytes,
            backups: count(audit.backups),
            missing: count(audit.missing.len()),
            problems: audit.problems(),
            error: audit.error.clone(),
        })
        .await?;
    Ok(())
}
