//! `[[source]]` as written and its validation into `SourceConfig`: the keys each engine takes,
//! PITR and globals settings, and the connection.

use std::path::Path;

use dbward_core::Engine;
use serde::Deserialize;

use super::raw::{anchored, at};
use super::secret::{Deferred, SecretRef};
use super::tls::{RawTls, validate_tls};
use super::{Connection, SourceConfig, parse_duration};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: String,
    engine: String,
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    pub(super) password: Option<SecretRef>,
    socket: Option<String>,
    path: Option<String>,
    databases: Option<Vec<String>>,
    #[serde(default)]
    exclude_databases: Vec<String>,
    #[serde(default)]
    exclude_tables: Vec<String>,
    max_replica_lag: Option<String>,
    tool_dir: Option<String>,
    format: Option<String>,
    maintenance_database: Option<String>,
    tls: Option<String>,
    ca_file: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    #[serde(default)]
    agents: Vec<String>,
    pitr: Option<bool>,
    wal_archive_interval: Option<String>,
    pitr_drill_marker: Option<bool>,
    globals: Option<bool>,
    globals_passwords: Option<bool>,
    #[cfg(feature = "simulation")]
    synthetic_databases: Option<u32>,
    #[cfg(feature = "simulation")]
    synthetic_dump_bytes: Option<u64>,
    #[cfg(feature = "simulation")]
    synthetic_dump_delay: Option<String>,
}

