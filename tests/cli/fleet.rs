//! A fleet of daemons on one PostgreSQL catalog: each fire of each (schedule, source,
//! database) runs exactly once across three daemons and none is missed; a daemon killed
//! mid-backup has its fire taken over by another once its heartbeat and lease are gone, and
//! its run is marked interrupted; sources pinned to labels run only on daemons with the
//! label, and `status` reports a dead daemon and a source no live daemon serves.

use std::collections::{BTreeMap, BTreeSet};

use dbward_testkit::{PgServer, TestDb};
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::{Env, wait_for};
use crate::daemon::{DEADLINE, Daemon};
use crate::faults::{TableLock, wait_for_blocked_dump};
use crate::postgres::write_secret;

/// One agent of the fleet: its own folder and state directory, sharing the catalog (its URL
/// in a secret file), the SQLite sources' folder and the backups' folder.
fn agent(catalog: &TestDb, shared: &std::path::Path, config: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [catalog]\nurl = {{ file = \"catalog.url\" }}\nlease_ttl = \"2s\"\n\
         [[destination]]\nname = \"shared\"\ntype = \"fs\"\npath = \"{}\"\n{config}",
        shared.join("backups").display()
    ));
    write_secret(&env.path("catalog.url"), &catalog.url());
    env
}

/// A SQLite source `name` in `shared`, with a few rows.
fn sqlite_source(shared: &std::path::Path, name: &str, agents: &[&str]) -> String {
    let path = shared.join(format!("{name}.db"));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
        .unwrap();
    let agents = if agents.is_empty() {
        String::new()
    } else {
        format!("agents = {agents:?}\n")
    };
    format!(
        "[[source]]\nname = \"{name}\"\nengine = \"sqlite\"\npath = \"{}\"\n{agents}",
        path.display()
    )
}

fn json(env: &Env, args: &[&str]) -> Value {
    let (_, doc) = env.json(args);
    doc
}

fn agent_id(env: &Env) -> String {
    std::fs::read_to_string(env.path("state/agent_id")).unwrap()
}

/// Finished backup fires: fire time → targets.
fn finished_fires(catalog: &TestDb) -> BTreeMap<String, BTreeSet<String>> {
    let rows = catalog.sql(
        "SELECT fire_at || ' ' || target FROM fires
         WHERE kind = 'backup' AND finished_at IS NOT NULL ORDER BY 1",
    );
    let mut fires: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in rows.lines().filter(|l| !l.is_empty()) {
        let (at, target) = line.split_once(' ').unwrap();
        fires.entry(at.into()).or_default().insert(target.into());
    }
    fires
}

#[test]
fn three_daemons_run_every_fire_of_thirty_databases_exactly_once() {
    let catalog = PgServer::shared().create_database("cli_fleet_catalog");
    let shared = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("db{i:02}")).collect();
    let sources: String = names
        .iter()
        .map(|n| sqlite_source(shared.path(), n, &[]))
        .collect();
    let list = names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        "{sources}[[schedule]]\nname = \"often\"\ncron = \"*/5 * * * * *\"\nsources = [{list}]\n\
         destinations = [\"shared\"]\n\
         [daemon]\nmax_jobs = 3\nheartbeat = \"1s\"\naudit = \"off\"\nprune = \"off\"\n"
    );
    let envs: Vec<Env> = (0..3)
        .map(|_| agent(&catalog, shared.path(), &config))
        .collect();
    let mut daemons: Vec<Daemon> = envs.iter().map(|env| Daemon::start(env, false)).collect();

    // Seven complete fires: the first may have started after some daemons, and the last
    // may be cut by the stop; five full ones lie between.
    wait_for("seven fires of every database", DEADLINE, || {
        finished_fires(&catalog)
            .values()
            .filter(|targets| targets.len() == names.len())
            .count()
            >= 7
    });
    for daemon in &daemons {
        daemon.signal(Signal::SIGTERM);
    }
    for daemon in &mut daemons {
        assert!(daemon.wait_exit().success(), "{}", daemon.log());
    }

    let fires = finished_fires(&catalog);
    let times: Vec<&String> = fires.keys().collect();
    for at in &times[1..times.len() - 1] {
        assert_eq!(
            fires[*at].len(),
            names.len(),
            "fire {at}: every database ran: {:?}",
            fires[*at]
        );
    }
    let fire_count: usize = fires.values().map(BTreeSet::len).sum();
    let backups = catalog
        .sql("SELECT status || ' ' || count(*) FROM backups GROUP BY status ORDER BY status");
    assert_eq!(
        backups.trim(),
        format!("succeeded {fire_count}"),
        "one succeeded backup per finished fire, none skipped, none twice"
    );
    let by_agent = catalog.sql("SELECT count(DISTINCT agent_id) FROM backups");
    assert_eq!(by_agent.trim(), "3", "the fleet shared the work");
    let doubles = catalog.sql(
        "SELECT count(*) FROM (SELECT source, database_name, count(*) FROM backups
           GROUP BY source, database_name HAVING count(*) <> (SELECT count(*) FROM fires f
             WHERE f.kind = 'backup' AND f.finished_at IS NOT NULL
               AND f.target = backups.source || '/' || backups.database_name)) d",
    );
    assert_eq!(doubles.trim(), "0", "each database: one backup per fire");
}

