//! The Overview: every schedule × database coloured by state, with counts at the top,
//! filters by source, agent (the one that took the newest good backup) and state as a plain
//! GET form (works without JavaScript), and `overview.js`, a small embedded script that
//! refreshes the counts and the table in place every [`REFRESH_SECONDS`] without reloading
//! the page (progressive enhancement: without it, the page is simply static).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::Web;
use super::layout::{page_with_script, segment, state, state_name, when};
use super::pages::{Page, failure, html, visitor};
use crate::engine::{agents, status};
use crate::policy::health::{Problem, State as Health};

/// How often the embedded script refreshes the overview.
pub const REFRESH_SECONDS: u32 = 15;

/// The script, served at `/assets/overview.js` (the CSP allows scripts from this origin only).
const SCRIPT: &str = include_str!("overview.js");

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct OverviewFilter {
    source: Option<String>,
    agent: Option<String>,
    state: Option<String>,
}

pub async fn overview(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(filter): Query<OverviewFilter>,
) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let now = Utc::now();
    let report = status::run(&ctx, now).await.map_err(failure)?;
    let fleet = agents::list(&ctx).await.map_err(failure)?;
    let source = filter.source.filter(|s| !s.is_empty());
    let agent = filter.agent.filter(|s| !s.is_empty());
    let wanted = filter.state.filter(|s| !s.is_empty());
    let shown: Vec<_> = report
        .databases
        .iter()
        .filter(|d| source.as_ref().is_none_or(|s| *s == d.source))
        .filter(|d| {
            agent.as_ref().is_none_or(|a| {
                d.last_good
                    .as_ref()
                    .and_then(|g| g.agent.as_ref())
                    .is_some_and(|got| got.id == *a)
            })
        })
        .filter(|d| wanted.as_deref().is_none_or(|w| w == state_name(d.state)))
        .collect();
    let count = |s: Health| shown.iter().filter(|d| d.state == s).count();
    let problems = |source: &str, database: Option<&str>| -> Vec<&Problem> {
        report
            .problems
            .iter()
            .filter(|p| p.source == source && p.database.as_deref() == database)
            .collect()
    };
    let host = |id: &str| -> String {
        fleet
            .agents
            .iter()
            .find(|a| a.record.id == id)
            .map_or_else(|| id.to_string(), |a| a.record.host.clone())
    };
    let body = html! {
        h1 { "Overview " (state(report.state)) }
        form.filters method="get" action="/" {
            div {
                label for="source" { "Source" }
                select id="source" name="source" {
                    option value="" { "All" }
                    @for s in &ctx.config.sources {
                        option value=(s.name) selected[source.as_deref() == Some(&s.name)] { (s.name) }
                    }
                }
            }
            div {
                label for="agent" { "Agent" }
                select id="agent" name="agent" {
                    option value="" { "All" }
                    @for a in &fleet.agents {
                        option value=(a.record.id) selected[agent.as_deref() == Some(&a.record.id)] {
                            (a.record.host) " (" (a.record.kind) ", " (a.record.id) ")"
                        }
                    }
                }
            }
            div {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "All" }
                    @for s in [Health::Critical, Health::Warning, Health::Ok, Health::Unknown] {
                        option value=(state_name(s)) selected[wanted.as_deref() == Some(state_name(s))] { (s.label()) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        div #overview-live data-refresh-seconds=(REFRESH_SECONDS) {
            ul.counts aria-label="Databases shown by state" {
                li { strong { (shown.len()) } " of " (report.databases.len()) " databases" }
                li { span.state.state-critical { (count(Health::Critical)) } " critical" }
                li { span.state.state-warning { (count(Health::Warning)) } " warning" }
                li { span.state.state-ok { (count(Health::Ok)) } " ok" }
                @if count(Health::Unknown) > 0 { li { span.state.state-unknown { (count(Health::Unknown)) } " unknown" } }
            }
            div.scroll {
                table {
                    caption.muted { (shown.len()) " of " (report.databases.len()) " shown, as of " (now.format("%Y-%m-%d %H:%M:%S UTC")) }
                    thead { tr {
                        th scope="col" { "Database" } th scope="col" { "State" }
                        th scope="col" { "Schedules" } th scope="col" { "Last good backup" }
                        th scope="col" { "Last drill" } th scope="col" { "Problem" }
                    } }
                    tbody {
                        @for d in &shown {
                            tr class={"row-" (state_name(d.state))} {
                                td {
                                    @match &d.database {
                                        Some(db) => a href={"/db/" (segment(&d.source)) "/" (segment(db))} { (d.source) "/" (db) },
                                        None => { (d.source) "/*" },
                                    }
                                }
                                td { (state(d.state)) }
                                td { (d.schedules.join(", ")) }
                                td {
                                    @match &d.last_good {
                                        Some(g) => { a href={"/backup/" (segment(&g.id))} { (when(g.started_at, now)) }
                                            br; span.muted { (g.copies) " copies, " (g.off_host_copies) " off-host"
                                                @if let Some(by) = &g.agent { ", by " (host(&by.id)) } } },
                                        None => span.muted { "never" },
                                    }
                                }
                                td.drill { @match d.last_drill { Some(at) => (when(at, now)), None => span.muted { "never" } } }
                                td {
                                    @for p in problems(&d.source, d.database.as_deref()) {
                                        div { strong { (p.kind.as_str()) } ": " (p.message) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @let general = report.problems.iter().filter(|p| p.database.is_none() && !shown.iter().any(|d| d.database.is_none() && d.source == p.source)).collect::<Vec<_>>();
            @if !general.is_empty() {
                h2 { "Other problems" }
                ul { @for p in general { li { strong { (p.kind.as_str()) } " " (p.source) ": " (p.message) } } }
            }
        }
    };
    Ok(html(page_with_script(
        "Overview",
        Some(&who),
        body,
        Some("/assets/overview.js"),
    )))
}
