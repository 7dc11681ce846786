//! `dbward audit [--destination D]`: what each destination holds versus the catalog; exit 1
//! when a copy is missing, a manifest is broken or untrusted, or a destination cannot be
//! listed.

use serde_json::json;

use super::{Globals, output};
use crate::engine::audit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this destination.
    #[arg(long)]
    destination: Option<String>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open(globals).await?;
    let audits = audit::run(&ctx, args.destination.as_deref()).await?;
    let problems = audits.iter().any(|a| a.problems());
    if globals.json {
        output::json(&json!({ "ok": !problems, "destinations": audits }))?;
    } else {
        let rows: Vec<Vec<String>> = audits
            .iter()
            .map(|a| {
                vec![
                    a.destination.clone(),
                    a.objects.to_string(),
                    output::size(Some(a.bytes)),
                    a.backups.to_string(),
                    a.oldest
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| "-".into()),
                    a.newest
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| "-".into()),
                    a.missing.len().to_string(),
                    a.unknown.len().to_string(),
                    a.leftovers.len().to_string(),
                ]
            })
            .collect();
        out!(
            "{}",
            output::table(
                &[
                    "DESTINATION",
                    "OBJECTS",
                    "BYTES",
                    "BACKUPS",
                    "OLDEST",
                    "NEWEST",
                    "MISSING",
                    "UNKNOWN",
                    "LEFTOVERS"
                ],
                &rows
            )
        );
        for a in &audits {
            if let Some(error) = &a.error {
                outln!("{}: cannot list: {error}", a.destination);
            }
            for m in &a.missing {
                outln!("{}: missing copy {m}", a.destination);
            }
            for b in &a.broken {
                outln!("{}: broken {b}", a.destination);
            }
            for u in &a.untrusted {
                outln!("{}: untrusted manifest {u}", a.destination);
            }
            for u in &a.unknown {
                outln!(
                    "{}: backup {u} is not in the catalog (import with `dbward catalog rebuild --from {}`)",
                    a.destination,
                    a.destination
                );
            }
            for s in &a.skipped {
                outln!("{}: skipped {s}", a.destination);
            }
            for l in &a.leftovers {
                outln!(
                    "{}: uncommitted leftover {l} (removed by `dbward prune`)",
                    a.destination
                );
            }
        }
    }
    Ok(if problems { 1 } else { 0 })
}
