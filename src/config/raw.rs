//! The config file as written (serde structs that reject unknown keys) and its validation into
//! the typed `Config`. Messages name the table, the key and what is expected.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dbward_core::Engine;
use dbward_core::secret::SecretString;
use dbward_destination::{
    AzblobSettings, GcsSettings, KnownHosts, S3Settings, SftpSettings, Tuning, WebdavSettings,
};
use serde::Deserialize;

use super::daemon::{RawDaemon, RawHttp, validate_daemon, validate_http};
use super::secret::{Deferred, SecretRef};
use super::tls::{RawTls, validate_tls};
use super::{
    AlertConfig, AlertKind, Assertion, Compression, Config, Connection, DestinationConfig,
    DestinationKind, DrillConfig, EncryptionConfig, EncryptionMode, IntegrityConfig, Retention,
    ScheduleConfig, SourceConfig, VerifyLevel, VerifyUpload, parse_duration, parse_size,
};
use crate::policy::health::Kind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    state_dir: Option<String>,
    log_file: Option<String>,
    log_keep: Option<usize>,
    parallelism: Option<usize>,
    #[serde(default)]
    catalog: Option<RawCatalog>,
    #[serde(default)]
    source: Vec<RawSource>,
    #[serde(default)]
    destination: Vec<RawDestination>,
    #[serde(default)]
    schedule: Vec<RawSchedule>,
    drill: Option<RawDrill>,
    encryption: Option<RawEncryption>,
    #[serde(default)]
    alert: Vec<RawAlert>,
    integrity: Option<RawIntegrity>,
    daemon: Option<RawDaemon>,
    http: Option<RawHttp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntegrity {
    signing_key: Option<String>,
    #[serde(default)]
    trusted_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    url: Option<SecretRef>,
    on: Option<Vec<String>>,
    repeat: Option<String>,
    from: Option<String>,
    to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncryption {
    #[serde(default)]
    recipients: Vec<String>,
    passphrase: Option<SecretRef>,
    identity: Option<RawIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrill {
    postgres: Option<RawServer>,
    mysql: Option<RawServer>,
    mariadb: Option<RawServer>,
    sqlite_dir: Option<String>,
}

/// Where drills of one engine restore, when not into the source itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<SecretRef>,
    socket: Option<String>,
    tool_dir: Option<String>,
    tls: Option<String>,
    ca_file: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssert {
    sql: String,
    database: Option<String>,
    min: Option<f64>,
    equals: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    url: Option<SecretRef>,
    lease_ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    engine: String,
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    password: Option<SecretRef>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    verify_upload: Option<String>,
    // fs
    path: Option<String>,
    // s3, gcs, azblob
    bucket: Option<String>,
    container: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    prefix: Option<String>,
    access_key_id: Option<SecretRef>,
    secret_access_key: Option<SecretRef>,
    path_style: Option<bool>,
    credential: Option<SecretRef>,
    credential_path: Option<String>,
    anonymous: Option<bool>,
    account_name: Option<String>,
    account_key: Option<SecretRef>,
    sas_token: Option<SecretRef>,
    // sftp, webdav
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    key_file: Option<String>,
    root: Option<String>,
    known_hosts: Option<String>,
    username: Option<String>,
    password: Option<SecretRef>,
    token: Option<SecretRef>,
    // uploads
    part_size: Option<String>,
    upload_concurrency: Option<usize>,
}

impl RawDestination {
    /// The keys that are set, for the "not used by type" check.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut mark = |key: &'static str, set: bool| {
            if set {
                keys.push(key);
            }
        };
        mark("path", self.path.is_some());
        mark("bucket", self.bucket.is_some());
        mark("container", self.container.is_some());
        mark("endpoint", self.endpoint.is_some());
        mark("region", self.region.is_some());
        mark("prefix", self.prefix.is_some());
        mark("access_key_id", self.access_key_id.is_some());
        mark("secret_access_key", self.secret_access_key.is_some());
        mark("path_style", self.path_style.is_some());
        mark("credential", self.credential.is_some());
        mark("credential_path", self.credential_path.is_some());
        mark("anonymous", self.anonymous.is_some());
        mark("account_name", self.account_name.is_some());
        mark("account_key", self.account_key.is_some());
        mark("sas_token", self.sas_token.is_some());
        mark("host", self.host.is_some());
        mark("port", self.port.is_some());
        mark("user", self.user.is_some());
        mark("key_file", self.key_file.is_some());
        mark("root", self.root.is_some());
        mark("known_hosts", self.known_hosts.is_some());
        mark("username", self.username.is_some());
        mark("password", self.password.is_some());
        mark("token", self.token.is_some());
        mark("part_size", self.part_size.is_some());
        mark("upload_concurrency", self.upload_concurrency.is_some());
        keys
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    name: String,
    cron: Option<String>,
    timezone: Option<String>,
    sources: Vec<String>,
    destinations: Vec<String>,
    compression: Option<String>,
    compression_level: Option<RawLevel>,
    min_dump_bytes: Option<u64>,
    min_copies: Option<usize>,
    retention: Option<RawRetention>,
    rpo: Option<String>,
    rto: Option<String>,
    drill: Option<String>,
    verify: Option<String>,
    #[serde(default, rename = "assert")]
    asserts: Vec<RawAssert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    last: Option<u32>,
    hourly: Option<u32>,
    daily: Option<u32>,
    weekly: Option<u32>,
    monthly: Option<u32>,
    yearly: Option<u32>,
}

/// Names a value for messages: `source "main-pg": key `port``.
fn at(table: &str, name: &str, key: &str) -> String {
    format!("[[{table}]] {name:?}: key `{key}`")
}

pub(super) fn anchored(base: &Path, path: &str) -> PathBuf {
    let expanded = match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(rest))
            .unwrap_or_else(|| PathBuf::from(path)),
        None => PathBuf::from(path),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

fn default_state_dir() -> PathBuf {
    let state_home = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    state_home.join("dbward")
}

fn check_name(table: &str, name: &str, seen: &mut HashSet<String>) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !valid {
        return Err(format!(
            "[[{table}]] name {name:?}: expected letters, digits, '-', '_' or '.' (not first)"
        ));
    }
    if !seen.insert(name.to_string()) {
        return Err(format!("[[{table}]] name {name:?} is used twice"));
    }
    Ok(())
}

