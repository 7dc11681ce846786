//! The registry: turns validated config entries into `Source` and `Destination` adapters.
//! Adding an engine or a destination type adds one arm here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dbward_core::Engine;
use dbward_core::destination::Destination;
use dbward_core::source::Source;
use dbward_destination::FsDestination;
use dbward_source_mysql::{MysqlSettings, MysqlSource};
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresSource};
use dbward_source_sqlite::{SqliteSettings, SqliteSource};

use crate::config::{Connection, DestinationConfig, DestinationKind, SourceConfig};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the adapter for one `[[source]]`. `state_dir` hosts spool and secret files.
pub fn source(config: &SourceConfig, state_dir: &Path) -> Arc<dyn Source> {
    match &config.connection {
        Connection::File { path } => Arc::new(SqliteSource::new(SqliteSettings {
            name: config.name.clone(),
            database: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| config.name.clone()),
            path: path.clone(),
            spool_dir: state_dir.join("spool"),
        })),
        Connection::Server {
            host,
            port,
            user,
            password,
            socket,
            tool_dir,
            format,
            maintenance_database,
        } => match config.engine {
            Engine::Postgres => Arc::new(PostgresSource::new(PostgresSettings {
                name: config.name.clone(),
                host: host.clone(),
                port: *port,
                user: user.clone(),
                password: password.clone(),
                maintenance_database: maintenance_database
                    .clone()
                    .unwrap_or_else(|| "postgres".into()),
                format: if format.as_deref() == Some("plain") {
                    PgFormat::Plain
                } else {
                    PgFormat::Custom
                },
                tool_dir: tool_dir.clone(),
                exclude_tables: config.exclude_tables.clone(),
                connect_timeout: CONNECT_TIMEOUT,
            })),
            engine => Arc::new(MysqlSource::new(MysqlSettings {
                name: config.name.clone(),
                engine,
                host: host.clone(),
                port: *port,
                socket: socket.clone(),
                user: user.clone(),
                password: password.clone(),
                tool_dir: tool_dir.clone(),
                exclude_tables: config.exclude_tables.clone(),
                secret_dir: state_dir.join("secrets"),
                connect_timeout: CONNECT_TIMEOUT,
            })),
        },
    }
}

/// Builds the adapter for one `[[destination]]`.
pub fn destination(config: &DestinationConfig) -> Arc<dyn Destination> {
    match &config.kind {
        DestinationKind::Fs { path } => Arc::new(FsDestination::new(config.name.clone(), path)),
    }
}
