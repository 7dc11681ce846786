//! `dbward completions SHELL` and `dbward man`: shell completions and the man page, generated
//! from the same command definition the parser uses, so they never drift from it.

use std::io::Write;

use clap::CommandFactory;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "dbward", &mut std::io::stdout());
    Ok(0)
}

/// Writes the man page (roff, section 1) to stdout.
pub fn man() -> anyhow::Result<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(0)
}