/// Names the keys whose secret is written inline (never the values).
fn inline_secrets(raw: &RawConfig) -> Vec<String> {
    let inline = |s: &Option<SecretRef>| matches!(s, Some(SecretRef::Inline(_)));
    let mut keys: Vec<String> = raw
        .source
        .iter()
        .filter(|s| inline(&s.password))
        .map(|s| format!("[[source]] {:?} password", s.name))
        .collect();
    if raw.catalog.as_ref().is_some_and(|c| inline(&c.url)) {
        keys.push("[catalog] url".into());
    }
    if let Some(drill) = &raw.drill {
        for (engine, server) in [
            ("postgres", &drill.postgres),
            ("mysql", &drill.mysql),
            ("mariadb", &drill.mariadb),
        ] {
            if server.as_ref().is_some_and(|s| inline(&s.password)) {
                keys.push(format!("[drill] {engine} password"));
            }
        }
    }
    for d in &raw.destination {
        for (key, secret) in [
            ("access_key_id", &d.access_key_id),
            ("secret_access_key", &d.secret_access_key),
            ("credential", &d.credential),
            ("account_key", &d.account_key),
            ("sas_token", &d.sas_token),
            ("password", &d.password),
            ("token", &d.token),
        ] {
            if inline(secret) {
                keys.push(format!("[[destination]] {:?} {key}", d.name));
            }
        }
    }
    if raw
        .encryption
        .as_ref()
        .is_some_and(|e| inline(&e.passphrase))
    {
        keys.push("[encryption] passphrase".into());
    }
    for (i, a) in raw.alert.iter().enumerate() {
        if inline(&a.url) {
            keys.push(format!("[[alert]] {:?} url", alert_name(i, a)));
        }
    }
    keys
}

