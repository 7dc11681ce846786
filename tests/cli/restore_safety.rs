//! A restore never harms what it did not create: names the engine would truncate are
//! refused, a database that appears while a restore runs is left alone, and a restore killed
//! with SIGKILL never leaves a database under its final name (PostgreSQL loads under a
//! temporary name; MariaDB journals what it creates, and the next restore drops it), and a
//! name a server would case-fold is refused.

use std::process::Stdio;
use std::time::Duration;

use dbward_testkit::{MariaServer, PgServer};

use crate::common::{Env, only_backup, stderr, wait_for};
use crate::postgres::pg_env;

/// Drops a database the test created by name when the test ends, whatever happened.
struct Dropped<'a> {
    server: &'a PgServer,
    name: String,
}

impl Drop for Dropped<'_> {
    fn drop(&mut self) {
        let _ = self.server.try_sql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

fn pg_databases_like(server: &PgServer, pattern: &str) -> Vec<String> {
    server
        .sql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{pattern}' ORDER BY 1"),
        )
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until a temporary restore database that was not in `before` appears; returns the
/// new ones.
fn wait_for_staged(server: &PgServer, before: &[String]) -> Vec<String> {
    let mut staged = Vec::new();
    wait_for("the temporary database", Duration::from_secs(30), || {
        staged = pg_databases_like(server, "dbward_restore_%")
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        !staged.is_empty()
    });
    staged
}

/// A PostgreSQL database whose restore takes seconds: every row passes a CHECK that sleeps
/// (the function is made slow only after the rows are in).
fn slow_pg_backup(server: &PgServer) -> (Env, dbward_testkit::TestDb) {
    let db = server.create_database("slow_restore");
    db.sql(
        "CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
         CREATE TABLE slow(x int CONSTRAINT slow_check CHECK (slow_ok(x)));
         INSERT INTO slow SELECT generate_series(1, 3000);
         CREATE OR REPLACE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE
             AS 'SELECT pg_sleep(0.002) IS NOT NULL';",
    );
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    only_backup(&doc);
    (env, db)
}

fn spawn_restore(env: &Env, source: &str, database: &str, to: &str) -> std::process::Child {
    env.cmd(&[
        "restore",
        "--latest",
        "--source",
        source,
        "--database",
        database,
        "--to-database",
        to,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// The reproduced incident: a 70-byte target name passed the existence check, CREATE
/// truncated it to 63 bytes and failed with "already exists", and the cleanup dropped the
/// existing database whose name is those 63 bytes.
#[test]
fn a_name_postgres_would_truncate_is_refused_and_the_database_it_names_survives() {
    let server = PgServer::shared();
    let db = server.create_database("trunc_src");
    db.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2);");
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");

    let stem = format!("victim_{}", std::process::id());
    let victim = Dropped {
        server,
        name: format!("{stem}{}", "v".repeat(63 - stem.len())),
    };
    assert_eq!(victim.name.len(), 63);
    server.sql("postgres", &format!("CREATE DATABASE \"{}\"", victim.name));
    server.sql(
        &victim.name,
        "CREATE TABLE precious(x int); INSERT INTO precious VALUES (42);",
    );

    let long = format!("{}_copy!!", victim.name);
    let out = env.run(&[
        "restore",
        "--latest",
        "--source",
        "pg",
        "--database",
        &db.name,
        "--to-database",
        &long,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("70 bytes") && stderr(&out).contains("truncate"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.sql(&victim.name, "SELECT x FROM precious"), "42");
}

/// The check-then-create race: a database created under the target name while the restore
/// loads is never dropped or replaced; the restore fails and discards its own copy.
#[test]
fn a_database_created_while_the_restore_runs_is_left_untouched() {
    let server = PgServer::shared();
    let (env, db) = slow_pg_backup(server);
    let racer = Dropped {
        server,
        name: format!("{}_racer", db.name),
    };
    let before = pg_databases_like(server, "dbward_restore_%");
    let restore = spawn_restore(&env, "pg", &db.name, &racer.name);
    let staged = wait_for_staged(server, &before);
    server.sql("postgres", &format!("CREATE DATABASE \"{}\"", racer.name));
    server.sql(
        &racer.name,
        "CREATE TABLE mine(x int); INSERT INTO mine VALUES (7);",
    );

    let out = restore.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("left untouched"), "{}", stderr(&out));
    assert_eq!(server.sql(&racer.name, "SELECT x FROM mine"), "7");
    for name in &staged {
        assert!(
            pg_databases_like(server, name).is_empty(),
            "{name} was not discarded"
        );
    }
}

/// SIGKILL of dbward mid-restore: the final name never appears (the load runs under a
/// temporary name), and the next restore drops the temporary database.
#[test]
fn a_killed_postgres_restore_never_shows_its_final_name_and_is_cleaned_next_time() {
    let server = PgServer::shared();
    let (env, db) = slow_pg_backup(server);
    let target = Dropped {
        server,
        name: format!("{}_killed", db.name),
    };
    let before = pg_databases_like(server, "dbward_restore_%");
    let mut restore = spawn_restore(&env, "pg", &db.name, &target.name);
    let staged = wait_for_staged(server, &before);
    std::thread::sleep(Duration::from_millis(700));
    restore.kill().unwrap();
    restore.wait().unwrap();
    // The loader sees the end of its input now; give it time to end as it would.
    std::thread::sleep(Duration::from_millis(500));
    assert!(pg_databases_like(server, &target.name).is_empty());
    assert_eq!(pg_databases_like(server, &staged[0]), staged);

    let again = Dropped {
        server,
        name: format!("{}_again", db.name),
    };
    let out = env.run(&[
        "restore",
        "--latest",
        "--source",
        "pg",
        "--database",
        &db.name,
        "--to-database",
        &again.name,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        pg_databases_like(server, &staged[0]).is_empty(),
        "the leftover {} was not dropped",
        staged[0]
    );
    assert!(
        stderr(&out).contains(&format!("dropped {}", staged[0]))
            && stderr(&out).contains("interrupted restore"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.sql(&again.name, "SELECT count(*) FROM slow"), "3000");
}

/// MariaDB cannot rename a database, so it loads under the final name; the journal says it
/// is incomplete, and after a SIGKILL the next restore drops it.
#[test]
fn a_killed_mariadb_restore_is_dropped_by_the_next_restore() {
    let server = MariaServer::shared();
    let db = server.create_database("killed_restore");
    db.sql(
        "CREATE TABLE big(id INT PRIMARY KEY, body TEXT);
         INSERT INTO big SELECT seq, REPEAT(MD5(seq), 8) FROM seq_1_to_300000;",
    );
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    crate::postgres::write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");

    let target = format!("{}_k", db.name);
    let exists = |name: &str| {
        !server
            .sql(
                "",
                &format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"),
            )
            .is_empty()
    };
    let mut restore = spawn_restore(&env, "maria", &db.name, &target);
    wait_for(
        "the database being restored",
        Duration::from_secs(30),
        || exists(&target),
    );
    std::thread::sleep(Duration::from_millis(300));
    restore.kill().unwrap();
    restore.wait().unwrap();
    assert_eq!(
        std::fs::read_dir(env.path("state/restores"))
            .unwrap()
            .count(),
        1,
        "the journal holds the interrupted restore"
    );

    let again = format!("{}_a", db.name);
    let (code, summary) = env.json(&[
        "restore",
        "--latest",
        "--source",
        "maria",
        "--database",
        &db.name,
        "--to-database",
        &again,
    ]);
    assert_eq!(code, 0, "{summary:#}");
    assert!(!exists(&target), "the half-loaded {target} was not dropped");
    assert_eq!(server.sql(&again, "SELECT COUNT(*) FROM big"), "300000");
    assert_eq!(
        std::fs::read_dir(env.path("state/restores"))
            .unwrap()
            .count(),
        0
    );
    server.sql("", &format!("DROP DATABASE `{again}`"));
}

/// On a server that folds database names to lower case, `Shop` is `shop`: the old code saw no
/// `Shop`, failed to create it ("database exists") and dropped `shop` in its cleanup.
#[test]
fn a_name_the_server_would_fold_is_refused_and_the_database_it_names_survives() {
    let server =
        MariaServer::start_private_with(std::process::id(), &["--lower-case-table-names=1"])
            .expect("a private MariaDB with lower_case_table_names=1");
    let db = server.create_database("fold_src");
    db.sql("CREATE TABLE t(x INT); INSERT INTO t VALUES (1);");
    let victim = server.create_database("fold_victim");
    victim.sql("CREATE TABLE precious(x INT); INSERT INTO precious VALUES (42);");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    crate::postgres::write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");

    let folded = victim.name.to_uppercase();
    let out = env.run(&[
        "restore",
        "--latest",
        "--source",
        "maria",
        "--database",
        &db.name,
        "--to-database",
        &folded,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lower_case_table_names"),
        "{}",
        stderr(&out)
    );
    assert_eq!(victim.sql("SELECT x FROM precious"), "42");
}
