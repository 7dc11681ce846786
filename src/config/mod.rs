//! Configuration: the TOML schema of `docs/config.md`, loaded, validated and resolved (secret
//! references read, relative paths anchored at the config file) into typed settings. Every
//! error names the file, the key and what is expected.

mod daemon;
mod raw;
mod raw_destination;
mod raw_schedule;
mod raw_source;
mod secret;
mod tls;
mod units;

use std::path::{Path, PathBuf};

use dbward_core::Engine;
use dbward_core::secret::SecretString;

pub use daemon::{DEFAULT_LISTEN, DaemonConfig, HttpConfig, TlsFiles, parse_listen};
pub use secret::SecretRef;
pub use units::{parse_duration, parse_size};

/// Where `--config` was not given, these are tried in order (after `$DBWARD_CONFIG`).
pub const DEFAULT_LOCATIONS: [&str; 2] = ["./dbward.toml", "/etc/dbward/dbward.toml"];

/// A configuration error: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub state_dir: PathBuf,
    pub log_file: Option<PathBuf>,
    pub log_keep: usize,
    pub parallelism: usize,
    pub sources: Vec<SourceConfig>,
    pub destinations: Vec<DestinationConfig>,
    pub schedules: Vec<ScheduleConfig>,
    pub drill: DrillConfig,
    pub encryption: Option<EncryptionConfig>,
    pub integrity: IntegrityConfig,
    pub alerts: Vec<AlertConfig>,
    /// `[catalog] url`: a PostgreSQL catalog; `None` is the SQLite file in `state_dir`.
    pub catalog_url: Option<SecretString>,
    /// `[daemon]`: only `dbward daemon` reads it.
    pub daemon: DaemonConfig,
    /// `[http]`: the daemon's listener, off when `None`.
    pub http: Option<HttpConfig>,
    /// `[catalog] lease_ttl`: how long a job's lease lasts without renewal (renewed every
    /// third of it while the job runs).
    pub lease_ttl: std::time::Duration,
    /// Connection secrets that could not be read, as the errors they gave: a command that
    /// connects calls `require_secrets`; `list`, `show` and `status` do not.
    pub unresolved_secrets: Vec<String>,
    /// Keys whose secret is written inline in the file (named, never the value), for `check`.
    pub inline_secrets: Vec<String>,
}

/// One `[[alert]]`: where health problems are sent.
#[derive(Debug)]
pub struct AlertConfig {
    /// `name`, else `<type>-<position>`; used in messages instead of the URL (a secret).
    pub name: String,
    pub kind: AlertKind,
    pub url: SecretString,
    /// The problem kinds it is sent (all by default).
    pub on: Vec<crate::policy::health::Kind>,
    /// A problem still open is sent again after this long.
    pub repeat: std::time::Duration,
}

/// How an alert is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertKind {
    /// A JSON document POSTed to `url`.
    Webhook,
    /// A Slack incoming webhook (`{"text": …}`).
    Slack,
    /// A GET of `url` whenever health has nothing critical (a dead man's switch).
    Heartbeat,
    /// A mail through the SMTP server of `url` (`smtp://`, `smtps://`, with credentials).
    Email { from: String, to: Vec<String> },
}

/// `[integrity]`: the key this host signs its manifests with, and the public keys whose
/// signatures it accepts on manifests read from storage (its own is always accepted).
#[derive(Debug)]
pub struct IntegrityConfig {
    /// Default `state_dir/keys/signing.key`; `backup` creates it on first need.
    pub signing_key: PathBuf,
    pub trusted_keys: Vec<dbward_core::signing::PublicKey>,
}

/// `[encryption]`: how artifacts are encrypted (age), and where a restore host keeps its
/// identity.
#[derive(Debug)]
pub struct EncryptionConfig {
    pub mode: EncryptionMode,
    pub identity_file: Option<PathBuf>,
}

/// Public-key recipients (this host can encrypt, not decrypt) or a passphrase (scrypt).
pub enum EncryptionMode {
    Recipients(Vec<age::x25519::Recipient>),
    Passphrase(SecretString),
}

impl std::fmt::Debug for EncryptionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncryptionMode::Recipients(r) => write!(f, "Recipients({})", r.len()),
            EncryptionMode::Passphrase(_) => f.write_str("Passphrase([redacted])"),
        }
    }
}

/// `[drill]`: where drills restore, per engine; absent engines drill into the source itself.
#[derive(Debug)]
pub struct DrillConfig {
    pub postgres: Option<Connection>,
    pub mysql: Option<Connection>,
    pub mariadb: Option<Connection>,
    /// Folder for SQLite drill files (default `state_dir/drill`).
    pub sqlite_dir: PathBuf,
}

