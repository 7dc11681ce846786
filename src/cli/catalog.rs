//! `dbward catalog rebuild --from DEST`: the catalog back from a destination's manifests.

use super::{Globals, output};
use crate::engine::rebuild;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CatalogCommand {
    /// Recreate catalog entries from the manifests on a destination (idempotent).
    Rebuild {
        /// The configured destination whose manifests are read.
        #[arg(long, value_name = "DESTINATION")]
        from: String,
        /// Also import manifests that carry no signature (written before dbward signed
        /// manifests), with a warning. Wrongly signed or misplaced ones are never imported.
        #[arg(long)]
        allow_unsigned: bool,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let CatalogCommand::Rebuild {
        from,
        allow_unsigned,
    } = args.command;
    let (ctx, _log) = super::open(globals).await?;
    let report = rebuild::run(&ctx, &from, allow_unsigned).await?;
    if globals.json {
        output::json(&report)?;
    } else {
        println!(
            "{}: {} manifests, {} backups added to the catalog, {} copies added",
            report.destination, report.manifests, report.backups_added, report.copies_added
        );
        for skipped in &report.skipped {
            println!("skipped {skipped}");
        }
        for problem in &report.problems {
            println!("problem: {problem}");
        }
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}
