//! The `dbward` binary: parses arguments, runs one command, maps errors to exit codes
//! (0 ok, 1 failed, 2 usage or configuration, 3 lock held).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use dbward::cli::{self, Cli};
use dbward::config::ConfigError;
use dbward::engine::UsageError;

/// `status` on ten thousand databases decodes, judges and prints some hundred thousand small
/// records; glibc's allocator spent about a quarter of its CPU time there (see
/// ARCHITECTURE.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    dbward_core::tls::install_crypto_provider();
    let json = cli.json;
    // `status` speaks the monitoring plugins' codes, where 1 is WARNING: output it could not
    // write is UNKNOWN (3) there.
    let incomplete_output = if matches!(cli.command, cli::Command::Status) {
        3
    } else {
        1
    };
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
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
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
                cli::print(format_args!(
                    "{}\n",
                    serde_json::json!({ "error": message, "exit_code": code })
                ));
            }
            let _ = writeln!(std::io::stderr(), "dbward: {message}");
            code
        }
    };
    match cli::stdout_failure() {
        // The reader stopped reading (`dbward list | head`): the command's own result stands.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Some(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "dbward: cannot write standard output: {e} (the output is incomplete; check the disk or file it goes to)"
            );
            ExitCode::from(code.max(incomplete_output))
        }
        None => ExitCode::from(code),
    }
}
