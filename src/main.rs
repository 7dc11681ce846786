//! The `dbward` binary: parses arguments, runs one command, maps errors to exit codes
//! (0 ok, 1 failed, 2 usage or configuration, 3 lock held).

use std::process::ExitCode;

use clap::Parser;
use dbward::cli::{self, Cli};
use dbward::config::ConfigError;
use dbward::engine::UsageError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    dbward_core::tls::install_crypto_provider();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dbward: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let refused_name = matches!(
                err.downcast_ref::<dbward_core::Error>(),
                Some(dbward_core::Error::InvalidName { .. })
            );
            let code = if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
                || refused_name
            {
                2
            } else {
                1
            };
            let message = format!("{err:#}");
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "error": message, "exit_code": code })
                );
            }
            eprintln!("dbward: {message}");
            ExitCode::from(code)
        }
    }
}
