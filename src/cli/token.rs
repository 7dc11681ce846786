//! `dbward token create|list|revoke`: API tokens for programs (`Authorization: Bearer`).
//! `create` prints the token once; the catalog keeps only its sha256.

use dbward_core::secret::ExposeSecret;

use super::{Globals, output};
use crate::engine::access;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Create a token and print it (once: it cannot be shown again).
    Create {
        name: String,
        /// viewer (reads) or operator (also starts backups).
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
    /// List the tokens (names and roles, never the tokens).
    List,
    /// Revoke a token: it lets nobody in any more.
    Revoke { name: String },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open_reader(globals).await?;
    match args.command {
        TokenCommand::Create { name, role } => {
            let role = access::parse_role(&role)?;
            let token = access::create_token(&ctx, &name, role).await?;
            if globals.json {
                output::json(&serde_json::json!({
                    "name": name, "role": role, "token": token.expose_secret()
                }))?;
            } else {
                eprintln!("token {name} ({role}); it is shown only now:");
                outln!("{}", token.expose_secret());
            }
        }
        TokenCommand::List => {
            let tokens = access::tokens(&ctx).await?;
            if globals.json {
                output::json(&serde_json::json!({ "tokens": tokens }))?;
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.role.to_string(),
                            dbward_catalog::timestamp(t.created_at),
                        ]
                    })
                    .collect();
                out!("{}", output::table(&["NAME", "ROLE", "CREATED"], &rows));
            }
        }
        TokenCommand::Revoke { name } => {
            access::revoke_token(&ctx, &name).await?;
            if globals.json {
                output::json(&serde_json::json!({ "revoked": name }))?;
            } else {
                outln!("revoked token {name}");
            }
        }
    }
    Ok(0)
}
