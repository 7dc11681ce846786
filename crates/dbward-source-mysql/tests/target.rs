//! `MysqlTarget` against a real MariaDB (dbward-testkit's server): dumps made by
//! `MysqlSource` restore with every table's content and every routine, view, trigger and event;
//! a corrupt or truncated artifact fails the restore before the client sees a clean end of
//! input; `replace` swaps a staged copy in; `inspect` checks a dump against its manifest.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use dbward_core::restore::RestoreTarget;
use dbward_core::secret::SecretString;
use dbward_core::source::{Dump, DumpReport, Source};
use dbward_core::{Engine, Error, Manifest, TableRows};
use dbward_source_mysql::{MysqlSettings, MysqlSource, MysqlTarget};
use dbward_testkit::{MariaServer, TestDb};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

const LIMIT: Duration = Duration::from_secs(120);

fn server() -> &'static MariaServer {
    MariaServer::shared()
}

fn settings(secret_dir: &Path) -> MysqlSettings {
    let server = server();
    MysqlSettings {
        name: "maria-test".into(),
        engine: Engine::Mariadb,
        host: server.host.clone(),
        port: server.port,
        socket: None,
        user: server.user.clone(),
        password: Some(SecretString::from(server.password.clone())),
        tool_dir: None,
        exclude_tables: Vec::new(),
        secret_dir: secret_dir.to_path_buf(),
        connect_timeout: Duration::from_secs(10),
        tls: Default::default(),
    }
}

/// A database name for the target to create; dropped with this value.
struct Scratch(String);

impl Scratch {
    fn new(prefix: &str) -> Scratch {
        // The testkit makes unique names; its database is dropped at once to free the name.
        let db = server().create_database(prefix);
        let name = db.name.clone();
        drop(db);
        Scratch(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = server().try_sql("", &format!("DROP DATABASE IF EXISTS `{}`", self.0));
    }
}

/// Shows `data`, then fails with an I/O error instead of ending: what a decompressor or a
/// checksum check reports for a corrupt artifact.
struct FailingAtEnd {
    data: Vec<u8>,
    pos: usize,
}

impl AsyncRead for FailingAtEnd {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pos == self.data.len() {
            return Poll::Ready(Err(std::io::Error::other(
                "injected: artifact checksum mismatch",
            )));
        }
        let n = buf
            .remaining()
            .min(self.data.len() - self.pos)
            .min(64 * 1024);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

fn failing(data: &[u8]) -> Pin<Box<dyn AsyncRead + Send>> {
    Box::pin(FailingAtEnd {
        data: data.to_vec(),
        pos: 0,
    })
}

fn clean(data: &[u8]) -> Pin<Box<dyn AsyncRead + Send>> {
    Box::pin(std::io::Cursor::new(data.to_vec()))
}

/// Dumps `db` with `MysqlSource` and builds the manifest a backup would store.
async fn dump(db: &TestDb, secret_dir: &Path) -> (Vec<u8>, Manifest) {
    let source = MysqlSource::new(settings(secret_dir));
    let Dump {
        info,
        mut output,
        completion,
    } = source.dump(&db.name).await.expect("dump starts");
    let mut bytes = Vec::new();
    tokio::time::timeout(LIMIT, output.read_to_end(&mut bytes))
        .await
        .unwrap()
        .expect("read dump");
    let report: DumpReport = completion.finish().await.expect("the dump passes the gate");
    let manifest = Manifest {
        format_version: 1,
        id: "01TESTMYSQLTARGET".into(),
        source: "maria-test".into(),
        engine: Engine::Mariadb,
        database: db.name.clone(),
        artifact: "x.sql".into(),
        server_version: info.server_version,
        dump_tool: info.tool,
        dump_tool_version: info.tool_version,
        dump_format: info.format,
        host: "test".into(),
        started_at: "2026-01-01T02:00:00Z".parse().unwrap(),
        finished_at: "2026-01-01T02:01:00Z".parse().unwrap(),
        options: info.options,
        excluded_tables: report.excluded_tables,
        tables: report.tables,
        dump_bytes: bytes.len() as u64,
        stored_bytes: bytes.len() as u64,
        sha256: "00".repeat(32),
        compression: "none".into(),
        compression_level: None,
        encryption: None,
        encryption_recipients: vec![],
        replica_lag_seconds: None,
        warnings: report.warnings,
        database_settings: info.database_settings,
        excluded_with_data: report.excluded_with_data,
        chunk_size: None,
        chunks: None,
        fidelity: Vec::new(),
        inventory: None,
        base_backup: None,
        binlog_position: None,
        globals: None,
        signature: None,
    };
    (bytes, manifest)
}

/// Data that commonly breaks dumps and restores.
const FIXTURE: &str = r#"
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL,
  note TEXT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO customers (name, note) VALUES ('ann', NULL), ('björn', 'four-byte 😀 𝄞 ok'),
  ('it''s', 'back\\slash\nnew line\ttab'), ('nul', 'a\0b');
DELETE FROM customers WHERE name = 'nul';
CREATE TABLE `order` (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL,
  `select` INT NULL, placed DATETIME(6) NULL, amount DECIMAL(12,2),
  CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) AUTO_INCREMENT=1000;
INSERT INTO `order` (customer_id, `select`, placed, amount) VALUES
  (1, NULL, '2026-01-02 03:04:05.123456', 10.50), (2, 7, NULL, -0.01), (2, NULL, NULL, NULL);
CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB NULL, vb VARBINARY(16) NULL, big LONGTEXT NULL);
INSERT INTO blobs VALUES (1, 0x00FF272C295C0D0A1A, 0x5C00, NULL), (2, '', NULL, ''),
  (3, RANDOM_BYTES(1024), UNHEX('DEADBEEF0027'), NULL);
INSERT INTO blobs SELECT 4, REPEAT(0x00FE0D0A27, 300000), NULL, REPEAT('z😀', 400000);
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100));
CREATE TABLE empty_t (id INT PRIMARY KEY);
CREATE VIEW big_customers AS SELECT c.name, COUNT(o.id) AS orders FROM customers c
  JOIN `order` o ON o.customer_id = c.id GROUP BY c.name;
