//! The dashboard's pages and their routes: Database (its backups and drills, charts of sizes,
//! durations and row counts with failures and size anomalies marked, the restore command, "Back up now" and "Drill now" for operators), Backup
//! (manifest, tables, warnings, copies, verifications, "Verify" and "Acknowledge lost" for
//! operators), Fleet and the audit log (the Overview, Problems and Destinations have files of
//! their own). Each reads through the engine; anonymous visitors are sent to the login page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{self, Principal};
use super::layout::{page, segment, shell_quote, when};
use super::{Web, chart};
use crate::catalog::{BackupRecord, CopyStatus};
use crate::engine::{access, actions, agents, history, show};

/// Backups a database page shows (and charts).
const DATABASE_HISTORY: u32 = 100;
/// Drills a database page lists.
const DRILL_HISTORY: u32 = 20;
/// Audit log entries the audit page shows.
const AUDIT_ENTRIES: u32 = 200;

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/", get(super::overview::overview))
        .route("/assets/overview.js", get(super::overview::script))
        .route("/db/{source}/{database}", get(database))
        .route("/backup/{id}", get(backup))
        .route("/fleet", get(fleet))
        .route("/audit", get(audit))
        .route("/problems", get(super::problems::problems_page))
        .route("/destinations", get(super::destinations::destinations_page))
        .merge(super::actions::routes())
        .merge(super::session::routes())
}

/// A page's outcome: the page, or the response that replaces it (login, error).
pub type Page = Result<Response, Response>;

/// The principal of a page request, or the redirect to the login page.
pub async fn visitor(web: &Web, headers: &HeaderMap) -> Result<Principal, Response> {
    match auth::principal(web, headers).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(failure(e)),
    }
}

/// A failure as a page: its one line (catalog errors never hold a password).
pub fn failure(e: anyhow::Error) -> Response {
    tracing::error!("web: {e:#}");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!("{e:#}"),
    )
}

/// A short page that says one thing, with `status`.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body =
        html! { h1 { (title) } p.notice { (text) } p { a href="/" { "Back to the overview" } } };
    (
        status,
        axum::response::Html(page(title, None, body).into_string()),
    )
        .into_response()
}

pub fn html(markup: Markup) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(markup.into_string()),
    )
        .into_response()
}

/// What the page says after an action's form sent the browser back to it.
#[derive(Debug, Deserialize)]
struct Notice {
    started: Option<String>,
}

impl Notice {
    fn text(&self) -> Option<&'static str> {
        Some(match self.started.as_deref()? {
            "backup" => {
                "Backup started. It appears below when it has been recorded; reload the page."
            }
            "drill" => {
                "Drill started on the newest good backup. Its outcome appears in the Verified column when it has been recorded; reload the page."
            }
            "verify" => {
                "Verification started. It appears under Verifications when it has been recorded; reload the page."
            }
            "acknowledged" => "The lost copy is acknowledged: it no longer counts as a problem.",
            _ => return None,
        })
    }
}

/// Milliseconds as seconds, for people.
fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// An operator's button: a form posting the session's CSRF token to `action`.
fn action_button(who: &Principal, action: &str, label: &str) -> Markup {
    html! {
        @if let (true, Some(csrf)) = (who.may_act(), &who.csrf) {
            form.inline method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                button.primary type="submit" { (label) }
            }
        }
    }
}

