//! The prune use case: applies each schedule's retention (GFS, `policy::retention`) to the
//! backups recorded under that schedule, deleting every copy (manifest first, so that no
//! half-deleted backup is ever committed) before the catalog marks the backup pruned; then
//! applies WAL retention to pitr sources (`wal_retention`: the archived WAL files no kept base
//! backup needs); then removes uncommitted leftovers — keys shaped like dbward artifacts that no manifest commits
//! and the catalog does not list as a copy — older than the grace period, and abandoned
//! staged uploads. An object the store refuses to delete because it is locked (S3 Object
//! Lock: `dbward_core::Error::Retained`) is reported as retained by lock, not as an error:
//! the store hides it behind a delete marker and removes it after its retention.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use super::audit::LEFTOVER_GRACE;
use super::scan::holdings;
use super::wal_retention::WalPruned;
use crate::catalog::{BackupRecord, CopyStatus, ListFilter};
use crate::config::{Retention, ScheduleConfig};
use crate::policy::health::usable;
use crate::policy::retention::{self, Candidate};

/// What prune removed (or would remove, with `--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    /// Backups retention removed (or would remove), newest first per database.
    pub removed: Vec<RemovedBackup>,
    /// Good backups retention keeps.
    pub kept: usize,
    /// `destination: key` of each uncommitted leftover.
    pub leftovers: Vec<String>,
    /// Leftovers the store keeps under an Object Lock: hidden now, deleted by the store
    /// after their retention (a lifecycle rule for noncurrent versions), not by dbward.
    pub retained_by_lock: Vec<RetainedByLock>,
    pub errors: Vec<String>,
    /// `destination: key: why` of objects that look like backups but whose keys are not in
    /// the layout's shape: never deleted.
    pub skipped: Vec<String>,
    /// Whether any schedule has a `retention` to apply.
    pub retention_applied: bool,
    /// WAL retention of each pitr source on each destination.
    pub wal: Vec<WalPruned>,
}

/// A backup retention removed: every copy deleted, the catalog marked.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedBackup {
    pub id: String,
    pub schedule: String,
    pub source: String,
    pub database: String,
    pub started_at: DateTime<Utc>,
    /// Destinations its copies were deleted from.
    pub destinations: Vec<String>,
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
    let now = Utc::now();
    let mut report = PruneReport {
        dry_run,
        removed: Vec::new(),
        kept: 0,
        leftovers: Vec::new(),
        retained_by_lock: Vec::new(),
        errors: Vec::new(),
        skipped: Vec::new(),
        retention_applied: false,
        wal: Vec::new(),
    };
    for schedule in &ctx.config.schedules {
        if let Some(rule) = &schedule.retention {
            report.retention_applied = true;
            apply_retention(ctx, schedule, rule, now, &mut report).await?;
        }
    }
    let pruned_now: std::collections::BTreeSet<String> =
        report.removed.iter().map(|r| r.id.clone()).collect();
    report.wal = super::wal_retention::apply(ctx, &pruned_now, dry_run, &mut report.errors).await?;
    remove_leftovers(ctx, now, &mut report).await?;
    if !dry_run {
        let forgotten = ctx.catalog.forget_fires(now - FIRES_KEPT).await?;
        if forgotten > 0 {
            tracing::info!("forgot {forgotten} daemon fire(s) finished over 30 days ago");
        }
    }
    Ok(report)
}

/// How long the daemon's finished fires stay in the catalog.
const FIRES_KEPT: chrono::Duration = chrono::Duration::days(30);

/// Applies `rule` to each database of `schedule`, to the backups recorded under its name.
async fn apply_retention(
    ctx: &Context,
    schedule: &ScheduleConfig,
    rule: &Retention,
    now: DateTime<Utc>,
    report: &mut PruneReport,
) -> anyhow::Result<()> {
    for (source, database) in ctx.catalog.databases().await? {
        if !schedule.sources.contains(&source) {
            continue;
        }
        let all = ListFilter {
            source: Some(source.clone()),
            database: Some(database.clone()),
            status: None,
            limit: None,
        };
        let backups: Vec<BackupRecord> = ctx
            .catalog
            .list(&all)
            .await?
            .into_iter()
            .filter(|b| b.schedule.as_deref() == Some(schedule.name.as_str()))
            .collect();
        let candidates: Vec<Candidate> = backups
            .iter()
            .map(|b| Candidate {
                id: b.id.clone(),
                started_at: b.started_at,
                good: usable(b),
                verified: b.verification.as_ref().is_some_and(|v| v.ok),
            })
            .collect();
        let plan = retention::plan(&candidates, rule, schedule.timezone);
        report.kept += plan.keep.len();
        for id in &plan.remove {
            let backup = backups
                .iter()
                .find(|b| &b.id == id)
                .expect("planned from these");
            remove_backup(ctx, schedule, backup, now, report).await?;
        }
    }
    Ok(())
}

/// Deletes every copy of `backup`, manifest first, and marks it pruned when all are gone.
async fn remove_backup(
    ctx: &Context,
    schedule: &ScheduleConfig,
    backup: &BackupRecord,
    now: DateTime<Utc>,
    report: &mut PruneReport,
) -> anyhow::Result<()> {
    let id = &backup.id;
    let mut destinations = Vec::new();
    let mut complete = true;
    for copy in backup
        .copies
        .iter()
        .filter(|c| matches!(c.status, CopyStatus::Committed | CopyStatus::Missing))
    {
        destinations.push(copy.destination.clone());
        if report.dry_run {
            continue;
        }
        let Some(dest) = ctx.destinations.get(&copy.destination) else {
            report.errors.push(format!(
                "backup {id}: its copy on {} is not removed: no [[destination]] of that name is configured any more; restore the destination to the config, or delete {} by hand",
                copy.destination, copy.path
            ));
            complete = false;
            continue;
        };
        let manifest = dbward_core::layout::manifest_key_for(&copy.path);
        for key in manifest.iter().chain([&copy.path]) {
            match deleted(dest.delete(key).await) {
                Deleted::Removed => {}
                Deleted::Retained(retained) => report.retained_by_lock.push(retained),
                Deleted::Failed(e) => {
                    report.errors.push(format!("backup {id}: {e}"));
                    complete = false;
                    break;
                }
            }
        }
    }
    if !complete {
        return Ok(());
    }
    if !report.dry_run {
        let reason = format!("retention of schedule {:?}", schedule.name);
        ctx.catalog.mark_pruned(id, now, &reason).await?;
    }
    tracing::info!(backup = %id, source = %backup.source, database = %backup.database, dry_run = report.dry_run, "removed a backup by retention");
    report.removed.push(RemovedBackup {
        id: id.clone(),
        schedule: schedule.name.clone(),
        source: backup.source.clone(),
        database: backup.database.clone(),
        started_at: backup.started_at,
        destinations,
    });
    Ok(())
}

/// Removes uncommitted leftovers past the grace period, and abandoned staged uploads.
async fn remove_leftovers(
    ctx: &Context,
    now: DateTime<Utc>,
    report: &mut PruneReport,
) -> anyhow::Result<()> {
    let dry_run = report.dry_run;
    let cutoff = now - chrono::Duration::from_std(LEFTOVER_GRACE).expect("small");
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
        report
            .skipped
            .extend(held.skipped.iter().map(|s| format!("{name}: {s}")));
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
    Ok(())
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
