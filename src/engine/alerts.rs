//! Alerts: sends health problems (`status`'s report) to each `[[alert]]` (webhook, Slack,
//! email) when they change —
//! a new problem, a worse one, one resolved — and again after `repeat` while one stays open;
//! pings heartbeats while nothing is critical. What each channel was told is kept in the
//! catalog, so that `backup`, `verify` and `status` runs (from cron, or a monitoring system)
//! alert once per change, not on every run.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbward_catalog::{Claim, Lease};
use dbward_core::secret::ExposeSecret;
use serde::Serialize;
use serde_json::json;

use super::Context;
use super::status::StatusReport;
use crate::config::{AlertConfig, AlertKind};
use crate::policy::health::{Problem, Severity};

/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the alerts did in one evaluation.
#[derive(Debug, Default, Serialize)]
pub struct AlertReport {
    /// `<alert>: <n> firing, <m> resolved` or `<alert>: heartbeat`, per delivery.
    pub sent: Vec<String>,
    /// Deliveries that failed; their changes are sent again at the next evaluation.
    pub errors: Vec<String>,
}

/// The changes one channel is to be told.
#[derive(Debug, Default, PartialEq)]
pub struct Changes<'a> {
    pub firing: Vec<&'a Problem>,
    /// Keys of problems told before and gone now.
    pub resolved: Vec<String>,
}

