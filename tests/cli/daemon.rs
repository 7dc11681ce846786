//! `dbward daemon` as a real process: per-second schedules back up on consecutive fires,
//! drill, audit and prune on their crons; a backup that outlasts its interval makes the
//! next fires skipped, never parallel; SIGHUP takes a valid config and keeps the old one
//! for an invalid one; SIGTERM mid-backup exits cleanly with the backup recorded
//! `failed: interrupted` and nothing left on the destination; `/metrics` passes
//! `promtool check metrics` and agrees with the catalog; `/healthz` and `/readyz` answer.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, wait_for};
use crate::faults::{TableLock, wait_for_blocked_dump};
use crate::postgres::pg_env;

/// Generous: the machine may be busy with other tests.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// A running `dbward daemon`, its stderr in `daemon.log`; killed if the test ends first.
pub struct Daemon {
    pub child: Child,
    log: std::path::PathBuf,
    port: Option<u16>,
}

impl Daemon {
    pub fn start(env: &Env, listen: bool) -> Daemon {
        let log = env.path("daemon.log");
        let port = listen.then(free_port);
        let mut cmd = env.cmd(&["daemon", "--allow-root"]);
        if let Some(port) = port {
            cmd.args(["--listen", &format!("127.0.0.1:{port}")]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon { child, log, port };
        daemon.wait_log("daemon started");
        daemon
    }

    /// The port of its `--listen`.
    pub fn port(&self) -> u16 {
        self.port.expect("started with --listen")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `text` `times` times.
    fn wait_log_times(&self, text: &str, times: usize) {
        let deadline = Instant::now() + DEADLINE;
        while self.log().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {times} × {text:?} in the daemon's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_log(&self, text: &str) {
        self.wait_log_times(text, 1);
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port.expect("started with --listen"), path)
    }

    /// `/metrics`, after `promtool check metrics` accepted it, as name{labels} → value.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200, "{text}");
        promtool_check_metrics(&text);
        parse_metrics(&text)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET: (status, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    (status, body.to_string())
}

/// `promtool`, from the Debian package `prometheus` (scripts/test.sh installs it).
fn promtool() -> Command {
    let found = Command::new("promtool").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "promtool is missing: install the Debian package `prometheus` (scripts/test.sh does)"
    );
    Command::new("promtool")
}

fn promtool_check_metrics(text: &str) {
    let mut check = promtool();
    check.args(["check", "metrics"]);
    let out = crate::common::output_with_stdin(check, text.as_bytes());
    assert!(
        out.status.success(),
        "promtool check metrics refused /metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {l:?}")),
            };
            (series.to_string(), value)
        })
        .collect()
}

fn epoch(text: &str) -> f64 {
    let at: DateTime<Utc> = text.parse().unwrap();
    at.timestamp_millis() as f64 / 1000.0
}

fn listed(env: &Env) -> Vec<Value> {
    let (code, doc) = env.json(&["list", "--limit", "1000"]);
    assert_eq!(code, 0, "{doc:#}");
    doc["backups"].as_array().unwrap().clone()
}

fn sqlite_env(extra: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n{extra}\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n"
    ));
    let conn = rusqlite::Connection::open(env.path("app.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO notes(body) VALUES ('a'), ('b'), ('c');",
    )
    .unwrap();
    env
}

