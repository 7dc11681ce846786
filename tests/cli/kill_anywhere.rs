//! Kill-anywhere: dbward itself is SIGKILLed at a seeded random moment during backup,
//! restore, drill and prune, and after each kill the invariants are checked: no backup is
//! good without a committed manifest and matching copies, the source database is unchanged,
//! a restore's final name is absent or complete, and the next command cleans up what the
//! dead one left. `DBWARD_KILL_RUNS` (default 8) and `DBWARD_KILL_SEED` choose the count and
//! the seed; `scripts/kill-anywhere.sh` runs a larger count.

use std::process::Stdio;
use std::time::Duration;

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, sha256_file, stderr};
use crate::postgres::{SCHEMA, pg_env};

/// A small deterministic generator (xorshift64*), so that a failing seed can be replayed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Backup,
    Restore,
    Drill,
    Prune,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn listed(env: &Env) -> Vec<Value> {
    let (code, doc) = env.json(&["list", "--limit", "1000"]);
    assert_eq!(code, 0, "{doc:#}");
    doc["backups"].as_array().unwrap().clone()
}

/// Every good backup has, on each committed copy, its artifact with the recorded sha256 and
/// its manifest beside it. Right after a kill the dead run's row may still say `running`
/// (the next holder of its job marks it failed); after the next command none may.
fn good_backups_are_committed(env: &Env, context: &str, right_after_kill: bool) {
    for backup in listed(env) {
        let status = backup["status"].as_str().unwrap();
        assert!(
            right_after_kill || status != "running",
            "{context}: a run is still running: {backup:#}"
        );
        if status != "succeeded" && status != "degraded" {
            continue;
        }
        for copy in backup["copies"].as_array().unwrap() {
            if copy["status"] != "committed" {
                continue;
            }
            let artifact = env.path("backups").join(copy["path"].as_str().unwrap());
            assert!(
                artifact.is_file(),
                "{context}: {} is gone: {backup:#}",
                artifact.display()
            );
            assert_eq!(
                sha256_file(&artifact),
                backup["sha256"].as_str().unwrap(),
                "{context}: {}",
                artifact.display()
            );
            let file = artifact.file_name().unwrap().to_string_lossy();
            let stem = file.split('.').next().unwrap();
            let manifest = artifact.with_file_name(format!("{stem}.manifest.json"));
            assert!(
                manifest.is_file(),
                "{context}: {} is gone",
                manifest.display()
            );
        }
    }
}

fn no_leftovers(env: &Env, context: &str) {
    for area in ["state/spool", "state/secrets", "state/restores"] {
        let left: Vec<_> = std::fs::read_dir(env.path(area))
            .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{context}: {area} still holds {left:?}");
    }
    let staging = env.path("backups/.dbward-staging");
    let staged: Vec<_> = std::fs::read_dir(&staging)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        staged.is_empty(),
        "{context}: staged uploads left: {staged:?}"
    );
}

fn run_ok(env: &Env, args: &[&str]) {
    let out = env.run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
}

fn database_exists(server: &PgServer, name: &str) -> bool {
    server.sql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    ) == "1"
}

fn drills_now(server: &PgServer) -> Vec<String> {
    server
        .sql(
            "postgres",
            "SELECT datname FROM pg_database WHERE datname LIKE 'dbward!_drill!_%' ESCAPE '!'",
        )
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn dbward_killed_anywhere_leaves_nothing_half_done() {
    let runs = env_number("DBWARD_KILL_RUNS", 8);
    let seed = env_number("DBWARD_KILL_SEED", 0x5eed_d8a7) | 1;
    let mut random = Seeded(seed);
    eprintln!("kill-anywhere: {runs} runs, DBWARD_KILL_SEED={seed}");

    let server = PgServer::shared();
    let db = server.create_database("kill_any");
    db.sql(SCHEMA);
    let fingerprint = || {
        db.sql("SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(name, ',' ORDER BY id)) FROM customers")
    };
    let before = fingerprint();
    let env = pg_env(server, &[&db.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}[[schedule]]\nname = \"nightly\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\nretention = {{ last = 2 }}\n"
        ),
    )
    .unwrap();
    run_ok(&env, &["backup"]);

    let ops = [Op::Backup, Op::Restore, Op::Drill, Op::Prune];
    for run in 0..runs {
        let op = ops[(run % 4) as usize];
        let delay = Duration::from_millis(random.below(1500));
        let context = format!("run {run} ({op:?}, killed after {delay:?}, seed {seed})");
        let target = format!("{}_k{run}", db.name);
        if matches!(op, Op::Prune) {
            run_ok(&env, &["backup"]); // something to prune
        }
        let restore_to = |to: &str| -> Vec<String> {
            [
                "restore",
                "--latest",
                "--source",
                "pg",
                "--database",
                &db.name,
                "--to-database",
                to,
            ]
            .map(String::from)
            .into()
        };
        let restore_args = restore_to(&target);
        let args: Vec<&str> = match op {
            Op::Backup => vec!["backup"],
            Op::Restore => restore_args.iter().map(String::as_str).collect(),
            Op::Drill => vec!["verify", "--latest", "--level", "drill"],
            Op::Prune => vec!["prune"],
        };
        let drills_before = drills_now(server);
        let mut child = env
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        // Orphaned loaders see the end of their input now and stop.
        std::thread::sleep(Duration::from_millis(300));

        if let Op::Restore = op
            && database_exists(server, &target)
        {
            assert_eq!(
                server.sql(&target, "SELECT count(*) FROM customers"),
                "300",
                "{context}: the final name holds an incomplete restore"
            );
        }
        if !matches!(op, Op::Prune) {
            good_backups_are_committed(&env, &context, true);
        }

        // The next command of the same kind cleans up and succeeds.
        match op {
            Op::Backup => run_ok(&env, &["backup"]),
            Op::Restore => {
                let after = format!("{}_a{run}", db.name);
                let args = restore_to(&after);
                run_ok(&env, &args.iter().map(String::as_str).collect::<Vec<_>>());
                for name in [&target, &after] {
                    server.sql(
                        "postgres",
                        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    );
                }
            }
            Op::Drill => run_ok(&env, &["verify", "--latest", "--level", "drill"]),
            Op::Prune => run_ok(&env, &["prune"]),
        }
        good_backups_are_committed(&env, &context, false);
        no_leftovers(&env, &context);
        assert_eq!(fingerprint(), before, "{context}: the source changed");
        // Drill scratch names are unique per attempt; other tests' live drills share the
        // server, so a new one must merely go away soon.
        for scratch in drills_now(server) {
            if !drills_before.contains(&scratch) {
                crate::common::wait_for(
                    &format!("{context}: the scratch database {scratch} to go"),
                    Duration::from_secs(30),
                    || !database_exists(server, &scratch),
                );
            }
        }
    }
}
