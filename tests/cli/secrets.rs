//! The secret-leak test: backups of PostgreSQL and MariaDB, succeeding and failing, with
//! `-vv` logging to stderr and a log file and `--json` output; no password may appear in any
//! child's command line, in stdout, stderr, the log, the catalog, the manifests or the state,
//! and no dump tool has `PGPASSWORD` or `MYSQL_PWD` in its environment.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dbward_testkit::{MariaServer, PgServer};

use crate::common::{Env, all_cmdlines, stderr, wait_for};
use crate::faults::{TableLock, wait_for_blocked_dump};
use crate::postgres::write_secret;

/// A MariaDB session holding a write lock, so that the dump blocks on it.
struct MariaLock {
    child: Child,
}

impl MariaLock {
    fn hold(server: &MariaServer, database: &str, table: &str) -> MariaLock {
        let defaults = tempfile::NamedTempFile::new().unwrap();
        write_secret(
            defaults.path(),
            &format!("[client]\npassword=\"{}\"\n", server.password),
        );
        let mut child = Command::new("mariadb")
            .arg(format!(
                "--defaults-extra-file={}",
                defaults.path().display()
            ))
            .args([
                "-h",
                &server.host,
                "-P",
                &server.port.to_string(),
                "-u",
                &server.user,
                database,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(
            child.stdin.as_mut().unwrap(),
            "LOCK TABLES {table} WRITE; SELECT SLEEP(120);"
        )
        .unwrap();
        wait_for("the MariaDB lock", Duration::from_secs(20), || {
            server.sql("", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(120)%'") != "0"
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(defaults);
        MariaLock { child }
    }

    fn release(mut self, server: &MariaServer) {
        let ids = server.sql(
            "",
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(120)%'",
        );
        for id in ids.lines() {
            let _ = server.try_sql("", &format!("KILL {id}"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaks_on_success_or_failure_paths() {
    use dbward_core::secret::ExposeSecret;
    let s3 = dbward_destination::testing::S3Server::start().await;
    s3.create_bucket("leaks");
    let pg = PgServer::shared();
    let maria = MariaServer::shared();
    let pg_db = pg.create_database("leak_pg");
    pg_db.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1);");
    let maria_db = maria.create_database("leak_maria");
    maria_db.sql("CREATE TABLE t(x INT); INSERT INTO t VALUES (1);");
    let env = Env::new(&format!(
        "state_dir = \"state\"\nlog_file = \"logs/dbward.log\"\n\
         [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ env = \"DBWARD_LEAK_TEST_PG\" }}\ndatabases = [\"{}\"]\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[destination]]\nname = \"offsite\"\ntype = \"s3\"\nbucket = \"leaks\"\nendpoint = \"{}\"\n\
         access_key_id = {{ file = \"s3.key\" }}\nsecret_access_key = {{ env = \"DBWARD_LEAK_TEST_S3\" }}\n",
        pg.host,
        pg.port,
        pg.user,
        pg_db.name,
        maria.host,
        maria.port,
        maria.user,
        maria_db.name,
        s3.endpoint()
    ));
    write_secret(&env.path("maria.secret"), &maria.password);
    write_secret(&env.path("s3.key"), s3.access_key().expose_secret());
    let s3_secret = s3.secret_key().expose_secret().to_string();
    let secrets = [
        pg.password.clone(),
        maria.password.clone(),
        s3_secret.clone(),
        "Wr0ng-PG-Leak-Canary".to_string(),
        "Wr0ng-Maria-Leak-Canary".to_string(),
        "Wr0ng-S3-Leak-Canary".to_string(),
        "Inherited-PG-Leak-Canary".to_string(),
        "Inherited-Maria-Leak-Canary".to_string(),
    ];
    let mut outputs = Vec::new();

    // Success, with both dumps held open while every command line on the machine is read.
    let pg_lock = TableLock::hold(pg, &pg_db, "t");
    let maria_lock = MariaLock::hold(maria, &maria_db.name, "t");
    let backup = env
        .cmd(&["--json", "-vv", "backup"])
        .env("DBWARD_LEAK_TEST_PG", &pg.password)
        .env("DBWARD_LEAK_TEST_S3", &s3_secret)
        .env("PGPASSWORD", "Inherited-PG-Leak-Canary")
        .env("MYSQL_PWD", "Inherited-Maria-Leak-Canary")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_blocked_dump(pg, &pg_db.name);
    wait_for("mariadb-dump to start", Duration::from_secs(30), || {
        all_cmdlines()
            .iter()
            .any(|(_, c)| c.contains("mariadb-dump") && c.contains(&maria_db.name))
    });
    let cmdlines = all_cmdlines();
    for (pid, cmdline) in &cmdlines {
        for secret in &secrets {
            assert!(
                !cmdline.contains(secret.as_str()),
                "pid {pid} shows a password: {cmdline}"
            );
        }
    }
    // The dump tools read passwords from private files: neither has its engine's password
    // variable in its environment, not even the one dbward itself inherited.
    let dump_of = |tool: &str, database: &str| {
        let found: Vec<u32> = cmdlines
            .iter()
            .filter(|(_, c)| c.contains(tool) && c.contains(database))
            .map(|(pid, _)| *pid)
            .collect();
        assert_eq!(found.len(), 1, "{tool}: {cmdlines:?}");
        found[0]
    };
    for (pid, variable) in [
        (dump_of("pg_dump", &pg_db.name), "PGPASSWORD="),
        (dump_of("mariadb-dump", &maria_db.name), "MYSQL_PWD="),
    ] {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        assert!(
            !environ
                .split(|&b| b == 0)
                .any(|var| var.starts_with(variable.as_bytes())),
            "pid {pid} has {variable} in its environment"
        );
    }
    pg_lock.release();
    maria_lock.release(maria);
    let out = tokio::task::spawn_blocking(move || backup.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    outputs.push(stderr(&out));

    // Failure: wrong database passwords; then a wrong S3 secret with the right passwords.
    write_secret(&env.path("maria.secret"), "Wr0ng-Maria-Leak-Canary");
    let mut failing = env.cmd(&["--json", "-vv", "backup"]);
    failing
        .env("DBWARD_LEAK_TEST_PG", "Wr0ng-PG-Leak-Canary")
        .env("DBWARD_LEAK_TEST_S3", &s3_secret);
    let out = tokio::task::spawn_blocking(move || failing.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    outputs.push(stderr(&out));
    write_secret(&env.path("maria.secret"), &maria.password);
    let mut failing = env.cmd(&["--json", "-vv", "backup"]);
    failing
        .env("DBWARD_LEAK_TEST_PG", &pg.password)
        .env("DBWARD_LEAK_TEST_S3", "Wr0ng-S3-Leak-Canary")
        // Even when a user turns every log on.
        .env("RUST_LOG", "trace,reqsign_aws_v4=trace,reqsign_core=trace");
    let out = tokio::task::spawn_blocking(move || failing.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    outputs.push(stderr(&out));
    // Human output and `list`/`show` too.
    let mut list = env.cmd(&["list"]);
    list.env("DBWARD_LEAK_TEST_PG", "x")
        .env("DBWARD_LEAK_TEST_S3", "x");
    outputs.push(crate::common::stdout(
        &tokio::task::spawn_blocking(move || list.output().unwrap())
            .await
            .unwrap(),
    ));

    for dir in ["logs", "state", "backups"] {
        for file in env.files(dir) {
            let bytes = std::fs::read(env.path(dir).join(&file)).unwrap();
            outputs.push(format!("{dir}/{file}: {}", String::from_utf8_lossy(&bytes)));
        }
    }
    assert!(
        env.files("state/secrets").is_empty(),
        "secret files left: {:?}",
        env.files("state/secrets")
    );
    assert!(
        outputs.iter().any(|o| o.contains("backup succeeded")),
        "the log was not captured"
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.contains("refused the credentials")),
        "the S3 failure was not exercised"
    );
    for text in &outputs {
        for (n, secret) in secrets.iter().enumerate() {
            if let Some(at) = text.find(secret.as_str()) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(200)
                    .map_or(0, |(i, _)| i);
                panic!(
                    "secret #{n} leaked: …{}…",
                    &text[start..(at + secret.len()).min(text.len())]
                );
            }
        }
    }
}
