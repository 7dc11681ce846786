//! Restore and verification end to end with SQLite (the server engines have the same tests
//! in restore_servers.rs): round trip, refusing to overwrite, --force, corrupt and truncated
//! artifacts, drills with count mismatches and assertions, and restoring without a catalog.

use serde_json::Value;

use crate::common::{Env, only_backup, stderr};

const CONFIG: &str = "state_dir = \"state\"\n\
    [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"data/app.db\"\n\
    [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
    [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n";

fn count(path: &std::path::Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// A backed-up SQLite database with 120 notes; returns the env and the backup.
fn backed_up(extra_config: &str) -> (Env, Value) {
    let env = Env::new(&format!("{CONFIG}{extra_config}"));
    std::fs::create_dir(env.path("data")).unwrap();
    let conn = rusqlite::Connection::open(env.path("data/app.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, blob BLOB);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 120)
         INSERT INTO notes SELECT i, 'note ' || i, randomblob(100) FROM n;
         CREATE TABLE tags(name TEXT);",
    )
    .unwrap();
    drop(conn);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc).clone();
    (env, backup)
}

fn artifact(env: &Env, backup: &Value) -> std::path::PathBuf {
    env.path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap())
}

#[test]
fn restore_latest_under_a_new_name_round_trips() {
    let (env, backup) = backed_up("");
    let (code, summary) = env.json(&[
        "restore",
        "--latest",
        "--source",
        "lite",
        "--database",
        "app",
        "--to-database",
        "copy",
    ]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["backup_id"], backup["id"]);
    assert_eq!(summary["rows"], 120);
    assert_eq!(summary["replaced"], false);
    assert_eq!(count(&env.path("data/copy.db"), "notes"), 120);
}

#[test]
fn restore_refuses_an_existing_database_without_force_and_replaces_with_it() {
    let (env, backup) = backed_up("");
    let id = backup["id"].as_str().unwrap();
    // The live database changed since the backup.
    rusqlite::Connection::open(env.path("data/app.db"))
        .unwrap()
        .execute("DELETE FROM notes WHERE id > 20", [])
        .unwrap();

    let out = env.run(&["restore", id]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exists") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        count(&env.path("data/app.db"), "notes"),
        20,
        "refused restore touched the database"
    );

    let (code, summary) = env.json(&["restore", id, "--force"]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["replaced"], true);
    assert_eq!(count(&env.path("data/app.db"), "notes"), 120);
}

fn corrupt_then_check(mutate: impl Fn(&mut Vec<u8>), expect: &[&str]) {
    let matches = |text: &str| expect.iter().any(|e| text.contains(e));
    let (env, backup) = backed_up("");
    let id = backup["id"].as_str().unwrap();
    let path = artifact(&env, &backup);
    let mut bytes = std::fs::read(&path).unwrap();
    mutate(&mut bytes);
    std::fs::write(&path, bytes).unwrap();

    for level in ["checksum", "structural"] {
        let (code, doc) = env.json(&["verify", id, "--level", level]);
        assert_eq!(code, 1, "{level}: {doc:#}");
        let error = doc["verifications"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(matches(&error), "{level}: {error}");
    }
    let out = env.run(&["restore", id, "--to-database", "restored"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(matches(&stderr(&out)), "{}", stderr(&out));
    assert!(
        !env.path("data/restored.db").exists(),
        "a half-restored database was left"
    );
    // The failed verifications are recorded and shown by list.
    let (_, list) = env.json(&["list"]);
    assert_eq!(only_backup(&list)["verification"]["ok"], false);
}

#[test]
fn a_flipped_byte_is_caught_by_checksum_structural_and_restore() {
    corrupt_then_check(
        |bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
        },
        // Our sha256 check, or zstd's own frame checksum, whichever reads it first.
        &["sha256", "doesn't match checksum"],
    );
}

#[test]
fn a_truncated_artifact_is_caught_by_checksum_structural_and_restore() {
    corrupt_then_check(
        |bytes| bytes.truncate(bytes.len().saturating_sub(1024).max(1)),
        &["bytes, the manifest says"],
    );
}

#[test]
fn drill_passes_and_leaves_no_scratch_database() {
    let (env, _) =
        backed_up("[[schedule.assert]]\nsql = \"SELECT count(*) FROM notes\"\nmin = 100\n");
    let (code, doc) = env.json(&["verify", "--latest", "--level", "drill"]);
    assert_eq!(code, 0, "{doc:#}");
    let result = &doc["verifications"][0];
    assert!(result["restore_ms"].as_u64().is_some());
    let names: Vec<&str> = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"table notes") && names.contains(&"assert SELECT count(*) FROM notes"),
        "{names:?}"
    );
    assert!(
        env.files("state/drill").iter().all(|f| !f.ends_with(".db")),
        "{:?}",
        env.files("state/drill")
    );
    let (_, list) = env.json(&["list"]);
    assert_eq!(only_backup(&list)["verification"]["level"], "drill");
    assert_eq!(only_backup(&list)["verification"]["ok"], true);
}

#[test]
fn drill_fails_when_restored_counts_differ_from_the_manifest() {
    let (env, backup) = backed_up("");
    let id = backup["id"].as_str().unwrap();
    // Edit the manifest in the catalog to claim one more row.
    let catalog = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let manifest: String = catalog
        .query_row("SELECT manifest FROM backups WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let edited = manifest.replace("\"rows\": 120", "\"rows\": 121");
    assert_ne!(manifest, edited);
    catalog
        .execute(
            "UPDATE backups SET manifest = ?1 WHERE id = ?2",
            [&edited, id],
        )
        .unwrap();

    let (code, doc) = env.json(&["verify", id, "--level", "drill"]);
    assert_eq!(code, 1, "{doc:#}");
    let error = doc["verifications"][0]["error"].as_str().unwrap();
    assert_eq!(
        error,
        "table notes: restored 120 rows, the manifest says 121"
    );
    assert!(
        env.files("state/drill").iter().all(|f| !f.ends_with(".db")),
        "scratch left: {:?}",
        env.files("state/drill")
    );
}

#[test]
fn drill_fails_when_an_assertion_is_not_met() {
    let (env, _) =
        backed_up("[[schedule.assert]]\nsql = \"SELECT count(*) FROM notes\"\nmin = 1000\n");
    let (code, doc) = env.json(&["verify", "--latest", "--level", "drill"]);
    assert_eq!(code, 1, "{doc:#}");
    let error = doc["verifications"][0]["error"].as_str().unwrap();
    assert_eq!(
        error,
        "assert SELECT count(*) FROM notes: returned 120, expected at least 1000"
    );
}

#[test]
fn restore_from_a_destination_works_without_the_catalog() {
    let (env, backup) = backed_up("");
    crate::common::lose_state_keeping_trust(&env);
    let (code, summary) = env.json(&[
        "restore",
        "--latest",
        "--source",
        "lite",
        "--database",
        "app",
        "--from",
        "local",
        "--to-database",
        "rescued",
    ]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["backup_id"], backup["id"]);
    assert_eq!(count(&env.path("data/rescued.db"), "notes"), 120);
    let id = backup["id"].as_str().unwrap();
    let (code, summary) = env.json(&[
        "restore",
        id,
        "--from",
        "local",
        "--to-database",
        "rescued2",
    ]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(count(&env.path("data/rescued2.db"), "notes"), 120);
}