/// A problem's identity across runs: kind, source, database and schedule.
pub fn problem_key(p: &Problem) -> String {
    format!(
        "{}|{}|{}|{}",
        p.kind.as_str(),
        p.source,
        p.database.as_deref().unwrap_or("*"),
        p.schedule.as_deref().unwrap_or("-")
    )
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// What to tell a channel: problems of its kinds that are new, worse or better than last
/// told, or told longer than `repeat` ago; and those told before that are gone. Pure.
pub fn changes<'a>(
    alert: &AlertConfig,
    problems: &'a [Problem],
    told: &BTreeMap<String, (String, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Changes<'a> {
    let repeat = chrono::Duration::from_std(alert.repeat).unwrap_or(chrono::Duration::MAX);
    let relevant: Vec<&Problem> = problems
        .iter()
        .filter(|p| alert.on.contains(&p.kind))
        .collect();
    let firing = relevant
        .iter()
        .copied()
        .filter(|p| match told.get(&problem_key(p)) {
            None => true,
            Some((severity, sent)) => {
                severity != severity_name(p.severity) || now - *sent >= repeat
            }
        })
        .collect();
    let open: Vec<String> = relevant.iter().map(|p| problem_key(p)).collect();
    let resolved = told.keys().filter(|k| !open.contains(k)).cloned().collect();
    Changes { firing, resolved }
}

/// Held by one evaluation at a time in this process while it judges, reads what each channel
/// was told, tells it and records that: runs ending together (the daemon's backups, drills
/// and health cadence) then never tell one change twice, nor an older judgement after a
/// newer one.
static TELLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The catalog lease an agent holds while it tells the alerts, as [`TELLING`] is held in one
/// process: agents sharing a catalog (a fleet of daemons, a command run beside a daemon) then
/// tell each change once, each reading what the other recorded as told.
const TELLING_LEASE: &str = "alerts";

/// How often an agent waiting for [`TELLING_LEASE`] asks again.
const TELLING_RETRY: Duration = Duration::from_millis(250);

/// Takes [`TELLING_LEASE`], waiting while another agent (or another process of this one)
/// tells. Its lifetime covers every channel's delivery, so it is never renewed; a holder that
/// died is waited out.
async fn take_telling(ctx: &Context) -> anyhow::Result<Lease> {
    let deliveries = u32::try_from(ctx.config.alerts.len()).unwrap_or(u32::MAX);
    let ttl = ctx.config.lease_ttl + DELIVERY_TIMEOUT.saturating_mul(deliveries.saturating_add(1));
    let give_up = tokio::time::Instant::now() + ttl;
    loop {
        match ctx
            .catalog
            .try_claim(TELLING_LEASE, &ctx.agent, ttl, false)
            .await?
        {
            Claim::Acquired { lease, .. } => return Ok(lease),
            Claim::Held(holder) if tokio::time::Instant::now() >= give_up => anyhow::bail!(
                "alerts not told this time: {holder} has been telling them for longer than {} s \
                 (the next judgement tells what changed)",
                ttl.as_secs()
            ),
            Claim::Held(_) => tokio::time::sleep(TELLING_RETRY).await,
        }
    }
}

/// Gives [`TELLING_LEASE`] up (when that fails, it expires by itself).
async fn release_telling(ctx: &Context, lease: &Lease) {
    if let Err(e) = ctx.catalog.release(lease).await {
        tracing::warn!("cannot release the alerts lease (it expires by itself): {e}");
    }
}

/// After a command that changes health (`backup`, `verify`): judges it and tells the alerts
/// what changed. Nothing at all without `[[alert]]`s.
pub async fn after_command(ctx: &Context) -> anyhow::Result<AlertReport> {
    if ctx.config.alerts.is_empty() {
        return Ok(AlertReport::default());
    }
    let _telling = TELLING.lock().await;
    let lease = take_telling(ctx).await?;
    let now = Utc::now();
    let told = match super::status::run(ctx, now).await {
        Ok(report) => Ok(tell_all(ctx, &report, now).await),
        Err(e) => Err(e),
    };
    release_telling(ctx, &lease).await;
    told
}

/// [`after_command`], for a command whose work is already recorded: a failure to judge or
/// alert (a catalog that broke meanwhile, say) becomes one of the report's errors, so that it
/// never hides what the command did.
pub async fn after_recorded_work(ctx: &Context) -> AlertReport {
    after_command(ctx).await.unwrap_or_else(|e| {
        let mut none = AlertReport::default();
        none.errors.push(format!("alerts were not judged: {e:#}"));
        none
    })
}

/// Tells every `[[alert]]` what changed in `report`. Delivery failures are reported, never
/// fatal: the command that ran still says what it did.
pub async fn notify(ctx: &Context, report: &StatusReport, now: DateTime<Utc>) -> AlertReport {
    if ctx.config.alerts.is_empty() {
        return AlertReport::default();
    }
    let _telling = TELLING.lock().await;
    let lease = match take_telling(ctx).await {
        Ok(lease) => lease,
        Err(e) => {
            let mut none = AlertReport::default();
            none.errors.push(format!("{e:#}"));
            return none;
        }
    };
    let told = tell_all(ctx, report, now).await;
    release_telling(ctx, &lease).await;
    told
}

/// [`notify`], holding [`TELLING`].
async fn tell_all(ctx: &Context, report: &StatusReport, now: DateTime<Utc>) -> AlertReport {
    let mut out = AlertReport::default();
    if ctx.config.alerts.is_empty() {
        return out;
    }
    dbward_core::tls::install_crypto_provider();
    let client = match reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).build() {
        Ok(client) => client,
        Err(e) => {
            out.errors.push(format!("cannot start an HTTP client: {e}"));
            return out;
        }
    };
    for alert in &ctx.config.alerts {
        let result = match alert.kind {
            AlertKind::Heartbeat => heartbeat(&client, alert, report).await,
            _ => tell(ctx, &client, alert, report, now).await,
        };
        match result {
            Ok(Some(sent)) => {
                tracing::info!(alert = %alert.name, "{sent}");
                out.sent.push(format!("{}: {sent}", alert.name));
            }
            Ok(None) => {}
            Err(e) => {
                let error = format!("alert {}: {e}", alert.name);
                tracing::error!("{error}");
                out.errors.push(error);
            }
        }
    }
    out
}

/// Pings a heartbeat while none of its kinds is critical.
async fn heartbeat(
    client: &reqwest::Client,
    alert: &AlertConfig,
    report: &StatusReport,
) -> Result<Option<String>, String> {
    let critical = report
        .problems
        .iter()
        .any(|p| p.severity == Severity::Critical && alert.on.contains(&p.kind));
    if critical {
        return Ok(None);
    }
    let response = client.get(alert.url.expose_secret()).send().await;
    delivered(response).map(|()| Some("heartbeat".into()))
}

