//! MariaDB point-in-time recovery end to end against a private server with its binary log on:
//! dumps record their binlog position, `binlog push` archives closed binlog files (signed
//! entries, catalog rows, `status`), `restore --to-time --to-database` replays exactly the
//! events up to the moment, and a missing or damaged binlog file stops the restore naming
//! it and the last reachable moment.

use std::sync::OnceLock;
use std::thread::sleep;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use dbward_testkit::{MariaServer, TestDb};
use serde_json::Value;

use crate::common::{Env, only_backup, stderr};

/// One private server with `log_bin` for every test here (each has its own database and
/// archive): starting MariaDB takes seconds.
fn binlog_server() -> &'static MariaServer {
    static SERVER: OnceLock<MariaServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        MariaServer::start_private_with(
            std::process::id(),
            &[
                "--log-bin=mariadb-bin",
                "--server-id=1",
                "--binlog-format=MIXED",
            ],
        )
        .expect("a private MariaDB server with its binary log on")
    })
}

fn pitr_env(server: &MariaServer, database: &str, extra: &str) -> Env {
    Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"my\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ env = \"DBWARD_CLI_TEST_MARIA_PW\" }}\ndatabases = [\"{database}\"]\n\
         pitr = true\n{extra}\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user
    ))
}

fn run(env: &Env, server: &MariaServer, args: &[&str]) -> std::process::Output {
    env.cmd(args)
        .env("DBWARD_CLI_TEST_MARIA_PW", &server.password)
        .output()
        .unwrap()
}

fn run_json(env: &Env, server: &MariaServer, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(env, server, &all);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), doc, stderr(&out))
}

/// A database with rows written at known times across binlog rotations, a dump in the
/// middle, and every binlog file closed and archived; `target` lies between rows 4 and 5.
struct History {
    server: &'static MariaServer,
    env: Env,
    db: TestDb,
    target: String,
}

fn write(db: &TestDb, id: u32) {
    db.sql(&format!("INSERT INTO events VALUES ({id}, NOW(6))"));
}

fn history(prefix: &str) -> History {
    history_with(binlog_server(), prefix, "")
}

