//! Job leases across agents: two dbward processes with their own state directories share one
//! PostgreSQL catalog. A database is backed up by one of them at a time (the other records
//! `skipped` naming the holder); a killed holder's lease expires and its run is marked
//! interrupted exactly once, never while it was alive; a source name stands for one server;
//! `dbward agents` lists both.

use std::process::{Child, Stdio};
use std::time::Duration;

use dbward_testkit::{PgServer, TestDb};
use serde_json::Value;

use crate::common::{Env, only_backup, stderr, wait_for};
use crate::faults::{TableLock, wait_for_blocked_dump};
use crate::postgres::pg_env;

const URL_VAR: &str = "DBWARD_CATALOG_URL";

/// An agent: its own folder and state directory, the shared catalog, 3-second leases.
struct Agent {
    env: Env,
    url: String,
}

impl Agent {
    fn new(server: &PgServer, db: &TestDb, catalog: &TestDb) -> Agent {
        let env = pg_env(server, &[&db.name], "");
        let mut text = std::fs::read_to_string(env.config()).unwrap();
        text.push_str(&format!(
            "[catalog]\nurl = {{ env = \"{URL_VAR}\" }}\nlease_ttl = \"3s\"\n"
        ));
        std::fs::write(env.config(), text).unwrap();
        Agent {
            env,
            url: catalog.url(),
        }
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self
            .env
            .cmd(&[&["--json"], args].concat())
            .env(URL_VAR, &self.url)
            .output()
            .unwrap();
        let doc =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (out.status.code().unwrap_or(-1), doc)
    }

    fn spawn_backup(&self) -> Child {
        self.env
            .cmd(&["--json", "backup"])
            .env(URL_VAR, &self.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn agent_id(&self) -> String {
        std::fs::read_to_string(self.env.path("state/agent_id")).unwrap()
    }
}

fn backups_of(agent: &Agent) -> Vec<Value> {
    let (code, list) = agent.json(&["list"]);
    assert_eq!(code, 0, "{list:#}");
    list["backups"].as_array().unwrap().clone()
}

fn setup(name: &str) -> (&'static PgServer, TestDb, TestDb) {
    let server = PgServer::shared();
    let db = server.create_database(name);
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let catalog = server.create_database(&format!("{name}_catalog"));
    (server, db, catalog)
}

#[test]
fn two_agents_back_up_a_database_once_and_the_other_names_the_holder() {
    let (server, db, catalog) = setup("cli_lease_two");
    let a = Agent::new(server, &db, &catalog);
    let b = Agent::new(server, &db, &catalog);
    let lock = TableLock::hold(server, &db, "t");
    let first = a.spawn_backup();
    wait_for_blocked_dump(server, &db.name);

    // Held well past several renewals (every second): the holder is never taken for dead.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(2));
        let (code, second) = b.json(&["backup"]);
        assert_eq!(code, 3, "{second:#}");
        let skipped = only_backup(&second);
        assert_eq!(skipped["status"], "skipped");
        let reason = skipped["error"].as_str().unwrap();
        assert!(
            reason.contains(&format!("agent {}", a.agent_id())) && reason.contains("pid"),
            "the reason names the holder: {reason}"
        );
    }
    let (code, agents) = b.json(&["agents"]);
    assert_eq!(code, 0);
    let holder = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == a.agent_id().as_str())
        .expect("the holder is listed")
        .clone();
    assert_eq!(holder["state"], "running", "{agents:#}");
    assert_eq!(
        holder["running_jobs"][0],
        format!("backup/pg/{}", db.name),
        "{agents:#}"
    );

    lock.release();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let backups = backups_of(&b);
    let statuses: Vec<&str> = backups
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "succeeded").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == "skipped").count(), 3);
    assert!(
        !statuses.contains(&"failed"),
        "nobody marked the live run interrupted: {statuses:?}"
    );
    let succeeded = backups.iter().find(|x| x["status"] == "succeeded").unwrap();
    assert_eq!(succeeded["agent"]["id"], a.agent_id().as_str());
}

#[test]
fn a_killed_holders_run_is_taken_over_after_its_lease_expires_and_marked_once() {
    let (server, db, catalog) = setup("cli_lease_kill");
    let a = Agent::new(server, &db, &catalog);
    let b = Agent::new(server, &db, &catalog);
    let lock = TableLock::hold(server, &db, "t");
    let mut first = a.spawn_backup();
    wait_for_blocked_dump(server, &db.name);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    first.wait().unwrap();
    lock.release();

    // Until the lease expires the dead holder still counts; then the next attempt proceeds.
    let mut attempts = 0;
    wait_for(
        "the dead holder's lease to expire",
        Duration::from_secs(30),
        || {
            attempts += 1;
            let (code, doc) = b.json(&["backup"]);
            match only_backup(&doc)["status"].as_str().unwrap() {
                "skipped" => false,
                "succeeded" => {
                    assert_eq!(code, 0);
                    true
                }
                other => panic!("unexpected {other}: {doc:#}"),
            }
        },
    );
    let backups = backups_of(&b);
    let interrupted: Vec<&Value> = backups.iter().filter(|x| x["status"] == "failed").collect();
    assert_eq!(interrupted.len(), 1, "{backups:#?}");
    assert!(
        interrupted[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("interrupted"),
        "{:#}",
        interrupted[0]
    );
    assert_eq!(interrupted[0]["agent"]["id"], a.agent_id().as_str());
    assert!(!backups.iter().any(|x| x["status"] == "running"));
    // A further backup marks nothing again.
    let (code, _) = b.json(&["backup"]);
    assert_eq!(code, 0);
    let again = backups_of(&b);
    assert_eq!(again.iter().filter(|x| x["status"] == "failed").count(), 1);
    assert!(attempts >= 1);
}

#[test]
fn a_source_name_of_another_hosts_server_is_refused_not_merged() {
    let server = PgServer::shared();
    let catalog = server.create_database("cli_lease_bind_catalog");
    let agent = |rows: i64| {
        let env = Env::new(&format!(
            "state_dir = \"state\"\n\
             [[source]]\nname = \"app\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
             [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
             [catalog]\nurl = {{ env = \"{URL_VAR}\" }}\n"
        ));
        let conn = rusqlite::Connection::open(env.path("app.db")).unwrap();
        conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY);")
            .unwrap();
        for i in 0..rows {
            conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        Agent {
            env,
            url: catalog.url(),
        }
    };
    let (a, b) = (agent(3), agent(5));
    let (code, first) = a.json(&["backup"]);
    assert_eq!(code, 0, "{first:#}");
    let (code, second) = b.json(&["backup"]);
    assert_eq!(code, 1, "{second:#}");
    let failed = only_backup(&second);
    assert_eq!(failed["status"], "failed");
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.contains("source \"app\" in the shared catalog stands for sqlite:")
            && reason.contains(&a.agent_id())
            && reason.contains("give one of them another name"),
        "{reason}"
    );
    let (code, again) = a.json(&["backup"]);
    assert_eq!(code, 0, "the first host's source keeps working: {again:#}");
}
