//! `[daemon]` and `[http]`: how `dbward daemon` paces its work (catch-up, jitter, job limits,
//! the audit, prune and status cadence, the stop grace) and where it serves `/metrics`.
//! Other commands read neither table.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::parse_duration;

/// `[daemon]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDaemon {
    catch_up: Option<String>,
    jitter: Option<String>,
    max_jobs: Option<usize>,
    max_jobs_per_source: Option<usize>,
    max_jobs_per_destination: Option<usize>,
    audit: Option<String>,
    prune: Option<String>,
    timezone: Option<String>,
    status_every: Option<String>,
    grace: Option<String>,
    heartbeat: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

/// `[http]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    listen: Option<String>,
    trust_proxy: Option<bool>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

/// When `audit` runs by default: daily at 03:30 (in `[daemon] timezone`).
pub const DEFAULT_AUDIT: &str = "0 30 3 * * *";
/// When `prune` runs by default: daily at 04:30, after the audit.
pub const DEFAULT_PRUNE: &str = "0 30 4 * * *";
/// How often a daemon beats its heartbeat by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// Where `[http]` listens when it names no address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9187";

/// `[daemon]`, validated, with its defaults.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// How far back a missed fire is still run once at start-up; `None`: one interval of
    /// the fire's own cron.
    pub catch_up: Option<Duration>,
    /// Each fire starts up to this much later (a fixed offset per schedule and fire).
    pub jitter: Duration,
    /// Backups running at once across all schedules.
    pub max_jobs: usize,
    /// Backups of one source running at once.
    pub max_jobs_per_source: usize,
    /// Backups writing to one destination at once; `None`: only `max_jobs` bounds them.
    pub max_jobs_per_destination: Option<usize>,
    /// When `audit` runs; `None` when set to "off".
    pub audit: Option<croner::Cron>,
    /// When `prune` runs; `None` when set to "off".
    pub prune: Option<croner::Cron>,
    /// The time zone of `audit` and `prune`.
    pub timezone: chrono_tz::Tz,
    /// How often health is judged and alerts are told what changed.
    pub status_every: Duration,
    /// How long running jobs may finish after SIGTERM before they are cancelled.
    pub grace: Duration,
    /// How often the daemon beats its heartbeat in the catalog; it counts as dead after
    /// missing three (`policy::fleet`).
    pub heartbeat: Duration,
    /// This daemon's labels: it serves the sources whose `agents` name one of them, and
    /// every source without `agents`.
    pub labels: Vec<String>,
}

/// `[http]`, validated: the listener is on only when the table is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Believe a reverse proxy's `X-Forwarded-Proto` (session cookies become `Secure` over
    /// HTTPS) and `X-Forwarded-For` (the login limit counts the browser's address).
    pub trust_proxy: bool,
    /// `tls_cert` and `tls_key`: serve HTTPS with this certificate (chain) and key, PEM
    /// files read when the listener starts (a new certificate takes a restart).
    pub tls: Option<TlsFiles>,
}

/// The certificate chain and private key of the listener's TLS, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

fn key(table: &str, k: &str) -> String {
    format!("[{table}] key `{k}`")
}