async fn tell(
    ctx: &Context,
    client: &reqwest::Client,
    alert: &AlertConfig,
    report: &StatusReport,
    now: DateTime<Utc>,
) -> Result<Option<String>, String> {
    let told = ctx
        .catalog
        .alert_state(&alert.name)
        .await
        .map_err(|e| e.to_string())?;
    let changes = changes(alert, &report.problems, &told, now);
    if changes.firing.is_empty() && changes.resolved.is_empty() {
        return Ok(None);
    }
    let text = change_text(&ctx.agent.agent.host, &changes);
    let delivery = match &alert.kind {
        AlertKind::Email { from, to } => {
            let subject = format!(
                "dbward on {}: {}: {} firing, {} resolved",
                ctx.agent.agent.host,
                report.state.label(),
                changes.firing.len(),
                changes.resolved.len()
            );
            send_mail(alert, from, to, &subject, text).await
        }
        AlertKind::Slack => post(client, alert, json!({ "text": text })).await,
        _ => {
            let body = json!({
                "host": ctx.agent.agent.host,
                "state": report.state,
                "firing": changes.firing,
                "resolved": changes.resolved,
                "at": now,
            });
            post(client, alert, body).await
        }
    };
    let firing: Vec<(String, String)> = changes
        .firing
        .iter()
        .map(|p| (problem_key(p), severity_name(p.severity).to_string()))
        .collect();
    if let Err(error) = delivery {
        // Kept for the dashboard's problems page until a delivery of the problem succeeds.
        let keys: Vec<String> = firing.iter().map(|(key, _)| key.clone()).collect();
        if let Err(e) = ctx
            .catalog
            .alert_failed(&alert.name, &keys, &error, now)
            .await
        {
            tracing::warn!(
                "cannot record the failed delivery of alert {}: {e}",
                alert.name
            );
        }
        return Err(error);
    }
    ctx.catalog
        .alert_sent(
            &alert.name,
            &firing,
            &changes.resolved,
            now,
            &ctx.agent.agent.id,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(format!(
        "{} firing, {} resolved",
        changes.firing.len(),
        changes.resolved.len()
    )))
}

async fn post(
    client: &reqwest::Client,
    alert: &AlertConfig,
    body: serde_json::Value,
) -> Result<(), String> {
    let response = client
        .post(alert.url.expose_secret())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    delivered(response)
}

async fn send_mail(
    alert: &AlertConfig,
    from: &str,
    to: &[String],
    subject: &str,
    body: String,
) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let mailbox = |a: &str| {
        a.parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("{a:?} is not a mail address: {e}"))
    };
    let mut message = Message::builder().from(mailbox(from)?).subject(subject);
    for address in to {
        message = message.to(mailbox(address)?);
    }
    let message = message
        .body(body)
        .map_err(|e| format!("cannot build the mail: {e}"))?;
    // The URL holds the SMTP credentials: its parse error is not repeated.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(alert.url.expose_secret())
        .map_err(|_| "url is not a valid smtp:// or smtps:// URL".to_string())?
        .timeout(Some(DELIVERY_TIMEOUT))
        .build();
    transport.send(message).await.map(drop).map_err(|e| {
        format!(
            "cannot deliver the mail: {e}; check the SMTP server, its credentials and the addresses"
        )
    })
}

/// For `check`: whether the alert's host accepts a connection. Nothing is sent (a test
/// message would reach people); the path and query, where tokens live, are not shown.
pub async fn reachable(alert: &AlertConfig) -> Result<String, String> {
    let url = reqwest::Url::parse(alert.url.expose_secret())
        .map_err(|e| format!("url is not a valid URL ({e})"))?;
    let host = url.host_str().ok_or("url has no host")?.to_string();
    let port = match (url.port_or_known_default(), url.scheme()) {
        (Some(port), _) => port,
        (None, "smtps") => 465,
        (None, "smtp") => 25,
        _ => return Err("url has no port".into()),
    };
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(DELIVERY_TIMEOUT, connect).await {
        Ok(Ok(_)) => Ok(format!(
            "{host}:{port} accepts connections (nothing was sent)"
        )),
        Ok(Err(e)) => Err(format!("cannot connect to {host}:{port}: {e}")),
        Err(_) => Err(format!(
            "cannot connect to {host}:{port}: no answer in {} s",
            DELIVERY_TIMEOUT.as_secs()
        )),
    }
}