impl DrillConfig {
    pub fn server(&self, engine: Engine) -> Option<&Connection> {
        match engine {
            Engine::Postgres => self.postgres.as_ref(),
            Engine::Mysql => self.mysql.as_ref(),
            Engine::Mariadb => self.mariadb.as_ref(),
            Engine::Sqlite => None,
            #[cfg(feature = "simulation")]
            Engine::Synthetic => None,
        }
    }
}

/// A drill assertion: `sql` returns one value, which must be `>= min` and/or `== equals`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    pub sql: String,
    /// Only for backups of this database; all databases of the schedule when absent.
    pub database: Option<String>,
    pub min: Option<f64>,
    pub equals: Option<String>,
}

/// One `[[source]]`.
#[derive(Debug)]
pub struct SourceConfig {
    pub name: String,
    pub engine: Engine,
    pub databases: Vec<String>,
    pub exclude_databases: Vec<String>,
    pub exclude_tables: Vec<String>,
    pub max_replica_lag: Option<std::time::Duration>,
    pub connection: Connection,
    /// Agent labels this source is pinned to: only daemons with one of them back it up.
    /// Empty: any agent.
    pub agents: Vec<String>,
    /// PostgreSQL point-in-time recovery: backups are base backups of the whole cluster
    /// (database `*`), and the server archives its WAL with `dbward wal push`.
    pub pitr: bool,
    /// What health and drills expect of a `pitr = true` source's WAL archive.
    pub pitr_settings: PitrSettings,
    /// `globals = true`: each backup run also backs up the server's roles, memberships,
    /// tablespaces and database owners and settings as the database `*globals*` (F23).
    pub globals: Option<GlobalsConfig>,
}

/// How a source's server-wide objects are backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalsConfig {
    /// `globals_passwords` (default true): the roles' password hashes are kept, so that a
    /// rebuilt server lets the same logins in.
    pub passwords: bool,
}

/// What health and drills expect of a `pitr = true` source's WAL archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitrSettings {
    /// `wal_archive_interval`: the longest time between two archived WAL files before
    /// `status` reports `archiving` (set the server's `archive_timeout` below it).
    pub wal_archive_interval: std::time::Duration,
    /// `pitr_drill_marker`: the PITR drill writes a marker row into a dbward-owned table on
    /// the source and checks the recovered copy holds exactly the markers up to its target.
    pub drill_marker: bool,
}

impl Default for PitrSettings {
    fn default() -> Self {
        PitrSettings {
            wal_archive_interval: DEFAULT_WAL_ARCHIVE_INTERVAL,
            drill_marker: false,
        }
    }
}

/// `wal_archive_interval` when none is set: an hour.
pub const DEFAULT_WAL_ARCHIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

impl SourceConfig {
    /// Whether an agent with `labels` may back this source up.
    pub fn served_by(&self, labels: &[String]) -> bool {
        self.agents.is_empty() || self.agents.iter().any(|a| labels.contains(a))
    }
}

impl SourceConfig {
    /// The server (or file) this source names, as the catalog binds the name to it. A server
    /// reached on this machine's own loopback or socket, and a SQLite file, are this host's:
    /// their address carries `host`, so the same name on two hosts never means one server.
    pub fn address(&self, host: &str) -> SourceAddress {
        let engine = self.engine.as_str();
        match &self.connection {
            Connection::File { path } => SourceAddress {
                text: format!("{engine}:{} on {host}", path.display()),
                local: true,
            },
            Connection::Server {
                socket: Some(socket),
                ..
            } => SourceAddress {
                text: format!("{engine}:{} on {host}", socket.display()),
                local: true,
            },
            Connection::Server {
                host: server, port, ..
            } => {
                let local = server.is_empty()
                    || server.eq_ignore_ascii_case("localhost")
                    || server
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                let text = format!("{engine}://{server}:{port}");
                SourceAddress {
                    text: if local {
                        format!("{text} on {host}")
                    } else {
                        text
                    },
                    local,
                }
            }
            // The same generated source on every host of a fleet.
            #[cfg(feature = "simulation")]
            Connection::Synthetic(_) => SourceAddress {
                text: format!("{engine}://{}", self.name),
                local: false,
            },
        }
    }
}

/// Where a source's server is, for the catalog's source bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress {
    pub text: String,
    /// Reached on this host only (loopback, socket, file).
    pub local: bool,
}

/// How to reach a source, by engine. One per source, made once: the size of the `Server`
/// variant costs nothing worth a box.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Connection {
    Server {
        host: String,
        port: u16,
        user: String,
        password: Option<SecretString>,
        socket: Option<PathBuf>,
        tool_dir: Option<PathBuf>,
        /// PostgreSQL only: `custom` or `plain`.
        format: Option<String>,
        maintenance_database: Option<String>,
        tls: dbward_core::tls::TlsSettings,
    },
    File {
        path: PathBuf,
    },
    /// `engine = "synthetic"`: dumps generated by dbward itself (simulations only).
    #[cfg(feature = "simulation")]
    Synthetic(Synthetic),
}