/// An alert's name for messages: its `name`, else `<type>-<position>` (`webhook-1`).
fn alert_name(index: usize, a: &RawAlert) -> String {
    a.name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", a.kind, index + 1))
}

fn validate_alert(index: usize, a: RawAlert, base: &Path) -> Result<AlertConfig, String> {
    let name = alert_name(index, &a);
    let key = |k: &str| at("alert", &name, k);
    let is_email = a.kind == "email";
    for (k, set) in [("from", a.from.is_some()), ("to", a.to.is_some())] {
        if set && !is_email {
            return Err(format!("{}: only for type \"email\"; remove it", key(k)));
        }
    }
    let kind = match a.kind.as_str() {
        "webhook" => AlertKind::Webhook,
        "slack" => AlertKind::Slack,
        "heartbeat" => AlertKind::Heartbeat,
        "email" => {
            let address = |k: &str, v: &str| {
                if v.contains('@') && !v.contains(['\r', '\n']) {
                    Ok(v.to_string())
                } else {
                    Err(format!("{}: {v:?} is not a mail address", key(k)))
                }
            };
            let from = address(
                "from",
                a.from
                    .as_deref()
                    .ok_or_else(|| format!("{}: required", key("from")))?,
            )?;
            let to =
                a.to.as_deref()
                    .filter(|to| !to.is_empty())
                    .ok_or_else(|| format!("{}: required, at least one address", key("to")))?
                    .iter()
                    .map(|t| address("to", t))
                    .collect::<Result<Vec<_>, _>>()?;
            AlertKind::Email { from, to }
        }
        other => {
            return Err(format!(
                "{}: expected \"webhook\", \"slack\", \"email\" or \"heartbeat\", found {other:?}",
                key("type")
            ));
        }
    };
    let url = a
        .url
        .ok_or_else(|| format!("{}: required", key("url")))?
        .resolve(base)
        .map_err(|e| format!("{}: {e}", key("url")))?;
    let schemes: &[&str] = if is_email {
        &["smtp://", "smtps://"]
    } else {
        &["http://", "https://"]
    };
    let scheme_ok = {
        use dbward_core::secret::ExposeSecret;
        let u = url.expose_secret();
        schemes.iter().any(|s| u.starts_with(s))
    };
    if !scheme_ok {
        return Err(format!(
            "{}: expected a URL starting with {}",
            key("url"),
            schemes.join(" or ")
        ));
    }
    let on = match a.on {
        None => Kind::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                Kind::parse(n).ok_or_else(|| {
                    format!(
                        "{}: unknown problem kind {n:?}; expected some of {}",
                        key("on"),
                        Kind::ALL.map(Kind::as_str).join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let repeat = a
        .repeat
        .as_deref()
        .map(|r| parse_duration(r).map_err(|e| format!("{}: {e}", key("repeat"))))
        .transpose()?
        .unwrap_or(std::time::Duration::from_secs(24 * 3600));
    Ok(AlertConfig {
        name,
        kind,
        url,
        on,
        repeat,
    })
}

/// How long a job's lease outlives its holder's last renewal, by default.
const DEFAULT_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Shorter leases would expire between renewals on a busy catalog.
const MIN_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

pub fn validate(raw: RawConfig, base: &Path, deferred: &Deferred) -> Result<Config, String> {
    let inline_secrets = inline_secrets(&raw);
    let lease_ttl = match raw.catalog.as_ref().and_then(|c| c.lease_ttl.as_deref()) {
        None => DEFAULT_LEASE_TTL,
        Some(text) => match parse_duration(text) {
            Ok(ttl) if ttl >= MIN_LEASE_TTL => ttl,
            Ok(_) => return Err("[catalog] key `lease_ttl`: expected at least 2s".into()),
            Err(e) => return Err(format!("[catalog] key `lease_ttl`: {e}")),
        },
    };
    let catalog_url = raw
        .catalog
        .and_then(|c| c.url)
        .map(|url| validate_catalog_url(&url, base))
        .transpose()?;
    let parallelism = raw.parallelism.unwrap_or(2);
    if parallelism == 0 {
        return Err("key `parallelism`: expected at least 1".into());
    }
    let state_dir = raw
        .state_dir
        .map(|p| anchored(base, &p))
        .unwrap_or_else(default_state_dir);

    let mut names = HashSet::new();
    let sources = raw
        .source
        .into_iter()
        .map(|s| {
            check_name("source", &s.name, &mut names)?;
            validate_source(s, base, deferred)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut names = HashSet::new();
    let destinations = raw
        .destination
        .into_iter()
        .map(|d| {
            check_name("destination", &d.name, &mut names)?;
            validate_destination(d, base, deferred)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut names = HashSet::new();
    let mut schedules = raw
        .schedule
        .into_iter()
        .map(|s| {
            check_name("schedule", &s.name, &mut names)?;
            validate_schedule(s, &sources, &destinations)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if schedules.is_empty() && !sources.is_empty() && !destinations.is_empty() {
        schedules.push(ScheduleConfig {
            name: "default".into(),
            cron: None,
            timezone: chrono_tz::UTC,
            sources: sources.iter().map(|s| s.name.clone()).collect(),
            destinations: destinations.iter().map(|d| d.name.clone()).collect(),
            compression: Compression::Zstd { level: 3 },
            min_dump_bytes: 1,
            min_copies: None,
            retention: None,
            rpo: None,
            rto: None,
            drill: None,
            verify: None,
            asserts: Vec::new(),
        });
    }
    let drill = validate_drill(raw.drill, base, &state_dir, deferred)?;
    let mut names = HashSet::new();
    let alerts = raw
        .alert
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            check_name("alert", &alert_name(i, &a), &mut names)?;
            validate_alert(i, a, base)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let encryption = raw
        .encryption
        .map(|e| validate_encryption(e, base, deferred))
        .transpose()?;
    if let Some(EncryptionConfig {
        mode: EncryptionMode::Recipients(_),
        identity_file: None,
    }) = &encryption
        && let Some(s) = schedules
            .iter()
            .find(|s| s.verify.is_some_and(|l| l != VerifyLevel::Checksum))
    {
        return Err(format!(
            "{}: {:?} reads the encrypted backups, and [encryption] has only public recipients; set [encryption] identity = {{ file = \"...\" }}, or verify = \"checksum\"",
            at("schedule", &s.name, "verify"),
            s.verify.map(VerifyLevel::as_str).unwrap_or_default()
        ));
    }

    // A drill restores into a database; a base backup restores only into a directory.
    if let Some((schedule, source)) = schedules
        .iter()
        .filter(|s| s.verify == Some(VerifyLevel::Drill))
        .find_map(|s| {
            s.sources
                .iter()
                .find(|name| {
                    sources
                        .iter()
                        .any(|src| src.pitr && src.engine == Engine::Postgres && &src.name == *name)
                })
                .map(|source| (s, source))
        })
    {
        return Err(format!(
            "{}: \"drill\" cannot restore the base backups of source {source:?} (pitr = true) into a database; use \"structural\" or \"checksum\" (the schedule's `drill` cron runs its PITR drill, `verify --pitr`)",
            at("schedule", &schedule.name, "verify")
        ));
    }

    let integrity = validate_integrity(raw.integrity, base, &state_dir)?;
    let daemon = validate_daemon(raw.daemon, parallelism)?;
    let http = validate_http(raw.http, base)?;

    Ok(Config {
        file: PathBuf::new(),
        integrity,
        state_dir,
        log_file: raw.log_file.map(|p| anchored(base, &p)),
        log_keep: raw.log_keep.unwrap_or(14),
        parallelism,
        sources,
        destinations,
        schedules,
        drill,
        encryption,
        alerts,
        catalog_url,
        daemon,
        http,
        lease_ttl,
        inline_secrets,
        unresolved_secrets: Vec::new(),
    })
}

fn validate_integrity(
    raw: Option<RawIntegrity>,
    base: &Path,
    state_dir: &Path,
) -> Result<IntegrityConfig, String> {
    let raw = raw.unwrap_or(RawIntegrity {
        signing_key: None,
        trusted_keys: Vec::new(),
    });
    let trusted_keys = raw
        .trusted_keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            dbward_core::signing::PublicKey::parse(k)
                .map_err(|e| format!("[integrity] key `trusted_keys` entry {}: {e}", i + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IntegrityConfig {
        signing_key: raw
            .signing_key
            .map(|p| anchored(base, &p))
            .unwrap_or_else(|| state_dir.join("keys/signing.key")),
        trusted_keys,
    })
}

/// `[catalog] url`: a PostgreSQL URL, which holds a password, so neither it nor its parse
/// error (which could quote it) is ever shown.
fn validate_catalog_url(url: &SecretRef, base: &Path) -> Result<SecretString, String> {
    use dbward_core::secret::ExposeSecret;
    let key = "[catalog] key `url`";
    let url = url.resolve(base).map_err(|e| format!("{key}: {e}"))?;
    let text = url.expose_secret();
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err(format!(
            "{key}: expected postgres://user:password@host:port/database (a PostgreSQL catalog; without `url` the catalog is the SQLite file in state_dir)"
        ));
    }
    Ok(url)
}

fn validate_encryption(
    raw: RawEncryption,
    base: &Path,
    deferred: &Deferred,
) -> Result<EncryptionConfig, String> {
    let recipients = raw
        .recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.parse::<age::x25519::Recipient>().map_err(|e| {
                format!("[encryption] key `recipients` entry {}: {r:?} is not an age recipient (age1...): {e}", i + 1)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let passphrase = raw
        .passphrase
        .as_ref()
        .map(|p| deferred.resolve(p, base, "[encryption] key `passphrase`"));
    let mode = match (recipients.is_empty(), passphrase) {
        (false, None) => EncryptionMode::Recipients(recipients),
        (true, Some(passphrase)) => EncryptionMode::Passphrase(passphrase),
        (true, None) => {
            return Err("[encryption]: set `recipients` (age public keys) or `passphrase`".into());
        }
        (false, Some(_)) => {
            return Err("[encryption]: set `recipients` or `passphrase`, not both".into());
        }
    };
    Ok(EncryptionConfig {
        mode,
        identity_file: raw.identity.map(|i| anchored(base, &i.file)),
    })
}

fn validate_drill(
    raw: Option<RawDrill>,
    base: &Path,
    state_dir: &Path,
    deferred: &Deferred,
) -> Result<DrillConfig, String> {
    let raw = raw.unwrap_or(RawDrill {
        postgres: None,
        mysql: None,
        mariadb: None,
        sqlite_dir: None,
    });
    let server =
        |engine: Engine, server: Option<RawServer>| -> Result<Option<Connection>, String> {
            let Some(s) = server else { return Ok(None) };
            let key = format!("[drill] key `{engine}`");
            let postgres = engine == Engine::Postgres;
            if postgres && s.socket.is_some() {
                return Err(format!(
                    "{key}: `socket` is not used by engine postgres; remove it"
                ));
            }
            let password = s
                .password
                .as_ref()
                .map(|p| deferred.resolve(p, base, &format!("{key}: password")));
            let tls_key = |k: &str| format!("{key}: `{k}`");
            let tls = validate_tls(
                RawTls {
                    tls: s.tls.as_deref(),
                    ca_file: s.ca_file.as_deref(),
                    client_cert: s.client_cert.as_deref(),
                    client_key: s.client_key.as_deref(),
                },
                base,
                &tls_key,
            )?;
            Ok(Some(Connection::Server {
                host: s.host.unwrap_or_else(|| "127.0.0.1".into()),
                port: s.port.unwrap_or(if postgres { 5432 } else { 3306 }),
                user: s
                    .user
                    .unwrap_or_else(|| if postgres { "postgres" } else { "root" }.into()),
                password,
                socket: s.socket.as_deref().map(|p| anchored(base, p)),
                tool_dir: s.tool_dir.as_deref().map(|p| anchored(base, p)),
                format: None,
                maintenance_database: None,
                tls,
            }))
        };
    Ok(DrillConfig {
        postgres: server(Engine::Postgres, raw.postgres)?,
        mysql: server(Engine::Mysql, raw.mysql)?,
        mariadb: server(Engine::Mariadb, raw.mariadb)?,
        sqlite_dir: raw
            .sqlite_dir
            .map(|p| anchored(base, &p))
            .unwrap_or_else(|| state_dir.join("drill")),
    })
}

fn validate_source(s: RawSource, base: &Path, deferred: &Deferred) -> Result<SourceConfig, String> {
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

fn validate_destination(
    d: RawDestination,
    base: &Path,
    deferred: &Deferred,
) -> Result<DestinationConfig, String> {
    let key = |k: &str| at("destination", &d.name, k);
    let allowed: &[&str] = match d.kind.as_str() {
        "fs" => &["path"],
        "s3" => &[
            "bucket",
            "endpoint",
            "region",
            "prefix",
            "access_key_id",
            "secret_access_key",
            "path_style",
            "part_size",
            "upload_concurrency",
        ],
        "sftp" => &[
            "host",
            "port",
            "user",
            "key_file",
            "root",
            "known_hosts",
            "part_size",
        ],
        "gcs" => &[
            "bucket",
            "prefix",
            "credential",
            "credential_path",
            "anonymous",
            "endpoint",
            "part_size",
            "upload_concurrency",
        ],
        "azblob" => &[
            "container",
            "endpoint",
            "prefix",
            "account_name",
            "account_key",
            "sas_token",
            "part_size",
            "upload_concurrency",
        ],
        "webdav" => &["endpoint", "root", "username", "password", "token"],
        other => {
            return Err(format!(
                "{}: unknown type {other:?}; expected \"fs\", \"s3\", \"sftp\", \"gcs\", \"azblob\" or \"webdav\"",
                key("type")
            ));
        }
    };
    if let Some(extra) = d.set_keys().into_iter().find(|k| !allowed.contains(k)) {
        return Err(format!(
            "{}: not used by type {:?}; remove it",
            key(extra),
            d.kind
        ));
    }
    let required = |k: &str, v: &Option<String>| -> Result<String, String> {
        v.clone()
            .ok_or_else(|| format!("{}: required for type {:?}", key(k), d.kind))
    };
    let secret = |k: &str, v: &Option<SecretRef>| -> Option<SecretString> {
        v.as_ref().map(|s| deferred.resolve(s, base, &key(k)))
    };
    let mut tuning = Tuning::default();
    if let Some(size) = &d.part_size {
        tuning.part_size = parse_size(size).map_err(|e| format!("{}: {e}", key("part_size")))?;
    }
    if let Some(n) = d.upload_concurrency {
        if n == 0 {
            return Err(format!(
                "{}: expected at least 1",
                key("upload_concurrency")
            ));
        }
        tuning.upload_concurrency = n;
    }
    let name = d.name.clone();
    let kind = match d.kind.as_str() {
        "fs" => DestinationKind::Fs {
            path: anchored(base, &required("path", &d.path)?),
        },
        "s3" => DestinationKind::S3(S3Settings {
            name,
            bucket: required("bucket", &d.bucket)?,
            path_style: d.path_style.unwrap_or(d.endpoint.is_some()),
            endpoint: d.endpoint.clone(),
            region: d.region.clone(),
            prefix: d.prefix.clone().unwrap_or_default(),
            access_key_id: secret("access_key_id", &d.access_key_id),
            secret_access_key: secret("secret_access_key", &d.secret_access_key),
            tuning,
        }),
        "sftp" => DestinationKind::Sftp(SftpSettings {
            name,
            host: required("host", &d.host)?,
            port: d.port,
            user: required("user", &d.user)?,
            key_file: d.key_file.as_deref().map(|p| anchored(base, p)),
            root: d.root.clone().unwrap_or_else(|| "/".into()),
            known_hosts: match d.known_hosts.as_deref() {
                None => KnownHosts::Strict,
                Some(v) => KnownHosts::parse(v).ok_or_else(|| {
                    format!(
                        "{}: expected \"strict\", \"accept-new\" or \"accept-any\", found {v:?}",
                        key("known_hosts")
                    )
                })?,
            },
            tuning,
        }),
        "gcs"
            if d.anonymous == Some(true)
                && (d.credential.is_some() || d.credential_path.is_some()) =>
        {
            return Err(format!(
                "{}: unsigned requests take no credential or credential_path; remove one or the other",
                key("anonymous")
            ));
        }
        "gcs" => DestinationKind::Gcs(GcsSettings {
            name,
            bucket: required("bucket", &d.bucket)?,
            prefix: d.prefix.clone().unwrap_or_default(),
            credential: secret("credential", &d.credential),
            credential_path: d.credential_path.as_deref().map(|p| anchored(base, p)),
            endpoint: d.endpoint.clone(),
            anonymous: d.anonymous.unwrap_or(false),
            tuning,
        }),
        "azblob" => DestinationKind::Azblob(AzblobSettings {
            name,
            container: required("container", &d.container)?,
            endpoint: required("endpoint", &d.endpoint)?,
            prefix: d.prefix.clone().unwrap_or_default(),
            account_name: d.account_name.clone(),
            account_key: secret("account_key", &d.account_key),
            sas_token: secret("sas_token", &d.sas_token),
            tuning,
        }),
        _ => DestinationKind::Webdav(WebdavSettings {
            name,
            endpoint: required("endpoint", &d.endpoint)?,
            root: d.root.clone().unwrap_or_else(|| "/".into()),
            username: d.username.clone(),
            password: secret("password", &d.password),
            token: secret("token", &d.token),
            tuning,
        }),
    };
    let verify_upload = match d.verify_upload.as_deref() {
        None | Some("size") => VerifyUpload::Size,
        Some("checksum") => VerifyUpload::Checksum,
        Some(other) => {
            return Err(format!(
                "{}: expected \"size\" or \"checksum\", found {other:?}",
                key("verify_upload")
            ));
        }
    };
    Ok(DestinationConfig {
        name: d.name,
        kind,
        verify_upload,
    })
}

fn validate_schedule(
    s: RawSchedule,
    sources: &[SourceConfig],
    destinations: &[DestinationConfig],
) -> Result<ScheduleConfig, String> {
    let key = |k: &str| at("schedule", &s.name, k);
    let cron_at = |name: &str, expr: Option<&str>| {
        expr.map(|c| {
            croner::Cron::from_str(c)
                .map_err(|e| format!("{}: invalid cron expression {c:?}: {e}", key(name)))
        })
        .transpose()
    };
    let cron = cron_at("cron", s.cron.as_deref())?;
    let drill = cron_at("drill", s.drill.as_deref())?;
    let timezone = match s.timezone.as_deref() {
        None => chrono_tz::UTC,
        Some(tz) => tz.parse().map_err(|_| {
            format!(
                "{}: unknown time zone {tz:?}; expected an IANA name like \"Europe/Berlin\"",
                key("timezone")
            )
        })?,
    };
    if s.sources.is_empty() {
        return Err(format!("{}: expected at least one source", key("sources")));
    }
    for name in &s.sources {
        if !sources.iter().any(|src| &src.name == name) {
            return Err(format!("{}: no [[source]] named {name:?}", key("sources")));
        }
    }
    if s.destinations.is_empty() {
        return Err(format!(
            "{}: expected at least one destination",
            key("destinations")
        ));
    }
    for name in &s.destinations {
        if !destinations.iter().any(|d| &d.name == name) {
            return Err(format!(
                "{}: no [[destination]] named {name:?}",
                key("destinations")
            ));
        }
    }
    let compression = compression(s.compression.as_deref(), s.compression_level, &key)?;
    let retention = s.retention.map(|r| Retention {
        last: r.last.unwrap_or(0),
        hourly: r.hourly.unwrap_or(0),
        daily: r.daily.unwrap_or(0),
        weekly: r.weekly.unwrap_or(0),
        monthly: r.monthly.unwrap_or(0),
        yearly: r.yearly.unwrap_or(0),
    });
    if retention
        .as_ref()
        .is_some_and(|r| *r == Retention::default())
    {
        return Err(format!(
            "{}: keeps nothing; set at least one of last, hourly, daily, weekly, monthly, yearly",
            key("retention")
        ));
    }
    let objective = |name: &str, value: Option<&str>| {
        value
            .map(|v| parse_duration(v).map_err(|e| format!("{}: {e}", key(name))))
            .transpose()
    };
    let rpo = objective("rpo", s.rpo.as_deref())?;
    let rto = objective("rto", s.rto.as_deref())?;
    if let Some(n) = s.min_copies
        && (n == 0 || n > s.destinations.len())
    {
        return Err(format!(
            "{}: expected 1 to {} (the number of destinations)",
            key("min_copies"),
            s.destinations.len()
        ));
    }
    let asserts = s
        .asserts
        .into_iter()
        .map(|a| {
            if a.min.is_none() && a.equals.is_none() {
                return Err(format!(
                    "{}: {:?} needs `min` or `equals`",
                    key("assert"),
                    a.sql
                ));
            }
            Ok(Assertion {
                sql: a.sql,
                database: a.database,
                min: a.min,
                equals: a.equals,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let verify = match s.verify.as_deref() {
        None => None,
        Some("checksum") => Some(VerifyLevel::Checksum),
        Some("structural") => Some(VerifyLevel::Structural),
        Some("drill") => Some(VerifyLevel::Drill),
        Some(other) => {
            return Err(format!(
                "{}: expected \"checksum\", \"structural\" or \"drill\", found {other:?}",
                key("verify")
            ));
        }
    };
    Ok(ScheduleConfig {
        asserts,
        cron,
        drill,
        verify,
        timezone,
        compression,
        min_dump_bytes: s.min_dump_bytes.unwrap_or(1),
        min_copies: s.min_copies,
        retention,
        rpo,
        rto,
        sources: s.sources,
        destinations: s.destinations,
        name: s.name,
    })
}

/// `compression` and `compression_level` of a schedule.
fn compression(
    name: Option<&str>,
    level: Option<RawLevel>,
    key: &dyn Fn(&str) -> String,
) -> Result<Compression, String> {
    let zstd = matches!(name, None | Some("zstd"));
    let level = match level {
        None => None,
        Some(RawLevel::Number(n)) => Some(n),
        Some(RawLevel::Text(text)) if zstd && text == "auto" => return Ok(Compression::ZstdAuto),
        Some(RawLevel::Text(text)) => {
            let expected = if zstd {
                "1 to 19 or \"auto\""
            } else {
                "a number"
            };
            return Err(format!(
                "{}: expected {expected}, found {text:?}",
                key("compression_level")
            ));
        }
    };
    Ok(match (name, level) {
        (None | Some("zstd"), level) => {
            let level = level.unwrap_or(3);
            if !(1..=19).contains(&level) {
                return Err(format!("{}: zstd takes 1 to 19", key("compression_level")));
            }
            Compression::Zstd { level }
        }
        (Some("gzip"), level) => {
            let level = level.unwrap_or(6);
            if !(1..=9).contains(&level) {
                return Err(format!("{}: gzip takes 1 to 9", key("compression_level")));
            }
            Compression::Gzip {
                level: level as u32,
            }
        }
        (Some("none"), None) => Compression::None,
        (Some("none"), Some(_)) => {
            return Err(format!(
                "{}: not used with compression \"none\"",
                key("compression_level")
            ));
        }
        (Some(other), _) => {
            return Err(format!(
                "{}: expected \"zstd\", \"gzip\" or \"none\", found {other:?}",
                key("compression")
            ));
        }
    })
}

/// `compression_level` as written: a number, or `"auto"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawLevel {
    Number(i32),
    Text(String),
}