/// The outcome of one request, with the URL (a secret: tokens live in it) left out.
fn delivered(response: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match response {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!(
            "the receiver answered HTTP {}; check the alert's url",
            r.status()
        )),
        Err(e) => Err(format!(
            "cannot deliver: {}; check that the receiver is up",
            describe(&e.without_url())
        )),
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// One line per change, for people reading a channel or a mail.
fn change_text(host: &str, changes: &Changes) -> String {
    let mut lines = vec![format!("dbward on {host}:")];
    for p in &changes.firing {
        lines.push(format!(
            "• {} {} {}/{}: {}",
            severity_name(p.severity).to_uppercase(),
            p.kind.as_str(),
            p.source,
            p.database.as_deref().unwrap_or("*"),
            p.message
        ));
    }
    for key in &changes.resolved {
        lines.push(format!("• RESOLVED {}", key.replace('|', " ")));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::health::Kind;

    fn alert(on: &[Kind]) -> AlertConfig {
        AlertConfig {
            name: "hook".into(),
            kind: AlertKind::Webhook,
            url: "http://127.0.0.1:9/".to_string().into(),
            on: on.to_vec(),
            repeat: Duration::from_secs(3600),
        }
    }

    fn problem(kind: Kind, severity: Severity, database: &str) -> Problem {
        Problem {
            kind,
            severity,
            schedule: None,
            source: "pg".into(),
            database: Some(database.into()),
            message: "m".into(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn only_changes_and_repeats_are_sent() {
        let now = at("2026-03-10T12:00:00Z");
        let failed = problem(Kind::Failed, Severity::Critical, "app");
        let stale = problem(Kind::Stale, Severity::Warning, "crm");
        let copies = problem(Kind::Copies, Severity::Warning, "app");
        let problems = vec![failed.clone(), stale.clone(), copies];
        let hook = alert(&[Kind::Failed, Kind::Stale]);
        let told =
            |entries: &[(&Problem, &str, &str)]| -> BTreeMap<String, (String, DateTime<Utc>)> {
                entries
                    .iter()
                    .map(|(p, s, when)| (problem_key(p), (s.to_string(), at(when))))
                    .collect()
            };
        // Nothing told yet: both kinds it is on fire, `copies` is not its business.
        let first = changes(&hook, &problems, &BTreeMap::new(), now);
        assert_eq!(first.firing, [&failed, &stale]);
        assert!(first.resolved.is_empty());
        // Told recently, same severities: nothing to send.
        let recent = told(&[
            (&failed, "critical", "2026-03-10T11:30:00Z"),
            (&stale, "warning", "2026-03-10T11:30:00Z"),
        ]);
        assert_eq!(changes(&hook, &problems, &recent, now), Changes::default());
        // Told long ago: repeated. Told as a warning, now critical: sent.
        let old = told(&[
            (&failed, "critical", "2026-03-10T10:59:00Z"),
            (&stale, "critical", "2026-03-10T11:30:00Z"),
        ]);
        assert_eq!(
            changes(&hook, &problems, &old, now).firing,
            [&failed, &stale]
        );
        // Gone since: resolved.
        let gone = problem(Kind::Failed, Severity::Critical, "old_db");
        let before = told(&[(&gone, "critical", "2026-03-10T11:30:00Z")]);
        let resolved = changes(&hook, &problems, &before, now);
        assert_eq!(resolved.resolved, [problem_key(&gone)]);
    }

    #[test]
    fn change_text_names_each_change() {
        let failed = problem(Kind::Failed, Severity::Critical, "app");
        let text = change_text(
            "db1",
            &Changes {
                firing: vec![&failed],
                resolved: vec!["stale|pg|crm|nightly".into()],
            },
        );
        assert_eq!(
            text,
            "dbward on db1:\n• CRITICAL failed pg/app: m\n• RESOLVED stale pg crm nightly"
        );
    }
}
