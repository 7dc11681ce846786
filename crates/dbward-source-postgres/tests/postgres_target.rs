//! The PostgreSQL restore target against a real server (dbward-testkit): dumps made by
//! `PostgresSource` restore into new databases with every table's content and the schema's
//! objects intact, in both formats; damaged streams fail the restore; `replace` swaps
//! databases; `inspect` verifies dumps without a server; compatibility is refused clearly.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use dbward_core::restore::RestoreTarget;
use dbward_core::{Error, Manifest, TableRows};
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresTarget};
use dbward_testkit::PgServer;
use sqlx::Connection;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

mod support;

fn settings(pg: &PgServer, format: PgFormat) -> PostgresSettings {
    PostgresSettings {
        name: "test-pg".into(),
        host: pg.host.clone(),
        port: pg.port,
        user: pg.user.clone(),
        password: Some(pg.password.clone().into()),
        maintenance_database: "postgres".into(),
        format,
        pitr: false,
        tool_dir: None,
        exclude_tables: vec![],
        connect_timeout: Duration::from_secs(10),
        tls: Default::default(),
        secret_dir: std::env::temp_dir(),
    }
}

fn target(pg: &PgServer, spool: &Path) -> PostgresTarget {
    PostgresTarget::new(settings(pg, PgFormat::Custom), spool.to_path_buf())
}

/// Dumps `database` with the source and returns the dump with the manifest a backup records.
async fn dump(pg: &PgServer, database: &str, format: PgFormat) -> (Vec<u8>, Manifest) {
    support::dump(settings(pg, format), database).await
}

fn stream(bytes: Vec<u8>) -> Pin<Box<dyn AsyncRead + Send>> {
    Box::pin(std::io::Cursor::new(bytes))
}

/// A reader that fails the way the engine's verified reader does on a bad copy, once `ready`
/// has completed.
struct FailsWhen(Pin<Box<dyn Future<Output = ()> + Send>>);

impl AsyncRead for FailsWhen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll(cx).map(|()| {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "copy on local (k): sha256 of the artifact is 00, the manifest says ff",
            ))
        })
    }
}

/// `bytes`, then the read error.
fn failing_stream(bytes: Vec<u8>) -> Pin<Box<dyn AsyncRead + Send>> {
    Box::pin(std::io::Cursor::new(bytes).chain(FailsWhen(Box::pin(async {}))))
}

