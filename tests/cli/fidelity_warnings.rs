//! What the stock tools cannot keep is said at backup time and shown by `status` (F23): a
//! PostgreSQL database with a subscription, backed up by a role that is not a superuser
//! (pg_dump then leaves every subscription out), gets a `fidelity` warning naming it.

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::only_backup;
use crate::postgres::pg_env;

#[test]
fn a_subscription_pg_dump_leaves_out_is_a_fidelity_warning_in_status() {
    let server = PgServer::shared();
    let db = server.create_database("cli_fidelity_sub");
    let role = format!("{}_bk", db.name);
    let password = "fidelity-backup-1";
    server.sql(
        "postgres",
        &format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{password}';
             ALTER DATABASE {} OWNER TO {role};",
            db.name
        ),
    );
    db.sql(&format!(
        "CREATE TABLE t(x int); INSERT INTO t VALUES (1); ALTER TABLE t OWNER TO {role};
         CREATE SUBSCRIPTION fid_sub CONNECTION 'host=127.0.0.1 port=1 dbname=none'
           PUBLICATION p WITH (connect = false, slot_name = NONE);"
    ));
    let mut login = server.with_password(password);
    login.user = role.clone();
    let env = pg_env(&login, &[&db.name], "");

    let (code, doc) = env.json(&["backup"]);
    let cleanup = || {
        db.sql("DROP SUBSCRIPTION fid_sub");
    };
    if code != 0 {
        cleanup();
    }
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    let id = backup["id"].as_str().unwrap().to_string();
    let (_, show) = env.json(&["show", &id]);
    cleanup();
    let manifest = &show["manifest"];
    assert_eq!(
        manifest["fidelity"][0]["object"], "subscription \"fid_sub\"",
        "{manifest:#}"
    );
    assert!(
        manifest["fidelity"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("superuser"),
        "{manifest:#}"
    );
    let warnings: Vec<&str> = manifest["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("subscription \"fid_sub\": not in this backup")),
        "{warnings:?}"
    );
    // pg_dump itself says it left subscriptions out, without naming them.
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("subscriptions not dumped because current user is not a superuser")),
        "{warnings:?}"
    );

    let out = env.run(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("WARNING fidelity "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("subscription \"fid_sub\""), "{text}");
    let (_, status) = env.json(&["status"]);
    let found: Vec<&Value> = status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "fidelity")
        .collect();
    assert_eq!(found.len(), 1, "{status:#}");
    assert_eq!(found[0]["severity"], "warning", "{status:#}");
    assert_eq!(found[0]["source"], "pg");
    assert_eq!(found[0]["database"], db.name.as_str());
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("backup {id} does not hold everything")),
        "{status:#}"
    );
}
