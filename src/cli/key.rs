//! `dbward key generate --out FILE` (an age identity, or with `--signing` a manifest signing
//! key) and `dbward key verify --identity FILE` (the key drill).

use std::path::PathBuf;

use serde_json::json;

use super::{Globals, output};
use crate::engine::{integrity, keys};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Write a new age identity (0600) and print its public recipient for `[encryption]`;
    /// with --signing, a manifest signing key and its public key for `[integrity]`.
    Generate {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A signing key (ed25519) for `[integrity] signing_key` instead of an age identity.
        #[arg(long)]
        signing: bool,
    },
    /// Prove an identity decrypts the newest backup of every database.
    Verify {
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    match args.command {
        KeyCommand::Generate { out, signing: true } => {
            let public = integrity::generate_signing(&out)?;
            if globals.json {
                output::json(&json!({
                    "signing_key_file": out,
                    "public_key": public.to_string(),
                    "key_id": public.key_id(),
                }))?;
            } else {
                eprintln!(
                    "wrote the signing key {} to {} (set [integrity] signing_key; restoring hosts list the public key in [integrity] trusted_keys)",
                    public.key_id(),
                    out.display()
                );
                outln!("{public}");
            }
            Ok(0)
        }
        KeyCommand::Generate {
            out,
            signing: false,
        } => {
            let recipient = keys::generate(&out)?;
            if globals.json {
                output::json(&json!({ "identity_file": out, "recipient": recipient }))?;
            } else {
                eprintln!(
                    "wrote the identity to {} (keep it off this host; it decrypts every backup)",
                    out.display()
                );
                outln!("{recipient}");
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
                out!(
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