/// `bytes`, then the read error once `file` exists.
fn failing_stream_after(bytes: Vec<u8>, file: PathBuf) -> Pin<Box<dyn AsyncRead + Send>> {
    let ready = async move {
        while !file.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    Box::pin(std::io::Cursor::new(bytes).chain(FailsWhen(Box::pin(ready))))
}

fn sorted(mut tables: Vec<TableRows>) -> Vec<TableRows> {
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    tables
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops a database created by a restore when the test ends, whatever happened.
struct Scratch<'a> {
    pg: &'a PgServer,
    name: String,
}

impl<'a> Scratch<'a> {
    fn new(pg: &'a PgServer, prefix: &str) -> Self {
        Scratch {
            pg,
            name: unique(prefix),
        }
    }

    fn sql(&self, sql: &str) -> String {
        self.pg.sql(&self.name, sql)
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let _ = self.pg.try_sql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// What commonly breaks dumps: NULLs, 4-byte UTF-8, bytea, a value over 1 MiB, large objects,
/// sequences that moved, views, functions, triggers, foreign keys, a table named `order`, a
/// schema with a space.
const FIXTURE: &str = r#"
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE);
    INSERT INTO customers VALUES (1, 'Zoë 🦀', NULL), (2, '日本語 𝄞', 'b@example.com'), (3, E'tab\there\nline', NULL);
    CREATE TABLE "order" (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer int NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
        total numeric(12, 2) CHECK (total IS NULL OR total >= 0),
        note text);
    INSERT INTO "order" (customer, total, note) VALUES (1, 12.50, NULL), (2, 0.01, '🦀🦀'), (3, NULL, E'back\\slash "quoted"');
    CREATE TABLE blobs (id int PRIMARY KEY, data bytea, big text, lo oid);
    INSERT INTO blobs VALUES
        (1, '\x00ff10'::bytea, NULL, NULL),
        (2, NULL, repeat('x', 1100000) || '🦀', lo_from_bytea(0, '\xdeadbeef'::bytea)),
        (3, decode(repeat('ab01', 400000), 'hex'), '', lo_from_bytea(0, convert_to(repeat('large object ', 100000), 'UTF8')));
    CREATE SEQUENCE ticket_seq START 100;
    SELECT nextval('ticket_seq'), nextval('ticket_seq'), nextval('ticket_seq');
    CREATE SCHEMA "my schema";
    CREATE TABLE "my schema"."Line Items" (id serial PRIMARY KEY, order_id bigint REFERENCES "order" (id), qty int);
    INSERT INTO "my schema"."Line Items" (order_id, qty) SELECT 1 + g % 3, g FROM generate_series(1, 500) g;
    CREATE VIEW "my schema"."order totals" AS
        SELECT c.name, sum(o.total) AS total FROM customers c JOIN "order" o ON o.customer = c.id GROUP BY c.name;
    CREATE FUNCTION "my schema".add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
    CREATE TABLE audited (id int, updated timestamptz);
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$;
    CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION touch();
    INSERT INTO audited (id) VALUES (1), (2);
    CREATE TABLE empty_t (x int);
"#;

/// Catalog facts that must survive a restore, one line each.
const OBJECTS: &[&str] = &[
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_arguments(p.oid) || ')' AS v
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) s",
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT schemaname || '.' || viewname || '=' || definition AS v
         FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) s",
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT tgname || ' on ' || tgrelid::regclass::text AS v
         FROM pg_trigger WHERE NOT tgisinternal) s",
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT conrelid::regclass::text || ' ' || conname || ': ' || pg_get_constraintdef(oid) AS v
         FROM pg_constraint
        WHERE connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'my schema'))) s",
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'unset') AS v
         FROM pg_sequences) s",
    "SELECT string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid) FROM pg_largeobject_metadata",
    "SELECT string_agg(v, ',' ORDER BY v) FROM (
       SELECT indexrelid::regclass::text || ': ' || pg_get_indexdef(indexrelid) AS v FROM pg_index
        WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace IN
                             (SELECT oid FROM pg_namespace WHERE nspname IN ('public', 'my schema')))) s",
];

/// Every table's rows as one hash, in a stable order.
fn content(run: impl Fn(&str) -> String, tables: &[TableRows]) -> Vec<(String, String)> {
    tables
        .iter()
        .map(|t| {
            let sql = format!(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '-') FROM {} r",
                t.table
            );
            (t.table.clone(), run(&sql))
        })
        .collect()
}

