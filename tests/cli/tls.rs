//! TLS end to end: against private PostgreSQL and MariaDB servers that let TCP clients in
//! only over TLS, `check` shows the negotiated protocol and the mode, and a backup and a
//! restore with `tls = "verify-full"` go through the engines' own tools; with an untrusted CA
//! the backup fails saying what to fix; `require` against the shared PostgreSQL server (ssl
//! off) is refused.

use dbward_testkit::{MariaServer, PgServer};

use crate::common::{Env, only_backup, stderr, stdout};
use crate::postgres::{pg_env, write_secret};

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

/// `check` passes with a `tls` line for `source` that negotiated TLS under `verify-full`; a
/// backup and a restore of `database` into `<database>_back` succeed; then, trusting a CA
/// that did not sign the server's certificate, the backup fails saying what to fix.
fn verify_full_round_trip(env: &Env, source: &str, database: &str, other_ca: &std::path::Path) {
    let out = env.run(&["check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("ok    source {source}: tls: TLSv1.")))
        .unwrap_or_else(|| panic!("no TLS line in:\n{text}"));
    assert!(line.ends_with("(verify-full)"), "{line}");

    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc}");
    let restored = format!("{database}_back");
    let (code, doc) = env.json(&[
        "restore",
        "--latest",
        "--source",
        source,
        "--database",
        database,
        "--to-database",
        &restored,
    ]);
    assert_eq!(code, 0, "{doc}");

    std::fs::copy(other_ca, env.path("ca.pem")).unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1, "{doc}");
    let error = only_backup(&doc)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("check that ca_file holds the CA that signed the server's certificate"),
        "{error}"
    );
}

#[test]
fn postgres_verify_full_backs_up_and_restores_and_check_shows_the_negotiated_tls() {
    let (server, ca) = PgServer::start_private_tls(std::process::id()).unwrap();
    let db = server.create_database("cli_tls");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 7);");
    let env = tls_env(&server, &db.name, &ca.ca_file);
    verify_full_round_trip(&env, "pg", &db.name, &ca.other_ca_file);
    let restored = format!("{}_back", db.name);
    assert_eq!(server.sql(&restored, "SELECT count(*) FROM t"), "7");
    server.stop().unwrap();
}

#[test]
fn mariadb_verify_full_backs_up_and_restores_through_the_tools() {
    let (server, ca) = MariaServer::start_private_tls(std::process::id()).unwrap();
    let db = server.create_database("cli_tls_maria");
    db.sql("CREATE TABLE t(x INT); INSERT INTO t SELECT seq FROM seq_1_to_5;");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         tls = \"verify-full\"\nca_file = \"ca.pem\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    std::fs::copy(&ca.ca_file, env.path("ca.pem")).unwrap();
    verify_full_round_trip(&env, "maria", &db.name, &ca.other_ca_file);
    let restored = format!("{}_back", db.name);
    assert_eq!(server.sql(&restored, "SELECT COUNT(*) FROM t"), "5");
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
