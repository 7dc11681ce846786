//! Faults a backup must survive loudly: a second concurrent run, a dump killed mid-way, a
//! database dropped between discovery and dump, a destination that is not writable or fills
//! up, a pattern that matches nothing, SIGTERM mid-dump — and the password never on a
//! command line.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dbward_testkit::{PgServer, TestDb};
use serde_json::Value;

use crate::common::{all_cmdlines, only_backup, stderr, wait_for};
use crate::postgres::{pg_env, spawn_backup};

/// A session holding `ACCESS EXCLUSIVE` on a table, so that pg_dump blocks on it.
pub struct TableLock {
    child: Child,
    server: &'static PgServer,
    name: String,
}

impl TableLock {
    pub fn hold(server: &'static PgServer, db: &TestDb, table: &str) -> TableLock {
        let name = format!("dbward-test-locker-{}", db.name);
        let mut child = Command::new(server.bin("psql"))
            .args([
                "-X",
                "-q",
                "-h",
                &server.host,
                "-p",
                &server.port.to_string(),
                "-U",
                &server.user,
                "-d",
                &db.name,
            ])
            .env("PGPASSWORD", &server.password)
            .env("PGAPPNAME", &name)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(
                format!(
                    "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let lock = TableLock {
            child,
            server,
            name,
        };
        wait_for("the table lock", Duration::from_secs(20), || {
            lock.server.sql("postgres", &format!(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '{}' AND l.mode = 'AccessExclusiveLock' AND l.granted",
                lock.name
            )) != "0"
        });
        lock
    }

    pub fn release(mut self) {
        self.server.sql("postgres", &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'", self.name));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until pg_dump (application_name `dbward`) is blocked on a lock in `db`.
pub fn wait_for_blocked_dump(server: &PgServer, db: &str) {
    wait_for(
        "pg_dump to block on the lock",
        Duration::from_secs(30),
        || {
            server.sql("postgres", &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbward' AND datname = '{db}' AND wait_event_type = 'Lock'"
        )) != "0"
        },
    );
}

fn finish(child: Child) -> (i32, Value, String) {
    let out = child.wait_with_output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (out.status.code().unwrap_or(-1), doc, stderr(&out))
}

#[test]
fn a_second_concurrent_backup_is_skipped_with_exit_3_and_the_first_completes() {
    let server = PgServer::shared();
    let db = server.create_database("cli_lock");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let env = pg_env(server, &[&db.name], "");
    let lock = TableLock::hold(server, &db, "t");
    let first = spawn_backup(&env, &["--json", "backup"]);
    wait_for_blocked_dump(server, &db.name);

    let (code, second) = env.json(&["backup"]);
    assert_eq!(code, 3, "{second:#}");
    let skipped = only_backup(&second);
    assert_eq!(skipped["status"], "skipped");
    assert!(
        skipped["error"].as_str().unwrap().contains("another run"),
        "{skipped:#}"
    );

    lock.release();
    let (code, first, err) = finish(first);
    assert_eq!(code, 0, "{first:#} {err}");
    assert_eq!(only_backup(&first)["status"], "succeeded");
    let (_, list) = env.json(&["list"]);
    let statuses: Vec<&str> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(
        statuses.contains(&"skipped") && statuses.contains(&"succeeded"),
        "{statuses:?}"
    );
}

#[test]
fn a_dump_killed_midway_fails_and_leaves_nothing_and_no_password_in_argv() {
    let server = PgServer::shared();
    let db = server.create_database("cli_kill");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let env = pg_env(server, &[&db.name], "");
    let lock = TableLock::hold(server, &db, "t");
    let backup = spawn_backup(&env, &["--json", "backup"]);
    wait_for_blocked_dump(server, &db.name);

    // While pg_dump runs, no process shows the password in its command line.
    let cmdlines = all_cmdlines();
    assert!(
        cmdlines
            .iter()
            .any(|(_, c)| c.contains("pg_dump") && c.contains(&db.name)),
        "pg_dump not found"
    );
    for (pid, cmdline) in &cmdlines {
        assert!(
            !cmdline.contains(&server.password),
            "pid {pid} shows the password: {cmdline}"
        );
    }

    server.sql("postgres", &format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbward' AND datname = '{}'", db.name));
    lock.release();
    let (code, doc, err) = finish(backup);
    assert_eq!(code, 1, "{doc:#} {err}");
    let failed = only_backup(&doc);
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("pg_dump"),
        "{failed:#}"
    );
    assert!(
        env.files("backups").is_empty(),
        "{:?}",
        env.files("backups")
    );
}

/// SIGTERM to `dbward backup` while its pg_dump waits on a lock: the backup is recorded
/// `failed: interrupted` without waiting for the lock, the staged upload is removed, pg_dump
/// is gone and the exit code is 1 — what the daemon does at the end of its grace.
#[test]
fn sigterm_interrupts_a_cli_backup_at_once_and_leaves_nothing() {
    let server = PgServer::shared();
    let db = server.create_database("cli_term");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let env = pg_env(server, &[&db.name], "");
    let lock = TableLock::hold(server, &db, "t");
    let mut backup = spawn_backup(&env, &["--json", "backup"]);
    wait_for_blocked_dump(server, &db.name);
    wait_for("the staged upload", Duration::from_secs(30), || {
        env.files("backups")
            .iter()
            .any(|f| f.starts_with(".dbward-staging"))
    });

    let pid = nix::unistd::Pid::from_raw(backup.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    // The lock is still held: only the interruption can end the run.
    wait_for("dbward backup to exit", Duration::from_secs(90), || {
        backup.try_wait().unwrap().is_some()
    });
    let (code, doc, err) = finish(backup);
    assert_eq!(code, 1, "{doc:#} {err}");
    let interrupted = only_backup(&doc);
    assert_eq!(interrupted["status"], "failed", "{interrupted:#}");
    let reason = interrupted["error"].as_str().unwrap();
    assert!(reason.starts_with("interrupted"), "{reason}");
    assert!(err.contains("SIGTERM: interrupting"), "{err}");
    let (_, list) = env.json(&["list"]);
    assert_eq!(list["backups"][0]["id"], interrupted["id"], "{list:#}");
    assert_eq!(list["backups"][0]["status"], "failed", "{list:#}");
    assert!(
        env.files("backups").is_empty(),
        "{:?}",
        env.files("backups")
    );
    wait_for("pg_dump to be gone", Duration::from_secs(30), || {
        !all_cmdlines()
            .iter()
            .any(|(_, c)| c.contains("pg_dump") && c.contains(&db.name))
            && server.sql("postgres", &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbward' AND datname = '{}'",
                db.name
            )) == "0"
    });
    lock.release();
}

#[test]
fn a_database_dropped_after_discovery_fails_alone() {
    let server = PgServer::shared();
    let first = server.create_database("cli_gone_a");
    let second_name = format!("{}_b", first.name);
    server.sql("postgres", &format!("CREATE DATABASE {second_name}"));
    first.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1);");
    let env = pg_env(server, &[&format!("{}*", first.name)], "");
    let lock = TableLock::hold(server, &first, "t");
    let backup = spawn_backup(&env, &["--json", "backup", "--jobs", "1"]);
    wait_for_blocked_dump(server, &first.name);
    server.sql(
        "postgres",
        &format!("DROP DATABASE {second_name} WITH (FORCE)"),
    );
    lock.release();

    let (code, doc, err) = finish(backup);
    assert_eq!(code, 1, "{doc:#} {err}");
    let by_db = |name: &str| {
        doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["database"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{doc:#}"))
    };
    assert_eq!(by_db(&first.name)["status"], "succeeded");
    let gone = by_db(&second_name);
    assert_eq!(gone["status"], "failed");
    assert!(
        gone["error"].as_str().unwrap().contains("does not exist"),
        "{gone:#}"
    );
}

#[test]
fn a_pattern_that_matches_nothing_is_a_warning() {
    let server = PgServer::shared();
    let db = server.create_database("cli_glob");
    db.sql("CREATE TABLE t(x int);");
    let env = pg_env(server, &[&db.name, "no_such_db_*"], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(only_backup(&doc)["status"], "succeeded");
    let warnings = doc["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("\"no_such_db_*\" matches no database")),
        "{doc:#}"
    );
}

#[test]
fn a_destination_that_is_not_a_directory_fails_the_backup() {
    let server = PgServer::shared();
    let db = server.create_database("cli_notdir");
    let env = pg_env(server, &[&db.name], "");
    std::fs::write(env.path("backups"), b"a file where the folder should be").unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "failed");
    let reason = backup["error"].as_str().unwrap();
    assert!(
        reason.starts_with("destination local: cannot create"),
        "{reason}"
    );
}

/// A 1 MiB tmpfs as the destination (tests run as root here and in CI).
#[test]
fn a_destination_that_fills_up_fails_the_backup_and_keeps_nothing() {
    let server = PgServer::shared();
    let db = server.create_database("cli_full");
    // About 6 MB of incompressible text.
    db.sql("CREATE TABLE noise AS SELECT i, md5(random()::text) || md5(random()::text) AS a FROM generate_series(1, 80000) i;");
    let env = pg_env(server, &[&db.name], "");
    std::fs::create_dir(env.path("backups")).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(env.path("backups"))
        .status()
        .unwrap();
    assert!(mounted.success(), "mounting a tmpfs needs root");
    let (code, doc) = env.json(&["backup"]);
    let files = env.files("backups");
    Command::new("umount")
        .arg(env.path("backups"))
        .status()
        .unwrap();
    assert_eq!(code, 1, "{doc:#}");
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "failed");
    assert!(
        backup["error"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{backup:#}"
    );
    assert!(files.is_empty(), "{files:?}");
}
