//! The HTTP API, `/api/v1/`: the same JSON documents as the CLI's `--json` (status, list,
//! show, agents), the problems and destinations reports, and the operator's actions (back
//! up, drill, verify, acknowledge a lost copy). Callers authenticate with
//! `Authorization: Bearer <token>` or the dashboard's session cookie, which must then send
//! the session's CSRF token in `X-CSRF-Token` on a POST. `docs/openapi.json` describes every
//! route, and a test keeps the two equal.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Json, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Web;
use super::actions::{act, verify_level};
use super::auth::{self, CSRF_HEADER, Principal};
use crate::catalog::{BackupStatus, ListFilter};
use crate::engine::actions::Action;
use crate::engine::{agents, destinations, problems, show, status};

/// The OpenAPI 3 document of this API, kept in the repository.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Every API route. The router is built from this list alone, and a test compares it with
/// the paths and methods of [`OPENAPI`].
fn endpoints() -> Vec<(Method, &'static str, MethodRouter<Arc<Web>>)> {
    vec![
        (Method::GET, "/api/v1/status", get(status_document)),
        (Method::GET, "/api/v1/backups", get(list)),
        (Method::POST, "/api/v1/backups", post(start)),
        (Method::GET, "/api/v1/backups/{id}", get(show_backup)),
        (Method::POST, "/api/v1/backups/{id}/verify", post(verify)),
        (
            Method::POST,
            "/api/v1/backups/{id}/copies/{destination}/acknowledge",
            post(acknowledge),
        ),
        (Method::POST, "/api/v1/drills", post(drill)),
        (Method::GET, "/api/v1/agents", get(agents_document)),
        (Method::GET, "/api/v1/problems", get(problems_document)),
        (
            Method::GET,
            "/api/v1/destinations",
            get(destinations_document),
        ),
        (Method::GET, "/api/v1/openapi.json", get(openapi)),
    ]
}

pub fn routes() -> Router<Arc<Web>> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// An error document, `{"error": "..."}`, with `status`.
fn error(status: StatusCode, text: &str) -> Response {
    let mut response = (status, Json(json!({ "error": text }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

fn failed(e: anyhow::Error) -> Response {
    tracing::error!("api: {e:#}");
    error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}"))
}

/// The caller, or 401.
async fn caller(web: &Web, headers: &HeaderMap) -> Result<Principal, Response> {
    match auth::principal(web, headers).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(error(
            StatusCode::UNAUTHORIZED,
            "authenticate with Authorization: Bearer <token> (dbward token create) or log in",
        )),
        Err(e) => Err(failed(e)),
    }
}

fn document(value: Result<Value, anyhow::Error>) -> Response {
    match value {
        Ok(value) => Json(value).into_response(),
        Err(e) => failed(e),
    }
}

/// `dbward status --json`, without `alerts` (the API tells no alert).
async fn status_document(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    let ctx = web.context();
    document(
        status::run(&ctx, Utc::now())
            .await
            .and_then(|report| Ok(serde_json::to_value(report)?)),
    )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    source: Option<String>,
    database: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

/// `dbward list --json` with the same filters.
async fn list(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    let status = match query.status.as_deref().map(BackupStatus::parse) {
        None => None,
        Some(Some(status)) => Some(status),
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "status: expected running, succeeded, degraded, failed or skipped",
            );
        }
    };
    let filter = ListFilter {
        source: query.source,
        database: query.database,
        status,
        limit: query.limit,
    };
    let ctx = web.context();
    document(
        ctx.catalog
            .list(&filter)
            .await
            .map(|backups| json!({ "backups": backups }))
            .map_err(Into::into),
    )
}

/// `dbward show ID --json`.
async fn show_backup(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    match show::find(&web.context(), &id).await {
        Ok(Some(shown)) => document(shown.document()),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no backup with id {id:?}")),
        Err(e) => failed(e),
    }
}

/// `dbward agents --json`.
async fn agents_document(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    document(
        agents::list(&web.context())
            .await
            .and_then(|report| Ok(serde_json::to_value(report)?)),
    )
}

/// Every current problem, since when, and its alerts (the Problems page's report).
async fn problems_document(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    document(
        problems::run(&web.context(), Utc::now())
            .await
            .and_then(|report| Ok(serde_json::to_value(report)?)),
    )
}

/// Every destination: what it holds, its last audit, its free space.
async fn destinations_document(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    if let Err(refused) = caller(&web, &headers).await {
        return refused;
    }
    document(
        destinations::list(&web.context())
            .await
            .and_then(|report| Ok(serde_json::to_value(report)?)),
    )
}

#[derive(Debug, Deserialize)]
struct DatabaseBody {
    source: String,
    database: String,
}

#[derive(Debug, Deserialize)]
struct VerifyBody {
    level: String,
}

/// The caller of a POST: authenticated, and a session's request carries its CSRF token.
async fn actor(web: &Web, headers: &HeaderMap) -> Result<Principal, Response> {
    let who = caller(web, headers).await?;
    let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !who.csrf_ok(presented) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "a session's POST needs its CSRF token in the X-CSRF-Token header",
        ));
    }
    Ok(who)
}

/// Does `action` for the caller: `status` and `answer` when it was admitted.
async fn acted(
    web: &Web,
    headers: &HeaderMap,
    action: Action,
    status: StatusCode,
    answer: Value,
) -> Response {
    let who = match actor(web, headers).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    match act(web, &who, &action).await {
        Ok(()) => (status, Json(answer)).into_response(),
        Err((status, text)) => error(status, &text),
    }
}

/// Starts a backup of one database now (operators): 202, then it runs in the background and
/// is recorded like any other.
async fn start(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Json(body): Json<DatabaseBody>,
) -> Response {
    let answer = json!({ "accepted": true, "source": body.source, "database": body.database });
    let action = Action::Backup {
        source: body.source,
        database: body.database,
    };
    acted(&web, &headers, action, StatusCode::ACCEPTED, answer).await
}

/// Drills the newest good backup of one database now (operators): 202.
async fn drill(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Json(body): Json<DatabaseBody>,
) -> Response {
    let answer = json!({ "accepted": true, "source": body.source, "database": body.database });
    let action = Action::Drill {
        source: body.source,
        database: body.database,
    };
    acted(&web, &headers, action, StatusCode::ACCEPTED, answer).await
}

/// Verifies one backup at a level (operators): 202.
async fn verify(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<VerifyBody>,
) -> Response {
    let Some(level) = verify_level(&body.level) else {
        return error(
            StatusCode::BAD_REQUEST,
            "level: expected checksum, structural or drill",
        );
    };
    let answer = json!({ "accepted": true, "backup": id, "level": body.level });
    let action = Action::Verify {
        backup_id: id,
        level,
    };
    acted(&web, &headers, action, StatusCode::ACCEPTED, answer).await
}

/// Acknowledges the lost copy of a backup on a destination (operators): 200, done.
async fn acknowledge(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path((id, destination)): Path<(String, String)>,
) -> Response {
    let answer = json!({ "acknowledged": true, "backup": id, "destination": destination });
    let action = Action::Acknowledge {
        backup_id: id,
        destination,
    };
    acted(&web, &headers, action, StatusCode::OK, answer).await
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_route_is_in_the_openapi_document_and_back() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("a path item")
                    .keys()
                    .filter(|k| matches!(k.as_str(), "get" | "post" | "put" | "patch" | "delete"))
                    .map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = super::endpoints()
            .into_iter()
            .map(|(method, path, _)| (method.to_string(), path.to_string()))
            .collect();
        assert_eq!(served, documented);
    }
}
