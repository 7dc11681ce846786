//! The registry: turns validated config entries into `Source` and `Destination` adapters.
//! Adding an engine or a destination type adds one arm here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dbward_core::Engine;
use dbward_core::destination::Destination;
use dbward_core::restore::RestoreTarget;
use dbward_core::source::Source;
use dbward_destination::{FsDestination, OpenDalDestination, RetryPolicy, Retrying};
use dbward_source_mysql::{MysqlSettings, MysqlSource, MysqlTarget};
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresSource, PostgresTarget};
use dbward_source_sqlite::{SqliteSettings, SqliteSource, SqliteTarget};

use crate::config::{Config, Connection, DestinationConfig, DestinationKind, SourceConfig};
use crate::engine::scratch::Scratch;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the adapter for one `[[source]]`; spool and secret files go to this run's `scratch`.
pub fn source(config: &SourceConfig, scratch: &Scratch) -> Arc<dyn Source> {
    match &config.connection {
        Connection::File { path } => Arc::new(SqliteSource::new(SqliteSettings {
            name: config.name.clone(),
            database: sqlite_database_name(config, path),
            path: path.clone(),
            spool_dir: scratch.spool.clone(),
        })),
        #[cfg(feature = "simulation")]
        Connection::Synthetic(synthetic) => Arc::new(crate::synthetic::SyntheticSource::new(
            crate::synthetic::SyntheticSettings {
                name: config.name.clone(),
                databases: synthetic.databases,
                dump_bytes: synthetic.dump_bytes,
                dump_delay: synthetic.dump_delay,
            },
        )),
        server if config.engine == Engine::Postgres => {
            let source = PostgresSource::new(postgres_settings(config, server, scratch));
            match config.globals {
                Some(globals) => Arc::new(source.with_globals(globals.passwords)),
                None => Arc::new(source),
            }
        }
        server => {
            let mut source = MysqlSource::new(mysql_settings(config, server, scratch));
            if config.pitr {
                source = source.with_binlog_position();
            }
            match config.globals {
                Some(globals) => Arc::new(source.with_globals(globals.passwords)),
                None => Arc::new(source),
            }
        }
    }
}

/// The one database of a SQLite source is named after its file.
fn sqlite_database_name(config: &SourceConfig, path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| config.name.clone())
}

pub(crate) fn postgres_settings(
    config: &SourceConfig,
    connection: &Connection,
    scratch: &Scratch,
) -> PostgresSettings {
    let Connection::Server {
        host,
        port,
        user,
        password,
        tool_dir,
        format,
        maintenance_database,
        tls,
        ..
    } = connection
    else {
        unreachable!("postgres sources are validated to have a server connection")
    };
    PostgresSettings {
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
        pitr: config.pitr,
        tool_dir: tool_dir.clone(),
        exclude_tables: config.exclude_tables.clone(),
        connect_timeout: CONNECT_TIMEOUT,
        tls: tls.clone(),
        secret_dir: scratch.secrets.clone(),
    }
}

pub fn mysql_settings(
    config: &SourceConfig,
    connection: &Connection,
    scratch: &Scratch,
) -> MysqlSettings {
    let Connection::Server {
        host,
        port,
        user,
        password,
        socket,
        tool_dir,
        tls,
        ..
    } = connection
    else {
        unreachable!("mysql sources are validated to have a server connection")
    };
    MysqlSettings {
        name: config.name.clone(),
        engine: config.engine,
        host: host.clone(),
        port: *port,
        socket: socket.clone(),
        user: user.clone(),
        password: password.clone(),
        tool_dir: tool_dir.clone(),
        exclude_tables: config.exclude_tables.clone(),
        secret_dir: scratch.secrets.clone(),
        connect_timeout: CONNECT_TIMEOUT,
        tls: tls.clone(),
    }
}

fn server_target(
    config: &SourceConfig,
    connection: &Connection,
    scratch: &Scratch,
) -> Arc<dyn RestoreTarget> {
    match config.engine {
        Engine::Postgres => Arc::new(PostgresTarget::new(
            postgres_settings(config, connection, scratch),
            scratch.spool.clone(),
        )),
        _ => Arc::new(MysqlTarget::new(mysql_settings(
            config, connection, scratch,
        ))),
    }
}

/// The target of a fresh-server drill: an empty private server on loopback
/// (`engine::fresh_server`) whose superuser is `user`. Unlike a drill target, a PostgreSQL
/// one restores ownership and privileges (a missing role must fail the rebuild); a MySQL or
/// MariaDB one restores events disabled, so that none changes what is compared.
pub fn fresh_server_target(
    config: &SourceConfig,
    scratch: &Scratch,
    port: u16,
    user: &str,
    password: dbward_core::secret::SecretString,
) -> Arc<dyn RestoreTarget> {
    match config.engine {
        Engine::Postgres => {
            let settings = PostgresSettings {
                host: "127.0.0.1".into(),
                port,
                user: user.into(),
                password: Some(password),
                maintenance_database: "postgres".into(),
                tls: dbward_core::tls::TlsSettings::default(),
                ..postgres_settings(config, &config.connection, scratch)
            };
            Arc::new(PostgresTarget::new(settings, scratch.spool.clone()))
        }
        _ => {
            let settings = MysqlSettings {
                host: "127.0.0.1".into(),
                port,
                socket: None,
                user: user.into(),
                password: Some(password),
                tls: dbward_core::tls::TlsSettings::default(),
                ..mysql_settings(config, &config.connection, scratch)
            };
            Arc::new(MysqlTarget::new(settings).for_drills())
        }
    }
}

