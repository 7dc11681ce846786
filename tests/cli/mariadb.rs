//! MariaDB end to end against a private server that requires a password.

use std::process::{Command, Stdio};
use std::time::Duration;

use dbward_testkit::MariaServer;

use crate::common::{Env, only_backup, stderr};
use crate::postgres::write_secret;

fn maria_env(server: &MariaServer, databases: &[&str]) -> Env {
    let list = databases
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");

    Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ env = \"DBWARD_CLI_TEST_MARIA_PW\" }}\ndatabases = [{list}]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user
    ))
}

/// Runs the binary with the MariaDB password in the environment the config names.
fn run_with_password(env: &Env, server: &MariaServer, args: &[&str]) -> std::process::Output {
    env.cmd(args)
        .env("DBWARD_CLI_TEST_MARIA_PW", &server.password)
        .output()
        .unwrap()
}

const SCHEMA: &str = "
    CREATE TABLE customers(id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(200), note TEXT, photo BLOB) CHARSET utf8mb4;
    CREATE TABLE `order`(id INT PRIMARY KEY, total DECIMAL(10,2));
    CREATE TABLE empty_table(x INT);
    INSERT INTO customers(name, note, photo) SELECT CONCAT('customer ', seq, ' 😀'), IF(seq % 3 = 0, NULL, CONCAT('it''s \\\\ \"quoted\" ),( ', seq)), UNHEX(MD5(seq)) FROM seq_1_to_300;
    INSERT INTO `order` SELECT seq, seq * 1.5 FROM seq_1_to_2000;
    CREATE VIEW big_orders AS SELECT * FROM `order` WHERE total > 100;
";

#[test]
fn backup_is_counted_and_restores_with_the_client() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria");
    db.sql(SCHEMA);
    let env = maria_env(server, &[&db.name]);
    let out = env
        .cmd(&["--json", "backup"])
        .env("DBWARD_CLI_TEST_MARIA_PW", &server.password)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#} {}", stderr(&out));
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "succeeded");
    let artifact = env
        .path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap());
    assert!(artifact.to_string_lossy().ends_with(".sql.zst"));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            artifact
                .to_string_lossy()
                .replace(".sql.zst", ".manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["tables"],
        serde_json::json!([
            {"table": "customers", "rows": 300},
            {"table": "empty_table", "rows": 0},
            {"table": "order", "rows": 2000}
        ])
    );

    let target = server.create_database("cli_maria_restored");
    let defaults = env.path("client.cnf");
    write_secret(
        &defaults,
        &format!("[client]\npassword=\"{}\"\n", server.password),
    );
    let restore = format!(
        "zstd -dc '{}' | mariadb --defaults-extra-file='{}' -h {} -P {} -u {} {}",
        artifact.display(),
        defaults.display(),
        server.host,
        server.port,
        server.user,
        target.name
    );
    let out = Command::new("sh").arg("-c").arg(&restore).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(target.sql("SELECT COUNT(*) FROM customers"), "300");
    assert_eq!(
        target.sql("SELECT MD5(GROUP_CONCAT(name, IFNULL(note, ''), HEX(photo) ORDER BY id)) FROM customers"),
        db.sql("SELECT MD5(GROUP_CONCAT(name, IFNULL(note, ''), HEX(photo) ORDER BY id)) FROM customers")
    );
}

#[test]
fn wrong_password_fails_with_the_servers_reason() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_pw");
    let env = maria_env(server, &[&db.name]);
    let wrong = "Maria-Wr0ng-Secret-Q";
    let out = env
        .cmd(&["--json", "-vv", "backup"])
        .env("DBWARD_CLI_TEST_MARIA_PW", wrong)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = only_backup(&doc)["error"].as_str().unwrap().to_string();
    assert!(reason.contains("Access denied"), "{reason}");
    assert!(
        env.files("backups")
            .iter()
            .all(|f| f.starts_with(".dbward-staging")),
        "{:?}",
        env.files("backups")
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(wrong));
    assert!(!stderr(&out).contains(wrong));
    assert!(
        env.files("state/secrets").is_empty(),
        "defaults file left: {:?}",
        env.files("state/secrets")
    );
}