CREATE TRIGGER order_audit AFTER INSERT ON `order` FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));
DELIMITER //
CREATE PROCEDURE add_order(IN c INT) BEGIN INSERT INTO `order` (customer_id) VALUES (c); END //
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2 //
DELIMITER ;
CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE
  DO DELETE FROM audit WHERE id < 0;
CALL add_order(3);
"#;

fn one(db: &str, sql: &str) -> String {
    server().sql(db, sql)
}

fn checksum(db: &str, table: &str) -> String {
    let out = one("", &format!("CHECKSUM TABLE `{db}`.`{table}` EXTENDED"));
    out.split('\t').nth(1).expect("a checksum").to_string()
}

/// What a database holds besides table data, one line per object.
fn objects(db: &str) -> String {
    one(
        "",
        &format!(
            "SELECT CONCAT('routine ', ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}'
             UNION ALL SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{db}'
             UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME, ' ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{db}'
             UNION ALL SELECT CONCAT('event ', EVENT_NAME, ' ', STATUS) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{db}'
             UNION ALL SELECT CONCAT('fk ', CONSTRAINT_NAME, ' ', TABLE_NAME, '->', REFERENCED_TABLE_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{db}'
             UNION ALL SELECT CONCAT('auto_increment ', TABLE_NAME, ' ', AUTO_INCREMENT) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND AUTO_INCREMENT IS NOT NULL
             ORDER BY 1"
        ),
    )
}

/// Asserts `copy` holds what `original` holds: every base table's rows (checksums) and
/// every routine, view, trigger, event, foreign key and AUTO_INCREMENT value.
async fn assert_same(target: &MysqlTarget, original: &str, copy: &str, manifest: &Manifest) {
    let counts = target.count_rows(copy).await.expect("count rows");
    assert_eq!(counts, manifest.tables, "row counts of {copy}");
    for t in &counts {
        assert_eq!(
            checksum(original, &t.table),
            checksum(copy, &t.table),
            "content of {}",
            t.table
        );
    }
    let objects_there = objects(original);
    assert_eq!(objects_there, objects(copy));
    for want in [
        "routine PROCEDURE add_order",
        "routine FUNCTION twice",
        "view big_customers",
        "trigger order_audit order",
        "event nightly_cleanup DISABLED",
        "fk fk_customer order->customers",
        "auto_increment order 1004",
    ] {
        assert!(objects_there.contains(want), "{want} in {objects_there}");
    }
    // The view reads the copy's own tables, not the original's.
    let definition = one(
        "",
        &format!(
            "SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{copy}'"
        ),
    );
    assert!(!definition.contains(original), "{definition}");
}

#[tokio::test]
async fn round_trip_keeps_every_table_and_object() {
    let server = server();
    let db = server.create_database("mytgtrt");
    db.sql(FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    let (bytes, manifest) = dump(&db, dir.path()).await;
    let names: Vec<&str> = manifest.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(names, ["audit", "blobs", "customers", "empty_t", "order"]);
    assert!(bytes.len() > 2 * 1024 * 1024, "{} bytes", bytes.len());

    let target = MysqlTarget::new(settings(dir.path()));
    target
        .check_compatible(&manifest)
        .await
        .expect("same server");
    let copy = Scratch::new("mytgtcopy");
    assert!(!target.database_exists(&copy.0).await.unwrap());
    let report = tokio::time::timeout(LIMIT, target.restore(&copy.0, &manifest, clean(&bytes)))
        .await
        .unwrap()
        .expect("restore");
    eprintln!("restore warnings: {:?}", report.warnings);
    assert!(target.database_exists(&copy.0).await.unwrap());
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "option file left behind"
    );

    assert_same(&target, &db.name, &copy.0, &manifest).await;
    let q = |sql: &'static str| target.query_scalar(&copy.0, sql);
    assert_eq!(
        q("SELECT note FROM customers WHERE id = 2").await.unwrap(),
        "four-byte 😀 𝄞 ok"
    );
    assert_eq!(
        q("SELECT note FROM customers WHERE id = 1").await.unwrap(),
        "NULL"
    );
    assert_eq!(q("SELECT twice(21)").await.unwrap(), "42");
    assert_eq!(
        q("SELECT LENGTH(big) FROM blobs WHERE id = 4")
            .await
            .unwrap(),
        "2000000"
    );
    assert_eq!(
        q("SELECT HEX(b) FROM blobs WHERE id = 1").await.unwrap(),
        "00FF272C295C0D0A1A"
    );
    assert_eq!(
        q("SELECT orders FROM big_customers WHERE name = 'björn'")
            .await
            .unwrap(),
        "2"
    );
    let err = q("SELECT 1 FROM empty_t").await.unwrap_err();
    assert!(err.to_string().contains("returned no row"), "{err}");
    let err = q("SELECT no_such_column FROM empty_t").await.unwrap_err();
    assert!(err.to_string().contains("Unknown column"), "{err}");
    // The trigger works in the copy.
    one(&copy.0, "CALL add_order(1)");
    assert_eq!(q("SELECT MAX(id) FROM `order`").await.unwrap(), "1004");
    assert_eq!(
        q("SELECT what FROM audit ORDER BY id DESC LIMIT 1")
            .await
            .unwrap(),
        "order 1004"
    );

    // Restoring into a name that exists is refused by the server.
    let err = target
        .restore(&copy.0, &manifest, clean(&bytes))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");

    target.drop_database(&copy.0).await.unwrap();
    assert!(!target.database_exists(&copy.0).await.unwrap());
    target.drop_database(&copy.0).await.expect("absent is fine");
}

/// A dump that the client would complete at a clean end of input: its last statement has no
/// `;`, so the client runs it only when stdin closes. A row in `witness_db.witness` proves
/// a clean end of input.
fn with_witness(bytes: &[u8], witness_db: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let at = text.rfind("-- Dump completed").expect("trailer");
    format!(
        "{}INSERT INTO `{witness_db}`.witness VALUES (1)\n{}",
        &text[..at],
        &text[at..]
    )
    .into_bytes()
}

#[tokio::test]
async fn a_read_error_or_truncation_fails_the_restore_before_a_clean_end() {
    let server = server();
    let db = server.create_database("mytgtbad");
    db.sql("CREATE TABLE witness (x INT); CREATE TABLE t (x INT); INSERT INTO t VALUES (1),(2);");
    let dir = tempfile::tempdir().unwrap();
    let (bytes, manifest) = dump(&db, dir.path()).await;
    let bytes = with_witness(&bytes, &db.name);
    let target = MysqlTarget::new(settings(dir.path()));
    let witnessed = || db.sql("SELECT COUNT(*) FROM witness");

    // Control: at a clean end the client runs the unterminated statement.
    let control = Scratch::new("mytgtctl");
    target
        .restore(&control.0, &manifest, clean(&bytes))
        .await
        .expect("clean restore");
    assert_eq!(witnessed(), "1");
    db.sql("DELETE FROM witness");

    // Every byte, then a read error: fails, and the client never saw the end.
    let broken = Scratch::new("mytgterr");
    let err = tokio::time::timeout(LIMIT, target.restore(&broken.0, &manifest, failing(&bytes)))
        .await
        .unwrap()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Dump(_)), "{err:?}");
    assert!(
        text.contains("reading the dump failed")
            && text.contains("injected: artifact checksum mismatch")
            && text.contains("mariadb was stopped before the end of its input"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(witnessed(), "0", "the client saw a clean end of input");

    // The last KiB cut, then a read error.
    let cut = Scratch::new("mytgtcut");
    let err = target
        .restore(&cut.0, &manifest, failing(&bytes[..bytes.len() - 1024]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reading the dump failed"), "{err}");

    // The last KiB cut with a clean end (a reader that missed the truncation): the missing
    // trailer fails it, again before the client sees the end.
    let quiet = Scratch::new("mytgtquiet");
    let err = target
        .restore(&quiet.0, &manifest, clean(&bytes[..bytes.len() - 1024]))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("completion marker \"-- Dump completed\" missing"),
        "{err}"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[tokio::test]
async fn an_sql_error_is_reported_in_the_servers_words() {
    let dir = tempfile::tempdir().unwrap();
    let target = MysqlTarget::new(settings(dir.path()));
    let db = server().create_database("mytgtsql");
    db.sql("CREATE TABLE t (x INT);");
    let (bytes, manifest) = dump(&db, dir.path()).await;
    let text = String::from_utf8(bytes).unwrap();
    let bad = text.replacen("CREATE TABLE `t`", "CREATE TABLE `t` garbage", 1);
    let copy = Scratch::new("mytgtsqlcopy");
    let err = target
        .restore(&copy.0, &manifest, clean(bad.as_bytes()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("mariadb exited 1: ERROR 1064 (42000) at line "),
        "{err}"
    );
    assert!(
        err.contains("You have an error in your SQL syntax"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

#[tokio::test]
async fn replace_swaps_the_staged_copy_in() {
    let server = server();
    let db = server.create_database("mytgtrepl");
    db.sql(FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    let (bytes, manifest) = dump(&db, dir.path()).await;
    let target = MysqlTarget::new(settings(dir.path()));

    let live = server.create_database("mytgtlive");
    live.sql("CREATE TABLE other (x INT); INSERT INTO other VALUES (1); CREATE TABLE customers (id INT);");
    let staged = Scratch::new("mytgtstaged");
    target
        .restore(&staged.0, &manifest, clean(&bytes))
        .await
        .expect("staged restore");

    tokio::time::timeout(LIMIT, target.replace(&staged.0, &live.name))
        .await
        .unwrap()
        .expect("replace");
    assert!(
        !target.database_exists(&staged.0).await.unwrap(),
        "staged left behind"
    );
    let tables = one(
        "",
        &format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'other'",
            live.name
        ),
    );
    assert_eq!(tables, "0", "old content kept");
    assert_same(&target, &db.name, &live.name, &manifest).await;
    // The view works with the staged database gone.
    assert_eq!(
        target
            .query_scalar(&live.name, "SELECT SUM(orders) FROM big_customers")
            .await
            .unwrap(),
        "4"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());

    // An absent staged database changes nothing.
    let err = target
        .replace("dbward_no_such_staged_db", &live.name)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DatabaseMissing { .. }), "{err:?}");
    assert!(target.database_exists(&live.name).await.unwrap());
}

#[tokio::test]
async fn inspect_checks_the_stream_against_the_manifest() {
    let db = server().create_database("mytgtinsp");
    db.sql("CREATE TABLE a (x INT); INSERT INTO a VALUES (1),(2),(3); CREATE TABLE b (s TEXT); INSERT INTO b VALUES ('x;y'),(NULL); CREATE TABLE c (x INT);");
    let dir = tempfile::tempdir().unwrap();
    let (bytes, manifest) = dump(&db, dir.path()).await;
    // No server needed: the settings point nowhere.
    let target = MysqlTarget::new(MysqlSettings {
        host: "unused.invalid".into(),
        ..settings(dir.path())
    });

    let notes = target
        .inspect(&manifest, clean(&bytes))
        .await
        .expect("good dump");
    assert_eq!(
        notes,
        ["completion marker present; 3 tables, 5 rows as in the manifest"]
    );

    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = text.rfind("-- Dump completed").unwrap();
    let err = target
        .inspect(&manifest, clean(&bytes[..at]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("completion marker \"-- Dump completed\" missing"),
        "{err}"
    );

    let mut claims_more = manifest.clone();
    claims_more.tables[1].rows += 1;
    let err = target
        .inspect(&claims_more, clean(&bytes))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("table `b` holds 2 rows in the dump, the manifest says 3"),
        "{err}"
    );

    let mut claims_another = manifest.clone();
    claims_another.tables.push(TableRows {
        table: "d".into(),
        rows: 0,
    });
    let err = target
        .inspect(&claims_another, clean(&bytes))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("table `d` listed in the manifest (0 rows) is absent from the dump"),
        "{err}"
    );

    let err = target
        .inspect(&manifest, failing(&bytes))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("injected: artifact checksum mismatch"),
        "{err}"
    );
}

#[tokio::test]
async fn incompatible_dumps_are_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let target = MysqlTarget::new(settings(dir.path()));
    let db = server().create_database("mytgtcompat");
    let (_, manifest) = dump(&db, dir.path()).await;
    target.check_compatible(&manifest).await.expect("own dump");

    let from_mysql8 = Manifest {
        engine: Engine::Mysql,
        server_version: "8.0.36".into(),
        ..manifest.clone()
    };
    let err = target
        .check_compatible(&from_mysql8)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MySQL 8.0.36") && err.contains("MariaDB 1") && err.contains("utf8mb4_0900"),
        "{err}"
    );

    let from_future = Manifest {
        server_version: "99.1.0-MariaDB".into(),
        ..manifest.clone()
    };
    let err = target
        .check_compatible(&from_future)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MariaDB 99.1.0") && err.contains("restore into MariaDB 99.1 or newer"),
        "{err}"
    );

    let postgres = Manifest {
        engine: Engine::Postgres,
        dump_format: "custom".into(),
        ..manifest
    };
    let err = target
        .check_compatible(&postgres)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("postgres custom dump"), "{err}");
}

