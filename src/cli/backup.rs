//! `dbward backup`: backs up what the options select, prints a summary, exits 0/1/3.

use serde_json::json;

use super::{Globals, output};
use crate::engine::backup::{self, BackupRequest};
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
    let (ctx, _log) = super::open(globals).await?;
    let request = BackupRequest {
        schedule: args.schedule,
        sources: args.sources,
        databases: args.databases,
        parallelism: args.jobs,
        ..BackupRequest::default()
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let (report, alerts) = backup::run_and_alert(ctx, &request, &progress).await?;
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
        print!(
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
            println!(
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
