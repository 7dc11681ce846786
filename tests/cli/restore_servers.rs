//! Restore and verification end to end against the private PostgreSQL and MariaDB servers:
//! restore onto another configured source, refusing an existing database, a structural check,
//! and a drill into a scratch database that is dropped afterwards.

use dbward_testkit::{MariaServer, PgServer};
use serde_json::Value;

use crate::common::{Env, only_backup, stderr};
use crate::postgres::{SCHEMA, pg_env, write_secret};

/// Backs up, restores onto a second source under a new name, checks, then drills.
fn round_trip(
    env: &Env,
    staging_source: &str,
    restored_name: &str,
    count_restored: impl Fn() -> String,
) {
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();

    let (code, summary) = env.json(&[
        "restore",
        &id,
        "--to-source",
        staging_source,
        "--to-database",
        restored_name,
    ]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["target_source"], staging_source);
    assert!(summary["rows"].as_u64().unwrap() > 0, "{summary:#}");
    assert_eq!(count_restored(), "300");

    let out = env.run(&[
        "restore",
        &id,
        "--to-source",
        staging_source,
        "--to-database",
        restored_name,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("exists"), "{}", stderr(&out));

    for level in ["checksum", "structural", "drill"] {
        let (code, doc) = env.json(&["verify", &id, "--level", level]);
        assert_eq!(code, 0, "{level}: {doc:#}");
        let result: &Value = &doc["verifications"][0];
        assert_eq!(result["ok"], true, "{level}: {result:#}");
    }
}

#[test]
fn postgres_restores_onto_another_source_verifies_and_drills() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg_rt");
    db.sql(SCHEMA);
    let staging = format!(
        "[[source]]\nname = \"staging\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\npassword = {{ file = \"pg.secret\" }}\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n",
        server.host, server.port, server.user
    );
    let env = pg_env(server, &[&db.name], "");
    std::fs::write(
        env.config(),
        format!(
            "{}\n{staging}",
            std::fs::read_to_string(env.config()).unwrap()
        ),
    )
    .unwrap();
    let restored = format!("{}_restored", db.name);
    round_trip(&env, "staging", &restored, || {
        server.sql(&restored, "SELECT count(*) FROM customers")
    });
    assert_eq!(
        server.sql(&restored, "SELECT count(*) FROM \"order\""),
        "1000"
    );
    server.sql(
        "postgres",
        &format!("DROP DATABASE {restored} WITH (FORCE)"),
    );
    let leftovers = server.sql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbward\\_drill\\_%'",
    );
    assert_eq!(leftovers, "0", "a drill left its scratch database");
}

#[test]
fn postgres_restores_a_custom_dump_with_parallel_jobs() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg_jobs");
    db.sql(SCHEMA);
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    let id = backup["id"].as_str().unwrap().to_string();
    let restored = format!("{}_jobs", db.name);
    let (code, summary) = env.json(&["restore", &id, "--to-database", &restored, "--jobs", "2"]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["target_database"], restored.as_str());
    assert_eq!(summary["warnings"], serde_json::json!([]), "{summary:#}");
    for table in ["customers", "\"order\""] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(server.sql(&restored, &sql), db.sql(&sql), "{table}");
    }
    assert_eq!(
        server.sql(&restored, "SELECT count(*) FROM \"order\""),
        "1000"
    );
    // Nothing spooled stays behind in the state directory.
    let spool = env.dir.path().join("state").join("spool");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let out = env.run(&["restore", &id, "--to-database", &restored, "--jobs", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    server.sql(
        "postgres",
        &format!("DROP DATABASE {restored} WITH (FORCE)"),
    );
}

#[test]
fn mariadb_restores_onto_another_source_verifies_and_drills() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_maria_rt");
    db.sql(
        "CREATE TABLE customers(id INT PRIMARY KEY, name VARCHAR(100)) CHARSET utf8mb4;
            INSERT INTO customers SELECT seq, CONCAT('c', seq, ' 😀') FROM seq_1_to_300;",
    );
    let source = |name: &str| {
        format!(
            "[[source]]\nname = \"{name}\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\npassword = {{ file = \"maria.secret\" }}\n",
            server.host, server.port, server.user
        )
    };
    let env = Env::new(&format!(
        "state_dir = \"state\"\n{}databases = [\"{}\"]\n{}\n[[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"maria\"]\ndestinations = [\"local\"]\n\
         [[schedule.assert]]\nsql = \"SELECT COUNT(*) FROM customers\"\nequals = \"300\"\n",
        source("maria"),
        db.name,
        source("staging")
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let restored = format!("{}_restored", db.name);
    round_trip(&env, "staging", &restored, || {
        server.sql(&restored, "SELECT COUNT(*) FROM customers")
    });
    server.sql("", &format!("DROP DATABASE `{restored}`"));
    assert_eq!(
        server.sql("", "SHOW DATABASES LIKE 'dbward\\_drill\\_%'"),
        "",
        "a drill left its scratch database"
    );
}
