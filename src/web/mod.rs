//! The web dashboard and the HTTP API (`/api/v1/`), served by `dbward daemon` on its
//! listener and by `dbward serve` on a host that only watches a shared catalog. Pages are
//! rendered on the server (maud, checked at compile time) and work without JavaScript; every
//! read and action goes through the engine, never SQL. `auth.rs`: sessions, tokens, CSRF and
//! the login rate limit; `pages.rs` and `layout.rs`: the HTML (`overview.rs`, with its
//! refresh script, `problems.rs` and `destinations.rs` their own pages); `chart.rs`: the SVG chart;
//! `api.rs`: the JSON API and its OpenAPI document; `actions.rs`: the operator's actions
//! (through the engine's `actions`); `launch.rs`: runs the jobs they start.

mod actions;
mod api;
mod auth;
mod chart;
mod destinations;
pub mod launch;
mod layout;
pub mod listen;
mod overview;
mod pages;
mod problems;
mod serve;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::engine::{Context, UsageError, access};

pub use serve::serve;

/// The context of the config in force (the daemon swaps it on SIGHUP).
pub type Contexts = Arc<dyn Fn() -> Arc<Context> + Send + Sync>;

/// What every handler shares.
pub struct Web {
    contexts: Contexts,
    launcher: launch::Launcher,
    limiter: auth::LoginLimiter,
    /// `[http] trust_proxy`: believe `X-Forwarded-Proto` and `X-Forwarded-For`.
    trust_proxy: bool,
    /// Served over TLS (`[http] tls_cert`): session cookies are `Secure`.
    tls: bool,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("trust_proxy", &self.trust_proxy)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Web {
    pub fn new(
        contexts: Contexts,
        launcher: launch::Launcher,
        trust_proxy: bool,
        tls: bool,
    ) -> Web {
        Web {
            contexts,
            launcher,
            limiter: auth::LoginLimiter::default(),
            trust_proxy,
            tls,
        }
    }

    fn context(&self) -> Arc<Context> {
        (self.contexts)()
    }
}

/// Every page and API route, with the security headers every response carries. Serve it
/// with `into_make_service_with_connect_info::<SocketAddr>()`: the login limit is per client.
pub fn router(web: Arc<Web>) -> Router {
    pages::routes()
        .merge(api::routes())
        .with_state(web)
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; connect-src 'self'; \
             style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Refuses to listen where other hosts can reach the dashboard while nobody can log in:
/// until a user or token exists, only a loopback address is allowed.
pub async fn refuse_unprotected(listen: SocketAddr, ctx: &Context) -> anyhow::Result<()> {
    if listen.ip().is_loopback() || access::has_credentials(ctx).await? {
        return Ok(());
    }
    Err(UsageError(format!(
        "refusing to listen on {listen}: other hosts could reach the dashboard, and no user or \
         API token exists yet; add one first (`dbward user add NAME --role operator`, \
         `dbward token create NAME --role viewer`) or listen on 127.0.0.1"
    ))
    .into())
}

/// The listener's TLS, when `[http] tls_cert` and `tls_key` are set: read now, so that a
/// missing or bad file stops the start with its name.
pub fn tls_of(ctx: &Context) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    match ctx.config.http.as_ref().and_then(|h| h.tls.as_ref()) {
        Some(files) => Ok(Some(listen::load(files)?)),
        None => Ok(None),
    }
}
