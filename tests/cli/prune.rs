//! Prune: retention removes every copy of the backups it does not keep, never the last good
//! one, and marks them pruned only when all copies are gone. Leftovers: only keys shaped like
//! dbward artifacts, uncommitted, older than the grace period and unknown to the catalog are
//! removed; another program's files and a listed copy whose manifest was lost are never
//! touched.

use std::process::Command;

use crate::common::{Env, only_backup};

fn age(path: &std::path::Path) {
    let status = Command::new("touch")
        .args(["-d", "3 days ago"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn prune_removes_only_old_uncommitted_artifacts() {
    let env = Env::new(
        "state_dir = \"state\"\n[[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
    );
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let listed = env
        .path("backups")
        .join(only_backup(&doc)["copies"][0]["path"].as_str().unwrap());
    // The listed copy loses its manifest (F14): audit's business, never prune's.
    std::fs::remove_file(
        listed
            .to_string_lossy()
            .replace(".sqlite.zst", ".manifest.json"),
    )
    .unwrap();
    age(&listed);
    let folder = listed.parent().unwrap();
    // An artifact-shaped leftover of a crashed run, dated consistently with its folder.
    let day = folder
        .strip_prefix(env.path("backups/lite/app"))
        .unwrap()
        .to_string_lossy()
        .replace('/', "");
    let orphan = folder.join(format!(
        "{day}T000000Z-01DXF6DT000000000000000000.sqlite.zst"
    ));
    std::fs::write(&orphan, b"half a dump").unwrap();
    age(&orphan);
    let young = folder.join(format!(
        "{day}T000001Z-01DXF6DT000000000000000001.sqlite.zst"
    ));
    std::fs::write(&young, b"a dump being written").unwrap();
    let foreign = env.path("backups/notes.txt");
    std::fs::write(&foreign, b"not ours").unwrap();
    age(&foreign);

    let (_, audit) = env.json(&["audit"]);
    let leftovers = &audit["destinations"][0]["leftovers"];
    assert_eq!(leftovers.as_array().unwrap().len(), 1, "{audit:#}");
    assert!(
        leftovers[0]
            .as_str()
            .unwrap()
            .ends_with("01DXF6DT000000000000000000.sqlite.zst")
    );

    let (code, dry) = env.json(&["prune", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(dry["leftovers"].as_array().unwrap().len(), 1, "{dry:#}");
    assert_eq!(dry["retention_applied"], false);
    assert_eq!(dry["removed"].as_array().unwrap().len(), 0);
    assert!(orphan.exists(), "dry run removed something");

    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 0, "{pruned:#}");
    assert!(!orphan.exists());
    assert!(
        young.exists() && foreign.exists() && listed.exists(),
        "prune removed what it must not"
    );
}

fn retention_env(retention: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n[[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[destination]]\nname = \"nas\"\ntype = \"fs\"\npath = \"nas\"\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\", \"nas\"]\n\
         retention = {retention}\n"
    ));
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    env
}

fn backup_ids(env: &Env, times: usize) -> Vec<String> {
    (0..times)
        .map(|_| {
            let (code, doc) = env.json(&["backup"]);
            assert_eq!(code, 0, "{doc:#}");
            only_backup(&doc)["id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn listed_ids(env: &Env) -> Vec<String> {
    let (_, doc) = env.json(&["list"]);
    doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

/// The files of backup `id` (artifact and manifest) on both destinations.
fn files_of(env: &Env, id: &str) -> Vec<String> {
    ["backups", "nas"]
        .iter()
        .flat_map(|root| {
            env.files(root)
                .into_iter()
                .map(move |f| format!("{root}/{f}"))
        })
        .filter(|f| f.contains(id))
        .collect()
}

#[test]
fn retention_removes_every_copy_of_what_it_does_not_keep() {
    let env = retention_env("{ last = 2 }");
    let ids = backup_ids(&env, 4);
    assert_eq!(
        files_of(&env, &ids[0]).len(),
        4,
        "artifact + manifest on two destinations"
    );

    let (code, dry) = env.json(&["prune", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(dry["retention_applied"], true);
    let would: Vec<&str> = dry["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(would, [ids[1].as_str(), ids[0].as_str()], "{dry:#}");
    assert_eq!(
        files_of(&env, &ids[0]).len(),
        4,
        "a dry run deleted something"
    );
    assert_eq!(listed_ids(&env).len(), 4);

    let out = env.run(&["prune"]);
    assert_eq!(out.status.code(), Some(0));
    let text = crate::common::stdout(&out);
    assert!(
        text.contains(&format!("removed backup {} (lite/app,", ids[0])),
        "{text}"
    );
    assert!(
        text.contains("retention: removed 2 backups, kept 2"),
        "{text}"
    );
    for gone in &ids[..2] {
        assert_eq!(files_of(&env, gone), Vec::<String>::new());
    }
    for kept in &ids[2..] {
        assert_eq!(files_of(&env, kept).len(), 4);
    }
    assert_eq!(listed_ids(&env), [ids[3].clone(), ids[2].clone()]);

    // What is gone stays gone: a second prune removes nothing, audit finds nothing amiss,
    // a rebuild imports nothing, and a restore of a pruned backup says why it cannot.
    let (_, again) = env.json(&["prune"]);
    assert_eq!(again["removed"].as_array().unwrap().len(), 0, "{again:#}");
    let (code, audit) = env.json(&["audit"]);
    assert_eq!(code, 0, "{audit:#}");
    let (_, rebuilt) = env.json(&["catalog", "rebuild", "--from", "nas"]);
    assert_eq!(rebuilt["backups_added"], 0, "{rebuilt:#}");
    let (code, restore) = env.json(&["restore", &ids[0], "--to-database", "old"]);
    assert_eq!(code, 1, "{restore:#}");
    assert!(
        restore["error"]
            .as_str()
            .unwrap()
            .contains("was removed by retention (`dbward prune`)"),
        "{restore:#}"
    );
    let (_, show) = env.json(&["show", &ids[0]]);
    assert!(show["pruned_at"].is_string(), "{show:#}");
}

#[test]
fn retention_never_removes_the_last_good_backup() {
    let env = retention_env("{ last = 1 }");
    let ids = backup_ids(&env, 2);
    // The newest run fails: `last = 1` would keep only it, but it has nothing stored, so the
    // newest good backup is kept, and the older one goes.
    std::fs::remove_file(env.path("app.db")).unwrap();
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 0, "{pruned:#}");
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, [ids[0].as_str()]);
    assert_eq!(files_of(&env, &ids[1]).len(), 4);
    let (code, restored) = env.json(&[
        "restore",
        "--latest",
        "--source",
        "lite",
        "--database",
        "app",
        "--to-database",
        "back",
    ]);
    assert_eq!(code, 0, "{restored:#}");
}

#[test]
fn a_copy_that_cannot_be_deleted_keeps_the_backup_listed() {
    let env = retention_env("{ last = 1 }");
    let ids = backup_ids(&env, 2);
    // The older backup's manifest on nas becomes a folder with a file in it: its delete
    // fails (even for root), so the backup is not marked pruned.
    let manifest = files_of(&env, &ids[0])
        .into_iter()
        .find(|f| f.starts_with("nas/") && f.ends_with(".manifest.json"))
        .unwrap();
    let manifest = env.path(&manifest);
    std::fs::remove_file(&manifest).unwrap();
    std::fs::create_dir(&manifest).unwrap();
    std::fs::write(manifest.join("blocker"), b"x").unwrap();
    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 1, "{pruned:#}");
    assert!(
        pruned["errors"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("backup {}: destination nas:", ids[0])),
        "{pruned:#}"
    );
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 0);
    assert!(
        listed_ids(&env).contains(&ids[0]),
        "marked pruned with a copy left"
    );

    // Once the obstacle is gone, the next prune finishes the job.
    std::fs::remove_dir_all(&manifest).unwrap();
    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 0, "{pruned:#}");
    assert_eq!(files_of(&env, &ids[0]), Vec::<String>::new());
    assert_eq!(listed_ids(&env), [ids[1].clone()]);
}

#[test]
fn a_copy_on_a_destination_no_longer_configured_keeps_the_backup_listed() {
    let env = retention_env("{ last = 1 }");
    let ids = backup_ids(&env, 2);
    // `nas` leaves the config (the schedule keeps only `local`): its copy cannot be deleted.
    let config = std::fs::read_to_string(env.config())
        .unwrap()
        .replace(
            "[[destination]]\nname = \"nas\"\ntype = \"fs\"\npath = \"nas\"\n",
            "",
        )
        .replace(
            "destinations = [\"local\", \"nas\"]",
            "destinations = [\"local\"]",
        );
    std::fs::write(env.config(), config).unwrap();
    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 1, "{pruned:#}");
    let error = pruned["errors"][0].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "backup {}: its copy on nas is not removed",
            ids[0]
        )) && error.contains("delete "),
        "{pruned:#}"
    );
    assert!(
        listed_ids(&env).contains(&ids[0]),
        "marked pruned with a copy left"
    );
    assert_eq!(
        files_of(&env, &ids[0])
            .iter()
            .filter(|f| f.starts_with("nas/"))
            .count(),
        2
    );
}
