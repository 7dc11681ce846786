//! `dbward catalog rebuild --from DEST`: the catalog back from a destination's manifests;
//! `dbward catalog migrate --to env:NAME`: the SQLite catalog copied into PostgreSQL.

use super::{Globals, output};
use crate::config::SecretRef;
use crate::engine::{UsageError, catalog_migrate, rebuild};

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
    /// Copy the SQLite catalog of state_dir into a PostgreSQL catalog (idempotent, verified).
    Migrate {
        /// Where the PostgreSQL URL is: `env:NAME` (an environment variable) or `file:PATH`
        /// (never the URL itself, which holds a password and would show in the process list).
        #[arg(long, value_name = "env:NAME|file:PATH")]
        to: String,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let (from, allow_unsigned) = match args.command {
        CatalogCommand::Rebuild {
            from,
            allow_unsigned,
        } => (from, allow_unsigned),
        CatalogCommand::Migrate { to } => return migrate(globals, &to).await,
    };
    let (ctx, _log) = super::open(globals).await?;
    let report = rebuild::run(&ctx, &from, allow_unsigned).await?;
    if globals.json {
        output::json(&report)?;
    } else {
        outln!(
            "{}: {} manifests, {} backups added to the catalog, {} copies added, {} WAL files recorded",
            report.destination,
            report.manifests,
            report.backups_added,
            report.copies_added,
            report.wal_files
        );
        for skipped in &report.skipped {
            outln!("skipped {skipped}");
        }
        for problem in &report.problems {
            outln!("problem: {problem}");
        }
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(if report.problems.is_empty() { 0 } else { 1 })
}

async fn migrate(globals: &Globals, to: &str) -> anyhow::Result<u8> {
    let reference = match to.split_once(':') {
        Some(("env", name)) if !name.is_empty() => SecretRef::Env { env: name.into() },
        Some(("file", path)) if !path.is_empty() => SecretRef::File { file: path.into() },
        _ => {
            return Err(UsageError(
                "--to: expected env:NAME or file:PATH, where the PostgreSQL URL is; the URL itself \
                 holds a password and must not be on the command line"
                    .into(),
            )
            .into());
        }
    };
    let (config, _log) = super::load(globals)?;
    let url = reference
        .resolve(&std::env::current_dir()?)
        .map_err(|e| UsageError(format!("--to: {e}")))?;
    let report = catalog_migrate::run(&config, &url).await?;
    if globals.json {
        output::json(&report)?;
    } else {
        outln!("{}: copied and verified", report.from);
        for t in &report.tables {
            outln!("{:<18} {:>8} rows, {:>8} added", t.table, t.rows, t.added);
        }
    }
    Ok(0)
}
