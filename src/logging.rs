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

/// dbward's own crates; everything else logs warnings and errors only.
const OUR_CRATES: [&str; 6] = [
    "dbward",
    "dbward_core",
    "dbward_destination",
    "dbward_source_postgres",
    "dbward_source_mysql",
    "dbward_source_sqlite",
];

/// `level` for dbward's crates, warnings for dependencies: their debug output is not ours to
/// vouch for (a request-signing library prints credentials in its debug lines).
fn filter_for(level: LevelFilter) -> EnvFilter {
    let mut filter = EnvFilter::new("warn");
    for name in OUR_CRATES {
        filter = filter.add_directive(format!("{name}={level}").parse().expect("valid directive"));
    }
    capped(filter)
}

/// Caps dependencies known to log secrets at debug level, whatever `RUST_LOG` asks for.
fn capped(filter: EnvFilter) -> EnvFilter {
    // Each crate of the family by name too: a more specific directive would win over `reqsign`.
    [
        "reqsign",
        "reqsign_core",
        "reqsign_aws_v4",
        "reqsign_azure_storage",
        "reqsign_google",
        "reqsign_file_read_tokio",
    ]
    .into_iter()
    .fold(filter, |f, name| {
        f.add_directive(format!("{name}=warn").parse().expect("valid directive"))
    })
}

/// Installs the global subscriber. `RUST_LOG` overrides the stderr filter (dependencies
/// known to print credentials stay capped at warnings).
pub fn init(
    format: LogFormat,
    level: LevelFilter,
    file: Option<(&Path, usize)>,
) -> anyhow::Result<LogGuard> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => capped(EnvFilter::new(spec)),
        _ => filter_for(level),
    };
    let stderr = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            // Colours only on a terminal: a journal or a log file gets plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
            .with_filter(filter_for(LevelFilter::INFO));
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