/// The keys of a synthetic source.
#[cfg(feature = "simulation")]
#[derive(Debug, Clone, Copy)]
pub struct Synthetic {
    pub databases: u32,
    pub dump_bytes: u64,
    pub dump_delay: std::time::Duration,
}

/// One `[[destination]]`.
#[derive(Debug)]
pub struct DestinationConfig {
    pub name: String,
    pub kind: DestinationKind,
    pub verify_upload: VerifyUpload,
}

#[derive(Debug)]
pub enum DestinationKind {
    Fs { path: PathBuf },
    S3(dbward_destination::S3Settings),
    Sftp(dbward_destination::SftpSettings),
    Gcs(dbward_destination::GcsSettings),
    Azblob(dbward_destination::AzblobSettings),
    Webdav(dbward_destination::WebdavSettings),
}

/// How deep a verification goes (`verify --level`, and a schedule's `verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum VerifyLevel {
    Checksum,
    Structural,
    Drill,
}

impl VerifyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyLevel::Checksum => "checksum",
            VerifyLevel::Structural => "structural",
            VerifyLevel::Drill => "drill",
        }
    }
}

/// How each copy is read back after upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyUpload {
    Size,
    Checksum,
}

/// Compression codec of the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Zstd {
        level: i32,
    },
    /// zstd at a level that follows the machine (`compression_level = "auto"`).
    ZstdAuto,
    Gzip {
        level: u32,
    },
    None,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd { .. } | Compression::ZstdAuto => "zstd",
            Compression::Gzip { .. } => "gzip",
            Compression::None => "none",
        }
    }

    /// The extension layer it adds (`zst`, `gz`), none for `none`.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::Zstd { .. } | Compression::ZstdAuto => Some("zst"),
            Compression::Gzip { .. } => Some("gz"),
            Compression::None => None,
        }
    }
}

/// GFS retention counts (applied by `prune`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

/// One `[[schedule]]`, or the implicit one used when a config has none.
#[derive(Debug)]
pub struct ScheduleConfig {
    pub name: String,
    pub cron: Option<croner::Cron>,
    pub timezone: chrono_tz::Tz,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    pub compression: Compression,
    pub min_dump_bytes: u64,
    /// Copies that must commit for `succeeded`; fewer (but some) is `degraded`. Default: all.
    pub min_copies: Option<usize>,
    pub retention: Option<Retention>,
    pub rpo: Option<std::time::Duration>,
    /// Recovery time objective, judged by `status` against the newest passed drill.
    pub rto: Option<std::time::Duration>,
    /// When restore drills are owed (`status` checks that one passed since each fire).
    pub drill: Option<croner::Cron>,
    /// Verification `backup` runs on each backup of this schedule right after it.
    pub verify: Option<VerifyLevel>,
    pub asserts: Vec<Assertion>,
}

impl Config {
    /// Finds the config file: `--config`, then `$DBWARD_CONFIG`, then the default locations.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
        if let Some(path) = explicit {
            return Ok(path.to_path_buf());
        }
        if let Some(path) = std::env::var_os("DBWARD_CONFIG").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        DEFAULT_LOCATIONS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or_else(|| ConfigError {
                file: DEFAULT_LOCATIONS.join(", "),
                message: "no config file found; pass --config PATH, set DBWARD_CONFIG, or run `dbward init`".into(),
            })
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            message: format!("cannot read config file: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let fail = |message: String| ConfigError {
            file: file.clone(),
            message,
        };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Relative paths in the file are relative to the file, whatever the working folder.
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        let deferred = secret::Deferred::default();
        let mut config = raw::validate(raw, &base, &deferred).map_err(fail)?;
        config.file = path.to_path_buf();
        config.unresolved_secrets = deferred.into_errors();
        Ok(config)
    }

    /// Fails, as loading did before secrets were deferred, when a connection secret could
    /// not be read. Every command but `list`, `show` and `status` calls it.
    pub fn require_secrets(&self) -> Result<(), ConfigError> {
        match self.unresolved_secrets.first() {
            Some(message) => Err(ConfigError {
                file: self.file.display().to_string(),
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }

    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn destination(&self, name: &str) -> Option<&DestinationConfig> {
        self.destinations.iter().find(|d| d.name == name)
    }

    /// Where the catalog lives.
    pub fn catalog_path(&self) -> PathBuf {
        self.state_dir.join("catalog.db")
    }
}

#[cfg(test)]
mod tests;