fn history_with(server: &'static MariaServer, prefix: &str, extra: &str) -> History {
    let db = server.create_database(prefix);
    let env = pitr_env(server, &db.name, extra);
    db.sql("CREATE TABLE events(id INT PRIMARY KEY, at DATETIME(6) NOT NULL)");
    write(&db, 1);
    db.sql("FLUSH BINARY LOGS");
    write(&db, 2);
    let (code, doc, err) = run_json(&env, server, &["backup"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    assert_eq!(only_backup(&doc)["status"], "succeeded", "{doc:#}");
    write(&db, 3);
    db.sql("FLUSH BINARY LOGS");
    write(&db, 4);
    sleep(Duration::from_millis(1200));
    let target = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    sleep(Duration::from_millis(1500));
    write(&db, 5);
    db.sql("FLUSH BINARY LOGS");
    write(&db, 6);
    db.sql("FLUSH BINARY LOGS");
    let (code, doc, err) = run_json(&env, server, &["binlog", "push"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    assert!(
        !doc["pushed"].as_array().unwrap().is_empty(),
        "binlog push archived nothing: {doc:#}"
    );
    History {
        server,
        env,
        db,
        target,
    }
}

/// The manifest of the only backup in the catalog.
fn manifest(env: &Env, server: &MariaServer) -> Value {
    let (code, doc, err) = run_json(env, server, &["list"]);
    assert_eq!(code, 0, "{err}");
    let id = doc[0]["id"].as_str().or(doc["backups"][0]["id"].as_str());
    let id = id
        .unwrap_or_else(|| panic!("no backup listed: {doc:#}"))
        .to_string();
    let (code, doc, err) = run_json(env, server, &["show", &id]);
    assert_eq!(code, 0, "{err}");
    doc["manifest"].clone()
}

fn restore_at(h: &History, to: &str) -> std::process::Output {
    restore_to_time(&h.env, h.server, &h.db.name, &h.target, to)
}

fn restore_to_time(
    env: &Env,
    server: &MariaServer,
    database: &str,
    target: &str,
    to: &str,
) -> std::process::Output {
    run(
        env,
        server,
        &[
            "restore",
            "--source",
            "my",
            "--database",
            database,
            "--to-time",
            target,
            "--to-database",
            to,
        ],
    )
}

/// Restores `database` as it was at `target` into `<database>_at` and returns the ids its
/// `events` table held, dropping the restored copy.
fn event_ids_at(env: &Env, server: &MariaServer, database: &str, target: &str) -> String {
    let to = format!("{database}_at");
    let out = restore_to_time(env, server, database, target, &to);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids = server.sql(&to, "SELECT GROUP_CONCAT(id ORDER BY id) FROM events");
    server.sql("", &format!("DROP DATABASE `{to}`"));
    ids
}

/// The archived binlog files (entry names without `.json`), sorted.
fn archived(env: &Env) -> Vec<String> {
    let mut names: Vec<String> = env
        .files("backups/my/.wal")
        .into_iter()
        .filter_map(|f| f.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn restore_to_a_moment_replays_exactly_the_rows_written_up_to_it() {
    let server = binlog_server();
    let h = history("pitr_my");
    let manifest = manifest(&h.env, server);
    let position = &manifest["binlog_position"];
    assert!(
        position["file"]
            .as_str()
            .unwrap()
            .starts_with("mariadb-bin.")
            && position["position"].as_u64().unwrap() > 0,
        "the dump records its binlog position: {manifest:#}"
    );
    let to = format!("{}_at", h.db.name);
    let out = restore_at(&h, &to);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = server.sql(&to, "SELECT GROUP_CONCAT(id ORDER BY id) FROM events");
    assert_eq!(
        rows, "1,2,3,4",
        "exactly the rows written up to {}",
        h.target
    );
    // The source itself is untouched, and a later moment brings the later rows.
    assert_eq!(h.db.sql("SELECT COUNT(*) FROM events"), "6");
    server.sql("", &format!("DROP DATABASE `{to}`"));

    // status reports the archive: its newest file, no gap.
    let (_, doc, err) = run_json(&h.env, server, &["status"]);
    let wal = &doc["wal"][0];
    assert_eq!(wal["source"], "my", "{doc:#} {err}");
    assert_eq!(wal["missing_segments"], 0, "{doc:#}");
    assert!(
        wal["newest"].as_str().unwrap().starts_with("mariadb-bin."),
        "{doc:#}"
    );

    // A second pass archives only what was closed since (other tests rotate the log too).
    let before = archived(&h.env);
    let (code, doc, err) = run_json(&h.env, server, &["binlog", "push"]);
    assert_eq!(code, 0, "{err}");
    for name in doc["pushed"].as_array().unwrap() {
        assert!(
            !before.contains(&name.as_str().unwrap().to_string()),
            "{doc:#}"
        );
    }
    assert!(
        doc["already"].as_u64().unwrap() >= before.len() as u64,
        "{doc:#}"
    );
}

#[test]
fn a_missing_or_damaged_binlog_file_stops_the_restore_naming_it() {
    let server = binlog_server();
    let h = history("pitr_my_gap");
    let position = manifest(&h.env, server)["binlog_position"]["file"]
        .as_str()
        .unwrap()
        .to_string();
    let files = archived(&h.env);
    let start = files
        .iter()
        .position(|f| *f == position)
        .expect("the dump's file is archived");
    // The file after the dump's: it holds rows 3 and 4... or at least what follows the dump.
    let victim = files[start + 1].clone();
    let folder = h.env.path("backups/my/.wal");
    let entry = folder.join(format!("{victim}.json"));
    let kept = std::fs::read(&entry).unwrap();

    // Damaged: one byte of the stored object changed.
    let object = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("{victim}.binlog"))
        })
        .expect("the stored binlog object");
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let original = std::fs::read(&object).unwrap();
    std::fs::write(&object, &bytes).unwrap();
    let to = format!("{}_bad", h.db.name);
    let out = restore_at(&h, &to);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a damaged file must stop the restore"
    );
    assert!(
        err.contains(&victim) && err.contains("cannot be read"),
        "{err}"
    );
    assert!(err.contains("last reachable moment"), "{err}");
    assert!(
        server.try_sql("", &format!("USE `{to}`")).is_err(),
        "nothing was restored"
    );
    std::fs::write(&object, &original).unwrap();

    // Missing: the entry gone (the catalog still records it: status must not hide it).
    std::fs::remove_file(&entry).unwrap();
    let out = restore_at(&h, &to);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a missing file must stop the restore"
    );
    assert!(
        err.contains(&format!("binlog file {victim} is not in the archive")),
        "{err}"
    );
    assert!(err.contains("last reachable moment"), "{err}");
    std::fs::write(&entry, kept).unwrap();
    let out = restore_at(&h, &to);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        server.sql(&to, "SELECT GROUP_CONCAT(id ORDER BY id) FROM events"),
        "1,2,3,4"
    );
    server.sql("", &format!("DROP DATABASE `{to}`"));
}

