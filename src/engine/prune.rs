//! The prune use case, as far as it goes today: removes uncommitted leftovers (artifacts no
//! manifest commits) older than the grace period from every destination. Retention (GFS) is
//! not applied yet; `prune` says so in its report.

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
}

pub async fn run(ctx: &Context, dry_run: bool) -> anyhow::Result<PruneReport> {
    let cutoff = Utc::now() - chrono::Duration::from_std(LEFTOVER_GRACE).expect("small");
    let mut report = PruneReport {
        dry_run,
        leftovers: Vec::new(),
        errors: Vec::new(),
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
        for object in held
            .uncommitted
            .iter()
            .filter(|o| o.modified.is_none_or(|m| m < cutoff))
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
