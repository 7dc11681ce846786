//! PostgreSQL end to end against a private server that requires a password: a gated backup
//! whose artifact restores with the plain tools, and the wrong-password incident.

use std::process::{Command, Stdio};

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, only_backup, stderr};

/// A config backing up `databases` of the shared private server; password from a 0600 file.
pub fn pg_env(server: &PgServer, databases: &[&str], extra_source: &str) -> Env {
    let list = databases
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let env = Env::new(&format!(
        "state_dir = \"state\"\nlog_file = \"logs/dbward.log\"\n\
         [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"pg.secret\" }}\ndatabases = [{list}]\n{extra_source}\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\nverify_upload = \"checksum\"\n",
        server.host, server.port, server.user
    ));
    write_secret(&env.path("pg.secret"), &server.password);
    env
}

pub fn write_secret(path: &std::path::Path, secret: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(secret.as_bytes()).unwrap();
}

pub const SCHEMA: &str = "
    CREATE TABLE customers(id serial PRIMARY KEY, name text NOT NULL, note text, photo bytea);
    CREATE TABLE \"order\"(id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(10,2));
    CREATE TABLE empty_table(x int);
    CREATE TABLE events(id int, at date NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO customers(name, note, photo)
        SELECT 'customer ' || i || ' 😀', CASE WHEN i % 3 = 0 THEN NULL ELSE repeat('x', i) END, decode(md5(i::text), 'hex')
        FROM generate_series(1, 300) i;
    INSERT INTO \"order\"(customer_id, total) SELECT 1 + i % 300, i * 1.5 FROM generate_series(1, 1000) i;
    INSERT INTO events SELECT i, date '2025-06-01' + i FROM generate_series(1, 400) i;
    CREATE VIEW big_orders AS SELECT * FROM \"order\" WHERE total > 100;
";

#[test]
fn backup_is_gated_counted_and_restores_with_plain_tools() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg");
    db.sql(SCHEMA);
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "succeeded", "{backup:#}");
    assert_eq!(backup["engine"], "postgres");

    let artifact = env
        .path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap());
    assert!(
        artifact.to_string_lossy().ends_with(".dump.zst"),
        "{}",
        artifact.display()
    );
    let (_, shown) = env.json(&["show", backup["id"].as_str().unwrap()]);
    let tables: Vec<(String, u64)> = shown["manifest"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let count = |t: &str| tables.iter().find(|(n, _)| n == t).map(|(_, r)| *r);
    assert_eq!(count("public.customers"), Some(300), "{tables:?}");
    assert_eq!(count("public.\"order\""), Some(1000), "{tables:?}");
    assert_eq!(count("public.empty_table"), Some(0), "{tables:?}");
    assert_eq!(
        count("public.events_2025").unwrap() + count("public.events_2026").unwrap(),
        400
    );
    assert_eq!(shown["manifest"]["dump_tool"], "pg_dump");

    // An operator without dbward: zstd -dc | pg_restore into a new database.
    let target = server.create_database("cli_pg_restored");
    let restore = format!(
        "zstd -dc '{}' | '{}' --no-owner -h {} -p {} -U {} -d {}",
        artifact.display(),
        server.bin("pg_restore").display(),
        server.host,
        server.port,
        server.user,
        target.name
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&restore)
        .env("PGPASSWORD", &server.password)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(target.sql("SELECT count(*) FROM customers"), "300");
    assert_eq!(target.sql("SELECT count(*) FROM \"order\""), "1000");
    assert_eq!(target.sql("SELECT count(*) FROM events"), "400");
    assert_eq!(
        target.sql("SELECT md5(string_agg(name || coalesce(note,'') || encode(photo,'hex'), ',' ORDER BY id)) FROM customers"),
        db.sql("SELECT md5(string_agg(name || coalesce(note,'') || encode(photo,'hex'), ',' ORDER BY id)) FROM customers")
    );
}