/// A server target for drills: PostgreSQL restores without ownership and privileges,
/// MySQL and MariaDB restore events disabled.
fn drill_server_target(
    config: &SourceConfig,
    connection: &Connection,
    scratch: &Scratch,
) -> Arc<dyn RestoreTarget> {
    match config.engine {
        Engine::Postgres => Arc::new(
            PostgresTarget::new(
                postgres_settings(config, connection, scratch),
                scratch.spool.clone(),
            )
            .for_drills(),
        ),
        _ => Arc::new(MysqlTarget::new(mysql_settings(config, connection, scratch)).for_drills()),
    }
}

/// Builds the adapter for one `[[destination]]`; remote ones get the retry layer.
pub fn destination(config: &DestinationConfig) -> dbward_core::Result<Arc<dyn Destination>> {
    let remote = match &config.kind {
        DestinationKind::Fs { path } => {
            return Ok(Arc::new(FsDestination::new(config.name.clone(), path)));
        }
        DestinationKind::S3(s) => OpenDalDestination::s3(s.clone())?,
        DestinationKind::Sftp(s) => OpenDalDestination::sftp(s.clone())?,
        DestinationKind::Gcs(s) => OpenDalDestination::gcs(s.clone())?,
        DestinationKind::Azblob(s) => OpenDalDestination::azblob(s.clone())?,
        DestinationKind::Webdav(s) => OpenDalDestination::webdav(s.clone())?,
    };
    Ok(Arc::new(Retrying::new(
        Arc::new(remote),
        RetryPolicy::default(),
    )))
}

/// Builds the restore side of a `[[source]]`: restores go back into the source's own server
/// (or, for SQLite, into the folder of its file).
pub fn restore_target(config: &SourceConfig, scratch: &Scratch) -> Arc<dyn RestoreTarget> {
    match &config.connection {
        Connection::File { path } => Arc::new(
            SqliteTarget::new(
                config.name.clone(),
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
            )
            .with_home(sqlite_database_name(config, path), path.clone())
            .with_spool(scratch.spool.clone()),
        ),
        #[cfg(feature = "simulation")]
        Connection::Synthetic(_) => synthetic_target(config),
        server => server_target(config, server, scratch),
    }
}

/// Like [`restore_target`], for `dbward restore --jobs N`: a PostgreSQL server target restores
/// custom-format dumps with `pg_restore --jobs=N` from a spooled copy, a MySQL/MariaDB one
/// loads the tables' rows on up to N connections from a spooled copy; every other target
/// (and `None`) is the plain restore target, which reads the stream.
pub fn restore_target_with_jobs(
    config: &SourceConfig,
    scratch: &Scratch,
    jobs: Option<u32>,
) -> Arc<dyn RestoreTarget> {
    match (&config.connection, jobs) {
        (server @ Connection::Server { .. }, Some(jobs)) if config.engine == Engine::Postgres => {
            Arc::new(
                PostgresTarget::new(
                    postgres_settings(config, server, scratch),
                    scratch.spool.clone(),
                )
                .with_jobs(jobs),
            )
        }
        (server @ Connection::Server { .. }, Some(jobs))
            if matches!(config.engine, Engine::Mysql | Engine::Mariadb) =>
        {
            Arc::new(
                MysqlTarget::new(mysql_settings(config, server, scratch))
                    .with_jobs(jobs, scratch.spool.clone()),
            )
        }
        _ => restore_target(config, scratch),
    }
}

/// Builds where drills of a source's backups restore: `[drill]` for its engine when set,
/// otherwise the source's own server (SQLite: `[drill] sqlite_dir`).
pub fn drill_target(
    config: &SourceConfig,
    all: &Config,
    scratch: &Scratch,
) -> Arc<dyn RestoreTarget> {
    match (&config.connection, all.drill.server(config.engine)) {
        (Connection::File { .. }, _) => Arc::new(
            SqliteTarget::new(config.name.clone(), all.drill.sqlite_dir.clone())
                .with_spool(scratch.spool.clone()),
        ),
        #[cfg(feature = "simulation")]
        (Connection::Synthetic(_), _) => synthetic_target(config),
        (_, Some(drill_server)) => drill_server_target(config, drill_server, scratch),
        (server, None) => drill_server_target(config, server, scratch),
    }
}

/// Where drills of a source restore, as text that is equal for equal servers (or folders):
/// drills sharing it take turns, so that cleaning leftovers never hits a live drill.
pub fn drill_location(config: &SourceConfig, all: &Config) -> String {
    let server = all
        .drill
        .server(config.engine)
        .unwrap_or(&config.connection);
    match server {
        Connection::File { .. } => format!("sqlite:{}", all.drill.sqlite_dir.display()),
        #[cfg(feature = "simulation")]
        Connection::Synthetic(_) => format!("synthetic:{}", config.name),
        Connection::Server {
            socket: Some(socket),
            ..
        } => format!("{}:{}", config.engine, socket.display()),
        Connection::Server { host, port, .. } => format!("{}:{host}:{port}", config.engine),
    }
}

/// Synthetic dumps restore into memory: restores and drills read them back and count rows.
#[cfg(feature = "simulation")]
fn synthetic_target(config: &SourceConfig) -> Arc<dyn RestoreTarget> {
    Arc::new(crate::synthetic::SyntheticTarget::new(config.name.clone()))
}
