//! The HTTP listener (axum): `/metrics` (Prometheus text format), `/healthz` (200 while the
//! scheduler loop ticks) and `/readyz` (200 while the daemon takes work), beside the web
//! dashboard and API (`crate::web`), which bring their own authentication.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::metrics;

/// The scheduler counts as alive while its last tick is at most this old.
const ALIVE_WITHIN: chrono::Duration = chrono::Duration::seconds(10);

/// Binds `listen` (an error names the address) and serves until `stop` is cancelled.
pub async fn serve(
    listen: SocketAddr,
    shared: Arc<Shared>,
    web: Router,
    tls: Option<crate::web::listen::TlsConfig>,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "serving the dashboard, /api/v1, /metrics, /healthz and /readyz on {scheme}://{listen}"
    );
    if !listen.ip().is_loopback() {
        if tls.is_some() {
            tracing::warn!(
                "{listen} is reachable from other hosts, and /metrics without authentication: keep it on a private network"
            );
        } else {
            tracing::warn!(
                "{listen} is reachable from other hosts without TLS, and /metrics without authentication: keep it on a private network, set [http] tls_cert and tls_key, or put it behind a TLS proxy"
            );
        }
    }
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(shared)
        .merge(web);
    Ok(tokio::spawn(async move {
        let served =
            crate::web::listen::serve(listener, app, tls, async move { stop.cancelled().await })
                .await;
        if let Err(e) = served {
            tracing::error!("the HTTP listener on {listen} stopped: {e}");
        }
    }))
}

async fn metrics_page(State(shared): State<Arc<Shared>>) -> Response {
    let ctx = shared.context();
    let view = shared.view();
    match metrics::collect(&ctx, &shared.counters, &view, Utc::now()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("/metrics: cannot read the catalog: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the catalog: {e:#}\n"),
            )
                .into_response()
        }
    }
}

async fn healthz(State(shared): State<Arc<Shared>>) -> (StatusCode, String) {
    let last = shared.view().last_tick;
    let age = Utc::now() - last;
    if age <= ALIVE_WITHIN {
        (
            StatusCode::OK,
            format!("ok: the scheduler ticked at {last}\n"),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the scheduler last ticked at {last}, {}s ago\n",
                age.num_seconds()
            ),
        )
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> (StatusCode, &'static str) {
    if shared.stopping() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopping\n")
    } else {
        (
            StatusCode::OK,
            "ready: the catalog is open and the config loaded\n",
        )
    }
}
