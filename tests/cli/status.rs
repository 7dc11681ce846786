//! `dbward status` end to end on a SQLite source: each problem a person relies on it to
//! report, the monitoring-plugin exit codes, and time moved by rewriting the catalog's
//! timestamps (as hours passing would).

use serde_json::Value;

use crate::common::{Env, stdout};

fn env(schedule_extra: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n{schedule_extra}"
    ));
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');",
        )
        .unwrap();
    env
}

/// The (kind, severity) of each problem, in order.
fn kinds(doc: &Value) -> Vec<(String, String)> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn message<'a>(doc: &'a Value, kind: &str) -> &'a str {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} problem: {doc:#}"))["message"]
        .as_str()
        .unwrap()
}

/// Runs SQL on the catalog, as time passing or an operator's edit would change it.
fn on_catalog(env: &Env, sql: &str) {
    rusqlite::Connection::open(env.path("state/catalog.db"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn warn(kind: &str) -> (String, String) {
    (kind.to_string(), "warning".to_string())
}

fn crit(kind: &str) -> (String, String) {
    (kind.to_string(), "critical".to_string())
}

#[test]
fn no_backup_then_one_local_copy_then_a_failure() {
    let env = env("");
    let (code, doc) = env.json(&["status"]);
    assert_eq!(
        (code, doc["state"].as_str()),
        (1, Some("warning")),
        "{doc:#}"
    );
    assert_eq!(kinds(&doc), [warn("stale")]);
    assert_eq!(doc["problems"][0]["database"], Value::Null);
    assert_eq!(doc["problems"][0]["schedule"], "nightly");
    assert!(message(&doc, "stale").starts_with("no good backup yet"));

    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 0);
    // One copy, on this host: 3-2-1 is not met, and status says so.
    let (code, doc) = env.json(&["status"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(kinds(&doc), [warn("copies"), warn("copies")]);
    assert!(message(&doc, "copies").contains("has 1 copy"));
    let db = &doc["databases"][0];
    assert_eq!(
        (db["source"].as_str(), db["database"].as_str()),
        (Some("lite"), Some("app"))
    );
    assert_eq!(db["last_good"]["copies"], 1);
    assert_eq!(db["last_good"]["on_host_copies"], 1, "an fs destination");
    assert_eq!(db["last_good"]["off_host_copies"], 0);
    assert_eq!(db["last_good"]["encrypted_copies"], 0, "no [encryption]");
    assert_eq!(
        (&db["rpo_seconds"], &db["rto_seconds"]),
        (&Value::Null, &Value::Null)
    );

    std::fs::remove_file(env.path("app.db")).unwrap();
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.starts_with("DBWARD CRITICAL - 1 critical, 2 warning(s), 1 database(s)\n"),
        "{text}"
    );
    assert!(
        text.contains("CRITICAL failed lite/app: latest backup"),
        "{text}"
    );
}

#[test]
fn missed_runs_are_stale_and_past_the_rpo_critical() {
    let env = env("cron = \"0 * * * *\"\nrpo = \"90m\"\n");
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 0);
    let (_, doc) = env.json(&["status"]);
    assert!(
        !kinds(&doc).iter().any(|(k, _)| k == "stale" || k == "rpo"),
        "{doc:#}"
    );

    // Five hours later, with nothing run since: several hourly runs missed. The summaries
    // keep copies of the backups they judge (migration 12), so an edit by hand asks the next
    // open to recompute them, as a migration does.
    on_catalog(
        &env,
        "UPDATE backups SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', started_at, '-5 hours'),
                            finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', finished_at, '-5 hours');
         UPDATE schedules SET first_seen = strftime('%Y-%m-%dT%H:%M:%fZ', first_seen, '-6 hours');
         INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;",
    );
    let (code, doc) = env.json(&["status"]);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(&kinds(&doc)[..2], [crit("stale"), crit("rpo")]);
    let stale = message(&doc, "stale");
    assert!(
        stale.contains("scheduled runs missed since") && stale.contains("cron \"0 * * * *\""),
        "{stale}"
    );
    assert!(
        message(&doc, "rpo").ends_with("past the rpo of 1h 30m"),
        "{doc:#}"
    );
    let db = &doc["databases"][0];
    assert_eq!(db["rpo_seconds"], 5400, "{db:#}");
    assert!(
        db["last_good"]["age_seconds"].as_i64().unwrap() > 5400,
        "{db:#}"
    );
}

#[test]
fn a_drill_cadence_is_owed_until_a_drill_passes() {
    let env = env("drill = \"0 4 * * *\"\nrto = \"1h\"\n");
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 0);
    on_catalog(
        &env,
        "INSERT INTO schedules (name, first_seen) VALUES
             ('nightly', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days'))
         ON CONFLICT (name) DO UPDATE SET first_seen = excluded.first_seen;",
    );
    let (code, doc) = env.json(&["status"]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        message(&doc, "unverified").contains("none has passed yet"),
        "{doc:#}"
    );
    assert_eq!(doc["databases"][0]["last_drill"], Value::Null);

    let (code, _) = env.json(&["verify", "--latest", "--level", "drill"]);
    assert_eq!(code, 0);
    let (_, doc) = env.json(&["status"]);
    assert!(
        !kinds(&doc).iter().any(|(k, _)| k == "unverified"),
        "{doc:#}"
    );
    assert!(doc["databases"][0]["last_drill"].is_string());
    assert_eq!(doc["databases"][0]["rto_seconds"], 3600);
    assert!(
        doc["databases"][0]["last_drill_restore_seconds"].is_f64(),
        "the drill measured its restore: {doc:#}"
    );
    assert!(!kinds(&doc).iter().any(|(k, _)| k == "rto"), "{doc:#}");

    // Had that drill's restore taken two hours, the rto of one hour would be missed.
    on_catalog(
        &env,
        "UPDATE verifications SET restore_ms = 7200000,
             details = json_set(details, '$.restore_ms', 7200000) WHERE level = 'drill';
         UPDATE health_summary SET drill_passed_restore_ms = 7200000;",
    );
    let (code, doc) = env.json(&["status"]);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(
        message(&doc, "rto"),
        "the last restore drill's restore took 2h, past the rto of 1h"
    );
    assert_eq!(doc["databases"][0]["last_drill_restore_seconds"], 7200.0);
}

#[test]
fn an_unreadable_config_is_unknown() {
    let env = Env::new("[[source]]\nname = \"x\"\nengine = \"oracle\"\n");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).starts_with("DBWARD UNKNOWN - "),
        "{}",
        stdout(&out)
    );
    let (code, doc) = env.json(&["status"]);
    assert_eq!(code, 3);
    assert_eq!(doc["state"], "unknown");
    assert!(doc["error"].as_str().unwrap().contains("oracle"), "{doc:#}");
}