#[test]
fn wrong_password_fails_loudly_and_leaves_nothing() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg_pw");
    let env = pg_env(server, &[&db.name], "");
    let wrong = "Wr0ng-Pa55word-Zebra";
    write_secret(&env.path("pg.secret"), wrong);
    let out = env.run(&["--json", "-vv", "backup"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "failed");
    let reason = backup["error"].as_str().unwrap();
    assert!(
        reason.contains("password authentication failed"),
        "{reason}"
    );
    // No artifact, no manifest, nothing staged: the "14-byte backup" cannot exist.
    assert!(
        env.files("backups").is_empty()
            || env
                .files("backups")
                .iter()
                .all(|f| f.starts_with(".dbward-staging")),
        "{:?}",
        env.files("backups")
    );
    assert!(env.files("backups/.dbward-staging").is_empty());
    // The password is nowhere: stdout, stderr, the log file, the catalog.
    let mut haystacks = vec![
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    ];
    for file in env.files("logs") {
        haystacks.push(std::fs::read_to_string(env.path("logs").join(file)).unwrap());
    }
    for file in env.files("state") {
        haystacks.push(
            String::from_utf8_lossy(&std::fs::read(env.path("state").join(&file)).unwrap())
                .into_owned(),
        );
    }
    for text in haystacks {
        assert!(!text.contains(wrong), "password leaked: {text}");
    }
    // The log holds the one summary line a person greps for.
    let log: String = env
        .files("logs")
        .iter()
        .map(|f| std::fs::read_to_string(env.path("logs").join(f)).unwrap())
        .collect();
    assert!(
        log.contains("backup failed") && log.contains(&db.name),
        "{log}"
    );
}

#[test]
fn a_dump_tool_that_is_missing_is_reported_by_check_and_backup() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg_tool");
    let env = pg_env(server, &[&db.name], "tool_dir = \"no-tools-here\"");
    std::fs::create_dir(env.path("no-tools-here")).unwrap();
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("pg_dump"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("FAIL") && line.contains("not found") && line.contains("no-tools-here"),
        "{line}"
    );
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let reason = only_backup(&doc)["error"].as_str().unwrap().to_string();
    assert!(reason.contains("pg_dump not found"), "{reason}");
}

#[test]
fn check_passes_against_a_reachable_server() {
    let server = PgServer::shared();
    let db = server.create_database("cli_pg_check");
    let env = pg_env(server, &[&db.name], "");
    let out = env.run(&["check"]);
    let text = crate::common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(!text.lines().any(|l| l.starts_with("FAIL")), "{text}");
    assert!(
        text.lines().filter(|l| l.starts_with("ok")).count() >= 5,
        "{text}"
    );
}

