//! `dbward backup`: backs up what the options select, prints a summary, exits 0/1/3; SIGTERM
//! or Ctrl-C interrupts it cleanly.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Globals, output};
use crate::engine::backup::{self, BackupRequest};
use crate::engine::restore;
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this schedule's sources and destinations.
    #[arg(long)]
    schedule: Option<String>,
    /// Only these sources (repeatable).
    #[arg(long = "source", value_name = "SOURCE")]
    sources: Vec<String>,
    /// Only these databases or globs (repeatable).
    #[arg(long = "database", value_name = "DATABASE")]
    databases: Vec<String>,
    /// Databases backed up at once (default: `parallelism` in the config, 2).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let stop = CancellationToken::new();
    let watcher = tokio::spawn(stop_on_signal(stop.clone()));
    let (ctx, _log) = super::open(globals).await?;
    let request = BackupRequest {
        schedule: args.schedule,
        sources: args.sources,
        databases: args.databases,
        parallelism: args.jobs,
        stop: Some(stop),
        ..BackupRequest::default()
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let done = backup::run_and_alert(ctx, &request, &progress).await;
    watcher.abort();
    let (report, alerts) = done?;
    if globals.json {
        output::json(&json!({
            "backups": report.backups,
            "verifications": report.verifications,
            "warnings": report.warnings,
            "alerts": alerts
        }))?;
    } else {
        let rows: Vec<Vec<String>> = report
            .backups
            .iter()
            .map(|b| {
                vec![
                    format!("{}/{}", b.source, b.database),
                    b.status.to_string(),
                    output::size(b.stored_bytes),
                    output::duration(b),
                    b.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out!(
            "{}",
            output::table(&["DATABASE", "STATUS", "SIZE", "DURATION", "REASON"], &rows)
        );
        for v in &report.verifications {
            let outcome = if v.ok {
                "passed".to_string()
            } else {
                format!(
                    "FAILED: {}",
                    v.error.as_deref().unwrap_or("see `dbward show`")
                )
            };
            outln!(
                "{}/{}: {} verification {outcome}",
                v.source,
                v.database,
                v.level.as_str()
            );
        }
        for warning in report.warnings.iter().chain(&alerts.errors) {
            eprintln!("warning: {warning}");
        }
    }
    Ok(report.exit_code())
}

/// SIGTERM or Ctrl-C interrupts the run the way the daemon's stop does: backups not yet
/// judged kill their dump's process group, remove their staged uploads and are recorded
/// `failed: interrupted`, and the run ends with exit 1. A second signal exits at once,
/// leaving any cleanup to the next run.
async fn stop_on_signal(stop: CancellationToken) {
    let signal = restore::interrupted().await;
    tracing::warn!("{signal}: interrupting the backups still running");
    stop.cancel();
    let again = restore::interrupted().await;
    tracing::error!("{again} again: exiting without cleaning up");
    std::process::exit(1);
}
