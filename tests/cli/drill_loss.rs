//! Drills notice loss, not just counted rows: the drill compares the restored copy's object
//! inventory with the one recorded in the manifest at backup time. Each test removes one
//! object (or one history row) from the restored copy with a drill assertion — assertions
//! run before the comparisons — and the drill must fail naming what is missing; an intact
//! copy passes.

use dbward_testkit::{MariaServer, PgServer};
use serde_json::Value;

use crate::common::Env;
use crate::postgres::{pg_env, write_secret};

/// Writes `config` plus a schedule over `source` whose one assertion runs `tamper` (SQL that
/// changes the scratch copy, then `SELECT 1`), or none.
fn with_assertion(env: &Env, config: &str, source: &str, tamper: Option<&str>) {
    let mut text = format!(
        "{config}[[schedule]]\nname = \"nightly\"\nsources = [\"{source}\"]\ndestinations = [\"local\"]\n"
    );
    if let Some(sql) = tamper {
        text.push_str(&format!(
            "[[schedule.assert]]\nsql = {:?}\nequals = \"1\"\n",
            format!("{sql}; SELECT 1")
        ));
    }
    std::fs::write(env.config(), text).unwrap();
}

/// The drill's result for the latest backup and its `objects` check.
fn drill(env: &Env, run: impl Fn(&[&str]) -> (i32, Value)) -> (i32, Value, Value) {
    let (code, doc) = run(&["verify", "--latest", "--level", "drill"]);
    let result = doc["verifications"][0].clone();
    let objects = result["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks: {doc:#}"))
        .iter()
        .find(|c| c["name"] == "objects")
        .cloned()
        .unwrap_or_else(|| panic!("no objects check: {doc:#} ({:?})", env.dir.path()));
    (code, result, objects)
}

/// Runs the drill after `tamper` and asserts that it fails naming `missing`.
fn assert_noticed(
    env: &Env,
    config: &str,
    source: &str,
    run: &impl Fn(&[&str]) -> (i32, Value),
    tamper: &str,
    missing: &str,
) {
    with_assertion(env, config, source, Some(tamper));
    let (code, result, objects) = drill(env, run);
    assert_eq!(code, 1, "{tamper}: {result:#}");
    assert_eq!(result["ok"], false, "{tamper}: {result:#}");
    assert_eq!(objects["ok"], false, "{tamper}: {result:#}");
    let detail = objects["detail"].as_str().unwrap();
    assert!(detail.contains(missing), "{tamper}: {detail}");
}

#[test]
fn postgres_drill_fails_when_a_view_or_a_trigger_is_missing_and_passes_intact() {
    let server = PgServer::shared();
    let db = server.create_database("cli_drill_loss");
    db.sql(
        "CREATE TABLE t(id int PRIMARY KEY, v text);
         INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g;
         CREATE VIEW recent AS SELECT * FROM t WHERE id > 40;
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();",
    );
    let env = pg_env(server, &[&db.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    let run = |args: &[&str]| env.json(args);
    let (code, doc) = run(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let manifest = manifest_inventory(&env);
    assert_eq!(manifest["objects"]["views"], 1, "{manifest:#}");
    assert_eq!(manifest["objects"]["triggers"], 1, "{manifest:#}");
    assert_eq!(manifest["objects"]["routines"], 1, "{manifest:#}");

    with_assertion(&env, &config, "pg", None);
    let (code, result, objects) = drill(&env, run);
    assert_eq!(code, 0, "{result:#}");
    assert_eq!(objects["ok"], true, "{result:#}");
    assert!(
        objects["detail"].as_str().unwrap().contains("1 views"),
        "{objects:#}"
    );

    assert_noticed(
        &env,
        &config,
        "pg",
        &run,
        "DROP VIEW recent",
        "views: 1 missing",
    );
    assert_noticed(
        &env,
        &config,
        "pg",
        &run,
        "DROP TRIGGER t_touch ON t",
        "triggers: 1 missing",
    );
}

#[test]
fn mariadb_drill_fails_when_a_view_a_trigger_or_a_history_row_is_missing_and_passes_intact() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_drill_loss");
    db.sql(
        "CREATE TABLE t(id INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
         INSERT INTO t VALUES (1, 1), (2, 2);
         UPDATE t SET v = 3 WHERE id = 1;
         CREATE TABLE log(id INT);
         CREATE VIEW current_t AS SELECT * FROM t;
         CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW INSERT INTO log VALUES (NEW.id);",
    );
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let config = std::fs::read_to_string(env.config()).unwrap();
    let run = |args: &[&str]| env.json(args);
    let (code, doc) = run(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let inventory = manifest_inventory(&env);
    assert_eq!(inventory["objects"]["views"], 1, "{inventory:#}");
    assert_eq!(inventory["objects"]["triggers"], 1, "{inventory:#}");
    assert_eq!(
        inventory["history"],
        serde_json::json!([{"table": "t", "rows": 1}]),
        "{inventory:#}"
    );

    with_assertion(&env, &config, "maria", None);
    let (code, result, objects) = drill(&env, run);
    assert_eq!(code, 0, "{result:#}");
    assert_eq!(objects["ok"], true, "{result:#}");
    assert!(
        objects["detail"]
            .as_str()
            .unwrap()
            .contains("1 history rows"),
        "{objects:#}"
    );

    assert_noticed(
        &env,
        &config,
        "maria",
        &run,
        "DROP VIEW current_t",
        "views: 1 missing",
    );
    assert_noticed(
        &env,
        &config,
        "maria",
        &run,
        "DROP TRIGGER t_log",
        "triggers: 1 missing",
    );
    assert_noticed(
        &env,
        &config,
        "maria",
        &run,
        "DELETE HISTORY FROM t",
        "history rows of t: restored 0, the backup had 1",
    );
}

/// The `inventory` of the only manifest under `backups/`.
pub fn manifest_inventory(env: &Env) -> Value {
    let manifests: Vec<String> = env
        .files("backups")
        .into_iter()
        .filter(|f| f.ends_with(".manifest.json"))
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    let text = std::fs::read(env.path("backups").join(&manifests[0])).unwrap();
    let manifest: Value = serde_json::from_slice(&text).unwrap();
    manifest["inventory"].clone()
}
