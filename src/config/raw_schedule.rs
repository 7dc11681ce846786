//! `[[schedule]]` as written and its validation into `ScheduleConfig`: cron, sources and
//! destinations, compression, retention, objectives, asserts and verification.

use std::str::FromStr;

use serde::Deserialize;

use super::raw::at;
use super::{
    Assertion, Compression, DestinationConfig, Retention, ScheduleConfig, SourceConfig,
    VerifyLevel, parse_duration,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) name: String,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssert {
    sql: String,
    database: Option<String>,
    min: Option<f64>,
    equals: Option<String>,
}

pub(super) fn validate_schedule(
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
