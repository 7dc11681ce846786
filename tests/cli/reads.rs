//! Reads have no side effects: `list`, `show` and `status` leave the catalog file as it was,
//! and need none of the databases' or destinations' secrets (a monitoring host has none).

use crate::common::{Env, stderr};

const UNSET: &str = "DBWARD_CLI_TEST_READS_UNSET_PASSWORD";

fn env() -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"127.0.0.1\"\n\
         password = {{ env = \"{UNSET}\" }}\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n\
         cron = \"0 3 * * *\"\n\
         [[schedule]]\nname = \"weekly\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n\
         cron = \"0 4 * * 0\"\n"
    ));
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);")
        .unwrap();
    env
}

/// Every row of every table of the catalog, as text.
fn rows(catalog: &rusqlite::Connection) -> Vec<String> {
    let tables: Vec<String> = catalog
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = catalog
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            out.push(format!("{table}: {}", values.join(", ")));
        }
    }
    out
}

/// Changes when any other connection commits to the catalog (SQLite's `data_version`).
fn data_version(catalog: &rusqlite::Connection) -> i64 {
    catalog
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn list_show_and_status_leave_the_catalog_untouched_and_need_no_connection_secret() {
    let env = env();
    // A backup connects: without the password it fails as the config error it always was.
    let out = env.run(&["backup", "--source", "lite"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "[[source]] \"pg\": key `password`: environment variable {UNSET} is not set"
        )),
        "{}",
        stderr(&out)
    );
    let out = env
        .cmd(&["--json", "backup", "--source", "lite"])
        .env(UNSET, "not-used-by-sqlite")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = doc["backups"][0]["id"].as_str().unwrap().to_string();

    // Held open across the reads: its `data_version` moves if any of them commits.
    let catalog = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let before = rows(&catalog);
    let version = data_version(&catalog);
    assert!(
        before.iter().any(|r| r.starts_with("schedules: ")),
        "backup saw the schedules"
    );
    for args in [
        vec!["list"],
        vec!["--json", "list", "--limit", "1"],
        vec!["show", id.as_str()],
        vec!["--json", "show", id.as_str()],
        vec!["status"],
        vec!["--json", "status"],
    ] {
        let out = env.run(&args);
        let code = out.status.code();
        assert!(
            code != Some(2) || args.contains(&"status"),
            "{args:?} failed: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains(UNSET),
            "{args:?} needed the password: {}",
            stderr(&out)
        );
        assert_eq!(
            data_version(&catalog),
            version,
            "{args:?} wrote to the catalog"
        );
        assert_eq!(rows(&catalog), before, "{args:?} changed the catalog");
    }
    let out = env.run(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
}

/// `status` writes no sighting, so a schedule no backup has seen counts from the config
/// file's last change: missed fires after it are owed, earlier ones are not, however often
/// `status` runs.
#[test]
fn a_schedule_no_backup_has_seen_counts_from_the_config_files_last_change() {
    let env = Env::new(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"hourly\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n\
         cron = \"0 * * * *\"\nrpo = \"90m\"\n",
    );
    let problems = |env: &Env| -> Vec<String> {
        let (_, doc) = env.json(&["status"]);
        doc["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["kind"].as_str().unwrap(),
                    p["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    for _ in 0..2 {
        let now = problems(&env);
        assert!(
            !now.iter()
                .any(|p| p.starts_with("stale") || p.starts_with("rpo")),
            "nothing is owed yet: {now:?}"
        );
    }
    let five_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(5 * 3600);
    std::fs::File::options()
        .write(true)
        .open(env.config())
        .unwrap()
        .set_modified(five_hours_ago)
        .unwrap();
    let later = problems(&env);
    assert!(later.contains(&"stale critical".to_string()), "{later:?}");
    assert!(later.contains(&"rpo critical".to_string()), "{later:?}");
}
