//! `dbward list`: backups from the catalog, newest first.

use serde_json::json;

use super::{Globals, output};
use crate::catalog::{BackupStatus, ListFilter};
use crate::engine::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this source (exact name).
    #[arg(long)]
    source: Option<String>,
    /// Only this database (exact name, not a glob).
    #[arg(long)]
    database: Option<String>,
    /// running, succeeded, degraded, failed or skipped.
    #[arg(long)]
    status: Option<String>,
    /// At most N rows (default: all).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let status = args
        .status
        .as_deref()
        .map(|s| {
            BackupStatus::parse(s).ok_or_else(|| {
                UsageError(format!(
                    "--status {s:?}: expected running, succeeded, degraded, failed or skipped"
                ))
            })
        })
        .transpose()?;
    let (ctx, _log) = super::open_reader(globals).await?;
    let backups = ctx
        .catalog
        .list(&ListFilter {
            source: args.source,
            database: args.database,
            status,
            limit: args.limit,
        })
        .await?;
    if globals.json {
        output::json(&json!({ "backups": backups }))?;
    } else {
        let rows: Vec<Vec<String>> = backups
            .iter()
            .map(|b| {
                vec![
                    b.id.clone(),
                    b.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    format!("{}/{}", b.source, b.database),
                    b.status.to_string(),
                    output::size(b.stored_bytes),
                    output::verification(b),
                    b.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out!(
            "{}",
            output::table(
                &[
                    "ID",
                    "STARTED (UTC)",
                    "DATABASE",
                    "STATUS",
                    "SIZE",
                    "VERIFIED",
                    "REASON"
                ],
                &rows
            )
        );
    }
    Ok(0)
}