#[tokio::test]
async fn a_missing_client_is_tool_missing_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let db = server().create_database("mytgttool");
    let (bytes, manifest) = dump(&db, dir.path()).await;
    let target = MysqlTarget::new(MysqlSettings {
        tool_dir: Some(empty.path().to_path_buf()),
        ..settings(dir.path())
    });
    let copy = Scratch::new("mytgttoolcopy");
    let err = target
        .restore(&copy.0, &manifest, clean(&bytes))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ToolMissing { .. }), "{text}");
    assert!(text.starts_with("mariadb (or mysql) not found"), "{text}");
    assert!(text.contains("apt-get install mariadb-client"), "{text}");
    assert!(!target.database_exists(&copy.0).await.unwrap());
}

/// Every kind the MariaDB inventory counts, once or more, and a system-versioned table with
/// two history rows.
const INVENTORY_FIXTURE: &str = "
    CREATE TABLE t(id INT PRIMARY KEY, v INT, CONSTRAINT v_positive CHECK (v > 0), KEY by_v (v)) WITH SYSTEM VERSIONING;
    INSERT INTO t VALUES (1, 1), (2, 2);
    UPDATE t SET v = 3 WHERE id = 1;
    UPDATE t SET v = 4 WHERE id = 2;
    CREATE TABLE log(id INT);
    CREATE SEQUENCE ticket_seq;
    CREATE VIEW current_t AS SELECT * FROM t;
    CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW INSERT INTO log VALUES (NEW.id);
    CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN 2 * x;
    CREATE PROCEDURE noop() BEGIN END;
    CREATE EVENT tidy ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM log;
";

#[tokio::test]
async fn mariadb_passes_the_source_and_target_conformance_suite() {
    use dbward_core::ObjectKind as K;
    let db = server().create_database("myconform");
    db.sql(INVENTORY_FIXTURE);
    let copy = Scratch::new("myconform_copy");
    let absent = Scratch::new("myconform_absent");
    let dir = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(settings(dir.path()));
    let target = MysqlTarget::new(settings(dir.path()));
    dbward_core::conformance::run(&dbward_core::conformance::Fixture {
        source: &source,
        target: &target,
        database: &db.name,
        objects: &[
            (K::Tables, 2),
            (K::Views, 1),
            (K::Sequences, 1),
            (K::Indexes, 2),
            // The primary key and the check constraint.
            (K::Constraints, 2),
            (K::Routines, 2),
            (K::Triggers, 1),
            (K::Events, 1),
        ],
        history: &[("t", 2)],
        copy: &copy.0,
        absent: &absent.0,
    })
    .await;
}
