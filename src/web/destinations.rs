//! The Destinations page: what each destination holds (copies, bytes, the newest backup),
//! its newest audit and its free space — the same report as `GET /api/v1/destinations`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use maud::html;

use super::Web;
use super::layout::{page, when};
use super::pages::{Page, failure, html, visitor};
use crate::engine::backup::human_bytes;
use crate::engine::destinations;

pub async fn destinations_page(State(web): State<Arc<Web>>, headers: HeaderMap) -> Page {
    let who = visitor(&web, &headers).await?;
    let ctx = web.context();
    let now = Utc::now();
    let report = destinations::list(&ctx).await.map_err(failure)?;
    let body = html! {
        h1 { "Destinations" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "Destination" } th scope="col" { "Holds" } th scope="col" { "Newest backup" }
                th scope="col" { "Free space" } th scope="col" { "Last audit" }
            } }
            tbody { @for d in &report.destinations { tr {
                td {
                    strong { (d.name) } br;
                    @match (d.kind, &d.location) {
                        (Some(kind), Some(location)) => span.muted { (kind) @if d.off_host { ", off-host" } ": " code { (location) } },
                        _ => span.muted { "no longer in the config" },
                    }
                }
                td { (d.copies) " copies, " (human_bytes(d.bytes)) }
                td { @match d.newest { Some(at) => (when(at, now)), None => span.muted { "none" } } }
                td { @match d.free_bytes { Some(free) => (human_bytes(free)), None => span.muted { "not told" } } }
                td {
                    @match &d.last_audit {
                        None => span.muted { "never audited (dbward audit)" },
                        Some(a) => {
                            (when(a.at, now)) br;
                            @if let Some(e) = &a.error { span.error { "could not list: " (e) } }
                            @else {
                                (a.objects) " objects, " (human_bytes(a.bytes)) ", " (a.backups) " backups"
                                @if a.missing > 0 { ", " span.error { (a.missing) " copies missing" } }
                                @else if a.problems { ", " span.error { "problems found" } }
                            }
                        }
                    }
                }
            } } }
        } }
    };
    Ok(html(page("Destinations", Some(&who), body)))
}
