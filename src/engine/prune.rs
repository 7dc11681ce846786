//! The prune use case, as far as it goes today: removes uncommitted leftovers — keys shaped
//! like dbward artifacts that no manifest commits and the catalog does not list as a copy —
//! older than the grace period, and abandoned staged uploads. Retention (GFS) is not applied
//! yet, and the report says so. A leftover the store refuses to delete because it is locked
//! (S3 Object Lock: `dbward_core::Error::Retained`) is reported as retained by lock, not as
//! an error: the store hides it behind a delete marker and removes it after its retention.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use super::audit::LEFTOVER_GRACE;
use super::scan::holdings;

/// What prune removed (or would remove, with `--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    /// `destination: key` of each uncommitted leftover.
    pub leftovers: Vec<String>,
    /// Leftovers the store keeps under an Object Lock: hidden now, deleted by the store
    /// after their retention (a lifecycle rule for noncurrent versions), not by dbward.
    pub retained_by_lock: Vec<RetainedByLock>,
    pub errors: Vec<String>,
    /// Always false in this version: no backup is removed by age or count.
    pub retention_applied: bool,
}

/// An object a delete left in the store because of its lock.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RetainedByLock {
    pub destination: String,
    pub key: String,
    /// When the retention ends, where the store said.
    pub until: Option<DateTime<Utc>>,
    /// What the store said.
    pub reason: String,
}

/// What became of one delete.
#[derive(Debug, PartialEq, Eq)]
enum Deleted {
    Removed,
    Retained(RetainedByLock),
    Failed(String),
}

fn deleted(result: dbward_core::Result<()>) -> Deleted {
    match result {
        Ok(()) => Deleted::Removed,
        Err(dbward_core::Error::Retained {
            destination,
            key,
            reason,
            until,
        }) => Deleted::Retained(RetainedByLock {
            destination,
            key,
            until,
            reason,
        }),
        Err(e) => Deleted::Failed(e.to_string()),
    }
}

pub async fn run(ctx: &Context, dry_run: bool) -> anyhow::Result<PruneReport> {
    let cutoff = Utc::now() - chrono::Duration::from_std(LEFTOVER_GRACE).expect("small");
    let mut report = PruneReport {
        dry_run,
        leftovers: Vec::new(),
        retained_by_lock: Vec::new(),
        errors: Vec::new(),
        retention_applied: false,
    };
    for (name, dest) in &ctx.destinations {
        if !dry_run && let Err(e) = dest.clean_staging().await {
            report.errors.push(e.to_string());
        }
        let held = match holdings(dest.as_ref()).await {
            Ok(held) => held,
            Err(e) => {
                report.errors.push(e.to_string());
                continue;
            }
        };
        // A copy the catalog lists whose manifest was lost is a problem for audit, not trash.
        let listed: std::collections::BTreeSet<String> = ctx
            .catalog
            .copies_on(name)
            .await?
            .into_iter()
            .map(|(_, key, _)| key)
            .collect();
        for object in held
            .uncommitted
            .iter()
            .filter(|o| o.modified.is_none_or(|m| m < cutoff))
            .filter(|o| !listed.contains(&o.key))
        {
            if !dry_run {
                match deleted(dest.delete(&object.key).await) {
                    Deleted::Removed => {}
                    Deleted::Retained(retained) => {
                        tracing::info!(destination = %name, key = %object.key, until = ?retained.until, "uncommitted leftover retained by lock: {}", retained.reason);
                        report.retained_by_lock.push(retained);
                        continue;
                    }
                    Deleted::Failed(e) => {
                        report.errors.push(e);
                        continue;
                    }
                }
            }
            tracing::info!(destination = %name, key = %object.key, dry_run, "removed an uncommitted leftover");
            report.leftovers.push(format!("{name}: {}", object.key));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_refused_by_a_lock_is_retained_not_an_error() {
        let until = Utc::now();
        assert_eq!(
            deleted(Err(dbward_core::Error::Retained {
                destination: "s3".into(),
                key: "a/b.zst".into(),
                reason: "Object Lock COMPLIANCE".into(),
                until: Some(until),
            })),
            Deleted::Retained(RetainedByLock {
                destination: "s3".into(),
                key: "a/b.zst".into(),
                until: Some(until),
                reason: "Object Lock COMPLIANCE".into(),
            })
        );
        assert_eq!(deleted(Ok(())), Deleted::Removed);
        let failed = deleted(Err(dbward_core::Error::Destination {
            destination: "s3".into(),
            reason: "permission denied".into(),
        }));
        assert_eq!(
            failed,
            Deleted::Failed("destination s3: permission denied".into())
        );
    }
}
