//! The prune use case, as far as it goes today: removes uncommitted leftovers — keys shaped
//! like dbward artifacts that no manifest commits and the catalog does not list as a copy —
//! older than the grace period, and abandoned staged uploads. Retention (GFS) is not applied
//! yet, and the report says so.

use chrono::Utc;
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
    pub errors: Vec<String>,
    /// Always false in this version: no backup is removed by age or count.
    pub retention_applied: bool,
}

pub async fn run(ctx: &Context, dry_run: bool) -> anyhow::Result<PruneReport> {
    let cutoff = Utc::now() - chrono::Duration::from_std(LEFTOVER_GRACE).expect("small");
    let mut report = PruneReport {
        dry_run,
        leftovers: Vec::new(),
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
            if !dry_run && let Err(e) = dest.delete(&object.key).await {
                report.errors.push(e.to_string());
                continue;
            }
            tracing::info!(destination = %name, key = %object.key, dry_run, "removed an uncommitted leftover");
            report.leftovers.push(format!("{name}: {}", object.key));
        }
    }
    Ok(report)
}
