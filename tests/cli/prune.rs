//! Prune and audit of leftovers: only keys shaped like dbward artifacts, uncommitted, older
//! than the grace period and unknown to the catalog are removed; another program's files and a
//! listed copy whose manifest was lost are never touched.

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
    assert!(orphan.exists(), "dry run removed something");

    let (code, pruned) = env.json(&["prune"]);
    assert_eq!(code, 0, "{pruned:#}");
    assert!(!orphan.exists());
    assert!(
        young.exists() && foreign.exists() && listed.exists(),
        "prune removed what it must not"
    );
}