#[test]
fn a_killed_daemons_backup_is_taken_over_and_its_run_marked_interrupted() {
    let server = PgServer::shared();
    let db = server.create_database("cli_fleet_kill");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let catalog = server.create_database("cli_fleet_kill_catalog");
    let shared = tempfile::tempdir().unwrap();
    let config = format!(
        "[[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"pg.secret\" }}\ndatabases = [\"{}\"]\n\
         [[schedule]]\nname = \"often\"\ncron = \"*/10 * * * * *\"\nsources = [\"pg\"]\n\
         destinations = [\"shared\"]\n\
         [daemon]\nheartbeat = \"1s\"\naudit = \"off\"\nprune = \"off\"\n",
        server.host, server.port, server.user, db.name
    );
    let envs: Vec<Env> = (0..2)
        .map(|_| agent(&catalog, shared.path(), &config))
        .collect();
    for env in &envs {
        write_secret(&env.path("pg.secret"), &server.password);
    }
    let lock = TableLock::hold(server, &db, "t");
    let mut daemons: Vec<Daemon> = envs.iter().map(|env| Daemon::start(env, false)).collect();
    wait_for_blocked_dump(server, &db.name);
    let holder_id = catalog
        .sql("SELECT agent_id FROM fires WHERE kind = 'backup' ORDER BY fire_at LIMIT 1")
        .trim()
        .to_string();
    let fire_at = catalog
        .sql("SELECT fire_at FROM fires WHERE kind = 'backup' ORDER BY fire_at LIMIT 1")
        .trim()
        .to_string();
    let (holder, survivor) = if agent_id(&envs[0]) == holder_id {
        (0, 1)
    } else {
        (1, 0)
    };
    daemons[holder].signal(Signal::SIGKILL);
    daemons[holder].wait_exit();
    lock.release();

    let survivor_id = agent_id(&envs[survivor]);
    wait_for("the fire to be taken over and finished", DEADLINE, || {
        catalog
            .sql(&format!(
                "SELECT agent_id FROM fires WHERE kind = 'backup' AND fire_at = '{fire_at}'
               AND finished_at IS NOT NULL"
            ))
            .trim()
            == survivor_id
    });
    daemons[survivor].signal(Signal::SIGTERM);
    assert!(daemons[survivor].wait_exit().success());
    assert!(
        daemons[survivor]
            .log()
            .contains("taking over the backup of pg/"),
        "{}",
        daemons[survivor].log()
    );
    let rows = catalog.sql(&format!(
        "SELECT agent_id || ' ' || status || ' ' || coalesce(error, '') FROM backups
         WHERE database_name = '{}' ORDER BY started_at",
        db.name
    ));
    let rows: Vec<&str> = rows.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        rows[0].starts_with(&format!("{holder_id} failed interrupted")),
        "the dead daemon's run is marked interrupted: {rows:?}"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.starts_with(&format!("{holder_id} ")))
            .count(),
        1,
        "{rows:?}"
    );
    assert!(
        rows[1..]
            .iter()
            .any(|r| r.starts_with(&format!("{survivor_id} succeeded"))),
        "{rows:?}"
    );
}

