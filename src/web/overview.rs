//! The Overview: every schedule × database coloured by state, worst first, [`PAGE_ROWS`] a
//! page, with the age of its last good backup against its RPO, its last drill's restore
//! time against its RTO and its copies (on-/off-host, encrypted), counts at the top, filters by source, agent (the one that took the newest good
//! backup) and state as a plain GET form (works without JavaScript), and `overview.js`, a
//! small embedded script that refreshes the counts and the table in place every
//! [`REFRESH_SECONDS`] without reloading the page (progressive enhancement: without it, the
//! page is simply static).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::Web;
use super::layout::{page_with_script, segment, state, state_name, when};
use super::pages::{Page, failure, html, visitor};
use crate::engine::status::DatabaseHealth;
use crate::engine::{agents, status};
use crate::policy::health::{Problem, State as Health};
use crate::policy::span;

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
    /// 1-based; [`PAGE_ROWS`] rows a page.
    page: Option<usize>,
}

/// Rows the overview shows a page, worst first: a page stays light with ten thousand
/// databases.
pub const PAGE_ROWS: usize = 100;

/// The page to show of `rows` rows when `requested` (1-based, clamped), and how many pages.
fn page_of(rows: usize, requested: Option<usize>) -> (usize, usize) {
    let pages = rows.div_ceil(PAGE_ROWS).max(1);
    (requested.unwrap_or(1).clamp(1, pages), pages)
}

/// How bad a state is, worst first.
fn rank(state: Health) -> u8 {
    match state {
        Health::Critical => 0,
        Health::Warning => 1,
        Health::Unknown => 2,
        Health::Ok => 3,
    }
}

/// Seconds as a span for people.
fn seconds_span(seconds: i64) -> String {
    span(Duration::seconds(seconds))
}

/// The age of the last good backup against the strictest RPO: `over` (and said in words, not
/// only in colour) once it is past it.
fn age_vs_rpo(d: &DatabaseHealth) -> Markup {
    let age = d.last_good.as_ref().map(|g| g.age_seconds);
    let over = matches!((age, d.rpo_seconds), (Some(a), Some(r)) if a > r);
    html! {
        td.rpo.over[over] {
            @match age { Some(a) => (seconds_span(a)), None => span.muted { "no good backup" } }
            @match d.rpo_seconds {
                Some(r) => { " of " (seconds_span(r)) @if over { br; strong.error { "past RPO" } } },
                None => { br; span.muted { "no rpo set" } },
            }
        }
    }
}

/// The restore time of the newest passed drill against the strictest RTO.
fn restore_vs_rto(d: &DatabaseHealth) -> Markup {
    let took = d.last_drill_restore_seconds;
    let over = matches!((took, d.rto_seconds), (Some(t), Some(r)) if t > r as f64);
    html! {
        td.rto.over[over] {
            @match took { Some(t) => (format!("{t:.1} s")), None => span.muted { "not measured" } }
            @match d.rto_seconds {
                Some(r) => { " of " (seconds_span(r)) @if over { br; strong.error { "past RTO" } } },
                None => { br; span.muted { "no rto set" } },
            }
        }
    }
}

/// The last good backup's committed copies: on this host (`fs`) and off it, and whether
/// they are encrypted.
fn copies(d: &DatabaseHealth) -> Markup {
    html! {
        td.copies {
            @match &d.last_good {
                Some(g) => {
                    (g.on_host_copies) " on-host, " (g.off_host_copies) " off-host"
                    br;
                    @if g.encrypted_copies == g.copies { "encrypted" }
                    @else if g.encrypted_copies == 0 { span.muted { "not encrypted" } }
                    @else { (g.encrypted_copies) " encrypted" }
                },
                None => span.muted { "none" },
            }
        }
    }
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
    let (page_number, pages) = page_of(shown.len(), filter.page);
    let mut rows = shown.clone();
    // Stable: within a state, the report's order (source, then database).
    rows.sort_by_key(|d| rank(d.state));
    let first_row = (page_number - 1) * PAGE_ROWS;
    let rows: Vec<_> = rows.into_iter().skip(first_row).take(PAGE_ROWS).collect();
    let page_link = |n: usize| -> String {
        let mut query = Vec::new();
        for (key, value) in [("source", &source), ("agent", &agent), ("state", &wanted)] {
            if let Some(value) = value {
                query.push(format!("{key}={}", segment(value)));
            }
        }
        query.push(format!("page={n}"));
        format!("/?{}", query.join("&"))
    };
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
                    caption.muted {
                        @if rows.is_empty() { "none" } @else { (first_row + 1) "–" (first_row + rows.len()) }
                        " of " (shown.len()) " shown (of " (report.databases.len()) "), worst first, as of " (now.format("%Y-%m-%d %H:%M:%S UTC"))
                    }
                    thead { tr {
                        th scope="col" { "Database" } th scope="col" { "State" }
                        th scope="col" { "Schedules" } th scope="col" { "Last good backup" }
                        th scope="col" { "Age vs RPO" } th scope="col" { "Last drill" }
                        th scope="col" { "Restore vs RTO" } th scope="col" { "Copies" }
                        th scope="col" { "Problem" }
                    } }
                    tbody {
                        @for d in &rows {
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
                                            @if let Some(by) = &g.agent { br; span.muted { "by " (host(&by.id)) } } },
                                        None => span.muted { "never" },
                                    }
                                }
                                (age_vs_rpo(d))
                                td.drill { @match d.last_drill { Some(at) => (when(at, now)), None => span.muted { "never" } } }
                                (restore_vs_rto(d))
                                (copies(d))
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
            @if pages > 1 {
                nav.pages aria-label="Pages" {
                    @if page_number > 1 { a href=(page_link(page_number - 1)) rel="prev" { "Previous" } }
                    span { "Page " (page_number) " of " (pages) }
                    @if page_number < pages { a href=(page_link(page_number + 1)) rel="next" { "Next" } }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_page_rows_and_a_wrong_page_is_clamped() {
        assert_eq!(page_of(0, None), (1, 1));
        assert_eq!(page_of(PAGE_ROWS, Some(2)), (1, 1));
        assert_eq!(page_of(PAGE_ROWS + 1, Some(2)), (2, 2));
        assert_eq!(page_of(10_000, Some(0)), (1, 100));
        assert_eq!(page_of(10_000, Some(500)), (100, 100));
        let mut states = [
            Health::Ok,
            Health::Unknown,
            Health::Critical,
            Health::Warning,
        ];
        states.sort_by_key(|s| rank(*s));
        assert_eq!(
            states,
            [
                Health::Critical,
                Health::Warning,
                Health::Unknown,
                Health::Ok
            ]
        );
    }
}
