//! The Problems page and `GET /api/v1/problems`: every current problem with since when it
//! has held (from the history) and the alerts delivered or failed for it, against a real
//! webhook receiver that takes the alert and one that refuses it.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::Value;

use super::openapi::conforms;
use super::{Auth, Client, Server, VICTOR_PASSWORD, backups, env, users_and_tokens};
use crate::common::{Receiver, stderr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_are_dated_and_show_the_alerts_delivered_and_failed() {
    let env = env();
    let (_, viewer) = users_and_tokens(&env);
    let (hook, pager) = (Receiver::start(), Receiver::start());
    pager.answer(500);
    let (hook_url, pager_url) = (
        hook.url("/hook/s3cret-hook"),
        pager.url("/pager/s3cret-pager"),
    );
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(env.config())
        .unwrap();
    write!(
        config,
        "[[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook_url}\"\non = [\"failed\"]\n\
         [[alert]]\nname = \"pager\"\ntype = \"webhook\"\nurl = \"{pager_url}\"\non = [\"failed\"]\n"
    )
    .unwrap();
    drop(config);
    let out = env.run(&["status"]);
    assert!(stderr(&out).contains("alert pager"), "{}", stderr(&out));
    assert_eq!(hook.take().len(), 1, "the hook was told");
    assert_eq!(pager.take().len(), 1, "the pager was tried");
    let failed_crm = backups(&env, "crm")
        .into_iter()
        .find(|b| b["status"] == "failed")
        .unwrap();

    let server = Server::start(&env, "serve", "serving the dashboard");
    let mut client = Client::new(&server.base);
    let (status, _) = client.get("/api/v1/problems", Auth::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = client.get("/api/v1/problems", Auth::Bearer(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    conforms("GET", "/api/v1/problems", 200, &body);
    let doc: Value = serde_json::from_str(&body).unwrap();
    let (_, cli) = env.json(&["status"]);
    assert_eq!(doc["state"], cli["state"]);
    assert_eq!(
        doc["problems"].as_array().unwrap().len(),
        cli["problems"].as_array().unwrap().len(),
        "the problems of `status`"
    );
    let failed = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "failed" && p["source"] == "crm")
        .unwrap_or_else(|| panic!("crm's failure: {doc:#}"));
    assert_eq!(failed["database"], "crm");
    assert_eq!(
        failed["since"], failed_crm["started_at"],
        "since the failed backup"
    );
    let alerts = failed["alerts"].as_array().unwrap();
    let of = |channel: &str| alerts.iter().find(|a| a["channel"] == channel).unwrap();
    assert_eq!(of("hook")["state"], "delivered", "{failed:#}");
    assert_eq!(of("hook")["severity"], "critical");
    assert_eq!(of("pager")["state"], "failed", "{failed:#}");
    assert!(
        of("pager")["error"].as_str().unwrap().contains("HTTP 500"),
        "{failed:#}"
    );

    let (_, victor) = client.login("victor", VICTOR_PASSWORD).await;
    let (status, page) = client
        .get("/problems", Auth::Session(&victor.unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    for text in ["crm/crm", "hook: delivered", "pager: FAILED", "HTTP 500"] {
        assert!(page.contains(text), "the page lacks {text}:\n{page}");
    }
    for body in &client.seen {
        assert!(
            !body.contains("s3cret"),
            "an alert's URL is a secret: {body}"
        );
    }
}