async fn round_trip(format: PgFormat, jobs: u32) {
    let pg = PgServer::shared();
    let db = pg.create_database("rt_src");
    db.sql(FIXTURE);
    let (bytes, manifest) = dump(pg, &db.name, format).await;
    assert_eq!(manifest.tables.len(), 6, "{:?}", manifest.tables);
    assert!(
        manifest
            .tables
            .iter()
            .any(|t| t.table == "public.\"order\"")
    );
    assert!(
        manifest
            .tables
            .iter()
            .any(|t| t.table == "\"my schema\".\"Line Items\"" && t.rows == 500)
    );

    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path()).with_jobs(jobs);
    target.check_compatible(&manifest).await.unwrap();
    let restored = Scratch::new(pg, "rt_dst");
    assert!(!target.database_exists(&restored.name).await.unwrap());
    let report = target
        .restore(&restored.name, &manifest, stream(bytes))
        .await
        .unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(target.database_exists(&restored.name).await.unwrap());

    // Counts as the source names them, exactly the manifest's.
    let counts = target.count_rows(&restored.name).await.unwrap();
    assert_eq!(sorted(counts), sorted(manifest.tables.clone()));
    // Every table's content, and every object.
    assert_eq!(
        content(|sql| restored.sql(sql), &manifest.tables),
        content(|sql| db.sql(sql), &manifest.tables)
    );
    for sql in OBJECTS {
        let (want, got) = (db.sql(sql), restored.sql(sql));
        assert!(!want.is_empty(), "{sql}");
        assert_eq!(got, want, "{sql}");
    }
    // The values most often mangled, spelled out.
    let q = |sql: &str| {
        let target = &target;
        let name = restored.name.clone();
        let sql = sql.to_string();
        async move { target.query_scalar(&name, &sql).await.unwrap() }
    };
    assert_eq!(q("SELECT last_value FROM ticket_seq").await, "102");
    assert_eq!(q("SELECT nextval('ticket_seq')").await, "103");
    assert_eq!(q("SELECT email FROM customers WHERE id = 1").await, "NULL");
    assert_eq!(
        q("SELECT name FROM customers WHERE id = 2").await,
        "日本語 𝄞"
    );
    assert_eq!(q("SELECT data FROM blobs WHERE id = 1").await, "\\x00ff10");
    assert_eq!(
        q("SELECT length(big) FROM blobs WHERE id = 2").await,
        "1100001"
    );
    assert_eq!(
        q("SELECT encode(lo_get(lo), 'hex') FROM blobs WHERE id = 2").await,
        "deadbeef"
    );
    assert_eq!(q("SELECT \"my schema\".add(2, 3)").await, "5");
    assert_eq!(
        q("INSERT INTO \"order\" (customer) VALUES (1) RETURNING id").await,
        "4",
        "the identity continues after the restored rows"
    );
    restored.sql("INSERT INTO audited (id) VALUES (3)");
    assert_eq!(
        q("SELECT updated IS NOT NULL FROM audited WHERE id = 3").await,
        "t",
        "the trigger fires"
    );
    let fk = restored.pg.try_sql(
        &restored.name,
        "INSERT INTO \"order\" (customer) VALUES (99)",
    );
    assert!(
        fk.unwrap_err().contains("foreign key"),
        "the foreign key holds"
    );
    assert!(
        std::fs::read_dir(spool.path()).unwrap().next().is_none(),
        "nothing spooled by a restore"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_dumps_round_trip_with_content_and_objects() {
    round_trip(PgFormat::Custom, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_dumps_restore_in_parallel_from_a_spooled_copy() {
    round_trip(PgFormat::Custom, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_dumps_round_trip_with_content_and_objects() {
    // Plain dumps restore from the stream whatever the jobs.
    round_trip(PgFormat::Plain, 3).await;
}

/// A restore of `dump` into a new database fails; the caller can drop what it left.
async fn restore_must_fail(
    pg: &PgServer,
    manifest: &Manifest,
    dump: Pin<Box<dyn AsyncRead + Send>>,
) -> String {
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path());
    let scratch = Scratch::new(pg, "bad_dst");
    let err = target
        .restore(&scratch.name, manifest, dump)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Dump(_)), "{err:?}");
    assert!(!text.contains('\n'), "one line: {text}");
    target.drop_database(&scratch.name).await.unwrap();
    assert!(!target.database_exists(&scratch.name).await.unwrap());
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_error_or_truncation_fails_the_restore_in_both_formats() {
    let pg = PgServer::shared();
    let db = pg.create_database("bad_src");
    db.sql(FIXTURE);
    for format in [PgFormat::Custom, PgFormat::Plain] {
        let (bytes, manifest) = dump(pg, &db.name, format).await;
        let tool = match format {
            PgFormat::Custom => "pg_restore",
            PgFormat::Plain => "psql",
        };
        // Every byte arrives, then the reader reports a checksum mismatch.
        let text = restore_must_fail(pg, &manifest, failing_stream(bytes.clone())).await;
        assert!(text.contains("sha256 of the artifact"), "{text}");
        assert!(
            text.contains(&format!("{tool} was stopped before the end of its input")),
            "{text}"
        );
        // The last KiB lost, then the error.
        let cut = bytes[..bytes.len() - 1024].to_vec();
        let text = restore_must_fail(pg, &manifest, failing_stream(cut.clone())).await;
        assert!(text.contains("reading the dump failed"), "{text}");
        // The last KiB lost without an error: the completion marker is missing.
        let text = restore_must_fail(pg, &manifest, stream(cut)).await;
        assert!(text.contains("truncated"), "{format:?}: {text}");
        assert!(text.contains(tool), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_stream_fails_a_parallel_restore_before_pg_restore_and_leaves_no_spool() {
    let pg = PgServer::shared();
    let db = pg.create_database("bad_par");
    db.sql(FIXTURE);
    let (bytes, manifest) = dump(pg, &db.name, PgFormat::Custom).await;
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path()).with_jobs(2);
    assert_eq!(target.jobs(), 2);
    let cut = bytes[..bytes.len() - 1024].to_vec();
    let cases: Vec<(Pin<Box<dyn AsyncRead + Send>>, &str)> = vec![
        // Every byte, then a checksum mismatch.
        (failing_stream(bytes.clone()), "sha256 of the artifact"),
        // Part of it, then the error.
        (failing_stream(cut.clone()), "reading the dump failed"),
        // Part of it without an error: the completion marker is missing.
        (stream(cut), "truncated"),
    ];
    for (dump, want) in cases {
        let scratch = Scratch::new(pg, "bad_par_dst");
        let err = target
            .restore(&scratch.name, &manifest, dump)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Dump(_)), "{err:?}");
        assert!(text.contains(want), "{want:?} not in {text}");
        assert!(!text.contains('\n'), "one line: {text}");
        // Refused before pg_restore ran; the database it created is gone again.
        assert!(
            !target.database_exists(&scratch.name).await.unwrap(),
            "{text}"
        );
        let left: Vec<_> = std::fs::read_dir(spool.path()).unwrap().collect();
        assert!(left.is_empty(), "spool files left: {left:?}");
    }
    // The spool file exists while the dump is read, is private, and goes away on failure.
    let file_seen = spool.path().join("seen");
    let watcher = {
        let dir = spool.path().to_path_buf();
        let seen = file_seen.clone();
        tokio::spawn(async move {
            for _ in 0..500 {
                let found = std::fs::read_dir(&dir).unwrap().flatten().find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".dbward-restore-")
                });
                if let Some(entry) = found {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                    std::fs::write(&seen, format!("{mode:o}")).unwrap();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let scratch = Scratch::new(pg, "bad_par_dst");
    let err = target
        .restore(
            &scratch.name,
            &manifest,
            failing_stream_after(bytes, file_seen.clone()),
        )
        .await
        .unwrap_err();
    watcher.await.unwrap();
    assert!(err.to_string().contains("sha256"), "{err}");
    assert_eq!(std::fs::read_to_string(&file_seen).unwrap(), "600");
    std::fs::remove_file(&file_seen).unwrap();
    assert!(std::fs::read_dir(spool.path()).unwrap().next().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restore_tool_never_sees_a_clean_end_after_bad_data() {
    // A stand-in psql records what it receives and whether its input ended cleanly, and the
    // environment and arguments it was started with.
    let pg = PgServer::shared();
    let db = pg.create_database("eof_src");
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    let (bytes, manifest) = dump(pg, &db.name, PgFormat::Plain).await;
    let tools = tempfile::tempdir().unwrap();
    let out = tools.path().display().to_string();
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then echo 'psql (PostgreSQL) {}'; exit 0; fi\n\
         env > '{out}/env'; cp \"$PGPASSFILE\" '{out}/passfile'; echo \"$@\" > '{out}/argv.new'; mv '{out}/argv.new' '{out}/argv'\n\
         cat > '{out}/input' && touch '{out}/eof'\n",
        manifest.dump_tool_version
    );
    let psql = tools.path().join("psql");
    std::fs::write(&psql, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&psql, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut s = settings(pg, PgFormat::Plain);
    s.tool_dir = Some(tools.path().to_path_buf());
    let spool = tempfile::tempdir().unwrap();
    let target = PostgresTarget::new(s, spool.path().to_path_buf());

    let scratch = Scratch::new(pg, "eof_dst");
    let err = target
        .restore(
            &scratch.name,
            &manifest,
            // The error comes once the stand-in has recorded how it was started (`argv`
            // appears whole, by a rename: the error once killed the stand-in between the
            // file's creation and its content).
            failing_stream_after(bytes.clone(), tools.path().join("argv")),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("psql was stopped"), "{err}");
    let eof = tools.path().join("eof");
    assert!(!eof.exists(), "psql saw a clean end of input");
    let argv = std::fs::read_to_string(tools.path().join("argv")).unwrap();
    assert!(!argv.contains(&pg.password), "password in argv: {argv}");
    assert!(argv.contains("-X -q -v ON_ERROR_STOP=1"), "{argv}");
    assert!(
        argv.contains(&format!("--dbname={}", scratch.name)),
        "{argv}"
    );
    // The password comes in a private file, gone once the tool has exited, and the
    // environment holds none.
    let env = std::fs::read_to_string(tools.path().join("env")).unwrap();
    assert!(!env.contains("PGPASSWORD="), "{env}");
    assert!(env.lines().any(|l| l == "PGSSLMODE=prefer"), "{env}");
    let passfile = env
        .lines()
        .find_map(|l| l.strip_prefix("PGPASSFILE="))
        .expect("PGPASSFILE is set");
    assert!(
        !Path::new(passfile).exists(),
        "{passfile} outlives the tool"
    );
    assert_eq!(
        std::fs::read_to_string(tools.path().join("passfile")).unwrap(),
        format!("{}:{}:*:{}:{}\n", pg.host, pg.port, pg.user, pg.password)
    );
    target.drop_database(&scratch.name).await.unwrap();

    // The same dump read cleanly reaches the tool whole, with its end.
    let scratch = Scratch::new(pg, "eof_dst");
    target
        .restore(&scratch.name, &manifest, stream(bytes.clone()))
        .await
        .unwrap();
    assert!(eof.exists());
    assert_eq!(std::fs::read(tools.path().join("input")).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_one_line_naming_the_tool_and_the_servers_words() {
    // The dump gives a table to a role that the target lacks.
    let pg = PgServer::shared();
    let db = pg.create_database("role_src");
    let role = format!("{}_owner", db.name);
    db.sql(&format!(
        "CREATE ROLE {role}; CREATE TABLE t (x int); ALTER TABLE t OWNER TO {role}"
    ));
    let dumps = [
        dump(pg, &db.name, PgFormat::Custom).await,
        dump(pg, &db.name, PgFormat::Plain).await,
    ];
    db.sql(&format!("DROP TABLE t; DROP ROLE {role}"));
    for ((bytes, manifest), tool) in dumps.into_iter().zip(["pg_restore", "psql"]) {
        let text = restore_must_fail(pg, &manifest, stream(bytes)).await;
        assert!(text.starts_with(&format!("{tool} exited ")), "{text}");
        assert!(
            text.contains(&format!("ERROR:  role \"{role}\" does not exist")),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_swaps_in_the_staged_database() {
    let pg = PgServer::shared();
    let db = pg.create_database("repl_src");
    db.sql("CREATE TABLE fresh (x int); INSERT INTO fresh SELECT generate_series(1, 7)");
    let (bytes, manifest) = dump(pg, &db.name, PgFormat::Custom).await;
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path());

    let live = Scratch::new(pg, "repl_live");
    pg.sql("postgres", &format!("CREATE DATABASE {}", live.name));
    live.sql("CREATE TABLE stale (y int); INSERT INTO stale VALUES (1)");
    // A session on the live database does not block the swap.
    let mut session = sqlx::PgConnection::connect(&pg.url(&live.name))
        .await
        .unwrap();
    let staged = Scratch::new(pg, "repl_staged");
    target
        .restore(&staged.name, &manifest, stream(bytes))
        .await
        .unwrap();
    target.replace(&staged.name, &live.name).await.unwrap();
    assert!(!target.database_exists(&staged.name).await.unwrap());
    assert_eq!(
        target.count_rows(&live.name).await.unwrap(),
        [TableRows {
            table: "public.fresh".into(),
            rows: 7
        }]
    );
    assert!(sqlx::query("SELECT 1").execute(&mut session).await.is_err());

    // Replacing a database that does not exist just renames.
    let staged = Scratch::new(pg, "repl_staged");
    pg.sql("postgres", &format!("CREATE DATABASE {}", staged.name));
    let absent = Scratch::new(pg, "repl_absent");
    target.replace(&staged.name, &absent.name).await.unwrap();
    assert!(target.database_exists(&absent.name).await.unwrap());
    assert!(!target.database_exists(&staged.name).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_are_idempotent() {
    let pg = PgServer::shared();
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path());
    let scratch = Scratch::new(pg, "drop_twice");
    pg.sql("postgres", &format!("CREATE DATABASE \"{}\"", scratch.name));
    assert!(target.database_exists(&scratch.name).await.unwrap());
    target.drop_database(&scratch.name).await.unwrap();
    target.drop_database(&scratch.name).await.unwrap();
    assert!(!target.database_exists(&scratch.name).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_scalar_returns_text_and_null() {
    let pg = PgServer::shared();
    let db = pg.create_database("scalar");
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path());
    let cases = [
        ("SELECT 42", "42"),
        ("SELECT NULL::int", "NULL"),
        ("SELECT true", "t"),
        ("SELECT 1.50::numeric", "1.50"),
        ("SELECT '🦀'::text", "🦀"),
        (
            "SELECT x, 'second' FROM (VALUES (2), (1)) v(x) ORDER BY x",
            "1",
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(
            target.query_scalar(&db.name, sql).await.unwrap(),
            want,
            "{sql}"
        );
    }
    let err = target
        .query_scalar(&db.name, "SELECT 1 WHERE false")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no row"), "{err}");
    let err = target
        .query_scalar(&db.name, "SELECT * FROM nowhere")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("\"nowhere\" does not exist"),
        "{err}"
    );
    let err = target.count_rows("dbward_no_such_db").await.unwrap_err();
    assert!(matches!(err, Error::DatabaseMissing { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_passes_good_dumps_and_names_what_is_wrong() {
    let pg = PgServer::shared();
    let db = pg.create_database("insp");
    db.sql(FIXTURE);
    let spool_dir = tempfile::tempdir().unwrap();
    // The spool folder is created when needed.
    let spool = spool_dir.path().join("spool");
    let target = target(pg, &spool);
    let spool_is_empty = || {
        std::fs::read_dir(&spool)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    };

    for format in [PgFormat::Custom, PgFormat::Plain] {
        let (bytes, manifest) = dump(pg, &db.name, format).await;
        let notes = target
            .inspect(&manifest, stream(bytes.clone()))
            .await
            .unwrap();
        let joined = notes.join("; ");
        assert!(
            joined.contains("6 tables hold exactly the rows the manifest lists"),
            "{format:?}: {joined}"
        );
        assert!(spool_is_empty(), "{format:?}");

        // A damaged stream fails inspection too, and leaves nothing behind.
        let err = target
            .inspect(&manifest, failing_stream(bytes.clone()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("sha256 of the artifact"), "{err}");
        assert!(spool_is_empty(), "{format:?}");

        // A manifest that claims one more row than the dump holds.
        let mut more = manifest.clone();
        let line_items = more
            .tables
            .iter_mut()
            .find(|t| t.table == "\"my schema\".\"Line Items\"")
            .unwrap();
        line_items.rows += 1;
        let err = target
            .inspect(&more, stream(bytes.clone()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"my schema\".\"Line Items\" holds 500 rows in the dump, the manifest says 501",
            "{format:?}"
        );

        // A manifest naming a table the dump lacks.
        let mut lacking = manifest.clone();
        lacking.tables.push(TableRows {
            table: "public.\"ghost table\"".into(),
            rows: 0,
        });
        let err = target
            .inspect(&lacking, stream(bytes.clone()))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("public.\"ghost table\""),
            "{format:?}: {text}"
        );
        if format == PgFormat::Custom {
            assert!(text.contains("no TABLE DATA entry"), "{text}");
        }
        assert!(spool_is_empty(), "{format:?}");

        // A truncated dump.
        let cut = bytes[..bytes.len() - 1024].to_vec();
        let err = target.inspect(&manifest, stream(cut)).await.unwrap_err();
        assert!(err.to_string().contains("truncated"), "{format:?}: {err}");
        assert!(spool_is_empty(), "{format:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_dumps_are_refused_with_both_versions() {
    let pg = PgServer::shared();
    let db = pg.create_database("compat");
    let (_, manifest) = dump(pg, &db.name, PgFormat::Custom).await;
    let spool = tempfile::tempdir().unwrap();
    let target = target(pg, spool.path());
    target.check_compatible(&manifest).await.unwrap();

    let newer_server = Manifest {
        server_version: "99.1".into(),
        ..manifest.clone()
    };
    let text = target
        .check_compatible(&newer_server)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("PostgreSQL 99.1"), "{text}");
    assert!(
        text.contains(&format!("runs PostgreSQL {}", manifest.server_version)),
        "{text}"
    );
    assert!(text.contains("99 or newer"), "{text}");

    let newer_tool = Manifest {
        dump_tool_version: "99.0".into(),
        ..manifest.clone()
    };
    let err = target.check_compatible(&newer_tool).await.unwrap_err();
    assert!(matches!(err, Error::ToolTooOld { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("pg_dump 99.0") && text.contains("postgresql-client-99"),
        "{text}"
    );

    let mut s = settings(pg, PgFormat::Custom);
    let empty = tempfile::tempdir().unwrap();
    s.tool_dir = Some(empty.path().to_path_buf());
    let err = PostgresTarget::new(s, PathBuf::from("/nonexistent"))
        .check_compatible(&manifest)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ToolMissing { .. }), "{err:?}");
    assert!(err.to_string().starts_with("pg_restore not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_is_not_superuser_restores_without_owners_and_says_so() {
    let pg = PgServer::shared();
    let db = pg.create_database("nosu_src");
    db.sql(
        "CREATE TABLE t (x int, note text); INSERT INTO t VALUES (1, '🦀'), (2, NULL);
         GRANT SELECT ON t TO PUBLIC",
    );
    let (bytes, manifest) = dump(pg, &db.name, PgFormat::Custom).await;
    let role = format!("{}_r", db.name);
    db.sql(&format!(
        "CREATE ROLE {role} LOGIN CREATEDB PASSWORD 'not-a-superuser'"
    ));
    let mut s = settings(pg, PgFormat::Custom);
    s.user = role.clone();
    s.password = Some("not-a-superuser".to_string().into());
    let spool = tempfile::tempdir().unwrap();
    let target = PostgresTarget::new(s, spool.path().to_path_buf());
    let scratch = Scratch::new(pg, "nosu_dst");
    let restored = target
        .restore(&scratch.name, &manifest, stream(bytes))
        .await;
    let counts = target.count_rows(&scratch.name).await;
    target.drop_database(&scratch.name).await.unwrap();
    db.sql(&format!("DROP ROLE {role}"));
    let report = restored.unwrap();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("--no-owner --no-privileges")
            && report.warnings[0].contains(&role),
        "{:?}",
        report.warnings
    );
    assert_eq!(counts.unwrap(), manifest.tables);
}

/// Every kind the PostgreSQL inventory counts, once or more.
const INVENTORY_FIXTURE: &str = "
    CREATE SCHEMA shop;
    CREATE TYPE shop.mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN shop.positive AS int CHECK (VALUE > 0);
    CREATE TYPE shop.pair AS (a int, b int);
    CREATE TABLE shop.items(id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, qty shop.positive, m shop.mood);
    CREATE INDEX items_qty ON shop.items(qty);
    INSERT INTO shop.items(qty, m) VALUES (1, 'sad'), (2, 'happy');
    CREATE VIEW shop.happy AS SELECT * FROM shop.items WHERE m = 'happy';
    CREATE MATERIALIZED VIEW shop.totals AS SELECT sum(qty) AS total FROM shop.items;
    CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE PROCEDURE shop.noop() LANGUAGE sql AS $$ SELECT 1 $$;
    CREATE TRIGGER items_touch BEFORE UPDATE ON shop.items FOR EACH ROW EXECUTE FUNCTION shop.touch();
    CREATE RULE items_no_delete AS ON DELETE TO shop.items DO INSTEAD NOTHING;
    ALTER TABLE shop.items ENABLE ROW LEVEL SECURITY;
    CREATE POLICY items_all ON shop.items USING (true);
    SELECT lo_from_bytea(0, '\\x00ff');
";

#[tokio::test]
async fn postgres_passes_the_source_and_target_conformance_suite() {
    use dbward_core::ObjectKind as K;
    let pg = PgServer::shared();
    let db = pg.create_database("pgconform");
    db.sql(INVENTORY_FIXTURE);
    let names = pg.create_database("pgconform_copy");
    let copy = names.name.clone();
    drop(names);
    let spool = tempfile::tempdir().unwrap();
    let source = dbward_source_postgres::PostgresSource::new(settings(pg, PgFormat::Custom));
    let target = target(pg, spool.path());
    dbward_core::conformance::run(&dbward_core::conformance::Fixture {
        source: &source,
        target: &target,
        database: &db.name,
        objects: &[
            // `public` and `shop`.
            (K::Schemas, 2),
            (K::Tables, 1),
            (K::Views, 1),
            (K::MaterializedViews, 1),
            // The identity column's.
            (K::Sequences, 1),
            (K::Indexes, 2),
            // The primary key and the domain's check.
            (K::Constraints, 2),
            (K::Routines, 2),
            (K::Triggers, 1),
            (K::Rules, 1),
            (K::Policies, 1),
            // The enum, the domain and the composite type.
            (K::Types, 3),
            (K::LargeObjects, 1),
        ],
        history: &[],
        copy: &copy,
        absent: &format!("{copy}_absent"),
    })
    .await;
}
