//! Logging: `tracing` to stderr (human text, or JSON with `--log-format json`) and, when the
//! config names a `log_file`, to that file with daily rotation keeping `log_keep` files.
//! Secrets never reach a log: they live in `SecretString` and are never formatted.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Keeps the file writer alive; drop it last so buffered lines are written.
#[derive(Debug)]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// The stderr level for a verbosity: `-q` errors only, default warnings, `-v` info, `-vv` debug.
pub fn stderr_level(verbose: u8, quiet: bool) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides the stderr level.
pub fn init(
    format: LogFormat,
    level: LevelFilter,
    file: Option<(&Path, usize)>,
) -> anyhow::Result<LogGuard> {
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy()
        .add_directive("sqlx=warn".parse().expect("valid directive"));
    let stderr = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);

    let (file_layer, guard) = match file {
        Some((path, keep)) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "dbward.log".into());
            crate::catalog::create_private_dir(dir)?;
            let appender = Builder::new()
                .rotation(Rotation::DAILY)
                .filename_prefix(name)
                .max_log_files(keep.max(1))
                .build(dir)
                .map_err(|e| anyhow::anyhow!("log_file {}: {e}", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = match format {
                LogFormat::Text => tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .boxed(),
                LogFormat::Json => tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(writer)
                    .boxed(),
            }
            .with_filter(LevelFilter::INFO);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init()?;
    Ok(LogGuard { _file: guard })
}
