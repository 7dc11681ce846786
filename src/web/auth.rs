//! Who is asking: an API token (`Authorization: Bearer`) or a session cookie, the role that
//! allows an action, CSRF checks for session requests that change something, the session
//! cookie's attributes, and the login rate limit per client address.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use chrono::Utc;

use super::Web;
use crate::catalog::{ActorKind, Role};
use crate::engine::access;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dbward_session";
/// The cookie that carries the login form's CSRF token (double submit: no session yet).
pub const LOGIN_CSRF_COOKIE: &str = "dbward_login_csrf";
/// The header a browser's script sends the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins one client address may make per [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// Who a request comes from.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: ActorKind,
    pub name: String,
    pub role: Role,
    /// The session's CSRF token; `None` for a bearer token, which a browser never sends by
    /// itself and so needs none.
    pub csrf: Option<String>,
}

impl Principal {
    pub fn may_act(&self) -> bool {
        self.role == Role::Operator
    }

    /// Whether a request that changes something carries the session's CSRF token.
    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        match &self.csrf {
            None => true,
            Some(expected) => presented.is_some_and(|p| same(p, expected)),
        }
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The principal of a request: a bearer token, else a live session; `None`: anonymous.
pub async fn principal(web: &Web, headers: &HeaderMap) -> anyhow::Result<Option<Principal>> {
    let ctx = web.context();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(presented) = bearer {
        return Ok(access::token(&ctx, presented.trim())
            .await?
            .map(|t| Principal {
                kind: ActorKind::Token,
                name: t.name,
                role: t.role,
                csrf: None,
            }));
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(access::session(&ctx, id, Utc::now())
        .await?
        .map(|s| Principal {
            kind: ActorKind::User,
            name: s.user,
            role: s.role,
            csrf: Some(s.csrf_token),
        }))
}

/// Whether the browser reached us over HTTPS: dbward's own TLS, or a trusted proxy's.
pub fn over_https(web: &Web, headers: &HeaderMap) -> bool {
    web.tls
        || (web.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, Secure over HTTPS;
/// `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The client's address for the login limit: the peer, or with `trust_proxy` the first
/// address of `X-Forwarded-For`.
pub fn client(web: &Web, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let forwarded = web
        .trust_proxy
        .then(|| headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok());
    forwarded.unwrap_or(peer.ip())
}

/// Failed logins per client address within the window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// How long `client` must wait before it may try again; `None`: it may now.
    pub fn wait(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().expect("not poisoned");
        let recent = failures.entry(client).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= LOGIN_WINDOW)
        {
            recent.pop_front();
        }
        (recent.len() >= LOGIN_FAILURES)
            .then(|| {
                recent
                    .front()
                    .map(|t| LOGIN_WINDOW - now.duration_since(*t))
            })
            .flatten()
    }

    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().expect("not poisoned");
        failures.entry(client).or_default().push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "x_dbward_session=no; dbward_session=abc; other=1"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn the_limit_holds_for_the_window_then_lifts() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for i in 0..LOGIN_FAILURES {
            assert_eq!(limiter.wait(ip, start), None, "attempt {i}");
            limiter.failed(ip, start);
        }
        assert!(limiter.wait(ip, start + Duration::from_secs(1)).is_some());
        assert_eq!(
            limiter.wait("192.0.2.2".parse().unwrap(), start),
            None,
            "per address"
        );
        assert_eq!(limiter.wait(ip, start + LOGIN_WINDOW), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        let session = Principal {
            kind: ActorKind::User,
            name: "a".into(),
            role: Role::Viewer,
            csrf: Some("t0k".into()),
        };
        assert!(session.csrf_ok(Some("t0k")));
        assert!(!session.csrf_ok(None));
        assert!(!session.csrf_ok(Some("t0K")));
    }
}
