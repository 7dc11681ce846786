//! The web dashboard and API against real processes: `dbward daemon --listen` (and `dbward
//! serve`) over a SQLite-source catalog with a good and a failed backup, users and tokens
//! made with the CLI, a real HTTP client: 401 without auth, 403 for a viewer or a missing
//! CSRF token, 202 for an operator's backup (which then runs and is audited), the CLI's JSON
//! documents, the login limit, and no secret in any response or in the catalog. Then the
//! dashboard in a real browser (chromium driven by playwright-core, with axe-core).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{Env, stderr, stdout};

mod actions;
mod destinations;
mod leaks;
mod openapi;
mod problems;
mod tls;

const SOURCE_PASSWORD: &str = "leak-canary-source-pw-7731";
const ALICE_PASSWORD: &str = "alice-operator-pw-4402";
const VICTOR_PASSWORD: &str = "victor-viewer-pw-9925";
const DEADLINE: Duration = Duration::from_secs(90);

/// Two SQLite sources with a backup each, then `crm`'s file gone and its backup failed; and
/// a PostgreSQL source whose password must never be shown.
fn env() -> Env {
    env_with("")
}

/// [`env`] with `extra` tables at the end of the config, in force for the backups.
fn env_with(extra: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"shop\"\nengine = \"sqlite\"\npath = \"shop.db\"\n\
         [[source]]\nname = \"crm\"\nengine = \"sqlite\"\npath = \"crm.db\"\n\
         [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"127.0.0.1\"\nport = 1\n\
         password = \"{SOURCE_PASSWORD}\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"manual\"\nsources = [\"shop\", \"crm\", \"pg\"]\n\
         destinations = [\"local\"]\n\
         [daemon]\naudit = \"off\"\nprune = \"off\"\n{extra}"
    ));
    for db in ["shop", "crm"] {
        rusqlite::Connection::open(env.path(&format!("{db}.db")))
            .unwrap()
            .execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');")
            .unwrap();
    }
    for source in ["shop", "crm"] {
        let out = env.run(&["backup", "--source", source]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    std::fs::remove_file(env.path("crm.db")).unwrap();
    let out = env.run(&["backup", "--source", "crm"]);
    assert_eq!(out.status.code(), Some(1), "crm fails: {}", stderr(&out));
    env
}

/// Runs the binary with `input` on stdin.
fn with_stdin(env: &Env, args: &[&str], input: &str) -> std::process::Output {
    crate::common::output_with_stdin(env.cmd(args), input.as_bytes())
}

/// Adds alice (operator) and victor (viewer); returns the operator and viewer tokens.
fn users_and_tokens(env: &Env) -> (String, String) {
    let out = with_stdin(
        env,
        &["user", "add", "shorty", "--role", "viewer"],
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("use at least 12"), "{}", stderr(&out));
    for (name, role, password) in [
        ("alice", "operator", ALICE_PASSWORD),
        ("victor", "viewer", VICTOR_PASSWORD),
    ] {
        let out = with_stdin(
            env,
            &["user", "add", name, "--role", role],
            &format!("{password}\n"),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = with_stdin(
        env,
        &["user", "add", "alice", "--role", "viewer"],
        "another-long-password\n",
    );
    assert_eq!(out.status.code(), Some(2), "a taken name: {}", stderr(&out));
    let (code, users) = env.json(&["user", "list"]);
    assert_eq!(code, 0);
    let names: Vec<(&str, &str)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("alice", "operator"), ("victor", "viewer")]);
    let token = |name: &str, role: &str| {
        let (code, doc) = env.json(&["token", "create", name, "--role", role]);
        assert_eq!(code, 0, "{doc}");
        doc["token"].as_str().unwrap().to_string()
    };
    let operator = token("ci", "operator");
    let viewer = token("grafana", "viewer");
    assert!(operator.starts_with("dbward_") && operator.len() > 60);
    let out = env.run(&["token", "list"]);
    assert!(stdout(&out).contains("ci") && stdout(&out).contains("grafana"));
    assert!(
        !stdout(&out).contains(&operator),
        "list never shows a token"
    );
    (operator, viewer)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `dbward daemon` or `dbward serve`, killed when dropped.
pub struct Server {
    child: Child,
    log: PathBuf,
    pub base: String,
}

impl Server {
    pub fn start(env: &Env, command: &str, ready: &str) -> Server {
        let port = free_port();
        let log = env.path(&format!("{command}.log"));
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![command, "--listen", &listen];
        if command == "daemon" {
            args.push("--allow-root");
        }
        let child = env
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            log,
            base: format!("http://{listen}"),
        };
        let deadline = Instant::now() + DEADLINE;
        while !server.log().contains(ready) {
            assert!(
                Instant::now() < deadline,
                "{command} did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the server process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits until the log holds `text` `times` times.
    pub fn wait_log_count(&self, text: &str, times: usize) {
        let deadline = Instant::now() + DEADLINE;
        while self.log().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "no {text:?} (x{times}) in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that keeps every body it read, for the leak check.
struct Client {
    http: reqwest::Client,
    base: String,
    seen: Vec<String>,
}

impl Client {
    fn new(base: &str) -> Client {
        dbward_core::tls::install_crypto_provider();
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            seen: Vec::new(),
        }
    }

    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        self.seen.push(body.clone());
        (status, headers, body)
    }

    /// GETs `path`; an API answer is checked against docs/openapi.json.
    async fn get(&mut self, path: &str, auth: Auth<'_>) -> (StatusCode, String) {
        let request = auth.apply(self.http.get(format!("{}{path}", self.base)));
        let (status, _, body) = self.send(request).await;
        if path.starts_with("/api/") {
            openapi::conforms("GET", path, status.as_u16(), &body);
        }
        (status, body)
    }

    async fn json(&mut self, path: &str, auth: Auth<'_>) -> Value {
        let (status, body) = self.get(path, auth).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn post_backup(
        &mut self,
        auth: Auth<'_>,
        csrf: Option<&str>,
        source: &str,
    ) -> (StatusCode, String) {
        let mut request = auth
            .apply(self.http.post(format!("{}/api/v1/backups", self.base)))
            .header("Content-Type", "application/json")
            .body(serde_json::json!({ "source": source, "database": source }).to_string());
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        let (status, _, body) = self.send(request).await;
        openapi::conforms("POST", "/api/v1/backups", status.as_u16(), &body);
        (status, body)
    }

    /// Logs in through the form: (status, session cookie, the page's CSRF token).
    async fn login(&mut self, name: &str, password: &str) -> (StatusCode, Option<String>) {
        let (_, headers, page) = self
            .send(self.http.get(format!("{}/login", self.base)))
            .await;
        let form_cookie = set_cookie(&headers, "dbward_login_csrf").expect("a form cookie");
        let csrf = hidden_csrf(&page);
        let request = self
            .http
            .post(format!("{}/login", self.base))
            .header("Cookie", format!("dbward_login_csrf={form_cookie}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("name", name),
                ("password", password),
                ("csrf", &csrf),
            ]));
        let (status, headers, _) = self.send(request).await;
        let session = set_cookie(&headers, "dbward_session").filter(|s| !s.is_empty());
        if let Some(line) = headers
            .get_all("set-cookie")
            .iter()
            .find(|v| v.to_str().unwrap().starts_with("dbward_session="))
        {
            let line = line.to_str().unwrap();
            assert!(
                line.contains("HttpOnly") && line.contains("SameSite=Strict"),
                "{line}"
            );
        }
        (status, session)
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Session(&'a str),
}

impl Auth<'_> {
    fn apply(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Session(id) => request.header("Cookie", format!("dbward_session={id}")),
        }
    }
}

fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// An `application/x-www-form-urlencoded` body.
fn form(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    pairs.join("&")
}

/// The value of the first hidden `csrf` input of a page.
fn hidden_csrf(page: &str) -> String {
    let at =
        page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

/// The backups of one database, by the CLI.
fn backups(env: &Env, source: &str) -> Vec<Value> {
    let (code, doc) = env.json(&["list", "--source", source]);
    assert_eq!(code, 0);
    doc["backups"].as_array().unwrap().clone()
}

#[test]
fn exposing_the_dashboard_without_any_user_or_token_is_refused() {
    let env = env();
    let port = free_port();
    let out = env.run(&["serve", "--listen", &format!("0.0.0.0:{port}")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no user or API token exists yet"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&[
        "daemon",
        "--allow-root",
        "--listen",
        &format!("0.0.0.0:{port}"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no user or API token exists yet"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_like_the_cli_refuses_the_wrong_caller_and_leaks_nothing() {
    let env = env();
    let (operator, viewer) = users_and_tokens(&env);
    let server = Server::start(&env, "daemon", "daemon started");
    let mut client = Client::new(&server.base);

    // No or unknown credentials: 401, for every read.
    for path in [
        "/api/v1/status",
        "/api/v1/backups",
        "/api/v1/agents",
        "/api/v1/problems",
        "/api/v1/destinations",
    ] {
        let (status, body) = client.get(path, Auth::None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        let (status, _) = client.get(path, Auth::Bearer("dbward_not-a-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = client.get("/", Auth::None).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "pages send strangers to the login"
    );
    let (status, body) = client.get("/api/v1/openapi.json", Auth::None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"/api/v1/backups/{id}\""));

    // The documents are the CLI's.
    let api = client.json("/api/v1/backups", Auth::Bearer(&viewer)).await;
    let (_, cli) = env.json(&["list"]);
    assert_eq!(api, cli);
    let api = client
        .json(
            "/api/v1/backups?source=crm&status=failed",
            Auth::Bearer(&viewer),
        )
        .await;
    let (_, cli) = env.json(&["list", "--source", "crm", "--status", "failed"]);
    assert_eq!(api, cli);
    assert_eq!(api["backups"].as_array().unwrap().len(), 1);
    let failed_id = api["backups"][0]["id"].as_str().unwrap().to_string();
    let api = client
        .json(
            &format!("/api/v1/backups/{failed_id}"),
            Auth::Bearer(&viewer),
        )
        .await;
    let (_, cli) = env.json(&["show", &failed_id]);
    assert_eq!(api, cli);
    let (status, _) = client
        .get("/api/v1/backups/01NOSUCHBACKUP", Auth::Bearer(&viewer))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = client
        .get("/api/v1/backups?status=exploded", Auth::Bearer(&viewer))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let api = client.json("/api/v1/status", Auth::Bearer(&viewer)).await;
    let (_, cli) = env.json(&["status"]);
    assert_eq!(api["state"], cli["state"]);
    assert_eq!(api["problems"], cli["problems"]);
    let summary = |doc: &Value| -> Vec<(String, String, String)> {
        doc["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["source"].to_string(),
                    d["database"].to_string(),
                    d["state"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(summary(&api), summary(&cli));
    assert_eq!(api["state"], "critical", "{api:#}");
    assert!(api.get("alerts").is_none(), "the API tells no alert");
    let api = client.json("/api/v1/agents", Auth::Bearer(&viewer)).await;
    let (_, cli) = env.json(&["agents"]);
    let ids = |doc: &Value| -> BTreeSet<String> {
        doc["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&api), ids(&cli));
    assert!(
        api["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "daemon" && a["state"] == "alive")
    );

    // Starting a backup: operators only; a session also needs its CSRF token.
    let (status, _) = client.post_backup(Auth::None, None, "shop").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = client
        .post_backup(Auth::Bearer(&viewer), None, "shop")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = client
        .post_backup(Auth::Bearer(&operator), None, "nosuch")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let before = backups(&env, "shop").len();
    let (status, body) = client
        .post_backup(Auth::Bearer(&operator), None, "shop")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deadline = Instant::now() + DEADLINE;
    while !(backups(&env, "shop").len() == before + 1
        && backups(&env, "shop")[0]["status"] == "succeeded")
    {
        assert!(
            Instant::now() < deadline,
            "the backup did not appear:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let (status, alice) = client.login("alice", ALICE_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let alice = alice.expect("a session cookie");
    let (status, page) = client.get("/", Auth::Session(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("crm/crm") && page.contains("row-critical"),
        "{page}"
    );
    assert!(
        page.find(">crm/crm<").unwrap() < page.find(">shop/shop<").unwrap(),
        "worst first: {page}"
    );
    let csrf = hidden_csrf(&page);
    let (status, _) = client
        .post_backup(Auth::Session(&alice), None, "shop")
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a session's POST without its CSRF token"
    );
    let (status, _) = client
        .post_backup(Auth::Session(&alice), Some("wrong"), "shop")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = client
        .post_backup(Auth::Session(&alice), Some(&csrf), "shop")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let form = client
        .http
        .post(format!("{}/db/shop/shop/backup", client.base))
        .header("Cookie", format!("dbward_session={alice}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", "")]));
    let (status, _, _) = client.send(form).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the form without its CSRF token"
    );
    let (status, victor) = client.login("victor", VICTOR_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let victor = victor.unwrap();
    let (_, page) = client.get("/db/shop/shop", Auth::Session(&victor)).await;
    assert!(!page.contains("Back up now"), "viewers get no button");
    let (_, page) = client.get("/db/shop/shop", Auth::Session(&alice)).await;
    assert!(page.contains("Back up now"));

    // Every action is in the audit log, with who did it.
    let (status, page) = client.get("/audit", Auth::Session(&victor)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("shop/shop").count(), 2, "{page}");
    assert!(
        page.contains("ci (token)") && page.contains("alice (user)"),
        "{page}"
    );
    for path in [
        "/fleet",
        &format!("/backup/{failed_id}"),
        "/db/crm/crm",
        "/?state=critical&source=crm",
    ] {
        let (status, body) = client.get(path, Auth::Session(&victor)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // Wrong passwords: told alike, then limited per client address.
    let (status, none) = client.login("alice", "wrong-password-123").await;
    assert_eq!((status, none), (StatusCode::UNAUTHORIZED, None));
    let (status, _) = client.login("nobody", "wrong-password-123").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for _ in 2..5 {
        client.login("alice", "wrong-password-123").await;
    }
    let (status, none) = client.login("alice", ALICE_PASSWORD).await;
    assert_eq!(
        (status, none),
        (StatusCode::TOO_MANY_REQUESTS, None),
        "even the right password waits"
    );

    // No secret in any response, the daemon's log, or the catalog (hashes only).
    let mut catalog = std::fs::read(env.path("state/catalog.db")).unwrap();
    catalog.extend(std::fs::read(env.path("state/catalog.db-wal")).unwrap_or_default());
    let catalog = String::from_utf8_lossy(&catalog);
    for secret in [
        SOURCE_PASSWORD,
        ALICE_PASSWORD,
        VICTOR_PASSWORD,
        &operator,
        &viewer,
    ] {
        for body in &client.seen {
            assert!(!body.contains(secret), "a response shows a secret: {body}");
        }
        assert!(!server.log().contains(secret), "the log shows a secret");
        assert!(
            !catalog.contains(secret),
            "the catalog holds a secret in clear"
        );
    }
}

/// What the browser test needs, or a loud failure naming how to get it.
fn browser_tools() -> (PathBuf, PathBuf) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is needed for the browser test: install Debian's nodejs (scripts/test.sh does)"
    );
    let chromium = PathBuf::from(
        std::env::var("DBWARD_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        chromium.is_file(),
        "{} is missing: install Debian's chromium (scripts/test.sh does)",
        chromium.display()
    );
    let modules = PathBuf::from(std::env::var("DBWARD_TEST_NODE_MODULES").expect(
        "DBWARD_TEST_NODE_MODULES is not set: `source scripts/lib/test-tools.sh` installs \
         playwright-core and axe-core and sets it",
    ));
    for package in ["playwright-core", "axe-core"] {
        assert!(
            modules.join(package).is_dir(),
            "{package} is not in {}: `source scripts/lib/test-tools.sh`",
            modules.display()
        );
    }
    (chromium, modules)
}

#[test]
fn the_dashboard_in_a_real_browser() {
    let (chromium, modules) = browser_tools();
    let env = env();
    users_and_tokens(&env);
    // A second schedule of crm's with an RPO its last good backup is past by the time the
    // overview is looked at (a second later at least).
    let mut config = std::fs::read_to_string(env.config()).unwrap();
    config.push_str(
        "\n[[schedule]]\nname = \"strict\"\nsources = [\"crm\"]\ndestinations = [\"local\"]\nrpo = \"1s\"\n",
    );
    std::fs::write(env.config(), config).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let server = Server::start(&env, "serve", "serving the dashboard");
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let before = backups(&env, "shop").len();
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/web/browser.cjs"
        ))
        .env("NODE_PATH", &modules)
        .env("DBWARD_URL", &server.base)
        .env("DBWARD_CHROMIUM", &chromium)
        .env("DBWARD_SCREENSHOTS", &screenshots)
        .env("DBWARD_OPERATOR", format!("alice:{ALICE_PASSWORD}"))
        .env("DBWARD_VIEWER", format!("victor:{VICTOR_PASSWORD}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}\nserver log:\n{}",
        stdout(&out),
        stderr(&out),
        server.log()
    );
    let shop = backups(&env, "shop");
    assert_eq!(shop.len(), before + 1, "Back up now made one backup");
    assert_eq!(shop[0]["status"], "succeeded");
    for page in [
        "login",
        "overview",
        "problems",
        "destinations",
        "database",
        "backup",
        "fleet",
        "audit",
    ] {
        let shot = screenshots.join(format!("{page}.png"));
        assert!(shot.is_file(), "no screenshot {}", shot.display());
    }
}
