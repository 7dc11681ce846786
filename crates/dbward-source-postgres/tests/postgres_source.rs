//! The PostgreSQL source against a real server that requires a password (dbward-testkit):
//! discovery, dumps in both formats with exact row counts, and every way a dump must fail.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dbward_core::Error;
use dbward_core::TableRows;
use dbward_core::source::{Dump, Source};
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresSource};
use dbward_testkit::PgServer;
use sqlx::{Connection, PgConnection};
use tokio::io::AsyncReadExt;

fn settings(pg: &PgServer) -> PostgresSettings {
    PostgresSettings {
        name: "test-pg".into(),
        host: pg.host.clone(),
        port: pg.port,
        user: pg.user.clone(),
        password: Some(pg.password.clone().into()),
        maintenance_database: "postgres".into(),
        format: PgFormat::Custom,
        pitr: false,
        tool_dir: None,
        exclude_tables: vec![],
        connect_timeout: Duration::from_secs(10),
        tls: Default::default(),
        secret_dir: std::env::temp_dir(),
    }
}

fn source(pg: &PgServer) -> PostgresSource {
    PostgresSource::new(settings(pg))
}

async fn read_all(dump: &mut Dump) -> Vec<u8> {
    let mut out = Vec::new();
    dump.output
        .read_to_end(&mut out)
        .await
        .expect("dump output reads");
    out
}

fn rows(pairs: &[(&str, u64)]) -> Vec<TableRows> {
    let mut out: Vec<TableRows> = pairs
        .iter()
        .map(|(t, n)| TableRows {
            table: t.to_string(),
            rows: *n,
        })
        .collect();
    out.sort_by(|a, b| a.table.cmp(&b.table));
    out
}

fn sorted(mut tables: Vec<TableRows>) -> Vec<TableRows> {
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    tables
}

const FIXTURE: &str = "
    CREATE TABLE plain_t (id int PRIMARY KEY, label text);
    INSERT INTO plain_t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE empty_t (id int);
    CREATE TABLE notes (id int, note text);
    INSERT INTO notes VALUES (1, 'héllo wörld ✓ 日本語'), (2, NULL), (3, '🦀'), (4, NULL);
    CREATE TABLE measure (at date NOT NULL, v int) PARTITION BY RANGE (at);
    CREATE TABLE measure_2024 PARTITION OF measure FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE measure_2025 PARTITION OF measure FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    INSERT INTO measure SELECT DATE '2024-06-01' + g, g FROM generate_series(0, 299) g;
    CREATE SCHEMA \"Odd Schema\";
    CREATE TABLE \"Odd Schema\".\"Mixed Table\" (x int);
    INSERT INTO \"Odd Schema\".\"Mixed Table\" VALUES (1), (NULL);
    CREATE TABLE audit_log (x int);
    INSERT INTO audit_log SELECT generate_series(1, 50);
";

