//! Robustness end to end: one failing job never stops its siblings or the run, crafted object
//! keys never panic the maintenance commands, SQLite restores never leave their folder, and
//! `restore --from` works without a usable catalog or a writable state directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use dbward_testkit::MariaServer;
use serde_json::Value;

use crate::common::{Env, stderr, stdout};
use crate::postgres::write_secret;

const LOCAL: &str = "[[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n";

fn sqlite_source(name: &str, file: &str) -> String {
    format!("[[source]]\nname = \"{name}\"\nengine = \"sqlite\"\npath = \"data/{file}\"\n")
}

fn seed(path: &Path, rows: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);")
        .unwrap();
    for i in 0..rows {
        conn.execute("INSERT INTO notes(body) VALUES (?1)", [format!("note {i}")])
            .unwrap();
    }
}

fn count(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap()
}

/// A backed-up SQLite source `lite` (`data/app.db`, 40 notes); returns the env and backup id.
fn backed_up() -> (Env, String) {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n{}{LOCAL}",
        sqlite_source("lite", "app.db")
    ));
    seed(&env.path("data/app.db"), 40);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = doc["backups"][0]["id"].as_str().unwrap().to_string();
    (env, id)
}

/// Backs up `lite` (fine) and `other` (whose job fails as `break_it` arranges): the failure
/// is `other`'s failed backup, `lite` succeeds, both are listed, the run is finished.
fn one_job_fails(other_file: &str, break_it: impl Fn(&Env)) -> String {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n{}{}{LOCAL}",
        sqlite_source("lite", "app.db"),
        sqlite_source("other", other_file)
    ));
    seed(&env.path("data/app.db"), 10);
    seed(&env.path(&format!("data/{other_file}")), 10);
    break_it(&env);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1, "{doc:#}");
    let backups = doc["backups"].as_array().expect("a report, not an error");
    let status = |source: &str| {
        let b = backups.iter().find(|b| b["source"] == source).unwrap();
        (
            b["status"].as_str().unwrap().to_string(),
            b["error"].clone(),
        )
    };
    assert_eq!(status("lite").0, "succeeded", "{doc:#}");
    let (other_status, reason) = status("other");
    assert_eq!(other_status, "failed", "{doc:#}");
    let reason = reason.as_str().unwrap().to_string();
    assert!(!reason.contains('\n'), "{reason}");

    let (_, list) = env.json(&["list"]);
    let listed: Vec<(&str, &str)> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["source"].as_str().unwrap(), b["status"].as_str().unwrap()))
        .collect();
    assert_eq!(listed.len(), 2, "{list:#}");
    assert!(listed.contains(&("lite", "succeeded")) && listed.contains(&("other", "failed")));
    let catalog = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let (finished, run_status): (Option<String>, String) = catalog
        .query_row("SELECT finished_at, status FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(finished.is_some(), "the run was not finished");
    assert_eq!(run_status, "failed");
    reason
}

#[test]
fn a_job_whose_lock_cannot_be_taken_fails_alone() {
    let reason = one_job_fails("other.db", |env| {
        // A file where the source's lock folder belongs.
        std::fs::create_dir_all(env.path("state/locks")).unwrap();
        std::fs::write(env.path("state/locks/other"), "in the way").unwrap();
    });
    assert!(reason.contains("cannot open lock file"), "{reason}");
}

#[test]
fn a_database_name_too_long_for_one_file_name_fails_alone() {
    // 80 × 'é': a valid file name, but escaped (%C3%A9…) 480 bytes, over the 255-byte limit
    // of a lock file name (now shortened with a hash) and of a destination's folder name.
    let long = "\u{e9}".repeat(80);
    let reason = one_job_fails(&format!("{long}.db"), |_| {});
    assert!(reason.contains("File name too long"), "{reason}");
}

/// A key named like a backup, with a multi-byte character inside its timestamp (16 bytes, so
/// byte-position checks pass the length test and then slice inside the character).
const CRAFTED_STEM: &str = "2026010\u{e9}T00000Z-01JABCDEFGHJKMNPQRSTVWXYZ0";

