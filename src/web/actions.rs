//! The operator's actions on the pages ("Back up now", "Drill now", "Verify", "Acknowledge
//! lost"), posted as forms with the session's CSRF token, and [`act`], which both these
//! forms and the API's POSTs go through: the engine admits the action (role, target, audit
//! log) and its job is queued to run in this process.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;

use super::Web;
use super::auth::{self, Principal};
use super::layout::segment;
use super::pages::{failure, message};
use crate::config::VerifyLevel;
use crate::engine::actions::{self, Action, Actor, Admitted, Refusal};

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/db/{source}/{database}/backup", post(back_up_now))
        .route("/db/{source}/{database}/drill", post(drill_now))
        .route("/backup/{id}/verify", post(verify))
        .route(
            "/backup/{id}/copies/{destination}/acknowledge",
            post(acknowledge),
        )
}

/// Does `action` for `who`: the engine admits it, and what is left to run is queued. The
/// error is the status to answer and a sentence.
pub async fn act(web: &Web, who: &Principal, action: &Action) -> Result<(), (StatusCode, String)> {
    let actor = Actor {
        kind: who.kind,
        name: &who.name,
        role: who.role,
    };
    match actions::admit(&web.context(), actor, action).await {
        Ok(Admitted::Done) => Ok(()),
        Ok(Admitted::Run(job)) => {
            if web.launcher.launch(job) {
                Ok(())
            } else {
                Err((StatusCode::SERVICE_UNAVAILABLE, "dbward is stopping".into()))
            }
        }
        Err(refusal) => {
            let status = match &refusal {
                Refusal::Forbidden { .. } => StatusCode::FORBIDDEN,
                Refusal::NotFound(_) => StatusCode::NOT_FOUND,
                Refusal::Invalid(_) => StatusCode::BAD_REQUEST,
                Refusal::Conflict(_) => StatusCode::CONFLICT,
                Refusal::Failed(e) => {
                    tracing::error!("web action: {e:#}");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            Err((status, refusal.to_string()))
        }
    }
}

/// A verification level as the form and the API name it.
pub fn verify_level(text: &str) -> Option<VerifyLevel> {
    match text {
        "checksum" => Some(VerifyLevel::Checksum),
        "structural" => Some(VerifyLevel::Structural),
        "drill" => Some(VerifyLevel::Drill),
        _ => None,
    }
}

/// An action form: the session's CSRF token, and the level of a verification.
#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: Option<String>,
    level: Option<String>,
}

/// Does `action` for the session of a posted form, then sends the browser to `then`.
async fn posted(
    web: &Web,
    headers: &HeaderMap,
    csrf: Option<&str>,
    action: Action,
    then: String,
) -> Response {
    let who = match auth::principal(web, headers).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return message(
                StatusCode::UNAUTHORIZED,
                "Log in first",
                "This action needs a login.",
            );
        }
        Err(e) => return failure(e),
    };
    if !who.csrf_ok(csrf) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "The form's CSRF token is missing or wrong; reload the page and try again.",
        );
    }
    match act(web, &who, &action).await {
        Ok(()) => Redirect::to(&then).into_response(),
        Err((status, text)) => message(status, "Refused", &text),
    }
}

async fn back_up_now(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(names): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let action = |source, database| Action::Backup { source, database };
    on_database(&web, &headers, &form, names, action, "backup").await
}

async fn drill_now(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(names): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let action = |source, database| Action::Drill { source, database };
    on_database(&web, &headers, &form, names, action, "drill").await
}

/// Does an action on one database ("Back up now", "Drill now"), then sends the browser back
/// to the database's page, which says what `started`.
async fn on_database(
    web: &Web,
    headers: &HeaderMap,
    form: &ActionForm,
    (source, database): (String, String),
    action: fn(String, String) -> Action,
    started: &str,
) -> Response {
    let then = format!(
        "/db/{}/{}?started={started}",
        segment(&source),
        segment(&database)
    );
    posted(
        web,
        headers,
        form.csrf.as_deref(),
        action(source, database),
        then,
    )
    .await
}

async fn verify(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(backup_id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(level) = form.level.as_deref().and_then(verify_level) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Refused",
            "level: expected checksum, structural or drill",
        );
    };
    let then = format!("/backup/{}?started=verify", segment(&backup_id));
    let action = Action::Verify { backup_id, level };
    posted(&web, &headers, form.csrf.as_deref(), action, then).await
}

async fn acknowledge(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path((backup_id, destination)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let then = format!("/backup/{}?started=acknowledged", segment(&backup_id));
    let action = Action::Acknowledge {
        backup_id,
        destination,
    };
    posted(&web, &headers, form.csrf.as_deref(), action, then).await
}
