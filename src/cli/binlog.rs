//! `dbward binlog push`: one pass of binlog archiving for a `pitr = true` MariaDB/MySQL
//! source (what the daemon runs every `wal_archive_interval`).

use super::{Globals, output};
use crate::engine::binlog;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: BinlogCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BinlogCommand {
    /// Archive every binlog file the server has closed and the archive lacks, on every
    /// destination; exits 1 when files are lost (neither archived nor on the server).
    Push {
        /// The pitr = true MariaDB/MySQL source (default: the only one).
        #[arg(long)]
        source: Option<String>,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    match args.command {
        BinlogCommand::Push { source } => {
            let (ctx, _log) = super::open(globals).await?;
            let report = binlog::push(&ctx, source.as_deref()).await?;
            if globals.json {
                output::json(&report)?;
            } else {
                outln!(
                    "{}: archived {} binlog file(s){}; {} already archived; the server writes {}",
                    report.source,
                    report.pushed.len(),
                    if report.pushed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", report.pushed.join(", "))
                    },
                    report.already,
                    report.current.as_deref().unwrap_or("(none)")
                );
                for warning in &report.warnings {
                    eprintln!("warning: {warning}");
                }
            }
            if !report.lost.is_empty() {
                eprintln!(
                    "error: binlog file(s) {} are neither archived nor on the server any more: a restore cannot replay past them; take a new dump (dbward backup) to recover beyond the gap",
                    report.lost.join(", ")
                );
                return Ok(1);
            }
            Ok(0)
        }
    }
}