async fn database(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path((source, database)): Path<(String, String)>,
    Query(notice): Query<Notice>,
) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let history = history::of(&ctx, &source, &database, DATABASE_HISTORY, DRILL_HISTORY)
        .await
        .map_err(failure)?;
    let backups: Vec<&BackupRecord> = history.backups.iter().map(|e| &e.backup).collect();
    let drills = &history.drills;
    let now = Utc::now();
    let configured = ctx.config.source(&source).is_some();
    let has_good = backups
        .iter()
        .any(|b| b.copies.iter().any(|c| c.status == CopyStatus::Committed));
    let title = format!("{source}/{database}");
    let restore = format!(
        "dbward restore --latest --source {} --database {}",
        shell_quote(&source),
        shell_quote(&database)
    );
    let body = html! {
        h1 { (title) }
        @if let Some(text) = notice.text() { p.notice role="status" { (text) } }
        @if configured && actions::plain_name(&database) {
            div.actions {
                (action_button(&who, &format!("/db/{}/{}/backup", segment(&source), segment(&database)), "Back up now"))
                @if has_good {
                    (action_button(&who, &format!("/db/{}/{}/drill", segment(&source), segment(&database)), "Drill now"))
                }
            }
        }
        h2 { "Restore the newest good backup" }
        pre { code { (restore) } }
        @if backups.is_empty() { p.muted { "No backups recorded." } }
        @else {
            @for series in chart::Series::OF_BACKUPS {
                h2 { (series.title()) " per backup" }
                (chart::chart(&chart::of_backups(&history.backups, series), series))
            }
        }
        h2 { "Restore drills" }
        @if drills.is_empty() { p.muted { "No restore drill yet." } }
        @else {
            (chart::chart(&chart::of_drills(drills), chart::Series::RestoreTime))
            div.scroll { table {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Backup" } th scope="col" { "Outcome" }
                    th scope="col" { "Restore time" } th scope="col" { "Whole drill" }
                } }
                tbody { @for d in drills { tr {
                    td { (when(d.at, now)) }
                    td { a href={"/backup/" (segment(&d.backup_id))} { code { (d.backup_id) } } }
                    td { @if d.ok { "passed" } @else { strong.error { "FAILED" } } }
                    td { @match d.restore_ms { Some(ms) => (seconds(ms)), None => span.muted { "-" } } }
                    td { @match d.duration_ms { Some(ms) => (seconds(ms)), None => span.muted { "-" } } }
                } } }
            } }
        }
        h2 { "Backups" }
        div.scroll { table #backups {
            thead { tr {
                th scope="col" { "Started" } th scope="col" { "Status" } th scope="col" { "Stored" }
                th scope="col" { "Duration" } th scope="col" { "Rows" } th scope="col" { "Copies" }
                th scope="col" { "Verified" } th scope="col" { "Reason" }
            } }
            tbody { @for e in &history.backups { @let b = &e.backup; tr {
                td { a href={"/backup/" (segment(&b.id))} { (b.started_at.format("%Y-%m-%d %H:%M:%S")) } }
                td { (b.status) }
                td { (crate::cli::output::size(b.stored_bytes)) }
                td { (crate::cli::output::duration(b)) }
                td { @match e.rows { Some(n) => (n), None => span.muted { "-" } } }
                td { @for c in &b.copies { div { (c.destination) ": " (c.status) } } }
                td { (crate::cli::output::verification(b)) }
                td {
                    (b.error.as_deref().unwrap_or(""))
                    @if let Some(why) = &e.anomaly { span.error { "Size anomaly: " (why) } }
                }
            } } }
        } }
    };
    Ok(html(page(&title, Some(&who), body)))
}