#[test]
fn a_killed_run_leaves_its_password_file_only_until_the_next_command() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_kill");
    db.sql("CREATE TABLE t(x INT); INSERT INTO t VALUES (1);");
    let env = maria_env(server, &[&db.name]);
    // Another session holds a write lock, so the dump blocks with its option file in place.
    let locker = {
        let db = db.name.clone();
        std::thread::spawn(move || {
            let _ = server.try_sql(&db, "LOCK TABLES t WRITE; SELECT SLEEP(60);");
        })
    };
    crate::common::wait_for("the table lock", Duration::from_secs(20), || {
        server.sql("", &format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND info LIKE 'SELECT SLEEP%'", db.name
        )) != "0"
    });
    let mut run = env
        .cmd(&["backup"])
        .env("DBWARD_CLI_TEST_MARIA_PW", &server.password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::common::wait_for("the dump to block", Duration::from_secs(30), || {
        server.sql("", &format!(
            "SELECT count(*) FROM information_schema.processlist WHERE db = '{}' AND state LIKE 'Waiting for table metadata lock%'", db.name
        )) != "0"
    });
    let secrets = env.files("state/secrets");
    assert_eq!(
        secrets.len(),
        1,
        "the option file of the running dump: {secrets:?}"
    );

    run.kill().unwrap(); // SIGKILL: no destructor runs
    run.wait().unwrap();
    assert_eq!(
        env.files("state/secrets"),
        secrets,
        "left by the killed run"
    );
    let next = run_with_password(&env, server, &["list"]);
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    assert_eq!(env.files("state/secrets"), Vec::<String>::new());
    assert_eq!(env.files("state/spool"), Vec::<String>::new());
    drop(db); // ends the locking session, and with it the orphaned dump
    locker.join().unwrap();
}

#[test]
fn drills_restore_events_disabled() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_events");
    let sentinel = server.create_database("cli_maria_sentinel");
    sentinel.sql("CREATE TABLE hits(db VARCHAR(64));");
    // An event that writes to another database by name, every second, wherever it runs.
    db.sql(&format!(
        "CREATE TABLE t(x INT); INSERT INTO t VALUES (1);
         CREATE EVENT tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO `{}`.hits SELECT DATABASE();",
        sentinel.name
    ));
    let env = maria_env(server, &[&db.name]);
    // The drill's scratch database lives for two seconds at least (the assertion sleeps).
    let config = std::fs::read_to_string(env.config()).unwrap()
        + "[[schedule]]\nname = \"nightly\"\nsources = [\"maria\"]\ndestinations = [\"local\"]\n\
           [[schedule.assert]]\nsql = \"SELECT SLEEP(2)\"\nequals = \"0\"\n";
    std::fs::write(env.config(), config).unwrap();
    let run = |args: &[&str]| run_with_password(&env, server, args);
    let out = run(&["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    server.sql("", "SET GLOBAL event_scheduler = ON");
    let drilled = run(&["verify", "--latest", "--level", "drill"]);
    std::thread::sleep(Duration::from_millis(1500));
    server.sql("", "SET GLOBAL event_scheduler = OFF");
    assert_eq!(drilled.status.code(), Some(0), "{}", stderr(&drilled));

    let ran_in = sentinel.sql("SELECT DISTINCT db FROM hits ORDER BY db");
    // The scheduler ran the source's event, and no event of the scratch database.
    assert!(
        ran_in.contains(&db.name),
        "the scheduler did not run: {ran_in:?}"
    );
    assert!(
        !ran_in.contains("dbward_drill"),
        "an event ran in the drill: {ran_in:?}"
    );
}

#[test]
fn a_restore_keeps_the_sources_character_set() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_latin1");
    let copy = server.create_database("cli_maria_latin1_copy");
    server.sql("", &format!("DROP DATABASE {}", copy.name));
    db.sql(&format!(
        "ALTER DATABASE {} CHARACTER SET latin1 COLLATE latin1_swedish_ci; CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('café');",
        db.name
    ));
    let env = maria_env(server, &[&db.name]);
    let run = |args: &[&str]| run_with_password(&env, server, args);
    let out = run(&["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&[
        "restore",
        "--latest",
        "--source",
        "maria",
        "--database",
        &db.name,
        "--to-database",
        &copy.name,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        server.sql("", &format!("SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'", copy.name)),
        "latin1 latin1_swedish_ci"
    );
    assert_eq!(copy.sql("SELECT x FROM t"), "café");
}

#[test]
fn excluded_tables_with_data_are_recorded() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_excluded");
    db.sql(
        "CREATE TABLE orders(id INT); INSERT INTO orders VALUES (1);
         CREATE TABLE audit(id INT); INSERT INTO audit VALUES (1);
         CREATE TABLE empty_log(id INT);",
    );
    let env = maria_env(server, &[&db.name]);
    let config = std::fs::read_to_string(env.config()).unwrap().replace(
        "[[destination]]",
        "exclude_tables = [\"audit\", \"empty_log\"]\n[[destination]]",
    );
    std::fs::write(env.config(), config).unwrap();
    let out = run_with_password(&env, server, &["--json", "backup"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#} {}", stderr(&out));
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();
    let out = run_with_password(&env, server, &["--json", "show", &id]);
    let show: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        show["manifest"]["excluded_tables"],
        serde_json::json!(["audit", "empty_log"])
    );
    assert_eq!(
        show["manifest"]["excluded_with_data"],
        serde_json::json!(["audit"])
    );
}