/// Spawns a backup in the background, for tests that interleave with it.
pub fn spawn_backup(env: &Env, args: &[&str]) -> std::process::Child {
    env.cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A drill needs none of the source's roles: a table owned by (and granted to) a role that
/// is gone by drill time restores without ownership and privileges, in both formats. A plain
/// restore of the same dump still needs the role, and says so.
#[test]
fn drills_restore_without_the_sources_roles() {
    let server = PgServer::shared();
    for format in ["custom", "plain"] {
        let db = server.create_database(&format!("cli_roles_{format}"));
        let role = format!("{}_owner", db.name);
        db.sql(&format!(
            "CREATE ROLE {role}; CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2);
             ALTER TABLE t OWNER TO {role}; GRANT SELECT ON t TO {role};"
        ));
        let env = pg_env(server, &[&db.name], &format!("format = \"{format}\""));
        let (code, doc) = env.json(&["backup"]);
        assert_eq!(code, 0, "{doc:#}");
        db.sql(&format!(
            "REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role};"
        ));

        let (code, drilled) = env.json(&["verify", "--latest", "--level", "drill"]);
        assert_eq!(code, 0, "{format}: {drilled:#}");
        let (code, restored) = restore_latest(&env, &db.name, &format!("{}_copy", db.name), &[]);
        assert_eq!(code, 1, "{format}: {restored:#}");
        assert!(
            restored["error"]
                .as_str()
                .unwrap()
                .contains(&format!("role \"{role}\" does not exist")),
            "{format}: {restored:#}"
        );
        // F23: the refusal says how to bring the role.
        assert!(
            restored["error"]
                .as_str()
                .unwrap()
                .contains("dbward restore --globals --latest --source pg"),
            "{format}: {restored:#}"
        );
    }
}

/// A restore creates the database with the source's encoding and locale (from the manifest);
/// when the target lacks the locale, with the encoding and the C locale, and a warning.
#[test]
fn a_restore_keeps_the_sources_encoding_and_locale() {
    let server = PgServer::shared();
    // Unique names that are dropped at the end; the source is re-created as LATIN1 / C.
    let db = server.create_database("cli_latin1");
    let copy = server.create_database("cli_latin1_copy");
    let fallback = server.create_database("cli_latin1_fallback");
    for name in [&db.name, &copy.name, &fallback.name] {
        server.sql("postgres", &format!("DROP DATABASE {name}"));
    }
    server.sql(
        "postgres",
        &format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'",
            db.name
        ),
    );
    db.sql("CREATE TABLE t(x text); INSERT INTO t VALUES ('café');");
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let settings = |name: &str| {
        server.sql(
            "postgres",
            &format!("SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = '{name}'"),
        )
    };

    let (code, restored) = restore_latest(&env, &db.name, &copy.name, &[]);
    assert_eq!(code, 0, "{restored:#}");
    assert_eq!(settings(&copy.name), "LATIN1 C C");
    assert_eq!(copy.sql("SELECT x FROM t"), "café");

    // The same backup, its manifest saying a locale this server lacks.
    let manifest = env
        .files("backups")
        .into_iter()
        .find(|f| f.ends_with(".manifest.json"))
        .unwrap();
    let manifest = env.path("backups").join(manifest);
    // An edited manifest loses its signature: restore it as an unsigned one.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut edited: Value =
        serde_json::from_str(&text.replace("\"C\"", "\"xx_XX.bogus\"")).unwrap();
    edited.as_object_mut().unwrap().remove("signature");
    std::fs::write(&manifest, edited.to_string()).unwrap();
    let (code, restored) = restore_latest(
        &env,
        &db.name,
        &fallback.name,
        &["--from", "local", "--allow-unsigned"],
    );
    assert_eq!(code, 0, "{restored:#}");
    assert_eq!(settings(&fallback.name), "LATIN1 C C");
    let warning = restored["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with(&format!(
            "created {} with ENCODING LATIN1 LC_COLLATE C LC_CTYPE C:",
            fallback.name
        )) && warning.contains("xx_XX.bogus"),
        "{restored:#}"
    );
    assert_eq!(fallback.sql("SELECT x FROM t"), "café");
}

/// `restore --latest` of source `pg`'s `database` into `to`, with `extra` options, as JSON.
fn restore_latest(env: &Env, database: &str, to: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "restore",
        "--latest",
        "--source",
        "pg",
        "--database",
        database,
        "--to-database",
        to,
    ];
    args.extend_from_slice(extra);
    env.json(&args)
}

/// F12: the manifest records which excluded tables held rows, and status warns about them.
#[test]
fn excluded_tables_with_data_are_recorded_and_reported() {
    let server = PgServer::shared();
    let db = server.create_database("cli_excluded");
    db.sql(
        "CREATE TABLE orders(id int); INSERT INTO orders VALUES (1);
         CREATE TABLE audit(id int); INSERT INTO audit VALUES (1), (2);
         CREATE TABLE empty_log(id int);",
    );
    let env = pg_env(
        server,
        &[&db.name],
        "exclude_tables = [\"audit\", \"empty_log\"]",
    );
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();
    let (_, show) = env.json(&["show", &id]);
    assert_eq!(
        show["manifest"]["excluded_tables"],
        serde_json::json!(["public.audit", "public.empty_log"]),
        "{show:#}"
    );
    assert_eq!(
        show["manifest"]["excluded_with_data"],
        serde_json::json!(["public.audit"]),
        "{show:#}"
    );

    let (_, status) = env.json(&["status"]);
    let excluded: Vec<&Value> = status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "excluded")
        .collect();
    assert_eq!(excluded.len(), 1, "{status:#}");
    let message = excluded[0]["message"].as_str().unwrap();
    assert!(
        message.contains("public.audit") && !message.contains("empty_log"),
        "{message}"
    );
}
