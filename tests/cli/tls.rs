//! TLS end to end: against a private PostgreSQL that lets TCP clients in only over TLS,
//! `check` shows the negotiated protocol and the mode, and a backup and a restore with
//! `tls = "verify-full"` go through pg_dump and pg_restore; with an untrusted CA the backup
//! fails saying what to fix; `require` against the shared server (ssl off) is refused.

use dbward_testkit::PgServer;

use crate::common::{Env, only_backup, stderr, stdout};
use crate::postgres::pg_env;

/// `pg_env` with TLS keys, and the test CA copied beside the config as `ca.pem` (a relative
/// `ca_file` is anchored at the config file).
fn tls_env(server: &PgServer, database: &str, ca: &std::path::Path) -> Env {
    let env = pg_env(
        server,
        &[database],
        "tls = \"verify-full\"\nca_file = \"ca.pem\"",
    );
    std::fs::copy(ca, env.path("ca.pem")).unwrap();
    env
}

#[test]
fn verify_full_backs_up_and_restores_and_check_shows_the_negotiated_tls() {
    let (server, ca) = PgServer::start_private_tls(std::process::id()).unwrap();
    let db = server.create_database("cli_tls");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 7);");
    let env = tls_env(&server, &db.name, &ca.ca_file);

    let out = env.run(&["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let line = text
        .lines()
        .find(|l| l.starts_with("ok    source pg: tls: TLSv1."))
        .unwrap_or_else(|| panic!("no TLS line in:\n{text}"));
    assert!(line.ends_with("(verify-full)"), "{line}");

    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc}");
    let restored = format!("{}_back", db.name);
    let (code, doc) = env.json(&[
        "restore",
        "--latest",
        "--source",
        "pg",
        "--database",
        &db.name,
        "--to-database",
        &restored,
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(server.sql(&restored, "SELECT count(*) FROM t"), "7");

    // A CA that did not sign the server's certificate: the backup fails, saying what to fix.
    std::fs::copy(&ca.other_ca_file, env.path("ca.pem")).unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1, "{doc}");
    let error = only_backup(&doc)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("check that ca_file holds the CA that signed the server's certificate"),
        "{error}"
    );
    server.stop().unwrap();
}

#[test]
fn require_against_a_server_without_tls_fails_check_clearly() {
    let server = PgServer::shared();
    let db = server.create_database("cli_tls_req");
    let env = pg_env(server, &[&db.name], "tls = \"require\"");
    let out = env.run(&["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL  source pg: connect:")
                && l.contains("the server does not offer TLS, and tls = \"require\" requires it")),
        "{text}"
    );
}
