//! Logging in and out. The login form is protected by a double-submit CSRF token (a cookie
//! and a hidden field, since there is no session yet), failed logins are limited per client
//! address, and a login sets the session cookie (HttpOnly, SameSite=Strict, Secure over
//! HTTPS). Logout needs the session's CSRF token and ends the session in the catalog.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use dbward_core::secret::{ExposeSecret, SecretString};
use maud::html;
use serde::Deserialize;

use super::Web;
use super::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::layout::page;
use super::pages::{CsrfForm, failure, message};
use crate::engine::access;

/// How long the login form may stay open.
const LOGIN_FORM_SECONDS: i64 = 600;

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
}

/// The login page with a fresh form token, and `problem` above the form.
fn form_page(
    web: &Web,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    let token = match access::random_hex(32) {
        Ok(token) => token,
        Err(e) => return failure(e),
    };
    let secure = auth::over_https(web, headers);
    let body = html! {
        div.login {
            h1 { "Log in to dbward" }
            @if let Some(problem) = problem { p.notice.error role="alert" { (problem) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                p { label for="name" { "Name" } input id="name" name="name" autocomplete="username" required; }
                p { label for="password" { "Password" } input id="password" name="password" type="password" autocomplete="current-password" required; }
                p { button.primary type="submit" { "Log in" } }
            }
        }
    };
    (
        status,
        [
            (
                header::SET_COOKIE,
                auth::set_cookie(LOGIN_CSRF_COOKIE, &token, LOGIN_FORM_SECONDS, secure),
            ),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
        axum::response::Html(page("Log in", None, body).into_string()),
    )
        .into_response()
}

async fn login_form(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    match auth::principal(&web, &headers).await {
        Ok(Some(_)) => Redirect::to("/").into_response(),
        Ok(None) => form_page(&web, &headers, StatusCode::OK, None),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: Option<String>,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

async fn login(
    State(web): State<Arc<Web>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE);
    let fresh = match (expected, form.csrf.as_deref()) {
        (Some(expected), Some(presented)) => auth::same(expected, presented),
        _ => false,
    };
    if !fresh {
        return form_page(
            &web,
            &headers,
            StatusCode::FORBIDDEN,
            Some("The form had expired; please log in again."),
        );
    }
    let client = auth::client(&web, peer, &headers);
    if let Some(wait) = web.limiter.wait(client, Instant::now()) {
        let mut response = form_page(
            &web,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many failed logins from {client}; try again in {} s.",
                wait.as_secs() + 1
            )),
        );
        if let Ok(value) = (wait.as_secs() + 1).to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let ctx = web.context();
    let now = Utc::now();
    let Some(login) = access::login(&ctx, &form.name, SecretString::from(form.password), now)
        .await
        .unwrap_or_else(|e| {
            tracing::error!("login: {e:#}");
            None
        })
    else {
        web.limiter.failed(client, Instant::now());
        tracing::warn!("failed login as {:?} from {client}", form.name);
        return form_page(
            &web,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        );
    };
    tracing::info!("{} logged in from {client}", form.name);
    let secure = auth::over_https(&web, &headers);
    let lifetime = access::SESSION_LIFETIME.num_seconds();
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    for cookie in [
        auth::set_cookie(
            SESSION_COOKIE,
            login.session_id.expose_secret(),
            lifetime,
            secure,
        ),
        auth::set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
    ] {
        if let Ok(value) = cookie.parse() {
            cookies.append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn logout(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let who = match auth::principal(&web, &headers).await {
        Ok(Some(who)) if who.csrf.is_some() => who,
        Ok(_) => return Redirect::to("/login").into_response(),
        Err(e) => return failure(e),
    };
    if !who.csrf_ok(form.csrf()) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form's CSRF token is missing or wrong.",
        );
    }
    if let Some(id) = auth::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = access::logout(&web.context(), id).await
    {
        return failure(e);
    }
    let secure = auth::over_https(&web, &headers);
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(SESSION_COOKIE, "", 0, secure),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}