impl RawSource {
    /// Which of the keys that only a server connection takes are set.
    fn server_keys(&self) -> [(&'static str, bool); 14] {
        [
            ("host", self.host.is_some()),
            ("port", self.port.is_some()),
            ("user", self.user.is_some()),
            ("password", self.password.is_some()),
            ("socket", self.socket.is_some()),
            ("tool_dir", self.tool_dir.is_some()),
            ("format", self.format.is_some()),
            ("maintenance_database", self.maintenance_database.is_some()),
            ("max_replica_lag", self.max_replica_lag.is_some()),
            ("exclude_tables", !self.exclude_tables.is_empty()),
            ("tls", self.tls.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("client_cert", self.client_cert.is_some()),
            ("client_key", self.client_key.is_some()),
        ]
    }
}

/// The engines a source may name, as the refusal of an unknown one lists them.
#[cfg(not(feature = "simulation"))]
const ENGINES: &str = "postgres, mysql, mariadb or sqlite";
#[cfg(feature = "simulation")]
const ENGINES: &str = "postgres, mysql, mariadb, sqlite or synthetic";

pub(super) fn validate_source(
    s: RawSource,
    base: &Path,
    deferred: &Deferred,
) -> Result<SourceConfig, String> {
    let key = |k: &str| at("source", &s.name, k);
    let engine = Engine::parse(&s.engine).ok_or_else(|| {
        format!(
            "{}: unknown engine {:?}; expected {ENGINES}",
            key("engine"),
            s.engine
        )
    })?;
    let not_for = |k: &str, set: bool| -> Result<(), String> {
        if set {
            Err(format!(
                "{}: not used by engine {engine}; remove it",
                key(k)
            ))
        } else {
            Ok(())
        }
    };
    let pitr = s.pitr.unwrap_or(false);
    // PostgreSQL: base backups and WAL; MariaDB/MySQL: dumps with their binlog position and
    // the binary log.
    let binlog_engine = matches!(engine, Engine::Mariadb | Engine::Mysql);
    not_for(
        "pitr",
        engine != Engine::Postgres && !binlog_engine && s.pitr.is_some(),
    )?;
    if pitr && engine == Engine::Postgres {
        // A base backup holds the whole cluster: nothing of it can be selected or left out.
        let whole_cluster = |k: &str, set: bool| -> Result<(), String> {
            if set {
                Err(format!(
                    "{}: not used with pitr = true (a base backup holds the whole cluster); remove it",
                    key(k)
                ))
            } else {
                Ok(())
            }
        };
        whole_cluster("databases", s.databases.is_some())?;
        whole_cluster("exclude_databases", !s.exclude_databases.is_empty())?;
        whole_cluster("exclude_tables", !s.exclude_tables.is_empty())?;
        whole_cluster("format", s.format.is_some())?;
    }
    let pitr_only = |k: &str, set: bool| -> Result<(), String> {
        if set && !pitr {
            Err(format!(
                "{}: only used with pitr = true; remove it or set pitr = true",
                key(k)
            ))
        } else {
            Ok(())
        }
    };
    not_for(
        "wal_archive_interval",
        engine != Engine::Postgres && !binlog_engine && s.wal_archive_interval.is_some(),
    )?;
    not_for(
        "pitr_drill_marker",
        engine != Engine::Postgres && !binlog_engine && s.pitr_drill_marker.is_some(),
    )?;
    pitr_only("wal_archive_interval", s.wal_archive_interval.is_some())?;
    pitr_only("pitr_drill_marker", s.pitr_drill_marker.is_some())?;
    let pitr_settings = super::PitrSettings {
        wal_archive_interval: match s.wal_archive_interval.as_deref() {
            Some(v) => {
                parse_duration(v).map_err(|e| format!("{}: {e}", key("wal_archive_interval")))?
            }
            None => super::DEFAULT_WAL_ARCHIVE_INTERVAL,
        },
        drill_marker: s.pitr_drill_marker.unwrap_or(false),
    };
    let globals = validate_globals(&s, engine, pitr && engine == Engine::Postgres, &key)?;
    #[cfg(feature = "simulation")]
    if engine != Engine::Synthetic {
        not_for("synthetic_databases", s.synthetic_databases.is_some())?;
        not_for("synthetic_dump_bytes", s.synthetic_dump_bytes.is_some())?;
        not_for("synthetic_dump_delay", s.synthetic_dump_delay.is_some())?;
    }
    let connection = match engine {
        #[cfg(feature = "simulation")]
        Engine::Synthetic => {
            for (k, set) in s.server_keys() {
                not_for(k, set)?;
            }
            not_for("path", s.path.is_some())?;
            let dump_delay = s
                .synthetic_dump_delay
                .as_deref()
                .map(|v| {
                    parse_duration(v).map_err(|e| format!("{}: {e}", key("synthetic_dump_delay")))
                })
                .transpose()?
                .unwrap_or_default();
            Connection::Synthetic(super::Synthetic {
                databases: s.synthetic_databases.unwrap_or(10),
                dump_bytes: s.synthetic_dump_bytes.unwrap_or(64 << 10),
                dump_delay,
            })
        }
        Engine::Sqlite => {
            for (k, set) in s.server_keys() {
                not_for(k, set)?;
            }
            let path = s.path.as_deref().ok_or_else(|| {
                format!(
                    "{}: required for engine sqlite (the database file)",
                    key("path")
                )
            })?;
            Connection::File {
                path: anchored(base, path),
            }
        }
        Engine::Postgres | Engine::Mysql | Engine::Mariadb => {
            not_for("path", s.path.is_some())?;
            let postgres = engine == Engine::Postgres;
            not_for("socket", postgres && s.socket.is_some())?;
            not_for("format", !postgres && s.format.is_some())?;
            not_for(
                "maintenance_database",
                !postgres && s.maintenance_database.is_some(),
            )?;
            if let Some(format) = &s.format
                && format != "custom"
                && format != "plain"
            {
                return Err(format!(
                    "{}: expected \"custom\" or \"plain\", found {format:?}",
                    key("format")
                ));
            }
            let password = s
                .password
                .as_ref()
                .map(|p| deferred.resolve(p, base, &key("password")));
            let tls = validate_tls(
                RawTls {
                    tls: s.tls.as_deref(),
                    ca_file: s.ca_file.as_deref(),
                    client_cert: s.client_cert.as_deref(),
                    client_key: s.client_key.as_deref(),
                },
                base,
                &key,
            )?;
            Connection::Server {
                host: s.host.clone().unwrap_or_else(|| "127.0.0.1".into()),
                port: s.port.unwrap_or(if postgres { 5432 } else { 3306 }),
                user: s
                    .user
                    .clone()
                    .unwrap_or_else(|| if postgres { "postgres" } else { "root" }.into()),
                password,
                socket: s.socket.as_deref().map(|p| anchored(base, p)),
                tool_dir: s.tool_dir.as_deref().map(|p| anchored(base, p)),
                format: s.format.clone(),
                maintenance_database: s.maintenance_database.clone(),
                tls,
            }
        }
    };
    for pattern in s.databases.iter().flatten().chain(&s.exclude_databases) {
        globset::Glob::new(pattern)
            .map_err(|e| format!("{}: invalid pattern {pattern:?}: {e}", key("databases")))?;
    }
    let max_replica_lag = s
        .max_replica_lag
        .as_deref()
        .map(|v| parse_duration(v).map_err(|e| format!("{}: {e}", key("max_replica_lag"))))
        .transpose()?;
    super::daemon::validate_labels(&s.agents, &key("agents"))?;
    Ok(SourceConfig {
        agents: s.agents,
        databases: s.databases.unwrap_or_else(|| vec!["*".into()]),
        exclude_databases: s.exclude_databases,
        exclude_tables: s.exclude_tables,
        max_replica_lag,
        connection,
        engine,
        pitr,
        pitr_settings,
        globals,
        name: s.name,
    })
}

/// `globals` and `globals_passwords` (F23): server engines, and not with `pitr`,
/// whose base backups hold the roles already.
fn validate_globals(
    s: &RawSource,
    engine: Engine,
    pitr: bool,
    key: &dyn Fn(&str) -> String,
) -> Result<Option<super::GlobalsConfig>, String> {
    if !matches!(engine, Engine::Postgres | Engine::Mysql | Engine::Mariadb) {
        for (k, set) in [
            ("globals", s.globals.is_some()),
            ("globals_passwords", s.globals_passwords.is_some()),
        ] {
            if set {
                return Err(format!(
                    "{}: not used by engine {engine} (a file has no server-wide objects); remove it",
                    key(k)
                ));
            }
        }
    }
    let wanted = s.globals.unwrap_or(false);
    if s.globals_passwords.is_some() && !wanted {
        return Err(format!(
            "{}: only used with globals = true; remove it or set globals = true",
            key("globals_passwords")
        ));
    }
    if !wanted {
        return Ok(None);
    }
    if pitr {
        return Err(format!(
            "{}: not used with pitr = true (a base backup holds the roles and tablespaces already); remove it",
            key("globals")
        ));
    }
    Ok(Some(super::GlobalsConfig {
        passwords: s.globals_passwords.unwrap_or(true),
    }))
}