/// Validates `[daemon]` (absent: every default). `parallelism` is `max_jobs`'s default.
pub(super) fn validate_daemon(
    raw: Option<RawDaemon>,
    parallelism: usize,
) -> Result<DaemonConfig, String> {
    let raw = raw.unwrap_or(RawDaemon {
        catch_up: None,
        jitter: None,
        max_jobs: None,
        max_jobs_per_source: None,
        max_jobs_per_destination: None,
        audit: None,
        prune: None,
        timezone: None,
        status_every: None,
        grace: None,
        heartbeat: None,
        labels: Vec::new(),
    });
    let duration = |k: &str, value: Option<&str>| {
        value
            .map(|v| parse_duration(v).map_err(|e| format!("{}: {e}", key("daemon", k))))
            .transpose()
    };
    let positive = |k: &str, value: Option<usize>| match value {
        Some(0) => Err(format!("{}: expected at least 1", key("daemon", k))),
        value => Ok(value),
    };
    let at_least_one = |k: &str, value: Option<usize>, default: usize| {
        positive(k, value).map(|n| n.unwrap_or(default))
    };
    let cron = |k: &str, value: Option<&str>, default: &str| match value.unwrap_or(default) {
        "off" => Ok(None),
        text => croner::Cron::from_str(text).map(Some).map_err(|e| {
            format!(
                "{}: invalid cron expression {text:?}: {e} (or \"off\")",
                key("daemon", k)
            )
        }),
    };
    let status_every =
        duration("status_every", raw.status_every.as_deref())?.unwrap_or(Duration::from_secs(300));
    if status_every.is_zero() {
        return Err(format!(
            "{}: expected at least 1s",
            key("daemon", "status_every")
        ));
    }
    let timezone = match raw.timezone.as_deref() {
        None => chrono_tz::UTC,
        Some(tz) => tz.parse().map_err(|_| {
            format!(
                "{}: unknown time zone {tz:?}; expected an IANA name like \"Europe/Berlin\"",
                key("daemon", "timezone")
            )
        })?,
    };
    validate_labels(&raw.labels, &key("daemon", "labels"))?;
    let heartbeat = duration("heartbeat", raw.heartbeat.as_deref())?.unwrap_or(DEFAULT_HEARTBEAT);
    if heartbeat < Duration::from_secs(1) {
        return Err(format!(
            "{}: expected at least 1s",
            key("daemon", "heartbeat")
        ));
    }
    Ok(DaemonConfig {
        catch_up: duration("catch_up", raw.catch_up.as_deref())?,
        jitter: duration("jitter", raw.jitter.as_deref())?.unwrap_or_default(),
        max_jobs: at_least_one("max_jobs", raw.max_jobs, parallelism)?,
        max_jobs_per_source: at_least_one("max_jobs_per_source", raw.max_jobs_per_source, 1)?,
        max_jobs_per_destination: positive(
            "max_jobs_per_destination",
            raw.max_jobs_per_destination,
        )?,
        audit: cron("audit", raw.audit.as_deref(), DEFAULT_AUDIT)?,
        prune: cron("prune", raw.prune.as_deref(), DEFAULT_PRUNE)?,
        timezone,
        status_every,
        grace: duration("grace", raw.grace.as_deref())?.unwrap_or(Duration::from_secs(300)),
        heartbeat,
        labels: raw.labels,
    })
}

/// Agent labels (`[daemon] labels`, a source's `agents`): letters, digits, `-`, `_`, `.`.
pub(super) fn validate_labels(labels: &[String], what: &str) -> Result<(), String> {
    for label in labels {
        let valid = !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(format!(
                "{what}: {label:?}: expected letters, digits, '-', '_' or '.'"
            ));
        }
    }
    Ok(())
}

/// Validates `[http]`: absent is off; present without `listen` is the loopback default.
/// Relative `tls_cert` and `tls_key` are anchored at `base`, the config file's folder.
pub(super) fn validate_http(
    raw: Option<RawHttp>,
    base: &std::path::Path,
) -> Result<Option<HttpConfig>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = parse_listen(text).map_err(|e| format!("{}: {e}", key("http", "listen")))?;
    let tls = match (raw.tls_cert, raw.tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: super::raw::anchored(base, &cert),
            key: super::raw::anchored(base, &key),
        }),
        (Some(_), None) => {
            return Err(format!(
                "{}: required with `tls_cert` (the certificate's private key, PEM)",
                key("http", "tls_key")
            ));
        }
        (None, Some(_)) => {
            return Err(format!(
                "{}: required with `tls_key` (the certificate chain, PEM)",
                key("http", "tls_cert")
            ));
        }
    };
    Ok(Some(HttpConfig {
        listen,
        trust_proxy: raw.trust_proxy.unwrap_or(false),
        tls,
    }))
}

/// An address to listen on, `HOST:PORT` with HOST an IP address (`127.0.0.1:9187`,
/// `[::1]:9187`, `0.0.0.0:9187`).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!("{text:?} is not an address to listen on; expected IP:PORT like \"127.0.0.1:9187\"")
    })
}
