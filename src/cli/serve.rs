//! `dbward serve`: the web dashboard and the HTTP API alone, in the foreground, for a host
//! that watches a shared catalog without running schedules (SIGTERM or SIGINT stop it).

use std::net::SocketAddr;

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listen on IP:PORT (default: [http] listen, else 127.0.0.1:9187).
    #[arg(long, value_name = "ADDR", value_parser = super::daemon::parse_listen)]
    listen: Option<SocketAddr>,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    // Like the daemon, it says what it starts and ends (info) unless told to be quiet.
    let globals = Globals {
        verbose: globals.verbose.max(u8::from(!globals.quiet)),
        ..globals.clone()
    };
    let (ctx, _log) = super::open_reader(&globals).await?;
    let listen = match (args.listen, &ctx.config.http) {
        (Some(listen), _) => listen,
        (None, Some(http)) => http.listen,
        (None, None) => crate::config::parse_listen(crate::config::DEFAULT_LISTEN)
            .map_err(anyhow::Error::msg)?,
    };
    crate::web::serve(ctx, listen).await
}