async fn backup(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let Some(shown) = show::find(&ctx, &id).await.map_err(failure)? else {
        return Err(message(
            StatusCode::NOT_FOUND,
            "No such backup",
            &format!("The catalog has no backup {id}."),
        ));
    };
    let b = &shown.backup;
    let title = format!("Backup {}", b.id);
    let body = html! {
        h1 { (title) }
        p { a href={"/db/" (segment(&b.source)) "/" (segment(&b.database))} { (b.source) "/" (b.database) } }
        @if let Some(text) = notice.text() { p.notice role="status" { (text) } }
        @if let (true, Some(csrf), true) = (who.may_act(), &who.csrf, b.copies.iter().any(|c| c.status == CopyStatus::Committed)) {
            form.filters method="post" action={"/backup/" (segment(&b.id)) "/verify"} {
                input type="hidden" name="csrf" value=(csrf);
                div {
                    label for="level" { "Verification level" }
                    select id="level" name="level" {
                        option value="checksum" { "checksum" }
                        option value="structural" { "structural" }
                        option value="drill" { "drill" }
                    }
                }
                button.primary type="submit" { "Verify" }
            }
        }
        table { tbody {
            tr { th scope="row" { "Status" } td { (b.status) } }
            @if let Some(e) = &b.error { tr { th scope="row" { "Reason" } td.error { (e) } } }
            tr { th scope="row" { "Started" } td { (b.started_at.format("%Y-%m-%d %H:%M:%S UTC")) } }
            tr { th scope="row" { "Duration" } td { (crate::cli::output::duration(b)) } }
            tr { th scope="row" { "Dump size" } td { (crate::cli::output::size(b.dump_bytes)) } }
            tr { th scope="row" { "Stored size" } td { (crate::cli::output::size(b.stored_bytes)) } }
            tr { th scope="row" { "sha256" } td { code { (b.sha256.as_deref().unwrap_or("-")) } } }
            @if let Some(m) = &shown.manifest {
                tr { th scope="row" { "Server" } td { (m.server_version) } }
                tr { th scope="row" { "Dump tool" } td { (m.dump_tool) " " (m.dump_tool_version) " (" (m.dump_format) ")" } }
                tr { th scope="row" { "Compression" } td { (m.compression) } }
                tr { th scope="row" { "Encryption" } td { (m.encryption.as_deref().unwrap_or("none")) } }
                tr { th scope="row" { "Rows" } td { (m.total_rows()) " in " (m.tables.len()) " tables" } }
            }
        } }
        h2 { "Restore" }
        pre { code { "dbward restore " (shell_quote(&b.id)) } }
        @if !b.warnings.is_empty() {
            h2 { "Warnings" }
            ul { @for w in &b.warnings { li { (w) } } }
        }
        h2 { "Copies" }
        @if b.copies.is_empty() { p.muted { "None." } }
        ul { @for c in &b.copies { li {
            (c.destination) ": " (c.status) " " code { (c.path) } @if let Some(e) = &c.error { " " span.error { (e) } }
            @if c.status == CopyStatus::Missing {
                " " (action_button(&who, &format!("/backup/{}/copies/{}/acknowledge", segment(&b.id), segment(&c.destination)), "Acknowledge lost"))
            }
        } } }
        h2 { "Verifications" }
        @if shown.verifications.is_empty() { p.muted { "Not verified yet." } }
        ul { @for v in &shown.verifications { li {
            (v.level) " " @if v.ok { "passed" } @else { strong.error { "FAILED" } }
            " at " (v.at.format("%Y-%m-%d %H:%M:%S UTC")) " in " (format!("{:.1}", v.duration_ms as f64 / 1000.0)) " s"
        } } }
        @if let Some(m) = &shown.manifest {
            h2 { "Tables" }
            div.scroll { table {
                thead { tr { th scope="col" { "Table" } th scope="col" { "Rows" } } }
                tbody { @for t in &m.tables { tr { td { (t.table) } td { (t.rows) } } } }
            } }
        }
    };
    Ok(html(page(&title, Some(&who), body)))
}

async fn fleet(State(web): State<Arc<Web>>, headers: HeaderMap) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let report = agents::list(&ctx).await.map_err(failure)?;
    let body = html! {
        h1 { "Fleet" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "Agent" } th scope="col" { "Host" } th scope="col" { "Kind" }
                th scope="col" { "Version" } th scope="col" { "Labels" } th scope="col" { "Heartbeat" }
                th scope="col" { "State" } th scope="col" { "Jobs" }
            } }
            tbody { @for a in &report.agents { tr {
                td { code { (a.record.id) } @if a.record.id == report.this_agent { " (this)" } }
                td { (a.record.host) } td { (a.record.kind) } td { (a.record.version) }
                td { (a.record.labels.join(", ")) }
                td { (when(a.record.heartbeat_at, report.now)) }
                td { (a.state) }
                td { (a.record.running_jobs.join(" ")) }
            } } }
        } }
    };
    Ok(html(page("Fleet", Some(&who), body)))
}

async fn audit(State(web): State<Arc<Web>>, headers: HeaderMap) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let entries = access::audit_log(&ctx, AUDIT_ENTRIES)
        .await
        .map_err(failure)?;
    let now = Utc::now();
    let body = html! {
        h1 { "Audit log" }
        @if entries.is_empty() { p.muted { "No actions yet." } }
        div.scroll { table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Target" } } }
            tbody { @for e in &entries { tr {
                td { (when(e.at, now)) } td { (e.actor) " (" (e.actor_kind) ")" } td { (e.action) } td { (e.target) }
            } } }
        } }
    };
    Ok(html(page("Audit log", Some(&who), body)))
}

/// A form whose only field is the session's CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

impl CsrfForm {
    pub fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}