#[test]
fn pitr_on_a_server_without_a_binary_log_is_refused() {
    let server = MariaServer::shared();
    assert_eq!(
        server.sql("", "SELECT @@log_bin"),
        "0",
        "the shared server keeps no binlog"
    );
    let db = server.create_database("pitr_my_off");
    db.sql("CREATE TABLE t(x INT)");
    let env = pitr_env(server, &db.name, "");
    let (code, doc, err) = run_json(&env, server, &["backup"]);
    assert_eq!(code, 1, "{doc:#} {err}");
    let reason = only_backup(&doc)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("binary log is off") && reason.contains("log_bin"),
        "{reason}"
    );
    let out = run(&env, server, &["binlog", "push"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("binary log is off"),
        "{}",
        stderr(&out)
    );
    let out = run(&env, server, &["check"]);
    let text = crate::common::stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("binlog") && l.contains("binary log is off")),
        "check names the binlog: {text}"
    );
}

#[test]
fn the_pitr_drill_recovers_exactly_its_first_marker_and_fails_when_a_binlog_is_gone() {
    // A server of its own: the test purges binlog files on the server.
    let server: &'static MariaServer = Box::leak(Box::new(
        MariaServer::start_private_with(
            std::process::id(),
            &["--log-bin=mariadb-bin", "--server-id=1"],
        )
        .expect("a private MariaDB server with its binary log on"),
    ));
    let h = history_with(server, "pitr_my_drill", "pitr_drill_marker = true\n");
    let (code, doc, err) = run_json(&h.env, server, &["verify", "--pitr", "--source", "my"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    let result = &doc["verifications"][0];
    assert_eq!(result["ok"], true, "{doc:#}");
    let checks = result["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "markers" && c["ok"] == true),
        "{doc:#}"
    );
    assert!(
        result["restore_ms"].as_u64().is_some(),
        "the RTO is recorded: {doc:#}"
    );
    // The copy is gone, the source keeps both markers.
    assert_eq!(
        h.db.sql("SELECT COUNT(*) FROM dbward_pitr_drill_markers"),
        "2"
    );
    let leftovers = server.sql("", "SHOW DATABASES LIKE 'dbward_pitr_%'");
    assert_eq!(leftovers, "", "the drill's scratch database is dropped");

    // A binlog file the drill needs is gone from the archive and from the server: the drill
    // fails naming it.
    let position = manifest_of_newest(&h.env, server);
    let files = archived(&h.env);
    let start = files.iter().position(|f| *f == position).unwrap();
    let victim = files[start + 1].clone();
    std::fs::remove_file(h.env.path(&format!("backups/my/.wal/{victim}.json"))).unwrap();
    crate::common::wait_for("the purge", Duration::from_secs(30), || {
        server.sql("", &format!("PURGE BINARY LOGS TO '{}'", files[start + 2]));
        !server.sql("", "SHOW BINARY LOGS").contains(&victim)
    });
    let (code, doc, err) = run_json(&h.env, server, &["verify", "--pitr", "--source", "my"]);
    assert_ne!(code, 0, "{doc:#} {err}");
    let error = doc["verifications"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains(&format!("binlog file {victim} is not in the archive")),
        "the failure names {victim}: {doc:#}"
    );
    assert!(error.contains("last reachable moment"), "{error}");

    // Files the server purged before they were archived: push names them, status shows the gap.
    let (_, status, _) = run_json(&h.env, server, &["status"]);
    assert!(
        !status["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "wal_gap"),
        "{status:#}"
    );
    write(&h.db, 100);
    let lost = server.sql("", "SHOW MASTER STATUS");
    let lost = lost.split('\t').next().unwrap().to_string();
    server.sql("", "FLUSH BINARY LOGS");
    write(&h.db, 101);
    server.sql("", "FLUSH BINARY LOGS");
    let current = server.sql("", "SHOW MASTER STATUS");
    let current = current.split('\t').next().unwrap().to_string();
    // The server keeps a file until InnoDB's checkpoint passes it: purge until it went.
    crate::common::wait_for("the purge", Duration::from_secs(30), || {
        server.sql("", &format!("PURGE BINARY LOGS TO '{current}'"));
        server.sql("", "SHOW BINARY LOGS").starts_with(&current)
    });
    let out = run(&h.env, server, &["binlog", "push"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&lost) && stderr(&out).contains("neither archived nor on the server"),
        "{}",
        stderr(&out)
    );
    // Once a later file is archived, the hole lies inside the archive: status names it.
    server.sql("", "FLUSH BINARY LOGS");
    let out = run(&h.env, server, &["binlog", "push"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (_, status, _) = run_json(&h.env, server, &["status"]);
    let gap = status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "wal_gap")
        .unwrap_or_else(|| panic!("a wal_gap problem: {status:#}"));
    assert!(gap["message"].as_str().unwrap().contains(&lost), "{gap:#}");
}

/// The binlog file of the newest backup's position.
fn manifest_of_newest(env: &Env, server: &MariaServer) -> String {
    manifest(env, server)["binlog_position"]["file"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_daemon_archives_closed_binlog_files_on_its_cadence() {
    let server = binlog_server();
    let db = server.create_database("pitr_my_daemon");
    // A pass every quarter of 20s: every 5 seconds.
    let env = pitr_env(server, &db.name, "wal_archive_interval = \"20s\"\n");
    db.sql("CREATE TABLE t(x INT)");
    let log = env.path("daemon.log");
    let mut daemon = env
        .cmd(&["daemon", "--allow-root"])
        .env("DBWARD_CLI_TEST_MARIA_PW", &server.password)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let waited = std::panic::catch_unwind(|| {
        // The first pass archives what the server closed before.
        crate::common::wait_for("a first pass", Duration::from_secs(60), || {
            !archived(&env).is_empty()
        });
        db.sql("INSERT INTO t VALUES (1)");
        let writing = server.sql("", "SHOW MASTER STATUS");
        let writing = writing.split('\t').next().unwrap().to_string();
        db.sql("FLUSH BINARY LOGS");
        // The file just closed is archived by a later pass, without any command.
        crate::common::wait_for(
            "the closed binlog file archived",
            Duration::from_secs(60),
            || archived(&env).contains(&writing),
        );
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = daemon.wait();
    assert!(waited.is_ok(), "{}", read_log());
    assert!(
        read_log().contains("binlog file archived"),
        "{}",
        read_log()
    );
}

#[test]
fn prune_removes_the_binlog_files_no_kept_dump_needs_and_the_kept_one_still_restores() {
    let server = binlog_server();
    let db = server.create_database("pitr_my_prune");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"my\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ env = \"DBWARD_CLI_TEST_MARIA_PW\" }}\ndatabases = [\"{}\"]\npitr = true\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"my\"]\ndestinations = [\"local\"]\n\
         retention = {{ last = 1 }}\n",
        server.host, server.port, server.user, db.name
    ));
    db.sql("CREATE TABLE events(id INT PRIMARY KEY, at DATETIME(6) NOT NULL)");
    write(&db, 1);
    let (code, doc, err) = run_json(&env, server, &["backup", "--schedule", "nightly"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    write(&db, 2);
    db.sql("FLUSH BINARY LOGS");
    write(&db, 3);
    db.sql("FLUSH BINARY LOGS");
    let (code, doc, err) = run_json(&env, server, &["backup", "--schedule", "nightly"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    let second = only_backup(&doc)["id"].as_str().unwrap().to_string();
    write(&db, 4);
    sleep(Duration::from_millis(1100));
    let target = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    sleep(Duration::from_millis(1100));
    write(&db, 5);
    db.sql("FLUSH BINARY LOGS");
    let (code, doc, err) = run_json(&env, server, &["binlog", "push"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    let (_, shown, _) = run_json(&env, server, &["show", &second]);
    let kept_start = shown["manifest"]["binlog_position"]["file"]
        .as_str()
        .unwrap()
        .to_string();
    let before = archived(&env);
    assert!(
        before.iter().any(|n| n < &kept_start),
        "files older than the kept dump's were archived: {before:?}"
    );

    let (code, pruned, err) = run_json(&env, server, &["prune"]);
    assert_eq!(code, 0, "{pruned:#} {err}");
    let after = archived(&env);
    let expected: Vec<String> = before
        .iter()
        .filter(|n| n.as_str() >= kept_start.as_str())
        .cloned()
        .collect();
    assert_eq!(after, expected, "{pruned:#}");
    let leftovers: Vec<String> = std::fs::read_dir(env.path("backups/my/.wal"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.as_str() < kept_start.as_str())
        .collect();
    assert!(
        leftovers.is_empty(),
        "the stored bytes went too: {leftovers:?}"
    );

    // The kept dump still restores to a later moment.
    assert_eq!(event_ids_at(&env, server, &db.name, &target), "1,2,3,4");
}

#[test]
fn an_encrypted_binlog_archive_restores_with_the_configured_identity() {
    let server = binlog_server();
    let db = server.create_database("pitr_my_sealed");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("restore.key");
    let out = std::process::Command::new(crate::common::binary())
        .args(["key", "generate", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let recipient = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let env = pitr_env(server, &db.name, "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}[encryption]\nrecipients = [\"{recipient}\"]\nidentity = {{ file = \"{}\" }}\n",
            key.display()
        ),
    )
    .unwrap();
    let out = run(&env, server, &["check"]);
    let text = crate::common::stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("binlog") && l.contains("log_bin on")),
        "{text} {}",
        stderr(&out)
    );

    db.sql("CREATE TABLE events(id INT PRIMARY KEY, at DATETIME(6) NOT NULL)");
    write(&db, 1);
    let (code, doc, err) = run_json(&env, server, &["backup"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    write(&db, 2);
    db.sql("FLUSH BINARY LOGS");
    sleep(Duration::from_millis(1100));
    let target = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    sleep(Duration::from_millis(1100));
    write(&db, 3);
    db.sql("FLUSH BINARY LOGS");
    let (code, doc, err) = run_json(&env, server, &["binlog", "push"]);
    assert_eq!(code, 0, "{doc:#} {err}");
    let objects = env.files("backups/my/.wal");
    assert!(
        objects.iter().any(|f| f.ends_with(".binlog.zst.age")),
        "{objects:?}"
    );
    assert!(
        objects
            .iter()
            .filter(|f| !f.ends_with(".json"))
            .all(|f| f.ends_with(".binlog.zst.age")),
        "every stored binlog file is sealed: {objects:?}"
    );
    assert_eq!(event_ids_at(&env, server, &db.name, &target), "1,2");
}
