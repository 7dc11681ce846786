//! A PostgreSQL catalog end to end: a SQLite catalog migrated with `catalog migrate`, then
//! `[catalog] url` pointing dbward at it for `backup`, `list` and `status`; its connection
//! errors are one line naming the server, never the password.

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, stderr, stdout};

const URL_VAR: &str = "DBWARD_CATALOG_URL";

fn env() -> Env {
    let env = Env::new(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
    );
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
        .unwrap();
    env
}

fn use_pg_catalog(env: &Env) {
    let mut text = std::fs::read_to_string(env.config()).unwrap();
    text.push_str(&format!("[catalog]\nurl = {{ env = \"{URL_VAR}\" }}\n"));
    std::fs::write(env.config(), text).unwrap();
}

fn ids(env: &Env, url: &str) -> Vec<String> {
    let out = env
        .cmd(&["--json", "list"])
        .env(URL_VAR, url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_sqlite_catalog_migrated_to_postgres_serves_backup_list_and_status() {
    let pg = PgServer::shared();
    let db = pg.create_database("cli_catalog");
    let env = env();
    for _ in 0..2 {
        assert_eq!(env.run(&["backup"]).status.code(), Some(0));
    }
    let sqlite_ids = {
        let out = env.run(&["--json", "list"]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    let refused = env.run(&["catalog", "migrate", "--to", &db.url()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("expected env:NAME or file:PATH"));

    for round in 0..2 {
        let out = env
            .cmd(&["catalog", "migrate", "--to", &format!("env:{URL_VAR}")])
            .env(URL_VAR, db.url())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        let added = if round == 0 { 2 } else { 0 };
        assert!(
            text.contains(&format!(
                "backups                   2 rows,        {added} added"
            )),
            "{text}"
        );
        assert!(!text.contains(&pg.password) && !stderr(&out).contains(&pg.password));
    }

    use_pg_catalog(&env);
    assert_eq!(
        ids(&env, &db.url()),
        sqlite_ids,
        "the migrated catalog lists the same"
    );
    let out = env
        .cmd(&["backup"])
        .env(URL_VAR, db.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ids(&env, &db.url()).len(), 3);
    assert_eq!(
        db.sql("SELECT count(*) FROM backups WHERE status = 'succeeded'"),
        "3"
    );
    let out = env
        .cmd(&["status"])
        .env(URL_VAR, db.url())
        .output()
        .unwrap();
    assert!(stdout(&out).starts_with("DBWARD "), "{}", stdout(&out));
    assert!(!stdout(&out).contains("UNKNOWN"), "{}", stdout(&out));

    // A wrong password: one line naming the server and database, never the password.
    let wrong = pg.with_password("wrong-pass-31337").url(&db.name);
    let out = env.cmd(&["list"]).env(URL_VAR, &wrong).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("catalog postgres://{}@", pg.user)),
        "{err}"
    );
    assert!(err.contains(&format!("/{}: ", db.name)), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("wrong-pass-31337"), "{err}");
    // Unset: the config error names the variable.
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "[catalog] key `url`: environment variable {URL_VAR} is not set"
        )),
        "{}",
        stderr(&out)
    );
}
