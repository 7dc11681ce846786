//! The Problems page: every current problem with its kind, database, since when it has held,
//! and the alerts delivered (or failed) for it — the same report as `GET /api/v1/problems`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use maud::html;

use super::Web;
use super::layout::{page, segment, when};
use super::pages::{Page, failure, html, visitor};
use crate::engine::problems::{self, DeliveryState};
use crate::policy::health::Severity;

pub async fn problems_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let now = Utc::now();
    let report = problems::run(&ctx, now).await.map_err(failure)?;
    let body = html! {
        h1 { "Problems" }
        @if report.problems.is_empty() { p.notice role="status" { "No problem: every database is healthy." } }
        @else {
            p { (report.problems.len()) " current problems, worst first." }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "Kind" } th scope="col" { "Database" } th scope="col" { "Since" }
                    th scope="col" { "Problem" } th scope="col" { "Alerts" }
                } }
                tbody { @for p in &report.problems { tr class={"row-" (severity_name(p.problem.severity))} {
                    td { span class={"state state-" (severity_name(p.problem.severity))} { (p.problem.kind.as_str()) } }
                    td {
                        @match &p.problem.database {
                            Some(db) => a href={"/db/" (segment(&p.problem.source)) "/" (segment(db))} { (p.problem.source) "/" (db) },
                            None => { (p.problem.source) "/*" },
                        }
                        @if let Some(s) = &p.problem.schedule { br; span.muted { (s) } }
                    }
                    td { @match p.since { Some(at) => (when(at, now)), None => span.muted { "unknown" } } }
                    td { (p.problem.message) }
                    td {
                        @if p.alerts.is_empty() { span.muted { "none told" } }
                        @for a in &p.alerts { div {
                            @match a.state {
                                DeliveryState::Delivered => { (a.channel) ": delivered " (when(a.at, now)) },
                                DeliveryState::Failed => { span.error { (a.channel) ": FAILED " } (when(a.at, now)) @if let Some(e) = &a.error { br; span.muted { (e) } } },
                            }
                        } }
                    }
                } } }
            } }
        }
    };
    Ok(html(page("Problems", Some(&who), body)))
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}
