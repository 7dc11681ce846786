//! The command line: global options and one thin handler per command (parse → call one
//! engine function → print). Human text goes to stdout for results and stderr for logs;
//! `--json` prints exactly one JSON document on stdout.

#[macro_use]
pub(crate) mod output;
mod agents;
mod audit;
mod backup;
mod binlog;
mod catalog;
mod check;
mod daemon;
mod generate;
mod init;
mod key;
mod list;
mod prune;
mod restore;
mod serve;
mod show;
mod status;
mod token;
mod user;
mod verify;
mod wal;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

pub use output::{print, stdout_failure};

/// dbward backs up databases and proves every backup can be restored.
#[derive(Debug, Parser)]
#[command(name = "dbward", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $DBWARD_CONFIG, ./dbward.toml, /etc/dbward/dbward.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print one JSON document on stdout; human text goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format on stderr and in log_file.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter config.
    Init(init::Args),
    /// Validate the config; test every source, destination and alert.
    Check,
    /// Back up now.
    Backup(backup::Args),
    /// List backups from the catalog, newest first.
    List(list::Args),
    /// Show one backup: manifest, copies, verification.
    Show(show::Args),
    /// Restore a backup into a database.
    Restore(restore::Args),
    /// Verify backups: checksum, structural, or a restore drill.
    Verify(verify::Args),
    /// Generate an age identity, or prove one decrypts the newest backups.
    Key(key::Args),
    /// Compare what each destination holds with the catalog; mark lost copies missing.
    Audit(audit::Args),
    /// Rebuild the catalog from a destination's manifests, or copy it into PostgreSQL.
    Catalog(catalog::Args),
    /// Apply each schedule's retention (never the newest good backup), then remove
    /// uncommitted leftovers older than 24 hours and abandoned staged uploads.
    Prune(prune::Args),
    /// Health of every schedule and database (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Status,
    /// Run schedules, drills, audit and prune by themselves (foreground; SIGHUP reloads,
    /// SIGTERM stops).
    Daemon(daemon::Args),
    /// The agents sharing the catalog: host, version, labels, heartbeat, running jobs.
    Agents,
    /// Serve the web dashboard and the HTTP API only (foreground; no schedules).
    Serve(serve::Args),
    /// Manage the users of the web dashboard.
    User(user::Args),
    /// Manage API tokens.
    Token(token::Args),
    /// PostgreSQL WAL archiving for pitr = true sources: archive_command and
    /// restore_command.
    Wal(wal::Args),
    /// MariaDB/MySQL binlog archiving for pitr = true sources.
    Binlog(binlog::Args),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff) to stdout.
    Man,
}

/// Global options every handler sees.
#[derive(Debug, Clone)]
pub struct Globals {
    pub config: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub log_format: LogFormat,
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let globals = Globals {
        config: cli.config,
        json: cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
        log_format: cli.log_format,
    };
    match cli.command {
        Command::Init(args) => init::run(&globals, args),
        Command::Check => check::run(&globals).await,
        Command::Agents => agents::run(&globals).await,
        Command::Backup(args) => backup::run(&globals, args).await,
        Command::List(args) => list::run(&globals, args).await,
        Command::Show(args) => show::run(&globals, args).await,
        Command::Restore(args) => restore::run(&globals, args).await,
        Command::Verify(args) => verify::run(&globals, args).await,
        Command::Key(args) => key::run(&globals, args).await,
        Command::Audit(args) => audit::run(&globals, args).await,
        Command::Catalog(args) => catalog::run(&globals, args).await,
        Command::Prune(args) => prune::run(&globals, args).await,
        Command::Status => status::run(&globals).await,
        Command::Daemon(args) => daemon::run(&globals, args).await,
        Command::Serve(args) => serve::run(&globals, args).await,
        Command::User(args) => user::run(&globals, args).await,
        Command::Token(args) => token::run(&globals, args).await,
        Command::Wal(args) => wal::run(&globals, args).await,
        Command::Binlog(args) => binlog::run(&globals, args).await,
        Command::Completions(args) => generate::completions(args),
        Command::Man => generate::man(),
    }
}

/// What `open` hands a command: the context every engine function takes, and the logging
/// guard.
pub type Opened = (
    std::sync::Arc<crate::engine::Context>,
    crate::logging::LogGuard,
);

/// Loads the config, starts logging (which may write to the config's `log_file`) and opens
/// the context, for a command that connects to sources or destinations: a secret that
/// cannot be read fails it.
pub async fn open(globals: &Globals) -> anyhow::Result<Opened> {
    open_with(globals, Access::Connects).await
}

/// Like `open`, for a command that only reads the catalog and the config (`list`, `show`,
/// `status`): it works without the databases' and destinations' secrets, so a monitoring
/// host needs none of them.
pub async fn open_reader(globals: &Globals) -> anyhow::Result<Opened> {
    open_with(globals, Access::Reads).await
}

/// Like `open`, for disaster recovery: works without a usable catalog or a writable
/// `state_dir` ([`crate::engine::Context::open_for_recovery`]).
pub async fn open_for_recovery(globals: &Globals) -> anyhow::Result<Opened> {
    open_with(globals, Access::Recovery).await
}

/// How a command uses the context it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Connects to sources or destinations: every secret must be readable.
    Connects,
    /// Reads only the catalog and the config (`list`, `show`, `status`).
    Reads,
    /// Disaster recovery: like `Connects`, without needing a usable catalog.
    Recovery,
}

async fn open_with(globals: &Globals, access: Access) -> anyhow::Result<Opened> {
    let (config, guard) = load(globals)?;
    if access != Access::Reads {
        config.require_secrets()?;
    }
    let ctx = if access == Access::Recovery {
        crate::engine::Context::open_for_recovery(config).await?
    } else {
        crate::engine::Context::open(config).await?
    };
    Ok((std::sync::Arc::new(ctx), guard))
}

/// Loads the config and starts logging, for a command that opens no `Context`.
pub fn load(
    globals: &Globals,
) -> anyhow::Result<(crate::config::Config, crate::logging::LogGuard)> {
    let path = crate::config::Config::locate(globals.config.as_deref())?;
    let config = crate::config::Config::load(&path)?;
    let level = crate::logging::stderr_level(globals.verbose, globals.quiet);
    let log_file = config.log_file.clone();
    let guard = crate::logging::init(
        globals.log_format,
        level,
        log_file.as_deref().map(|p| (p, config.log_keep)),
    )?;
    Ok((config, guard))
}
