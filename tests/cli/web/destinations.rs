//! The Destinations page and `GET /api/v1/destinations`: what each destination holds by the
//! catalog's account, its free space, and its newest audit once `dbward audit` ran.

use reqwest::StatusCode;
use serde_json::Value;

use super::openapi::conforms;
use super::{Auth, Client, Server, VICTOR_PASSWORD, backups, env, users_and_tokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_show_what_they_hold_their_space_and_last_audit() {
    let env = env();
    let (_, viewer) = users_and_tokens(&env);
    let committed: Vec<Value> = ["shop", "crm"]
        .iter()
        .flat_map(|s| backups(&env, s))
        .flat_map(|b| b["copies"].as_array().unwrap().clone())
        .filter(|c| c["status"] == "committed")
        .collect();
    let bytes: u64 = committed.iter().map(|c| c["size"].as_u64().unwrap()).sum();
    let server = Server::start(&env, "serve", "serving the dashboard");
    let mut client = Client::new(&server.base);
    let (status, _) = client.get("/api/v1/destinations", Auth::None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let local = |doc: &Value| -> Value {
        let all = doc["destinations"].as_array().unwrap();
        assert_eq!(all.len(), 1, "{doc:#}");
        all[0].clone()
    };
    let (status, body) = client
        .get("/api/v1/destinations", Auth::Bearer(&viewer))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    conforms("GET", "/api/v1/destinations", 200, &body);
    let before = local(&serde_json::from_str(&body).unwrap());
    assert_eq!(before["name"], "local");
    assert_eq!(before["type"], "fs");
    assert_eq!(before["off_host"], false);
    assert_eq!(before["copies"], committed.len() as u64, "{before:#}");
    assert_eq!(before["bytes"], bytes);
    assert!(before["free_bytes"].as_u64().unwrap() > 0, "{before:#}");
    assert!(before["last_audit"].is_null(), "never audited: {before:#}");

    env.run(&["audit"]);
    let (_, body) = client
        .get("/api/v1/destinations", Auth::Bearer(&viewer))
        .await;
    conforms("GET", "/api/v1/destinations", 200, &body);
    let after = local(&serde_json::from_str(&body).unwrap());
    let audit = &after["last_audit"];
    assert_eq!(audit["destination"], "local", "{after:#}");
    assert_eq!(audit["backups"], committed.len() as u64);
    assert_eq!(audit["missing"], 0);
    assert_eq!(audit["problems"], false);
    assert!(audit["objects"].as_u64().unwrap() >= committed.len() as u64);

    let (_, victor) = client.login("victor", VICTOR_PASSWORD).await;
    let (status, page) = client
        .get("/destinations", Auth::Session(&victor.unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "local",
        &format!("{} copies", committed.len()),
        &format!("{} backups", committed.len()),
    ] {
        assert!(page.contains(text), "the page lacks {text}:\n{page}");
    }
}
