//! Jobs the daemon's web API starts run under the daemon's limits, as scheduled work does: a
//! drill asked for while a scheduled backup holds the only job slot waits for that slot, and
//! SIGTERM waits within the grace for a backup started from the web (recorded `succeeded`,
//! never left `running` or cut off). PostgreSQL sources held by a table lock make the jobs
//! last as long as the test needs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, wait_for};
use crate::daemon::{DEADLINE, Daemon};
use crate::faults::{TableLock, wait_for_blocked_dump};
use crate::postgres::pg_env;

/// A PostgreSQL database `name` with a table `t` of 10 rows, and an env backing it up with
/// `daemon` as its `[daemon]` table and `schedule` as its one schedule (sources `pg`,
/// destinations `local`); and an operator's API token.
fn setup(name: &str, daemon: &str, schedule: &str) -> (Env, dbward_testkit::TestDb, String) {
    let server = PgServer::shared();
    let db = server.create_database(name);
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let env = pg_env(server, &[&db.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}[daemon]\n{daemon}audit = \"off\"\nprune = \"off\"\n\
             [[schedule]]\nname = \"web\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n{schedule}"
        ),
    )
    .unwrap();
    let (code, doc) = env.json(&["token", "create", "ci", "--role", "operator"]);
    assert_eq!(code, 0, "{doc}");
    let token = doc["token"].as_str().unwrap().to_string();
    (env, db, token)
}

/// A plain HTTP/1.1 POST of `body` (JSON) with the bearer `token`: its status.
fn post(port: u16, path: &str, token: &str, body: &Value) -> u16 {
    let body = body.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"))
}

/// When the newest drill passed, by `status --json`.
fn last_drill(env: &Env) -> Value {
    let (_, doc) = env.json(&["status"]);
    doc["databases"][0]["last_drill"].clone()
}

#[test]
fn a_drill_from_the_web_waits_for_the_job_slot_a_scheduled_backup_holds() {
    let (env, db, token) = setup(
        "cli_daemon_web_slot",
        "max_jobs = 1\ngrace = \"1s\"\n",
        "cron = \"* * * * * *\"\n",
    );
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "a good backup to drill: {doc:#}");
    let server = PgServer::shared();
    let lock = TableLock::hold(server, &db, "t");
    let mut daemon = Daemon::start(&env, true);
    wait_for_blocked_dump(server, &db.name);
    let status = post(
        daemon.port(),
        "/api/v1/drills",
        &token,
        &serde_json::json!({"source": "pg", "database": db.name}),
    );
    assert_eq!(status, 202, "{}", daemon.log());
    // A drill of a ten-row database takes well under this when it may run.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        last_drill(&env),
        Value::Null,
        "the drill ran beside the scheduled backup that holds the only job slot:\n{}",
        daemon.log()
    );
    lock.release();
    wait_for("the drill to pass once the slot is free", DEADLINE, || {
        last_drill(&env).is_string()
    });
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(daemon.wait_exit().success(), "{}", daemon.log());
}

#[test]
fn sigterm_waits_within_the_grace_for_a_backup_started_from_the_web() {
    let (env, db, token) = setup("cli_daemon_web_grace", "grace = \"60s\"\n", "");
    let server = PgServer::shared();
    let lock = TableLock::hold(server, &db, "t");
    let mut daemon = Daemon::start(&env, true);
    let status = post(
        daemon.port(),
        "/api/v1/backups",
        &token,
        &serde_json::json!({"source": "pg", "database": db.name}),
    );
    assert_eq!(status, 202, "{}", daemon.log());
    wait_for_blocked_dump(server, &db.name);
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    daemon.wait_log("waiting up to 60s for 1 running task(s)");
    // Asked again while stopping: refused, not started behind the daemon's back.
    let again = post(
        daemon.port(),
        "/api/v1/backups",
        &token,
        &serde_json::json!({"source": "pg", "database": db.name}),
    );
    assert_eq!(again, 503, "{}", daemon.log());
    lock.release();
    let exit = daemon.wait_exit();
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(!daemon.log().contains("interrupting"), "{}", daemon.log());
    let (_, listed) = env.json(&["list"]);
    let backups = listed["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1, "{listed:#}");
    assert_eq!(backups[0]["status"], "succeeded", "{listed:#}");
}
