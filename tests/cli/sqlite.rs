//! SQLite end to end: backup, the stored artifact and manifest, list and show, the quick start.

use serde_json::Value;

use crate::common::{Env, only_backup, sha256_file, unzstd};

fn sqlite_config(verify: &str) -> String {
    format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\nverify_upload = \"{verify}\"\n"
    )
}

fn seed(path: &std::path::Path, rows: u32) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE empty(x);",
    )
    .unwrap();
    for i in 0..rows {
        conn.execute(
            "INSERT INTO notes(body) VALUES (?1)",
            [format!("note {i} ✓")],
        )
        .unwrap();
    }
}

#[test]
fn backup_stores_a_verifiable_artifact_and_manifest() {
    let env = Env::new(&sqlite_config("checksum"));
    seed(&env.path("app.db"), 250);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    for field in [
        "id",
        "source",
        "engine",
        "database",
        "status",
        "error",
        "started_at",
        "finished_at",
        "dump_bytes",
        "stored_bytes",
        "sha256",
        "copies",
        "verification",
    ] {
        assert!(backup.get(field).is_some(), "missing {field} in {backup:#}");
    }
    assert_eq!(backup["status"], "succeeded");
    assert_eq!(backup["error"], Value::Null);
    assert_eq!(backup["engine"], "sqlite");
    let copy = &backup["copies"][0];
    assert_eq!(copy["status"], "committed");

    let artifact = env.path("backups").join(copy["path"].as_str().unwrap());
    assert!(artifact.to_string_lossy().ends_with(".sqlite.zst"));
    assert_eq!(sha256_file(&artifact), backup["sha256"].as_str().unwrap());
    let manifest_path = artifact
        .to_string_lossy()
        .replace(".sqlite.zst", ".manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["id"], backup["id"]);
    assert_eq!(manifest["sha256"], backup["sha256"]);
    assert_eq!(
        manifest["tables"],
        serde_json::json!([{"table": "empty", "rows": 0}, {"table": "notes", "rows": 250}])
    );

    // The artifact is standard zstd around a standard SQLite file.
    let restored = env.path("restored.db");
    unzstd(&artifact, &restored);
    let conn = rusqlite::Connection::open(&restored).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 250);

    let (code, list) = env.json(&["list"]);
    assert_eq!(code, 0);
    assert_eq!(only_backup(&list)["id"], backup["id"]);
    let id = backup["id"].as_str().unwrap();
    let (code, shown) = env.json(&["show", &id[..20]]);
    assert_eq!(code, 0);
    assert_eq!(shown["id"], backup["id"]);
    assert_eq!(shown["manifest"]["tables"], manifest["tables"]);
    // Nothing staged is left behind, and the spool is empty.
    assert!(env.files("backups/.dbward-staging").is_empty());
    assert!(env.files("state/spool").is_empty());
}

#[test]
fn human_output_has_a_summary_table_and_show_lists_tables() {
    let env = Env::new(&sqlite_config("size"));
    seed(&env.path("app.db"), 3);
    let out = env.run(&["backup"]);
    assert!(out.status.success());
    let text = crate::common::stdout(&out);
    assert!(text.starts_with("DATABASE"), "{text}");
    assert!(text.contains("lite/app  succeeded"), "{text}");
    let listed = crate::common::stdout(&env.run(&["list"]));
    let id = listed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let shown = crate::common::stdout(&env.run(&["show", &id]));
    assert!(
        shown.contains("notes  3") || shown.contains("notes   3"),
        "{shown}"
    );
}

#[test]
fn missing_sqlite_file_fails_the_backup_with_exit_1() {
    let env = Env::new(&sqlite_config("size"));
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "failed");
    assert!(
        backup["error"].as_str().unwrap().contains("no such file"),
        "{backup:#}"
    );
    assert!(
        env.files("backups")
            .iter()
            .all(|f| f.starts_with(".dbward-staging"))
    );
}

#[test]
fn quickstart_example_backs_up_and_lists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = Env::new("");
    // Copy the example so the test never writes into the source tree.
    let example = root.join("examples/quickstart");
    for file in ["dbward.toml", "app.db"] {
        std::fs::copy(example.join(file), env.path(file)).unwrap();
    }
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(only_backup(&doc)["status"], "succeeded");
    let (_, list) = env.json(&["list"]);
    assert_eq!(list["backups"].as_array().unwrap().len(), 1);
    // What scripts/quickstart.sh says of the example's health: a warning about 3-2-1 only.
    let (code, status) = env.json(&["status"]);
    assert_eq!(code, 1, "{status:#}");
    let problems = status["problems"].as_array().unwrap();
    assert!(
        !problems.is_empty() && problems.iter().all(|p| p["kind"] == "copies"),
        "{status:#}"
    );
}

/// A schedule's `verify` runs on each backup right after it, and its failure is the run's.
#[test]
fn a_schedules_verify_runs_after_each_backup() {
    let config = |min: u32| {
        format!(
            "{}[[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\nverify = \"drill\"\n\
             [[schedule.assert]]\nsql = \"SELECT count(*) FROM notes\"\nmin = {min}\n",
            sqlite_config("size")
        )
    };
    let env = Env::new(&config(10));
    seed(&env.path("app.db"), 20);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let verification = &doc["verifications"][0];
    assert_eq!(
        (verification["level"].as_str(), verification["ok"].as_bool()),
        (Some("drill"), Some(true)),
        "{doc:#}"
    );
    assert_eq!(only_backup(&doc)["verification"]["level"], "drill");

    // An assertion the data does not meet: the backup is kept, the run fails.
    std::fs::write(env.config(), config(1000)).unwrap();
    let out = env.run(&["backup"]);
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::stdout(&out);
    assert!(
        text.contains("lite/app: drill verification FAILED:"),
        "{text}"
    );
    let (_, list) = env.json(&["list"]);
    let newest = &list["backups"][0];
    assert_eq!(newest["status"], "succeeded");
    assert_eq!(newest["verification"]["ok"], false);
}

#[test]
fn compression_level_auto_backs_up_restorably_and_records_the_levels() {
    let env = Env::new(&format!(
        "{}[[schedule]]\nname = \"auto\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n\
         compression_level = \"auto\"\n",
        sqlite_config("checksum")
    ));
    seed(&env.path("app.db"), 500);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();
    let (_, shown) = env.json(&["show", &id]);
    let level = &shown["manifest"]["compression_level"];
    assert_eq!(level["auto"], true, "{shown:#}");
    let (lowest, highest) = (
        level["lowest"].as_i64().unwrap(),
        level["highest"].as_i64().unwrap(),
    );
    assert!(
        (2..=9).contains(&lowest) && lowest <= highest && highest <= 9,
        "{level}"
    );
    let (code, verified) = env.json(&["verify", &id, "--level", "drill"]);
    assert_eq!(code, 0, "an auto-compressed backup restores: {verified:#}");
}
