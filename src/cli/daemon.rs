//! `dbward daemon`: runs schedules, drills, audit and prune by themselves, in the foreground,
//! until SIGTERM or SIGINT (exit 0). Refuses to start as root or with a state directory or
//! key file open to others (exit 2).

use std::net::SocketAddr;

use super::Globals;
use crate::daemon::{self, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serve the dashboard, /api/v1, /metrics, /healthz and /readyz on IP:PORT (overrides
    /// [http] listen).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Run even as root (not recommended: run it as a dedicated user).
    #[arg(long)]
    allow_root: bool,
}

pub(super) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    crate::config::parse_listen(text)
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    // A daemon says what it starts and ends (info) unless told to be quiet.
    let globals = Globals {
        verbose: globals.verbose.max(u8::from(!globals.quiet)),
        ..globals.clone()
    };
    let (config, _log) = super::load(&globals)?;
    config.require_secrets()?;
    daemon::preflight(&config, args.allow_root)?;
    let config_file = config.file.clone();
    let mut ctx = crate::engine::Context::open(config).await?;
    daemon::as_daemon(&mut ctx);
    let ctx = std::sync::Arc::new(ctx);
    let options = Options {
        config_file,
        listen: args.listen,
    };
    daemon::run(ctx, options).await
}