#[test]
fn crafted_keys_are_skipped_and_reported_not_a_panic() {
    let (env, id) = backed_up();
    let files = env.files("backups");
    let real = |suffix: &str| files.iter().find(|f| f.ends_with(suffix)).unwrap().clone();
    let folder = env.path("backups/lite/app/2026/01/01");
    std::fs::create_dir_all(&folder).unwrap();
    let crafted = [
        (
            real(".manifest.json"),
            format!("{CRAFTED_STEM}.manifest.json"),
        ),
        (real(".sqlite.zst"), format!("{CRAFTED_STEM}.sqlite.zst")),
        // An artifact-like key without a manifest: a leftover only if it is dbward's.
        (
            real(".sqlite.zst"),
            format!("{}1.sqlite.zst", &CRAFTED_STEM[..CRAFTED_STEM.len() - 1]),
        ),
    ];
    for (from, to) in &crafted {
        std::fs::copy(env.path("backups").join(from), folder.join(to)).unwrap();
        // Older than the leftover grace period.
        let status = Command::new("touch")
            .args(["-d", "3 days ago"])
            .arg(folder.join(to))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let crafted_manifest = &crafted[0].1;

    for args in [
        &["prune"][..],
        &["audit"],
        &["catalog", "rebuild", "--from", "local"],
    ] {
        let out = env.run(args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {:?}\n{}",
            out.status,
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(
            text.contains("skipped") && text.contains(crafted_manifest.as_str()),
            "{args:?}: {text}"
        );
    }
    for (_, name) in &crafted {
        assert!(folder.join(name).exists(), "{name} was touched");
    }
    // The crafted key sorts after every real one, yet is not taken for the newest backup.
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
    assert_eq!(summary["backup_id"], id.as_str());
}

#[test]
fn sqlite_restore_names_that_leave_the_folder_are_refused() {
    let (env, id) = backed_up();
    let outside = env.dir.path().parent().unwrap().join("evil.db");
    for name in ["../evil", "a/b", "/tmp/evil.db", ".hidden", "x..y"] {
        // From inside the env, so a relative path would land where this test looks.
        let out = env
            .cmd(&["restore", &id, "--to-database", name])
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains("is refused") && text.contains(&format!("{name:?}")),
            "{name}: {text}"
        );
    }
    assert!(!outside.exists() && !Path::new("/tmp/evil.db").exists());
    assert!(!env.path("a").exists() && !env.path("evil.db").exists());
    let mut data = env.files("data");
    data.sort();
    assert_eq!(data, ["app.db"]);
}

/// `dir` read-only until dropped. Tests run as root, which a mode does not stop: a read-only
/// bind mount does.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn mount(dir: PathBuf) -> ReadOnly {
        let run = |args: &[&str]| {
            let status = Command::new("mount")
                .args(args)
                .arg(&dir)
                .arg(&dir)
                .status();
            assert!(status.unwrap().success(), "mount {args:?} needs root");
        };
        run(&["--bind"]);
        let guard = ReadOnly(dir.clone());
        let status = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            std::fs::write(dir.join("probe"), "x").is_err(),
            "still writable"
        );
        guard
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Restores the newest backup from `local` alone as `rescued`: it works, and says the
/// restore is not recorded in the catalog.
fn rescue(env: &Env, expect_reason: &str) {
    let out = env.run(&[
        "--json",
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warning = format!("{summary}");
    for text in [&stderr(&out), &warning] {
        assert!(
            text.contains("not recorded") && text.contains(expect_reason),
            "{text}"
        );
    }
    assert_eq!(count(&env.path("data/rescued.db")), 40);
}

#[test]
fn restore_from_works_without_a_catalog_file() {
    let (env, _) = backed_up();
    for file in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(env.path("state").join(file));
    }
    rescue(&env, "there is no catalog");
    assert!(
        !env.path("state/catalog.db").exists(),
        "a catalog was created"
    );
}

#[test]
fn restore_from_works_with_a_corrupt_catalog() {
    let (env, _) = backed_up();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    for file in ["catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(env.path("state").join(file));
    }
    std::fs::write(env.path("state/catalog.db"), &garbage).unwrap();
    rescue(&env, "not a database");
    assert_eq!(
        std::fs::read(env.path("state/catalog.db")).unwrap(),
        garbage
    );
}

#[test]
fn restore_from_works_with_a_read_only_state_directory() {
    let (env, _) = backed_up();
    // Another process has the catalog open (its WAL files exist): it opens, read-only.
    let reader = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM backups", [], |r| r.get(0))
        .unwrap();
    let before = env.files("state");
    {
        let _ro = ReadOnly::mount(env.path("state"));
        rescue(&env, "cannot be written");
    }
    assert_eq!(env.files("state"), before, "the state directory changed");
    drop(reader);
    // Nobody has it open, and no WAL files are left: it cannot even be opened.
    for file in ["catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(env.path("state").join(file));
    }
    std::fs::remove_file(env.path("data/rescued.db")).unwrap();
    let _ro = ReadOnly::mount(env.path("state"));
    rescue(&env, "state/catalog.db");
}

/// MariaDB needs its 0600 option file, which goes to a private temporary folder when the
/// state directory is read-only.
#[test]
fn mariadb_restore_from_works_with_a_read_only_state_directory() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_ro");
    db.sql("CREATE TABLE t(id INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_25;");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n[[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n{LOCAL}",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let rescued = format!("{}_rescued", db.name);
    let out = {
        let _ro = ReadOnly::mount(env.path("state"));
        env.run(&[
            "restore",
            "--latest",
            "--source",
            "maria",
            "--database",
            &db.name,
            "--from",
            "local",
            "--to-database",
            &rescued,
        ])
    };
    let count = server.sql(&rescued, "SELECT COUNT(*) FROM t");
    server.sql("", &format!("DROP DATABASE IF EXISTS `{rescued}`"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not recorded"), "{}", stderr(&out));
    assert_eq!(count, "25");
}

/// A catalog write that fails for one job only (a trigger raises, as a full disk would): that
/// backup is still in the run's report, saying it is not recorded; its sibling is recorded.
#[test]
fn a_job_the_catalog_cannot_record_fails_alone_in_the_report() {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n{}{}{LOCAL}",
        sqlite_source("lite", "app.db"),
        sqlite_source("other", "other.db")
    ));
    seed(&env.path("data/app.db"), 10);
    seed(&env.path("data/other.db"), 10);
    assert!(env.run(&["list"]).status.success(), "creates the catalog");
    rusqlite::Connection::open(env.path("state/catalog.db"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON backups WHEN NEW.source = 'other'
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
        )
        .unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1, "{doc:#}");
    let backups = doc["backups"].as_array().unwrap();
    let of = |source: &str| backups.iter().find(|b| b["source"] == source).unwrap();
    assert_eq!(of("lite")["status"], "succeeded", "{doc:#}");
    assert_eq!(of("other")["status"], "failed", "{doc:#}");
    let reason = of("other")["error"].as_str().unwrap();
    assert!(
        reason.contains("disk is full") && reason.contains("not recorded in the catalog"),
        "{reason}"
    );
    let (_, list) = env.json(&["list"]);
    assert_eq!(list["backups"].as_array().unwrap().len(), 1, "{list:#}");
    let catalog = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let finished: Option<String> = catalog
        .query_row("SELECT finished_at FROM runs", [], |r| r.get(0))
        .unwrap();
    assert!(finished.is_some(), "the run was not finished");
}

/// A manifest whose id climbs out of the drill folder: the drill's scratch name is refused, so
/// its cleanup cannot delete what lies outside (it did: a file named by the id, here).
#[test]
fn a_drill_of_a_manifest_with_a_hostile_id_touches_nothing_outside_its_folder() {
    let (env, id) = backed_up();
    let catalog = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let manifest: String = catalog
        .query_row("SELECT manifest FROM backups WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    let edited = manifest.replace(&format!("\"id\": \"{id}\""), "\"id\": \"/../victim\"");
    assert_ne!(manifest, edited);
    catalog
        .execute(
            "UPDATE backups SET manifest = ?1 WHERE id = ?2",
            [&edited, &id],
        )
        .unwrap();
    std::fs::write(env.path("victim"), "not dbward's").unwrap();
    let out = env
        .cmd(&["--json", "verify", &id, "--level", "drill"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    // (Recording the result under the manifest's id fails too: no such backup.)
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(env.path("victim")).unwrap(),
        "not dbward's"
    );
    assert!(!env.path("dbward_drill_").exists());
}

/// Runs `args` with a standard output whose reader has gone (`dbward list | head -0`).
fn with_stdout_closed(env: &Env, args: &[&str]) -> std::process::Output {
    let mut child = env
        .cmd(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_stops_reading_neither_panics_nor_stops_the_work() {
    let (env, _) = backed_up();
    for args in [&["list"][..], &["--json", "list"], &["--json", "status"]] {
        let expected = env.run(args).status.code();
        let out = with_stdout_closed(&env, args);
        assert_eq!(out.status.code(), expected, "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A backup whose report nobody reads is still taken and recorded.
    let out = with_stdout_closed(&env, &["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, doc) = env.json(&["list"]);
    assert_eq!(doc["backups"].as_array().unwrap().len(), 2, "{doc:#}");
}

#[test]
fn a_full_disk_under_standard_output_is_an_error_naming_it() {
    let (env, _) = backed_up();
    for args in [&["list"][..], &["--json", "list"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = env.cmd(args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("cannot write standard output"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // status speaks the monitoring plugins' codes: output it could not write is UNKNOWN.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env.cmd(&["status"]).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write standard output"));
}
