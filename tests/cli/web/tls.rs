//! The dashboard and API over TLS from `[http] tls_cert`/`tls_key`: a self-signed
//! certificate made here with openssl, a client that trusts only it, session cookies
//! `Secure`, plain HTTP refused, and a missing key file stopping the start with its name;
//! the daemon's SIGHUP putting a renewed certificate in force, and keeping it over a broken
//! key.

use std::io::Write;
use std::process::Command;

use reqwest::StatusCode;

use super::{Auth, Client, Server, VICTOR_PASSWORD, env, free_port, users_and_tokens};
use crate::common::{Env, stderr};

/// A self-signed certificate for 127.0.0.1 in `cert.pem`, its key in `key.pem`.
fn self_signed(env: &Env) -> Vec<u8> {
    self_signed_as(env, "", "dbward test")
}

/// A self-signed certificate for 127.0.0.1 with common name `name`, in `{prefix}cert.pem`
/// and its key in `{prefix}key.pem`.
fn self_signed_as(env: &Env, prefix: &str, name: &str) -> Vec<u8> {
    let (cert, key) = (format!("{prefix}cert.pem"), format!("{prefix}key.pem"));
    let subject = format!("/CN={name}");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", &subject])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        // A server's own certificate, not a CA's (rustls refuses a CA as the end entity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(env.path(&key))
        .arg("-out")
        .arg(env.path(&cert))
        .output()
        .expect("openssl is needed for the TLS test (Debian's openssl package)");
    assert!(out.status.success(), "openssl: {}", stderr(&out));
    std::fs::read(env.path(&cert)).unwrap()
}

/// Whether a new connection to `url` (a fresh client, so no pooled connection) completes a
/// TLS handshake with a client that trusts only `cert`, and gets a page.
async fn trusted_by(url: &str, cert: &[u8]) -> bool {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert).unwrap()])
        .build()
        .unwrap();
    match client.get(url).send().await {
        Ok(response) => response.status() == StatusCode::OK,
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_puts_a_renewed_certificate_in_force_on_sighup_and_keeps_it_over_a_broken_key() {
    use nix::sys::signal::Signal::SIGHUP;
    let env = env();
    let first = self_signed_as(&env, "", "dbward first");
    let renewed = self_signed_as(&env, "renewed-", "dbward renewed");
    append(
        &env,
        "[http]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    );
    dbward_core::tls::install_crypto_provider();
    let daemon = Server::start(&env, "daemon", "daemon started");
    let healthz = format!("{}/healthz", daemon.base.replacen("http://", "https://", 1));
    assert!(trusted_by(&healthz, &first).await, "{}", daemon.log());
    assert!(!trusted_by(&healthz, &renewed).await);

    // The files are replaced (as a renewal does); SIGHUP puts the new pair in force.
    std::fs::copy(env.path("renewed-cert.pem"), env.path("cert.pem")).unwrap();
    std::fs::copy(env.path("renewed-key.pem"), env.path("key.pem")).unwrap();
    // An open connection keeps its certificate; only new ones take the renewed one.
    let open = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&first).unwrap()])
        .build()
        .unwrap();
    assert_eq!(
        open.get(&healthz).send().await.unwrap().status(),
        StatusCode::OK
    );
    daemon.signal(SIGHUP);
    daemon.wait_log_count("reloaded the TLS certificate", 1);
    assert!(trusted_by(&healthz, &renewed).await, "{}", daemon.log());
    assert!(
        !trusted_by(&healthz, &first).await,
        "the old certificate is out of force"
    );
    assert_eq!(
        open.get(&healthz).send().await.unwrap().status(),
        StatusCode::OK,
        "the connection opened before the reload is untouched"
    );

    // A broken key: logged naming the file, and the renewed certificate stays in force.
    std::fs::write(env.path("key.pem"), "not a key\n").unwrap();
    daemon.signal(SIGHUP);
    daemon.wait_log_count("not reloading the TLS certificate", 1);
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("not reloading the TLS certificate"))
        .unwrap();
    assert!(
        line.contains("[http] tls_key") && line.contains("key.pem"),
        "the error names the key file: {line}"
    );
    assert!(trusted_by(&healthz, &renewed).await, "{log}");
    assert!(
        !log.contains("not a key"),
        "the key file's content is not logged"
    );
    // The daemon goes on serving and reloading: a good pair again is taken.
    std::fs::copy(env.path("renewed-key.pem"), env.path("key.pem")).unwrap();
    daemon.signal(SIGHUP);
    daemon.wait_log_count("reloaded the TLS certificate", 2);
    assert!(trusted_by(&healthz, &renewed).await, "{}", daemon.log());
}

fn append(env: &Env, text: &str) {
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(env.config())
        .unwrap();
    config.write_all(text.as_bytes()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_https_from_certificate_files_with_secure_cookies() {
    let env = env();
    let (_, viewer) = users_and_tokens(&env);
    let cert = self_signed(&env);
    append(
        &env,
        "[http]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    );
    let server = Server::start(&env, "serve", "serving the dashboard");
    assert!(server.log().contains("on https://"), "{}", server.log());
    let https = server.base.replacen("http://", "https://", 1);

    // Plain HTTP gets no page.
    dbward_core::tls::install_crypto_provider();
    let plain = reqwest::Client::new()
        .get(format!("{}/api/v1/status", server.base))
        .bearer_auth(&viewer)
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP is not served: {plain:?}"
    );

    let mut client = Client::new(&https);
    client.http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .build()
        .unwrap();
    let (status, body) = client.get("/api/v1/status", Auth::Bearer(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"databases\""), "{body}");

    let login = client.send(client.http.get(format!("{https}/login"))).await;
    let form_cookie = login
        .1
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("dbward_login_csrf="))
        .unwrap();
    assert!(form_cookie.contains("; Secure"), "{form_cookie}");
    let (status, session) = client.login("victor", VICTOR_PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session.expect("a session over HTTPS");
    let (status, _) = client.get("/problems", Auth::Session(&session)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, headers, _) = client
        .send(
            client
                .http
                .post(format!("{https}/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("name=victor&password=x&csrf=x"),
        )
        .await;
    assert!(
        headers
            .get_all("set-cookie")
            .iter()
            .all(|v| v.to_str().unwrap().contains("; Secure")),
        "every cookie is Secure over TLS"
    );
    let key = std::fs::read_to_string(env.path("key.pem")).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(
        client.seen.iter().all(|body| !body.contains(key_body)),
        "the key is in a response"
    );
    drop(server);

    // The daemon's listener serves the same way (its /healthz too).
    let daemon = Server::start(&env, "daemon", "daemon started");
    let healthz = client
        .http
        .get(format!(
            "{}/healthz",
            daemon.base.replacen("http://", "https://", 1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), StatusCode::OK);
    drop(daemon);

    // Half a pair, or a key file that is not there: the start fails naming it.
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let text = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        text.replace("tls_key = \"key.pem\"\n", "tls_key = \"gone.pem\"\n"),
    )
    .unwrap();
    let out = env.run(&["serve", "--listen", &listen]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("[http] tls_key") && stderr(&out).contains("gone.pem"),
        "{}",
        stderr(&out)
    );
    std::fs::write(env.config(), text.replace("tls_key = \"key.pem\"\n", "")).unwrap();
    let out = env.run(&["serve", "--listen", &listen]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[http] key `tls_key`: required with `tls_cert`"),
        "{}",
        stderr(&out)
    );
}