#[test]
fn pinned_sources_run_only_where_their_label_is_and_status_tells_when_nobody_serves_them() {
    let catalog = PgServer::shared().create_database("cli_fleet_labels");
    let shared = tempfile::tempdir().unwrap();
    let sources = format!(
        "{}{}",
        sqlite_source(shared.path(), "eu_db", &["eu-west"]),
        sqlite_source(shared.path(), "any_db", &[])
    );
    let config = |labels: &str| {
        format!(
            "{sources}[[schedule]]\nname = \"often\"\ncron = \"*/2 * * * * *\"\n\
             sources = [\"eu_db\", \"any_db\"]\ndestinations = [\"shared\"]\n\
             [daemon]\nheartbeat = \"1s\"\naudit = \"off\"\nprune = \"off\"\nlabels = [{labels}]\n"
        )
    };
    let eu = agent(&catalog, shared.path(), &config("\"eu-west\""));
    let us = agent(&catalog, shared.path(), &config("\"us-east\""));
    let mut daemons = [Daemon::start(&eu, false), Daemon::start(&us, false)];
    wait_for("four backups of the pinned source", DEADLINE, || {
        catalog
            .sql("SELECT count(*) FROM backups WHERE source = 'eu_db' AND status = 'succeeded'")
            .trim()
            .parse::<u32>()
            .unwrap()
            >= 4
    });
    let eu_id = agent_id(&eu);
    let pinned_by = catalog.sql("SELECT DISTINCT agent_id FROM backups WHERE source = 'eu_db'");
    assert_eq!(
        pinned_by.trim(),
        eu_id,
        "only the eu-west daemon backs up eu_db"
    );

    daemons[0].signal(Signal::SIGKILL);
    daemons[0].wait_exit();
    wait_for("status to see the eu-west daemon dead", DEADLINE, || {
        let doc = json(&us, &["status"]);
        let kinds: Vec<(&str, &str)> = doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["kind"].as_str().unwrap(), p["source"].as_str().unwrap()))
            .collect();
        kinds.contains(&("agent_dead", format!("agent {eu_id}").as_str()))
            && kinds.contains(&("unserved", "eu_db"))
    });
    let agents = json(&us, &["agents"]);
    let states: BTreeMap<String, String> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states[&eu_id], "dead", "{agents:#}");
    assert_eq!(states[&agent_id(&us)], "alive", "{agents:#}");
    daemons[1].signal(Signal::SIGTERM);
    assert!(daemons[1].wait_exit().success());
}

#[test]
fn a_daemon_killed_mid_backup_and_restarted_marks_its_run_interrupted_and_runs_the_next_fire() {
    let server = PgServer::shared();
    let db = server.create_database("cli_daemon_restart");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let catalog = server.create_database("cli_daemon_restart_catalog");
    let shared = tempfile::tempdir().unwrap();
    let config = format!(
        "[[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"pg.secret\" }}\ndatabases = [\"{}\"]\n\
         [[schedule]]\nname = \"often\"\ncron = \"*/3 * * * * *\"\nsources = [\"pg\"]\n\
         destinations = [\"shared\"]\n\
         [daemon]\nheartbeat = \"1s\"\naudit = \"off\"\nprune = \"off\"\n",
        server.host, server.port, server.user, db.name
    );
    let env = agent(&catalog, shared.path(), &config);
    write_secret(&env.path("pg.secret"), &server.password);
    let lock = TableLock::hold(server, &db, "t");
    let mut first = Daemon::start(&env, false);
    wait_for_blocked_dump(server, &db.name);
    first.signal(Signal::SIGKILL);
    first.wait_exit();
    lock.release();
    let staging = shared.path().join("backups/.dbward-staging");
    let staged_after_kill = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
    assert!(
        staged_after_kill > 0,
        "the killed backup left a staged upload"
    );

    let mut second = Daemon::start(&env, false);
    wait_for("a backup after the restart", DEADLINE, || {
        catalog
            .sql("SELECT count(*) FROM backups WHERE status = 'succeeded'")
            .trim()
            != "0"
    });
    second.signal(Signal::SIGTERM);
    assert!(second.wait_exit().success(), "{}", second.log());
    let rows =
        catalog.sql("SELECT status || ' ' || coalesce(error, '') FROM backups ORDER BY started_at");
    let rows: Vec<&str> = rows.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        rows[0].starts_with("failed interrupted"),
        "the killed run is marked interrupted: {rows:?}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.starts_with("failed")).count(),
        1,
        "marked once: {rows:?}"
    );
    assert_eq!(
        std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0),
        0,
        "the next run removed the killed one's staged upload"
    );
}