/// The fire times in `starting` lines of `task` in the log, in order.
fn fires_started(log: &str, task: &str) -> Vec<DateTime<Utc>> {
    log.lines()
        .filter(|l| l.contains(&format!("{task}: starting")))
        .filter_map(|l| {
            l.split("fire=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn scheduled_backups_and_drills_run_on_their_fires_and_metrics_match_the_catalog() {
    let env = sqlite_env("[daemon]\nstatus_every = \"1s\"\naudit = \"off\"\nprune = \"off\"\n");
    std::fs::write(
        env.config(),
        std::fs::read_to_string(env.config()).unwrap()
            + "[[schedule]]\nname = \"every\"\ncron = \"* * * * * *\"\ndrill = \"*/2 * * * * *\"\n\
               sources = [\"lite\"]\ndestinations = [\"local\"]\n",
    )
    .unwrap();
    let daemon = Daemon::start(&env, true);
    let (status, body) = daemon.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon.get("/healthz");
    assert_eq!(status, 200, "{body}");

    // Backups on two consecutive fires (a fire whose previous run still goes may be skipped
    // on a busy machine, so wait for a consecutive pair).
    wait_for("backups on consecutive fires", DEADLINE, || {
        let fires = fires_started(&daemon.log(), "backups of schedule every");
        let consecutive = fires
            .windows(2)
            .find(|w| w[1] - w[0] == chrono::Duration::seconds(1));
        let Some(pair) = consecutive else {
            return false;
        };
        let after = listed(&env)
            .iter()
            .filter(|b| b["status"] == "succeeded")
            .filter(|b| {
                b["started_at"]
                    .as_str()
                    .unwrap()
                    .parse::<DateTime<Utc>>()
                    .unwrap()
                    >= pair[0]
            })
            .count();
        after >= 2
    });
    // Drills are recorded on the backups they restored.
    wait_for("a recorded drill", DEADLINE, || {
        listed(&env)
            .iter()
            .any(|b| b["verification"]["level"] == "drill" && b["verification"]["ok"] == true)
    });
    let metrics_during = daemon.metrics();
    assert_eq!(metrics_during.get("dbward_up"), Some(&1.0));
    every_metric_is_documented(&daemon.get("/metrics").1);

    // Stop new backups (a cron that does not fire soon), then compare with the catalog.
    let config = std::fs::read_to_string(env.config())
        .unwrap()
        .replace("cron = \"* * * * * *\"", "cron = \"0 0 0 1 1 *\"")
        .replace("drill = \"*/2 * * * * *\"", "drill = \"0 0 0 1 1 *\"");
    std::fs::write(env.config(), config).unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_log("reloaded");
    wait_for("the running tasks to end", DEADLINE, || {
        daemon.metrics().get("dbward_jobs_running") == Some(&0.0)
    });
    let metrics = daemon.metrics();
    let backups = listed(&env);
    let newest = backups
        .iter()
        .find(|b| b["status"] == "succeeded")
        .expect("a succeeded backup");
    let labels = format!(
        "{{source=\"lite\",database=\"{}\"}}",
        newest["database"].as_str().unwrap()
    );
    let value = |name: &str| {
        *metrics
            .get(&format!("{name}{labels}"))
            .unwrap_or_else(|| panic!("no {name}{labels} in {metrics:#?}"))
    };
    let finished = epoch(newest["finished_at"].as_str().unwrap());
    assert!((value("dbward_backup_last_success_timestamp_seconds") - finished).abs() < 0.001);
    assert_eq!(
        value("dbward_backup_last_size_bytes"),
        newest["stored_bytes"].as_f64().unwrap()
    );
    let succeeded = backups
        .iter()
        .filter(|b| b["status"] == "succeeded")
        .count() as f64;
    assert_eq!(
        metrics["dbward_backups_total{status=\"succeeded\"}"],
        succeeded
    );
    assert_eq!(
        metrics["dbward_backup_duration_seconds_count"],
        backups.iter().filter(|b| b["status"] != "skipped").count() as f64
    );
    let newest_drill = backups
        .iter()
        .filter(|b| b["verification"]["level"] == "drill" && b["verification"]["ok"] == true)
        .map(|b| epoch(b["verification"]["at"].as_str().unwrap()))
        .fold(f64::MIN, f64::max);
    assert!((value("dbward_drill_last_success_timestamp_seconds") - newest_drill).abs() < 0.001);
    assert!(value("dbward_restore_duration_seconds") >= 0.0);
    assert!(metrics["dbward_runs_total{kind=\"drill\",outcome=\"ok\"}"] >= 1.0);
    assert!(metrics["dbward_runs_total{kind=\"status\",outcome=\"ok\"}"] >= 1.0);
    let (_, status) = env.json(&["status"]);
    let problems = status["problems"].as_array().unwrap();
    for p in problems {
        let series = format!(
            "dbward_health_problems{{kind=\"{}\",severity=\"{}\"}}",
            p["kind"].as_str().unwrap(),
            p["severity"].as_str().unwrap()
        );
        assert!(metrics[&series] >= 1.0, "{series} in {metrics:#?}");
    }
    let counted: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("dbward_health_problems{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(counted, problems.len() as f64, "{status:#}");
    assert!(
        metrics.contains_key("dbward_schedule_next_fire_timestamp_seconds{schedule=\"every\"}")
    );

    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    let mut daemon = daemon;
    assert!(daemon.wait_exit().success(), "{}", daemon.log());
}

/// The metric families of a scrape are those docs/metrics.md lists, both ways.
fn every_metric_is_documented(scrape: &str) {
    let served: std::collections::BTreeSet<&str> = scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .unwrap();
    let documented: std::collections::BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.starts_with("dbward_"))
        .collect();
    assert_eq!(served, documented, "docs/metrics.md and /metrics differ");
}

#[test]
fn audit_and_prune_run_on_their_crons() {
    let env = sqlite_env(
        "[daemon]\naudit = \"*/2 * * * * *\"\nprune = \"*/3 * * * * *\"\nlabels = [\"eu-west\"]\n\
         [[schedule]]\nname = \"nightly\"\ncron = \"0 0 3 1 1 *\"\nsources = [\"lite\"]\n\
         destinations = [\"local\"]\nretention = { last = 1 }\n",
    );
    for _ in 0..3 {
        let (code, doc) = env.json(&["backup"]);
        assert_eq!(code, 0, "{doc:#}");
    }
    let backups = listed(&env);
    let (newest, oldest) = (&backups[0], &backups[2]);
    // The newest backup's artifact is lost behind dbward's back: audit must notice.
    let lost = env
        .path("backups")
        .join(newest["copies"][0]["path"].as_str().unwrap());
    std::fs::remove_file(&lost).unwrap();

    let mut daemon = Daemon::start(&env, false);
    wait_for("audit to mark the lost copy missing", DEADLINE, || {
        let (_, doc) = env.json(&["show", newest["id"].as_str().unwrap()]);
        doc["copies"][0]["status"] == "missing"
    });
    wait_for("prune to remove the oldest backup", DEADLINE, || {
        let (_, doc) = env.json(&["show", oldest["id"].as_str().unwrap()]);
        !doc["pruned_at"].is_null()
    });
    daemon.wait_log("audit: starting");
    daemon.wait_log("prune: starting");
    // Nothing due for the yearly schedule: no backup was taken by the daemon.
    assert!(
        !daemon
            .log()
            .contains("backups of schedule nightly: starting")
    );
    // The daemon is an agent of the catalog, with its labels, alive by its heartbeat.
    let (code, agents) = env.json(&["agents"]);
    assert_eq!(code, 0, "{agents:#}");
    let daemons: Vec<&Value> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "daemon")
        .collect();
    assert_eq!(daemons.len(), 1, "{agents:#}");
    assert_eq!(
        daemons[0]["labels"],
        serde_json::json!(["eu-west"]),
        "{agents:#}"
    );
    assert_eq!(daemons[0]["state"], "alive", "{agents:#}");
    daemon.signal(nix::sys::signal::Signal::SIGINT);
    assert!(daemon.wait_exit().success(), "{}", daemon.log());
}

#[test]
fn sighup_takes_a_valid_config_and_keeps_the_running_one_for_an_invalid_one() {
    let schedule = |name: &str| {
        format!(
            "[[schedule]]\nname = \"{name}\"\ncron = \"* * * * * *\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n"
        )
    };
    let env = sqlite_env("[daemon]\naudit = \"off\"\nprune = \"off\"\n");
    let base = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(env.config(), format!("{base}{}", schedule("first"))).unwrap();
    let mut daemon = Daemon::start(&env, false);
    daemon.wait_log("backups of schedule first: starting");

    std::fs::write(
        env.config(),
        format!("{base}{}{}", schedule("first"), schedule("second")),
    )
    .unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    wait_for("a backup of the new schedule", DEADLINE, || {
        listed(&env).iter().any(|b| b["schedule"] == "second")
    });

    // Invalid: logged with the key at fault, and the running config stays.
    std::fs::write(
        env.config(),
        format!("{base}{}", schedule("first")).replace("[daemon]\n", "[daemon]\nmax_jobs = 0\n"),
    )
    .unwrap();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_log("not reloading");
    assert!(
        daemon.log().contains("key `max_jobs`: expected at least 1"),
        "{}",
        daemon.log()
    );
    // A valid file again (for `dbward list`), not signalled: the daemon still runs the
    // config with both schedules.
    std::fs::write(env.config(), format!("{base}{}", schedule("first"))).unwrap();
    let before = listed(&env)
        .iter()
        .filter(|b| b["schedule"] == "second")
        .count();
    wait_for("the kept schedule to go on", DEADLINE, || {
        listed(&env)
            .iter()
            .filter(|b| b["schedule"] == "second")
            .count()
            > before
    });
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(daemon.wait_exit().success(), "{}", daemon.log());
}

/// A PostgreSQL backup held mid-way by a table lock outlasts its per-second interval: the
/// next fires are skipped, never run beside it. Then SIGTERM during a held backup: the
/// daemon waits out its grace, interrupts the backup, records it `failed: interrupted`,
/// kills pg_dump, leaves nothing on the destination and exits 0.
#[test]
fn a_long_backup_skips_fires_and_sigterm_interrupts_it_cleanly() {
    let server = PgServer::shared();
    let db = server.create_database("cli_daemon");
    db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    let env = pg_env(server, &[&db.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}[daemon]\ngrace = \"1s\"\naudit = \"off\"\nprune = \"off\"\n\
             [[schedule]]\nname = \"every\"\ncron = \"* * * * * *\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n"
        ),
    )
    .unwrap();
    let lock = TableLock::hold(server, &db, "t");
    let mut daemon = Daemon::start(&env, true);
    wait_for_blocked_dump(server, &db.name);
    daemon.wait_log_times("fire skipped: its previous run is still going", 2);
    let skipped =
        daemon.metrics()["dbward_fires_skipped_total{kind=\"backup\",schedule=\"every\"}"];
    assert!(skipped >= 2.0, "{skipped}");
    lock.release();
    wait_for("the held backup to succeed", DEADLINE, || {
        listed(&env).iter().any(|b| b["status"] == "succeeded")
    });
    // Never two at once: no backup was refused by the job lock, and none overlap.
    let backups = listed(&env);
    assert!(
        backups.iter().all(|b| b["status"] != "skipped"),
        "{backups:#?}"
    );
    let mut spans: Vec<(f64, f64)> = backups
        .iter()
        .filter(|b| !b["finished_at"].is_null())
        .map(|b| {
            (
                epoch(b["started_at"].as_str().unwrap()),
                epoch(b["finished_at"].as_str().unwrap()),
            )
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");

    // Hold the next backup, then stop the daemon.
    let lock = TableLock::hold(server, &db, "t");
    wait_for_blocked_dump(server, &db.name);
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    wait_for("/readyz to say it is stopping", DEADLINE, || {
        daemon.get("/readyz").0 == 503
    });
    let exit = daemon.wait_exit();
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(daemon.log().contains("interrupting"), "{}", daemon.log());
    let backups = listed(&env);
    let interrupted = &backups[0];
    assert_eq!(interrupted["status"], "failed", "{interrupted:#}");
    assert!(
        interrupted["error"]
            .as_str()
            .unwrap()
            .starts_with("interrupted"),
        "{interrupted:#}"
    );
    assert!(
        backups.iter().all(|b| b["status"] != "running"),
        "{backups:#?}"
    );
    // Only committed backups (artifact and manifest) are on the destination; nothing staged.
    let committed: usize = backups
        .iter()
        .filter(|b| b["status"] == "succeeded")
        .count();
    let files = env.files("backups");
    assert_eq!(files.len(), committed * 2, "{files:?}");
    assert!(
        files.iter().all(|f| !f.starts_with(".dbward-staging")),
        "{files:?}"
    );
    wait_for("pg_dump to be gone", DEADLINE, || {
        server.sql("postgres", &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dbward' AND datname = '{}'",
            db.name
        )) == "0"
    });
    lock.release();
}

/// Found by the fleet simulation at 10,000 databases: a daemon stopped while a fire's jobs
/// queued for its slots recorded every queued one `failed: interrupted` (1,196 failed backups
/// from one restart). A job that never started leaves no record and its fire unclaimed.
#[test]
fn sigterm_starts_no_queued_backup_and_records_none_for_it() {
    let server = PgServer::shared();
    // Jobs start in name order: the held one first, the queued one behind it.
    let held = server.create_database("cli_daemon_a_held");
    let queued = server.create_database("cli_daemon_b_queued");
    for db in [&held, &queued] {
        db.sql("CREATE TABLE t(x int); INSERT INTO t SELECT generate_series(1, 10);");
    }
    let env = pg_env(server, &[&held.name, &queued.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}[daemon]\ngrace = \"1s\"\nmax_jobs = 1\naudit = \"off\"\nprune = \"off\"\n\
             [[schedule]]\nname = \"every\"\ncron = \"* * * * * *\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n"
        ),
    )
    .unwrap();
    let lock = TableLock::hold(server, &held, "t");
    let mut daemon = Daemon::start(&env, true);
    wait_for_blocked_dump(server, &held.name);
    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    let exit = daemon.wait_exit();
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    lock.release();
    let backups = listed(&env);
    let of =
        |name: &str| -> Vec<&Value> { backups.iter().filter(|b| b["database"] == name).collect() };
    let interrupted = of(&held.name);
    assert_eq!(interrupted.len(), 1, "{backups:#?}");
    assert_eq!(interrupted[0]["status"], "failed", "{backups:#?}");
    assert!(
        of(&queued.name).is_empty(),
        "the queued backup never started, so it has no record: {backups:#?}"
    );
    assert!(
        daemon.log().contains("stopping: not starting this backup"),
        "{}",
        daemon.log()
    );
}

#[test]
fn the_daemon_refuses_root_and_a_state_directory_open_to_others() {
    let env = sqlite_env("");
    let out = env.run(&["daemon"]);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("refusing to run the daemon as root"), "{err}");
    }
    std::fs::create_dir(env.path("state")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.path("state"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["daemon", "--allow-root"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is open to group or others (mode 755); run `chmod 700"),
        "{err}"
    );
}

#[test]
fn the_prometheus_rules_pass_promtool() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/prometheus/dbward-rules.yml");
    let out = promtool()
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
