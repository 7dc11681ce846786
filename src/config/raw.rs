//! The config file as written (serde structs that reject unknown keys) and its validation into
//! the typed `Config`. Messages name the table, the key and what is expected. Sources,
//! destinations and schedules have their own modules (`raw_source`, `raw_destination`,
//! `raw_schedule`); this one holds the rest and the shared helpers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use dbward_core::Engine;
use dbward_core::secret::SecretString;
use serde::Deserialize;

use super::daemon::{RawDaemon, RawHttp, validate_daemon, validate_http};
use super::raw_destination::{RawDestination, validate_destination};
use super::raw_schedule::{RawSchedule, validate_schedule};
use super::raw_source::{RawSource, validate_source};
use super::secret::{Deferred, SecretRef};
use super::tls::{RawTls, validate_tls};
use super::{
    AlertConfig, AlertKind, Compression, Config, Connection, DrillConfig, EncryptionConfig,
    EncryptionMode, IntegrityConfig, ScheduleConfig, VerifyLevel, parse_duration,
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
struct RawCatalog {
    url: Option<SecretRef>,
    lease_ttl: Option<String>,
}

/// Names a value for messages: `source "main-pg": key `port``.
pub(super) fn at(table: &str, name: &str, key: &str) -> String {
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
