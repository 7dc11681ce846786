//! No secret in any page or API response: with encrypted backups (a passphrase), an alert
//! whose URL carries a token, a source password, users and API tokens, every page of the
//! dashboard (each database and backup included) and every API document is read as an
//! operator and as a viewer, after a drill and a verification ran, and none holds a
//! password, token, passphrase, session id or alert URL; nor does the server's log.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::Value;

use super::{
    ALICE_PASSWORD, Auth, Client, DEADLINE, SOURCE_PASSWORD, Server, VICTOR_PASSWORD, backups,
    env_with, hidden_csrf, users_and_tokens,
};
use crate::common::Receiver;

const PASSPHRASE: &str = "leak-canary-passphrase-5170";

/// Every link of a page to another page of the dashboard.
fn links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with('/') && !href.starts_with("//"))
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_or_api_response_holds_a_secret() {
    let hook = Receiver::start();
    let hook_url = hook.url("/hooks/leak-canary-alert-token-3391");
    let env = env_with(&format!(
        "[encryption]\npassphrase = \"{PASSPHRASE}\"\n\
         [[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook_url}\"\non = [\"failed\"]\n"
    ));
    let (operator, viewer) = users_and_tokens(&env);
    let shop_id = backups(&env, "shop")[0]["id"].as_str().unwrap().to_string();
    let server = Server::start(&env, "serve", "serving the dashboard");
    let mut client = Client::new(&server.base);
    let (_, alice) = client.login("alice", ALICE_PASSWORD).await;
    let alice = alice.unwrap();
    let (_, victor) = client.login("victor", VICTOR_PASSWORD).await;
    let victor = victor.unwrap();

    // A drill (which decrypts with the passphrase) and a verification, through the API.
    let (_, page) = client.get("/", Auth::Session(&alice)).await;
    let csrf = hidden_csrf(&page);
    for (path, body) in [
        (
            "/api/v1/drills".to_string(),
            serde_json::json!({"source": "shop", "database": "shop"}),
        ),
        (
            format!("/api/v1/backups/{shop_id}/verify"),
            serde_json::json!({"level": "structural"}),
        ),
    ] {
        let request = Auth::Session(&alice)
            .apply(client.http.post(format!("{}{path}", client.base)))
            .header("X-CSRF-Token", &csrf)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let (status, _, text) = client.send(request).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{path}: {text}");
    }
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (_, shown) = env.json(&["show", &shop_id]);
        let levels: Vec<&str> = shown["verifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["level"].as_str().unwrap())
            .collect();
        if levels.contains(&"drill") && levels.contains(&"structural") {
            assert!(
                shown["verifications"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|v| v["ok"] == true),
                "{shown:#}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the drill did not end:\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Every page reachable from the navigation, each database and backup, as both roles.
    let mut visited = std::collections::BTreeSet::new();
    for who in [&alice, &victor] {
        let mut queue = vec!["/".to_string()];
        while let Some(path) = queue.pop() {
            if !visited.insert((who.clone(), path.clone())) || path.starts_with("/assets/") {
                continue;
            }
            let (status, page) = client.get(&path, Auth::Session(who)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            queue.extend(links(&page));
        }
    }
    let pages: std::collections::BTreeSet<&String> = visited.iter().map(|(_, p)| p).collect();
    for wanted in [
        "/problems",
        "/destinations",
        "/fleet",
        "/audit",
        "/db/shop/shop",
    ] {
        assert!(
            pages.contains(&wanted.to_string()),
            "{wanted} not crawled: {pages:?}"
        );
    }
    assert!(pages.iter().any(|p| p.starts_with("/backup/")), "{pages:?}");

    // Every API document, with each token.
    for token in [&operator, &viewer] {
        let mut paths = vec![
            "/api/v1/status".to_string(),
            "/api/v1/backups".to_string(),
            "/api/v1/agents".to_string(),
            "/api/v1/problems".to_string(),
            "/api/v1/destinations".to_string(),
            "/api/v1/openapi.json".to_string(),
        ];
        let (_, list) = client.get("/api/v1/backups", Auth::Bearer(token)).await;
        let list: Value = serde_json::from_str(&list).unwrap();
        paths.extend(
            list["backups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| format!("/api/v1/backups/{}", b["id"].as_str().unwrap())),
        );
        for path in paths {
            let (status, body) = client.get(&path, Auth::Bearer(token)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
    }

    let secrets = [
        SOURCE_PASSWORD,
        ALICE_PASSWORD,
        VICTOR_PASSWORD,
        PASSPHRASE,
        "leak-canary-alert-token",
        &operator,
        &viewer,
        &alice,
        &victor,
    ];
    assert!(
        client.seen.len() > 20,
        "{} responses read",
        client.seen.len()
    );
    for secret in secrets {
        for body in &client.seen {
            assert!(!body.contains(secret), "a response holds a secret: {body}");
        }
        assert!(
            !server.log().contains(secret),
            "the server's log holds a secret"
        );
    }
}
