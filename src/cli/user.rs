//! `dbward user add|list|remove`: the people who may log in to the web dashboard. The
//! password is read from standard input when it is not a terminal, and prompted for (twice,
//! not echoed) when it is; never from the command line.

use std::io::{BufRead, IsTerminal, Write};

use dbward_core::secret::{ExposeSecret, SecretString};

use super::{Globals, output};
use crate::engine::access;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Add a user (password from stdin when it is not a terminal, else prompted).
    Add {
        name: String,
        /// viewer (reads) or operator (also starts backups).
        #[arg(long, value_name = "ROLE")]
        role: String,
    },
    /// List the users and their roles.
    List,
    /// Remove a user and end its sessions.
    Remove { name: String },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    match args.command {
        UserCommand::Add { name, role } => {
            let role = access::parse_role(&role)?;
            let password = read_password(&name)?;
            let (ctx, _log) = super::open_reader(globals).await?;
            access::add_user(&ctx, &name, role, password).await?;
            if globals.json {
                output::json(&serde_json::json!({ "name": name, "role": role }))?;
            } else {
                outln!("added user {name} ({role})");
            }
        }
        UserCommand::List => {
            let (ctx, _log) = super::open_reader(globals).await?;
            let users = access::users(&ctx).await?;
            if globals.json {
                output::json(&serde_json::json!({ "users": users }))?;
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.name.clone(),
                            u.role.to_string(),
                            dbward_catalog::timestamp(u.created_at),
                        ]
                    })
                    .collect();
                out!("{}", output::table(&["NAME", "ROLE", "CREATED"], &rows));
            }
        }
        UserCommand::Remove { name } => {
            let (ctx, _log) = super::open_reader(globals).await?;
            access::remove_user(&ctx, &name).await?;
            if globals.json {
                output::json(&serde_json::json!({ "removed": name }))?;
            } else {
                outln!("removed user {name}");
            }
        }
    }
    Ok(0)
}

/// The new user's password: one line of standard input when it is not a terminal; else
/// prompted twice on the terminal with echo off.
fn read_password(name: &str) -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        return Ok(SecretString::from(password));
    }
    let first = prompt(&format!("Password for {name}: "))?;
    let second = prompt("Again: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err(crate::engine::UsageError("the passwords differ".into()).into());
    }
    Ok(first)
}

/// Reads one line from the terminal with echo off, restoring it afterwards.
fn prompt(text: &str) -> anyhow::Result<SecretString> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{text}");
    std::io::stderr().flush()?;
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    tcsetattr(&stdin, SetArg::TCSANOW, &saved)?;
    eprintln!();
    read?;
    Ok(SecretString::from(
        line.trim_end_matches(['\n', '\r']).to_string(),
    ))
}