fn fixture_counts() -> Vec<TableRows> {
    // 2024-06-01 + 0..299 days: 214 days fall in 2024, 86 in 2025.
    rows(&[
        ("\"Odd Schema\".\"Mixed Table\"", 2),
        ("public.empty_t", 0),
        ("public.measure_2024", 214),
        ("public.measure_2025", 86),
        ("public.notes", 4),
        ("public.plain_t", 1000),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_created_databases_and_no_system_databases() {
    let pg = PgServer::shared();
    let db = pg.create_database("discover");
    let names = source(pg).list_databases().await.unwrap();
    assert!(names.contains(&db.name), "{names:?}");
    // The maintenance database is a system database; only a literal name selects it.
    assert!(!names.contains(&"postgres".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("template")),
        "{names:?}"
    );
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(names, sorted_names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_dump_counts_rows_exactly_and_restores() {
    let pg = PgServer::shared();
    let db = pg.create_database("custom");
    db.sql(FIXTURE);
    let mut settings = settings(pg);
    settings.exclude_tables = vec!["audit_log".into()];
    let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
    assert_eq!(
        (dump.info.format.as_str(), dump.info.extension),
        ("custom", "dump")
    );
    assert!(dump.info.options.contains(&"--compress=0".to_string()));
    assert!(
        dump.info
            .options
            .contains(&"--exclude-table=audit_log".to_string())
    );
    assert!(!dump.info.options.iter().any(|o| o.contains(&pg.password)));
    let bytes = read_all(&mut dump).await;
    let report = dump.completion.finish().await.unwrap();
    assert_eq!(sorted(report.tables), fixture_counts());
    assert_eq!(report.excluded_tables, ["public.audit_log"]);
    assert_eq!(report.replica_lag_seconds, None);
    // The facts the completion check relies on, as this pg_dump writes them: intSize in the
    // header's ninth byte, and the last data block closed by a sign byte and intSize zeros.
    assert!(bytes.starts_with(b"PGDMP"));
    let int_size = usize::from(bytes[8]);
    assert_eq!(bytes[10], 1, "custom format code");
    assert!(bytes[bytes.len() - int_size - 1..].iter().all(|&b| b == 0));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.dump");
    std::fs::write(&file, &bytes).unwrap();
    let list = run(
        &pg.bin("pg_restore"),
        &["--list".as_ref(), file.as_os_str()],
    );
    for table in ["plain_t", "empty_t", "notes", "measure_2024", "Mixed Table"] {
        assert!(
            list.lines()
                .any(|l| l.contains("TABLE DATA") && l.contains(table)),
            "{table} missing from:\n{list}"
        );
    }
    assert!(
        !list
            .lines()
            .any(|l| l.contains("TABLE DATA") && l.contains("audit_log")),
        "{list}"
    );

    // The dump restores, and the text survives byte for byte.
    let target = pg.create_database("custom_restored");
    let restore = std::process::Command::new(pg.bin("pg_restore"))
        .args([
            "--no-owner",
            "--exit-on-error",
            "-h",
            &pg.host,
            "-p",
            &pg.port.to_string(),
        ])
        .args(["-U", &pg.user, "-d", &target.name])
        .arg(&file)
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert_eq!(
        target.sql("SELECT string_agg(coalesce(note, '<null>'), '|' ORDER BY id) FROM notes"),
        "héllo wörld ✓ 日本語|<null>|🦀|<null>"
    );
    assert_eq!(target.sql("SELECT count(*) FROM measure"), "300");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_dump_has_its_trailer_and_exact_counts() {
    let pg = PgServer::shared();
    let db = pg.create_database("plain");
    db.sql(FIXTURE);
    let mut settings = settings(pg);
    settings.format = PgFormat::Plain;
    settings.exclude_tables = vec!["public.audit_*".into(), "no_such_table".into()];
    let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
    assert_eq!(
        (dump.info.format.as_str(), dump.info.extension),
        ("plain", "sql")
    );
    let bytes = read_all(&mut dump).await;
    let report = dump.completion.finish().await.unwrap();
    assert_eq!(sorted(report.tables), fixture_counts());
    assert_eq!(report.excluded_tables, ["public.audit_log"]);
    assert_eq!(
        report.warnings,
        ["exclude_tables pattern \"no_such_table\" matches no table"]
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(dbward_source_postgres::PLAIN_TRAILER));
    assert!(text.contains("héllo wörld ✓ 日本語"));
    assert!(!text.contains("audit_log"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_tables_dumps_cleanly() {
    let pg = PgServer::shared();
    let db = pg.create_database("notables");
    let mut dump = source(pg).dump(&db.name).await.unwrap();
    read_all(&mut dump).await;
    let report = dump.completion.finish().await.unwrap();
    assert!(report.tables.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_connect_error_with_the_servers_words() {
    let pg = PgServer::shared();
    let db = pg.create_database("wrongpw");
    let wrong = "not-the-password-7f3a9c";
    let mut settings = settings(pg);
    settings.password = Some(wrong.to_string().into());
    let source = PostgresSource::new(settings);
    assert!(!format!("{source:?}").contains(wrong));

    for err in [
        source.list_databases().await.unwrap_err(),
        source.dump(&db.name).await.unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert!(
            text.contains("password authentication failed for user \"postgres\""),
            "{text}"
        );
        assert!(
            text.contains(&format!("postgres://postgres@127.0.0.1:{}/", pg.port)),
            "{text}"
        );
        assert!(
            !text.contains(wrong) && !format!("{err:?}").contains(wrong),
            "{text}"
        );
    }
    let check = source.check().await;
    assert!(check.iter().all(|l| l.outcome.is_err()), "{check:?}");
    assert!(!format!("{check:?}").contains(wrong));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_reported_as_missing() {
    let pg = PgServer::shared();
    let err = source(pg)
        .dump("dbward_no_such_database")
        .await
        .unwrap_err();
    match err {
        Error::DatabaseMissing {
            source_name,
            database,
        } => {
            assert_eq!(
                (source_name.as_str(), database.as_str()),
                ("test-pg", "dbward_no_such_database")
            )
        }
        other => panic!("expected DatabaseMissing, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_server_privileges_and_tool() {
    let pg = PgServer::shared();
    let lines = source(pg).check().await;
    let items: Vec<&str> = lines.iter().map(|l| l.item.as_str()).collect();
    assert_eq!(items, ["connect", "tls", "privileges", "pg_dump"]);
    assert!(lines.iter().all(|l| l.outcome.is_ok()), "{lines:?}");
    // The shared server has ssl off; on loopback that is no warning.
    assert_eq!(lines[1].outcome, Ok("off (prefer)".to_string()));
    assert!(!lines[1].warning);

    // A login without read privileges is told what to grant.
    let db = pg.create_database("privs");
    let role = format!("{}_r", db.name);
    db.sql(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'weak-but-fine'"
    ));
    let mut settings = settings(pg);
    settings.user = role.clone();
    settings.password = Some("weak-but-fine".to_string().into());
    let lines = PostgresSource::new(settings).check().await;
    db.sql(&format!("DROP ROLE {role}"));
    let privileges = lines.iter().find(|l| l.item == "privileges").unwrap();
    let reason = privileges.outcome.clone().unwrap_err();
    assert!(
        reason.contains(&format!("GRANT pg_read_all_data TO {role}")),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_dir_without_pg_dump_is_tool_missing() {
    let pg = PgServer::shared();
    let db = pg.create_database("notool");
    let empty = tempfile::tempdir().unwrap();
    let mut settings = settings(pg);
    settings.tool_dir = Some(empty.path().to_path_buf());
    let source = PostgresSource::new(settings);
    let err = source.dump(&db.name).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ToolMissing { .. }), "{err:?}");
    assert!(text.contains(&empty.path().display().to_string()), "{text}");
    assert!(text.contains("install postgresql-client-"), "{text}");
    let lines = source.check().await;
    assert!(
        lines
            .iter()
            .any(|l| l.item == "pg_dump" && l.outcome.is_err()),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_pg_dump_is_refused_as_too_old() {
    // Only one PostgreSQL major is installed here, so an old tool can only be shown by a
    // stand-in script that answers `--version` the way pg_dump 9.6 did.
    let pg = PgServer::shared();
    let db = pg.create_database("oldtool");
    let dir = tempfile::tempdir().unwrap();
    write_script(
        &dir.path().join("pg_dump"),
        "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.0'\n",
    );
    let mut settings = settings(pg);
    settings.tool_dir = Some(dir.path().to_path_buf());
    let err = PostgresSource::new(settings)
        .dump(&db.name)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ToolTooOld { .. }), "{err:?}");
    assert!(text.contains("9.6.0"), "{text}");
    assert!(text.contains("install postgresql-client-"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_killed_midway_fails_the_dump() {
    let pg = PgServer::shared();
    let db = pg.create_database("killed");
    db.sql("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 10)");
    let mut locker = lock_table(pg, &db.name, "t").await;

    let mut dump = source(pg).dump(&db.name).await.unwrap();
    let mut output = std::mem::replace(&mut dump.output, Box::pin(tokio::io::empty()));
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = output.read_to_end(&mut buf).await;
        buf
    });
    let pid = blocked_pg_dump_backend(&mut locker, &db.name).await;
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut locker)
        .await
        .unwrap();
    assert!(terminated);
    sqlx::raw_sql("COMMIT").execute(&mut locker).await.unwrap();
    reader.await.unwrap();

    let err = dump.completion.finish().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Dump(_)), "{err:?}");
    assert!(text.starts_with("pg_dump exited"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    eprintln!("killed pg_dump reported: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_never_reaches_pg_dumps_command_line() {
    let pg = PgServer::shared();
    let db = pg.create_database("cmdline");
    db.sql(
        "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 10);
         CREATE TABLE u (y int); INSERT INTO u SELECT generate_series(1, 5);",
    );
    let mut locker = lock_table(pg, &db.name, "t").await;

    let mut settings = settings(pg);
    settings.format = PgFormat::Plain;
    let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
    let mut output = std::mem::replace(&mut dump.output, Box::pin(tokio::io::empty()));
    let reader = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = output.read_to_end(&mut buf).await;
        buf
    });
    blocked_pg_dump_backend(&mut locker, &db.name).await;

    // pg_dump is now waiting for the lock, so its process is certainly alive.
    let marker = format!("--dbname={}", db.name);
    let procs = pg_dump_processes(&marker);
    assert_eq!(procs.len(), 1, "{procs:?}");
    let (pid, cmdline) = &procs[0];
    assert!(
        !cmdline.contains(&pg.password),
        "password in argv: {cmdline}"
    );
    assert!(cmdline.contains("--no-password"), "{cmdline}");
    // The password reaches it only through a private password file, never its environment.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
    assert!(
        !vars.iter().any(|v| v.starts_with(b"PGPASSWORD=")),
        "PGPASSWORD in pg_dump's environment"
    );
    // (The test's own DBWARD_TEST_PG_PASSWORD is inherited; nothing of dbward's holds it.)
    let password = pg.password.as_bytes();
    assert!(
        !vars
            .iter()
            .filter(|v| !v.starts_with(b"DBWARD_TEST_"))
            .any(|v| v.windows(password.len()).any(|w| w == password))
    );
    let passfile = vars
        .iter()
        .find_map(|v| v.strip_prefix(b"PGPASSFILE="))
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .expect("PGPASSFILE in pg_dump's environment");
    let mode = std::fs::metadata(&passfile).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", passfile.display());

    // Rows committed after the snapshot are neither dumped nor counted.
    db.sql("INSERT INTO u SELECT generate_series(100, 106)");
    sqlx::raw_sql("COMMIT").execute(&mut locker).await.unwrap();
    let bytes = reader.await.unwrap();
    let report = dump.completion.finish().await.unwrap();
    assert_eq!(report.tables, rows(&[("public.t", 10), ("public.u", 5)]));
    assert!(!passfile.exists(), "the password file outlives pg_dump");
    let text = String::from_utf8(bytes).unwrap();
    let copy_u = text
        .split("COPY public.u (y) FROM stdin;\n")
        .nth(1)
        .unwrap();
    let dumped_u = copy_u.lines().take_while(|l| *l != "\\.").count();
    assert_eq!(dumped_u, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_kills_pg_dump_and_releases_the_snapshot() {
    let pg = PgServer::shared();
    let db = pg.create_database("abort");
    db.sql("CREATE TABLE t (x int)");
    let mut locker = lock_table(pg, &db.name, "t").await;
    let dump = source(pg).dump(&db.name).await.unwrap();
    blocked_pg_dump_backend(&mut locker, &db.name).await;
    let marker = format!("--dbname={}", db.name);
    assert_eq!(pg_dump_processes(&marker).len(), 1);

    dump.completion.abort().await;
    assert!(pg_dump_processes(&marker).is_empty());
    // Neither pg_dump's session nor dbward's own snapshot session stays behind.
    let sessions = wait_for_sessions_to_end(&mut locker, &db.name).await;
    assert_eq!(sessions, 0);
    sqlx::raw_sql("COMMIT").execute(&mut locker).await.unwrap();
}

/// Tables that stress the stream counter: partitions, empty tables, keyword and odd names,
/// values holding newlines, backslashes, `\.` and empty strings, large objects.
const STREAM_FIXTURE: &str = r#"
    CREATE TABLE "order" (id int, note text);
    INSERT INTO "order" SELECT g, CASE WHEN g % 5 = 0 THEN E'multi\nline\r\n' WHEN g % 7 = 0 THEN E'\\.' ELSE '' END
      FROM generate_series(1, 5000) g;
    CREATE TABLE "select" (v text);
    INSERT INTO "select" VALUES (''), (''), (E'\\'), ('.'), (E'\n'), (NULL);
    CREATE TABLE empty_a (x int);
    CREATE TABLE "Empty B" (x int);
    CREATE SCHEMA "sch.ema ünï";
    CREATE TABLE "sch.ema ünï"."ta""ble" (x text);
    INSERT INTO "sch.ema ünï"."ta""ble" SELECT repeat(E'\t\\x\n', g) FROM generate_series(1, 40) g;
    CREATE TABLE m (at int NOT NULL, v text) PARTITION BY RANGE (at);
    CREATE TABLE m_low PARTITION OF m FOR VALUES FROM (0) TO (100);
    CREATE TABLE m_high PARTITION OF m FOR VALUES FROM (100) TO (1000);
    CREATE TABLE m_empty PARTITION OF m FOR VALUES FROM (1000) TO (2000);
    INSERT INTO m SELECT g, md5(g::text) FROM generate_series(0, 999) g;
    CREATE TABLE wide (id int, big text);
    INSERT INTO wide SELECT g, repeat(E'ab\n', 300000) FROM generate_series(1, 3) g;
    CREATE TABLE los (id int, lo oid);
    INSERT INTO los SELECT g, lo_from_bytea(0, convert_to(repeat(E'line\n', g * 1000), 'UTF8')) FROM generate_series(1, 5) g;
    CREATE UNLOGGED TABLE scratch (x int);
    INSERT INTO scratch SELECT generate_series(1, 12);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_from_the_stream_equal_count_star_in_both_formats() {
    use dbward_core::restore::RestoreTarget;
    let pg = PgServer::shared();
    let db = pg.create_database("streamcount");
    db.sql(STREAM_FIXTURE);
    // count(*) of every table a dump holds, named as the manifest names them.
    let spool = tempfile::tempdir().unwrap();
    let target = dbward_source_postgres::PostgresTarget::new(settings(pg), spool.path().into());
    let want = sorted(target.count_rows(&db.name).await.unwrap());
    assert_eq!(want.len(), 11, "{want:?}");
    assert!(want.contains(&TableRows {
        table: "\"sch.ema ünï\".\"ta\"\"ble\"".into(),
        rows: 40
    }));
    assert!(want.contains(&TableRows {
        table: "public.\"select\"".into(),
        rows: 6
    }));
    for format in [PgFormat::Custom, PgFormat::Plain] {
        let mut settings = settings(pg);
        settings.format = format;
        let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
        let bytes = read_all(&mut dump).await;
        let report = dump.completion.finish().await.unwrap();
        assert_eq!(sorted(report.tables), want, "{format:?}");
        if format == PgFormat::Custom {
            // The stream reader agrees with pg_restore's own reading of the archive.
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("x.dump");
            std::fs::write(&file, &bytes).unwrap();
            let list = run(
                &pg.bin("pg_restore"),
                &["--list".as_ref(), file.as_os_str()],
            );
            assert!(list.contains("BLOBS"), "{list}");
        }
    }
}

/// A stand-in pg_dump that runs the real one with `body` (`$REAL` is the real one).
fn wrapped_pg_dump(pg: &PgServer, dir: &Path, body: &str) {
    let real = pg.bin("pg_dump");
    write_script(
        &dir.join("pg_dump"),
        &format!(
            "#!/bin/sh\nREAL='{}'\nif [ \"$1\" = --version ]; then exec \"$REAL\" --version; fi\n{body}\n",
            real.display()
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_short_fails_the_dump_even_when_pg_dump_exits_0() {
    let pg = PgServer::shared();
    let db = pg.create_database("cutshort");
    db.sql(STREAM_FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    // Exits 0 (head's status) with the output cut inside the data.
    wrapped_pg_dump(pg, dir.path(), "\"$REAL\" \"$@\" | head -c 200000");
    for (format, want) in [
        (
            PgFormat::Custom,
            "pg_dump output: the archive is truncated: it ends inside the data of TABLE DATA",
        ),
        (PgFormat::Plain, "lacks the trailer"),
    ] {
        let mut settings = settings(pg);
        settings.format = format;
        settings.tool_dir = Some(dir.path().to_path_buf());
        let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
        let bytes = read_all(&mut dump).await;
        assert_eq!(bytes.len(), 200000);
        let err = dump.completion.finish().await.unwrap_err().to_string();
        assert!(err.contains(want), "{format:?}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_missing_from_the_dump_fails_naming_it() {
    let pg = PgServer::shared();
    let db = pg.create_database("missingtable");
    db.sql(
        "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1);
         CREATE TABLE \"Lost One\" (x int); INSERT INTO \"Lost One\" VALUES (1);",
    );
    let dir = tempfile::tempdir().unwrap();
    wrapped_pg_dump(
        pg,
        dir.path(),
        "exec \"$REAL\" \"$@\" '--exclude-table-data=\"Lost One\"'",
    );
    for format in [PgFormat::Custom, PgFormat::Plain] {
        let mut settings = settings(pg);
        settings.format = format;
        settings.tool_dir = Some(dir.path().to_path_buf());
        let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
        read_all(&mut dump).await;
        let err = dump.completion.finish().await.unwrap_err().to_string();
        assert_eq!(
            err,
            "pg_dump output holds no data for 1 of the tables it was expected to dump: public.\"Lost One\"",
            "{format:?}"
        );
    }
}

// ---- helpers ----

fn run(program: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_script(path: &PathBuf, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A session holding an exclusive lock on `table`, so that pg_dump blocks on it.
async fn lock_table(pg: &PgServer, database: &str, table: &str) -> PgConnection {
    let mut conn = PgConnection::connect(&pg.url(database)).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

/// Waits until pg_dump's session in `database` waits for a lock; returns its backend pid.
async fn blocked_pg_dump_backend(conn: &mut PgConnection, database: &str) -> i32 {
    for _ in 0..200 {
        // The locking session is inside a transaction, which would freeze its view of
        // pg_stat_activity at the first look.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut *conn)
            .await
            .unwrap();
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
              WHERE application_name = 'dbward' AND datname = $1 AND wait_event_type = 'Lock'",
        )
        .bind(database)
        .fetch_optional(&mut *conn)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("pg_dump never blocked on the lock in {database}");
}

async fn wait_for_sessions_to_end(conn: &mut PgConnection, database: &str) -> i64 {
    let mut count = -1;
    for _ in 0..100 {
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut *conn)
            .await
            .unwrap();
        count = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(database)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        if count == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count
}

/// Live pg_dump processes whose command line contains `marker`: (pid, argv joined by spaces).
fn pg_dump_processes(marker: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_pg_dump = args.first().is_some_and(|a| a.ends_with("pg_dump"));
        if is_pg_dump && args.iter().any(|a| a == marker) {
            found.push((pid, args.join(" ")));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_with_colons_and_backslashes_reaches_pg_dump_through_its_file() {
    let pg = PgServer::shared();
    let db = pg.create_database("passfile");
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
    let role = format!("{}_r", db.name);
    let password = r#"p:a\ss'w"rd:*"#;
    db.sql(&format!(
        "CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{}'",
        password.replace('\'', "''")
    ));
    let mut settings = settings(pg);
    settings.user = role.clone();
    settings.password = Some(password.to_string().into());
    let mut dump = PostgresSource::new(settings).dump(&db.name).await.unwrap();
    read_all(&mut dump).await;
    let report = dump.completion.finish().await;
    db.sql(&format!("DROP ROLE {role}"));
    assert_eq!(report.unwrap().tables, rows(&[("public.t", 2)]));
}
