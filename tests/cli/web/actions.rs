//! The operator's actions beyond "back up now", through the API and the pages: drill now,
//! verify a backup, acknowledge a lost copy. Refused without credentials (401), for a viewer
//! and for a session without its CSRF token (403); carried out and recorded in the catalog,
//! each in the audit log; every API answer matches docs/openapi.json.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::openapi::conforms;
use super::{
    ALICE_PASSWORD, Auth, Client, DEADLINE, Server, VICTOR_PASSWORD, backups, env, form,
    hidden_csrf, users_and_tokens,
};
use crate::common::{Env, wait_for};

impl Client {
    /// POSTs `body` as JSON to `path`, checks the answer against the OpenAPI document.
    async fn post_json(
        &mut self,
        path: &str,
        auth: Auth<'_>,
        csrf: Option<&str>,
        body: &Value,
    ) -> (StatusCode, String) {
        let mut request = auth
            .apply(self.http.post(format!("{}{path}", self.base)))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        let (status, _, text) = self.send(request).await;
        conforms("POST", path, status.as_u16(), &text);
        (status, text)
    }
}

/// The levels of a backup's verifications that passed, by `dbward show`.
fn passed_levels(env: &Env, id: &str) -> Vec<String> {
    let (_, shown) = env.json(&["show", id]);
    shown["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["ok"] == true)
        .map(|v| v["level"].as_str().unwrap().to_string())
        .collect()
}

fn problem_kinds(env: &Env) -> Vec<String> {
    let (_, status) = env.json(&["status"]);
    status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_drill_verify_and_acknowledge_a_lost_copy_and_nobody_else_may() {
    let env = env();
    let (operator, viewer) = users_and_tokens(&env);
    // crm's good backup loses its copy; audit finds it gone.
    let crm = backups(&env, "crm");
    let crm_good = crm.iter().find(|b| b["status"] == "succeeded").unwrap();
    let crm_id = crm_good["id"].as_str().unwrap().to_string();
    let key = crm_good["copies"][0]["path"].as_str().unwrap();
    std::fs::remove_file(env.path(&format!("backups/{key}"))).unwrap();
    env.run(&["audit"]);
    assert!(problem_kinds(&env).contains(&"missing_copy".to_string()));
    let shop_id = backups(&env, "shop")[0]["id"].as_str().unwrap().to_string();

    let server = Server::start(&env, "serve", "serving the dashboard");
    let mut client = Client::new(&server.base);
    let (_, alice) = client.login("alice", ALICE_PASSWORD).await;
    let alice = alice.unwrap();
    let (_, victor) = client.login("victor", VICTOR_PASSWORD).await;
    let victor = victor.unwrap();
    let (_, victor_page) = client.get("/", Auth::Session(&victor)).await;
    let victor_csrf = hidden_csrf(&victor_page);

    let drill = (
        "/api/v1/drills".to_string(),
        json!({"source": "shop", "database": "shop"}),
    );
    // By a prefix of the id, as `dbward verify` takes it; the audit log names the whole id.
    let verify = (
        format!("/api/v1/backups/{}/verify", &shop_id[..20]),
        json!({"level": "checksum"}),
    );
    let acknowledge = (
        format!("/api/v1/backups/{crm_id}/copies/local/acknowledge"),
        json!({}),
    );
    for (path, body) in [&drill, &verify, &acknowledge] {
        let (status, text) = client.post_json(path, Auth::None, None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {text}");
        let (status, text) = client
            .post_json(path, Auth::Bearer(&viewer), None, body)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "viewer token, {path}: {text}"
        );
        assert!(text.contains("needs the operator role"), "{text}");
        let (status, text) = client
            .post_json(path, Auth::Session(&victor), Some(&victor_csrf), body)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "viewer session, {path}: {text}"
        );
        let (status, text) = client
            .post_json(path, Auth::Session(&alice), None, body)
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "no CSRF token, {path}: {text}"
        );
    }
    assert!(passed_levels(&env, &shop_id).is_empty(), "nothing ran yet");
    assert!(problem_kinds(&env).contains(&"missing_copy".to_string()));

    // Bad targets are told.
    let (status, _) = client
        .post_json(
            "/api/v1/drills",
            Auth::Bearer(&operator),
            None,
            &json!({"source": "nosuch", "database": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = client
        .post_json(
            &verify.0,
            Auth::Bearer(&operator),
            None,
            &json!({"level": "deep"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, text) = client
        .post_json(
            &format!("/api/v1/backups/{shop_id}/copies/local/acknowledge"),
            Auth::Bearer(&operator),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a copy that is not missing: {text}"
    );

    // The operator's pages offer the buttons; the viewer's do not.
    let (_, page) = client
        .get(&format!("/backup/{crm_id}"), Auth::Session(&alice))
        .await;
    assert!(page.contains("Acknowledge lost"), "{page}");
    let (_, page) = client
        .get(&format!("/backup/{shop_id}"), Auth::Session(&alice))
        .await;
    assert!(page.contains(">Verify<"), "{page}");
    let (_, page) = client.get("/db/shop/shop", Auth::Session(&alice)).await;
    assert!(page.contains("Drill now"), "{page}");
    for path in [
        format!("/backup/{crm_id}"),
        format!("/backup/{shop_id}"),
        "/db/shop/shop".to_string(),
    ] {
        let (_, page) = client.get(&path, Auth::Session(&victor)).await;
        for button in ["Acknowledge lost", ">Verify<", "Drill now", "Back up now"] {
            assert!(!page.contains(button), "a viewer sees {button} on {path}");
        }
    }

    // The operator acts: by token through the API, and by session through a page's form.
    for (path, body) in [&drill, &verify] {
        let (status, text) = client
            .post_json(path, Auth::Bearer(&operator), None, body)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{path}: {text}");
    }
    let (status, text) = client
        .post_json(
            &acknowledge.0,
            Auth::Bearer(&operator),
            None,
            &acknowledge.1,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (_, page) = client
        .get(&format!("/backup/{shop_id}"), Auth::Session(&alice))
        .await;
    let posted = client
        .http
        .post(format!("{}/backup/{shop_id}/verify", client.base))
        .header("Cookie", format!("dbward_session={alice}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("csrf", &hidden_csrf(&page)),
            ("level", "structural"),
        ]));
    let (status, headers, _) = client.send(posted).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        format!("/backup/{shop_id}?started=verify").as_str()
    );
    wait_for("the drill and both verifications", DEADLINE, || {
        let levels = passed_levels(&env, &shop_id);
        ["drill", "checksum", "structural"]
            .iter()
            .all(|l| levels.iter().any(|got| got == l))
    });

    // The database page lists the drill with its restore time.
    let (_, page) = client.get("/db/shop/shop", Auth::Session(&victor)).await;
    let drills = page
        .split("<h2>Restore drills</h2>")
        .nth(1)
        .and_then(|rest| rest.split("<h2>").next())
        .unwrap_or_else(|| panic!("no drills section:\n{page}"));
    assert!(
        drills.contains(&shop_id)
            && drills.contains("<td>passed</td>")
            && drills.contains(" s</td>")
            && drills.contains("aria-label=\"Restore time of 1 drills"),
        "{drills}"
    );

    // The lost copy is acknowledged: no longer a problem, and not twice.
    assert!(!problem_kinds(&env).contains(&"missing_copy".to_string()));
    let (_, shown) = env.json(&["show", &crm_id]);
    assert_eq!(shown["copies"][0]["status"], "acknowledged", "{shown:#}");
    let (status, _) = client
        .post_json(
            &acknowledge.0,
            Auth::Bearer(&operator),
            None,
            &acknowledge.1,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Each action is in the audit log with who did it.
    let (_, page) = client.get("/audit", Auth::Session(&victor)).await;
    for line in [
        "ci (token)</td><td>drill</td><td>shop/shop",
        &format!("ci (token)</td><td>verify checksum</td><td>{shop_id}"),
        &format!("alice (user)</td><td>verify structural</td><td>{shop_id}"),
        &format!("ci (token)</td><td>acknowledge lost copy</td><td>{crm_id} on local"),
    ] {
        assert!(page.contains(line), "the audit log lacks {line}:\n{page}");
    }
    assert!(!page.contains("nosuch"), "refused actions are not recorded");
}
