//! `dbward verify`: checksum, structural or drill verification, or the PITR drill of a
//! `pitr = true` source (`--pitr`); exit 0 only when all passed.

use serde_json::json;

use super::{Globals, output};
use crate::config::VerifyLevel;
use crate::engine::UsageError;
use crate::engine::pitr_drill;
use crate::engine::verify::{self, Selection};
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup's id (a unique prefix is enough); or use --latest.
    id: Option<String>,
    /// The newest good backup of every selected database.
    #[arg(long, conflicts_with = "id")]
    latest: bool,
    /// With --latest: only this source; with --pitr: the source to drill; with
    /// --fresh-server: the source to rebuild.
    #[arg(long)]
    source: Option<String>,
    /// PITR drill of a pitr = true source: recover its newest base backup plus WAL to a
    /// recent moment in a scratch directory and check it (needs --source).
    #[arg(long, conflicts_with_all = ["id", "latest", "databases", "level"])]
    pitr: bool,
    /// With --latest: only these databases (exact names, repeatable).
    #[arg(long = "database", value_name = "DATABASE", requires = "latest")]
    databases: Vec<String>,
    /// checksum: re-read every copy; structural: read the dump with the engine's reader;
    /// drill: restore into a scratch database and compare.
    #[arg(long, value_enum, default_value = "checksum")]
    level: VerifyLevel,
    /// With --level drill --source S: rebuild S on an empty private server of its engine
    /// (PostgreSQL, or MariaDB for mysql and mariadb sources; globals, then every database's
    /// newest backup), compare, remove the server; the
    /// rebuild's duration is recorded as the measured RTO.
    #[arg(long, requires = "source", conflicts_with_all = ["id", "latest", "databases", "pitr"])]
    fresh_server: bool,
    /// age identity file for encrypted backups (default: [encryption] identity).
    #[arg(long, value_name = "FILE")]
    identity: Option<std::path::PathBuf>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    if args.pitr {
        let source = args.source.ok_or_else(|| {
            UsageError("verify --pitr needs --source S (a pitr = true source)".into())
        })?;
        let (ctx, _log) = super::open(globals).await?;
        let progress = Progress::new(!globals.json && !globals.quiet);
        let result = pitr_drill::run(&ctx, &source, args.identity.as_deref(), &progress).await?;
        let alerts = crate::engine::alerts::after_recorded_work(&ctx).await;
        return report(globals, &[result], &alerts);
    }
    if args.source.is_some() && !args.latest && !args.fresh_server {
        return Err(
            UsageError("--source goes with --latest, --pitr or --fresh-server".into()).into(),
        );
    }
    let selection = match (args.id, args.latest) {
        _ if args.fresh_server => Selection::FreshServer {
            source: args.source.expect("clap requires --source"),
        },
        (Some(id), false) => Selection::One(id),
        (None, true) => Selection::Latest {
            source: args.source,
            databases: args.databases,
        },
        _ => {
            return Err(UsageError(
                "name a backup: ID, or --latest [--source S] [--database D]".into(),
            )
            .into());
        }
    };
    let (ctx, _log) = super::open(globals).await?;
    let progress = Progress::new(!globals.json && !globals.quiet);
    let (results, alerts) = verify::run_and_alert(
        &ctx,
        &selection,
        args.level,
        args.identity.as_deref(),
        &progress,
    )
    .await?;
    report(globals, &results, &alerts)
}

/// Prints the verifications (text or JSON); exit 0 only when all passed.
fn report(
    globals: &Globals,
    results: &[verify::VerifyResult],
    alerts: &crate::engine::alerts::AlertReport,
) -> anyhow::Result<u8> {
    let ok = results.iter().all(|r| r.ok);
    for error in &alerts.errors {
        eprintln!("warning: {error}");
    }
    if globals.json {
        output::json(&json!({ "ok": ok, "verifications": results, "alerts": alerts }))?;
    } else {
        for result in results {
            outln!(
                "{} {} {}/{} {} in {:.1}s{}",
                if result.ok { "ok  " } else { "FAIL" },
                result.level.as_str(),
                result.source,
                result.database,
                result.backup_id,
                result.duration_ms as f64 / 1000.0,
                result
                    .restore_ms
                    .map(|ms| format!(" (restore {:.1}s)", ms as f64 / 1000.0))
                    .unwrap_or_default()
            );
            for check in &result.checks {
                outln!(
                    "      {} {}: {}",
                    if check.ok { "ok  " } else { "FAIL" },
                    check.name,
                    check.detail
                );
            }
            if let Some(error) = &result.error {
                outln!("      reason: {error}");
            }
        }
    }
    Ok(if ok { 0 } else { 1 })
}
