//! `dbward prune [--dry-run]`: applies retention (backups, then the WAL of pitr sources),
//! then removes uncommitted leftovers older
//! than the grace period.

use super::{Globals, output};
use crate::engine::prune;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only list what would be removed.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open(globals).await?;
    let report = prune::run(&ctx, args.dry_run).await?;
    if globals.json {
        output::json(&report)?;
    } else {
        let verb = if report.dry_run {
            "would remove"
        } else {
            "removed"
        };
        for b in &report.removed {
            outln!(
                "{verb} backup {} ({}/{}, {}, schedule {}) from {}",
                b.id,
                b.source,
                b.database,
                b.started_at.format("%Y-%m-%d %H:%M UTC"),
                b.schedule,
                b.destinations.join(", ")
            );
        }
        if report.retention_applied {
            outln!(
                "retention: {verb} {} backups, kept {}",
                report.removed.len(),
                report.kept
            );
        } else {
            outln!("retention: no schedule has a `retention`; no backup was removed");
        }
        for wal in &report.wal {
            match &wal.held {
                Some(why) => outln!(
                    "WAL of {} on {}: kept all {} files: {why}",
                    wal.source,
                    wal.destination,
                    wal.kept
                ),
                None => outln!(
                    "WAL of {} on {}: {verb} {} files no kept base backup needs, kept {}",
                    wal.source,
                    wal.destination,
                    wal.removed.len(),
                    wal.kept
                ),
            }
        }
        for leftover in &report.leftovers {
            outln!("{verb} uncommitted leftover {leftover}");
        }
        outln!("{verb} {} uncommitted leftovers", report.leftovers.len());
        for retained in &report.retained_by_lock {
            let until = match retained.until {
                Some(until) => format!("until {}", until.format("%Y-%m-%d %H:%M UTC")),
                None => "(the store did not say until when)".into(),
            };
            outln!(
                "retained by lock {until}: {}: {} ({})",
                retained.destination,
                retained.key,
                retained.reason
            );
        }
        for skipped in &report.skipped {
            outln!("skipped {skipped}");
        }
        for error in &report.errors {
            eprintln!("error: {error}");
        }
    }
    Ok(if report.errors.is_empty() { 0 } else { 1 })
}
