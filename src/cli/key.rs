//! `dbward key generate --out FILE` and `dbward key verify --identity FILE` (the key drill).

use std::path::PathBuf;

use serde_json::json;

use super::{Globals, output};
use crate::engine::keys;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Write a new age identity (0600) and print its public recipient for `[encryption]`.
    Generate {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Prove an identity decrypts the newest backup of every database.
    Verify {
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    match args.command {
        KeyCommand::Generate { out } => {
            let recipient = keys::generate(&out)?;
            if globals.json {
                output::json(&json!({ "identity_file": out, "recipient": recipient }))?;
            } else {
                eprintln!(
                    "wrote the identity to {} (keep it off this host; it decrypts every backup)",
                    out.display()
                );
                println!("{recipient}");
            }
            Ok(0)
        }
        KeyCommand::Verify { identity } => {
            let (ctx, _log) = super::open(globals).await?;
            let (results, notes) = keys::drill(&ctx, &identity).await?;
            let ok = results.iter().all(|r| r.outcome != "failed") && notes.is_empty();
            if globals.json {
                output::json(&json!({ "ok": ok, "results": results, "notes": notes }))?;
            } else {
                let rows: Vec<Vec<String>> = results
                    .iter()
                    .map(|r| {
                        vec![
                            format!("{}/{}", r.source, r.database),
                            r.backup_id.clone(),
                            r.outcome.clone(),
                            r.detail.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    output::table(&["DATABASE", "BACKUP", "OUTCOME", "DETAIL"], &rows)
                );
                for note in &notes {
                    eprintln!("warning: {note}");
                }
            }
            Ok(if ok { 0 } else { 1 })
        }
    }
}
