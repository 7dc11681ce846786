//! `MysqlSource` against a real MariaDB (dbward-testkit's private server with a root
//! password): discovery, exact row counts of real dumps, failures named by the server, and the
//! password kept out of argv, the environment and the disk.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dbward_core::Error;
use dbward_core::secret::SecretString;
use dbward_core::source::{Dump, DumpCompletion, DumpReport, Source};
use dbward_core::{Engine, Result};
use dbward_source_mysql::{MysqlSettings, MysqlSource};
use dbward_testkit::{MariaServer, TestDb};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{AssertSqlSafe, ConnectOptions};
use tokio::io::AsyncReadExt;

const LIMIT: Duration = Duration::from_secs(60);

fn server() -> &'static MariaServer {
    MariaServer::shared()
}

fn settings(server: &MariaServer, secret_dir: &Path) -> MysqlSettings {
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

async fn admin(server: &MariaServer, database: &str) -> MySqlConnection {
    MySqlConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(&server.user)
        .password(&server.password)
        .database(database)
        .connect()
        .await
        .expect("admin connection")
}

async fn exec(conn: &mut MySqlConnection, sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(conn)
        .await
        .expect("admin statement");
}

/// Reads a dump to its end (tests only: a real backup streams it) and judges it.
async fn run_dump(dump: Dump) -> (Vec<u8>, Result<DumpReport>) {
    let Dump {
        mut output,
        completion,
        ..
    } = dump;
    let mut bytes = Vec::new();
    output.read_to_end(&mut bytes).await.expect("read dump");
    (bytes, completion.finish().await)
}

fn count(server: &MariaServer, db: &str, table: &str) -> u64 {
    let sql = format!("SELECT COUNT(*) FROM `{}`", table.replace('`', "``"));
    server.sql(db, &sql).parse().expect("a count")
}

/// Asserts that each table of `report` has as many rows in database `db` as the report says.
#[track_caller]
fn assert_counts(report: &DumpReport, db: &str, what: &str) {
    for t in &report.tables {
        assert_eq!(t.rows, count(server(), db, &t.table), "{what} {}", t.table);
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("secret dir")
        .map(|e| e.expect("entry").path())
        .collect()
}

/// A login of its own, with a password full of characters option files and SQL treat
/// specially; dropped with the test.
struct TestUser {
    name: String,
    password: String,
}

impl TestUser {
    fn create(db: &TestDb, privileges: &str) -> TestUser {
        let name = format!("dbw_{}", &db.name[db.name.len().saturating_sub(12)..]);
        let password = " p'w\"d\\#x y;`=end ".to_string();
        let literal = password.replace('\\', "\\\\").replace('\'', "\\'");
        server().sql(
            "",
            &format!(
                "CREATE USER '{name}'@'%' IDENTIFIED BY '{literal}';\
                 GRANT {privileges} ON `{}`.* TO '{name}'@'%';",
                db.name
            ),
        );
        TestUser { name, password }
    }

    fn settings(&self, secret_dir: &Path) -> MysqlSettings {
        MysqlSettings {
            user: self.name.clone(),
            password: Some(SecretString::from(self.password.clone())),
            ..settings(server(), secret_dir)
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = server().try_sql("", &format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

/// The pid of the process whose argv mentions `needle` (the private secret dir).
fn find_process(needle: &Path) -> Option<(u32, Vec<u8>)> {
    let needle = needle.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            cmdline
                .windows(needle.len())
                .any(|w| w == needle)
                .then_some((pid, cmdline))
        })
}

async fn wait_for_process(needle: &Path) -> (u32, Vec<u8>) {
    tokio::time::timeout(LIMIT, async {
        loop {
            if let Some(found) = find_process(needle) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the dump tool started")
}

/// Waits until `user`'s connection is blocked on the table lock; returns its id.
async fn wait_for_blocked_connection(admin: &mut MySqlConnection, user: &str) -> u64 {
    tokio::time::timeout(LIMIT, async {
        loop {
            let id: Option<u64> = sqlx::query_scalar(
                "SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST \
                 WHERE USER = ? AND STATE LIKE '%lock%'",
            )
            .bind(user)
            .fetch_optional(&mut *admin)
            .await
            .expect("processlist");
            if let Some(id) = id {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the dump blocked on the lock")
}

#[tokio::test]
async fn discovery_lists_user_databases_only_sorted() {
    let server = server();
    let db = server.create_database("mysqldisc");
    let dir = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(settings(server, dir.path()));
    let names = source.list_databases().await.expect("list");
    assert!(names.contains(&db.name), "{names:?}");
    for system in ["information_schema", "performance_schema", "mysql", "sys"] {
        assert!(!names.iter().any(|n| n == system), "{system} listed");
    }
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
}

const FIXTURE: &str = r#"
CREATE TABLE empty_t (id INT PRIMARY KEY);
CREATE TABLE nulls (id INT PRIMARY KEY, a VARCHAR(20) NULL, b INT NULL);
INSERT INTO nulls VALUES (1,NULL,NULL),(2,'x',NULL),(3,NULL,3);
CREATE TABLE texts (id INT PRIMARY KEY, s TEXT) DEFAULT CHARSET=utf8mb4;
INSERT INTO texts VALUES (1,'it''s'),(2,'back\\slash'),(3,'),('),(4,'semi;colon'),
  (5,'new\nline'),(6,'four-byte 😀 𝄞'),(7,'-- not a comment'),(8,'/* nor this */'),
  (9,'`tick`'),(10,'"dq"'),(11,'\\'''),(12,'nul\0byte'),(13,'');
CREATE TABLE blobs (id INT PRIMARY KEY, b BLOB, vb VARBINARY(16));
INSERT INTO blobs VALUES (1,0x00FF272C295C,0x5C),(2,'',NULL),(3,UNHEX('DEADBEEF0027'),0x28);
CREATE TABLE `order` (id INT, `select` INT);
INSERT INTO `order` VALUES (1,2),(3,4);
CREATE TABLE `we``ird` (x INT);
INSERT INTO `we``ird` VALUES (7);
CREATE TABLE digits (d INT);
INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
CREATE TABLE big (id INT PRIMARY KEY, s VARCHAR(600));
INSERT INTO big SELECT a.d*1000 + b.d*100 + c.d*10 + e.d + 1,
  CONCAT(a.d, b.d, c.d, e.d, '),(\\'';', REPEAT('y', 400))
  FROM digits a, digits b, digits c, digits e;
CREATE TABLE skipped (x INT);
INSERT INTO skipped VALUES (1),(2);
CREATE VIEW v_big AS SELECT id FROM big;
CREATE TRIGGER tr BEFORE INSERT ON nulls FOR EACH ROW SET NEW.b = 0;
DELIMITER //
CREATE PROCEDURE p() BEGIN INSERT INTO nulls VALUES (99,'p',NULL),(100,'q',NULL); END //
DELIMITER ;
"#;

#[tokio::test]
async fn dump_counts_are_exact_and_the_dump_restores() {
    let server = server();
    let db = server.create_database("mysqldump");
    db.sql(FIXTURE);
    let dir = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(MysqlSettings {
        exclude_tables: vec!["skipped".into(), "not_there".into()],
        ..settings(server, dir.path())
    });

    let dump = source.dump(&db.name).await.expect("dump starts");
    assert_eq!(dump.info.format, "sql");
    assert_eq!(dump.info.extension, "sql");
    assert_eq!(dump.info.tool, "mariadb-dump");
    assert!(dump.info.server_version.contains("MariaDB"));
    assert!(
        dump.info
            .options
            .iter()
            .all(|o| !o.contains(&server.password)),
        "{:?}",
        dump.info.options
    );
    assert!(
        dump.info
            .options
            .contains(&format!("--ignore-table={}.skipped", db.name))
    );
    let started = std::time::Instant::now();
    let (bytes, report) = tokio::time::timeout(LIMIT, run_dump(dump)).await.unwrap();
    let report = report.expect("the dump passes the gate");
    eprintln!(
        "dump of {} bytes judged in {:?}",
        bytes.len(),
        started.elapsed()
    );

    let text = String::from_utf8(bytes).expect("utf8mb4 dump with hex blobs");
    let big_inserts = text.matches("INSERT INTO `big` VALUES").count();
    assert!(
        big_inserts > 1,
        "want several INSERTs for big, got {big_inserts}"
    );
    assert!(!text.contains("CREATE TABLE `skipped`"));

    let names: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(
        names,
        [
            "big", "blobs", "digits", "empty_t", "nulls", "order", "texts", "we`ird"
        ]
    );
    assert_counts(&report, &db.name, "rows of");
    assert_eq!(report.tables[0].rows, 10_000);
    assert_eq!(report.excluded_tables, ["skipped"]);
    assert_eq!(report.replica_lag_seconds, None);
    assert!(files_in(dir.path()).is_empty(), "option file left behind");

    // The dump names no database, so it restores under another name with the same counts.
    let copy = server.create_database("mysqlrestore");
    copy.sql(&text);
    assert_counts(&report, &copy.name, "restored");
}

#[tokio::test]
async fn wrong_password_is_refused_in_the_servers_words() {
    let server = server();
    let db = server.create_database("mysqlpw");
    let dir = tempfile::tempdir().unwrap();
    let wrong = "wrong-Pa55-zq7";
    let source = MysqlSource::new(settings(&server.with_password(wrong), dir.path()));

    let err = source.list_databases().await.unwrap_err();
    let text = err.to_string();
    match &err {
        Error::Connect { target, reason } => {
            assert_eq!(
                target,
                &format!("mysql://root@{}:{}", server.host, server.port)
            );
            assert!(reason.contains("Access denied for user 'root'"), "{reason}");
            assert!(reason.contains("(using password: YES)"), "{reason}");
        }
        other => panic!("want Connect, got {other:?}"),
    }
    assert!(
        !text.contains(wrong) && !format!("{err:?}").contains(wrong),
        "{text}"
    );

    let err = source.dump(&db.name).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(!err.to_string().contains(wrong));

    let lines = source.check().await;
    assert_eq!(lines[0].item, "connect");
    let reason = lines[0].outcome.as_ref().unwrap_err();
    assert!(
        reason.contains("Access denied") && !reason.contains(wrong),
        "{reason}"
    );
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn missing_database_is_database_missing() {
    let dir = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(settings(server(), dir.path()));
    let err = source.dump("dbward_no_such_database_x").await.unwrap_err();
    match err {
        Error::DatabaseMissing {
            source_name,
            database,
        } => {
            assert_eq!(source_name, "maria-test");
            assert_eq!(database, "dbward_no_such_database_x");
        }
        other => panic!("want DatabaseMissing, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_tool_dir_is_tool_missing() {
    let server = server();
    let db = server.create_database("mysqltool");
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(MysqlSettings {
        tool_dir: Some(empty.path().to_path_buf()),
        ..settings(server, dir.path())
    });
    let err = source.dump(&db.name).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::ToolMissing { .. }), "{text}");
    assert!(text.contains(&empty.path().display().to_string()), "{text}");
    assert!(
        text.contains("apt-get install mariadb-client or set tool_dir"),
        "{text}"
    );

    let lines = source.check().await;
    let tool = lines
        .iter()
        .find(|l| l.item == "dump tool")
        .expect("tool line");
    assert!(tool.outcome.is_err(), "{tool:?}");
}

#[tokio::test]
async fn check_reports_server_privileges_and_tool() {
    let server = server();
    let db = server.create_database("mysqlcheck");
    let dir = tempfile::tempdir().unwrap();
    let lines = MysqlSource::new(settings(server, dir.path())).check().await;
    let items: Vec<&str> = lines.iter().map(|l| l.item.as_str()).collect();
    assert_eq!(items, ["connect", "tls", "privileges", "dump tool"]);
    for line in &lines {
        assert!(line.outcome.is_ok(), "{line:?}");
    }
    // The shared server has no TLS; on loopback that is no warning.
    assert_eq!(lines[1].outcome, Ok("off (prefer)".to_string()));
    assert!(!lines[1].warning);
    let tool = lines[3].outcome.as_ref().unwrap();
    assert!(tool.contains("compatible with server"), "{tool}");

    let weak = TestUser::create(&db, "SELECT, SHOW VIEW");
    let lines = MysqlSource::new(weak.settings(dir.path())).check().await;
    let privileges = lines[2].outcome.as_ref().unwrap_err();
    assert!(
        privileges.contains("LOCK TABLES, TRIGGER, EVENT"),
        "{privileges}"
    );
}

const DUMP_PRIVILEGES: &str = "SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT";

/// A dump that will block: a database made by `sql` (which creates table `t`), a user of its
/// own with the privileges to dump it, a source for that user with a private secret dir, and
/// an admin connection that holds `t` write-locked. Fields drop in this order, the database
/// last.
struct LockedDump {
    locker: MySqlConnection,
    source: MysqlSource,
    dir: tempfile::TempDir,
    user: TestUser,
    db: TestDb,
}

impl LockedDump {
    async fn new(prefix: &str, sql: &str) -> LockedDump {
        let server = server();
        let db = server.create_database(prefix);
        db.sql(sql);
        // Its password also proves the option file's quoting: the login only works if every
        // quote, backslash, `#` and the outer spaces arrive intact.
        let user = TestUser::create(&db, DUMP_PRIVILEGES);
        let dir = tempfile::tempdir().unwrap();
        let source = MysqlSource::new(user.settings(dir.path()));
        let mut locker = admin(server, &db.name).await;
        exec(&mut locker, "LOCK TABLES t WRITE".into()).await;
        LockedDump {
            locker,
            source,
            dir,
            user,
            db,
        }
    }

    async fn dump(&self) -> Dump {
        self.source.dump(&self.db.name).await.expect("dump starts")
    }

    /// Starts the dump with its output read to the end in a task of its own; returns that
    /// task and the dump's completion.
    async fn dump_in_background(
        &self,
    ) -> (
        tokio::task::JoinHandle<std::io::Result<Vec<u8>>>,
        Box<dyn DumpCompletion>,
    ) {
        let Dump {
            mut output,
            completion,
            ..
        } = self.dump().await;
        let reader = tokio::spawn(async move {
            let mut bytes = Vec::new();
            output.read_to_end(&mut bytes).await.map(|_| bytes)
        });
        (reader, completion)
    }

    /// Waits until the dump's connection is blocked on the lock; returns a new admin
    /// connection and the id of the blocked one.
    async fn wait_blocked(&self) -> (MySqlConnection, u64) {
        let mut admin_conn = admin(server(), &self.db.name).await;
        let id = wait_for_blocked_connection(&mut admin_conn, &self.user.name).await;
        (admin_conn, id)
    }

    async fn unlock(&mut self) {
        exec(&mut self.locker, "UNLOCK TABLES".into()).await;
    }

    fn files(&self) -> Vec<PathBuf> {
        files_in(self.dir.path())
    }
}

/// SQL for the tables `a` (one row) and `t` (`t_rows`).
fn tables_a_and_t(t_rows: &str) -> String {
    format!(
        "CREATE TABLE a (x INT); INSERT INTO a VALUES (1); \
         CREATE TABLE t (x INT); INSERT INTO t VALUES {t_rows};"
    )
}

#[tokio::test]
async fn password_stays_out_of_argv_and_environment_and_file_is_removed() {
    let mut locked = LockedDump::new("mysqlsecret", &tables_a_and_t("(1),(2)")).await;
    let (reader, completion) = locked.dump_in_background().await;
    let (pid, cmdline) = wait_for_process(locked.dir.path()).await;
    let _admin = locked.wait_blocked().await;

    let needle = locked.user.password.trim().as_bytes().to_vec();
    let needle = needle.as_slice();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    assert!(
        args[1].starts_with(b"--defaults-extra-file="),
        "first argument"
    );
    assert!(
        !cmdline.windows(needle.len()).any(|w| w == needle),
        "password in argv"
    );
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    assert!(
        !environ.windows(needle.len()).any(|w| w == needle),
        "password in env"
    );
    assert!(
        !environ.windows(10).any(|w| w == b"MYSQL_PWD="),
        "MYSQL_PWD set"
    );
    let files = locked.files();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    locked.unlock().await;
    let bytes = tokio::time::timeout(LIMIT, reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let report = completion.finish().await.expect("dump passes");
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    let rows: Vec<(&str, u64)> = report
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(rows, [("a", 1), ("t", 2)]);
    assert!(locked.files().is_empty(), "option file left after finish");
}

#[tokio::test]
async fn abort_kills_the_tool_and_removes_the_option_file() {
    let mut locked = LockedDump::new(
        "mysqlabort",
        "CREATE TABLE t (x INT); INSERT INTO t VALUES (1);",
    )
    .await;
    let dump = locked.dump().await;
    let (pid, _) = wait_for_process(locked.dir.path()).await;
    let _admin = locked.wait_blocked().await;
    assert_eq!(locked.files().len(), 1);

    tokio::time::timeout(LIMIT, dump.completion.abort())
        .await
        .unwrap();
    assert!(locked.files().is_empty(), "option file left after abort");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "tool still running"
    );
    locked.unlock().await;

    // Dropping an unfinished dump cleans up too.
    drop(locked.dump().await);
    assert!(locked.files().is_empty(), "option file left after drop");
}

#[tokio::test]
async fn dump_killed_midway_fails_naming_the_tool() {
    let mut locked = LockedDump::new("mysqlkill", &tables_a_and_t("(1)")).await;
    let (reader, completion) = locked.dump_in_background().await;
    let (mut admin_conn, id) = locked.wait_blocked().await;
    exec(&mut admin_conn, format!("KILL {id}")).await;
    locked.unlock().await;

    tokio::time::timeout(LIMIT, reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let err = completion.finish().await.unwrap_err();
    let text = err.to_string();
    eprintln!("killed dump: {text}");
    assert!(matches!(err, Error::Dump(_)), "{err:?}");
    assert!(text.starts_with("mariadb-dump exited "), "{text}");
    assert!(text.contains("Lost connection"), "{text}");
    assert!(
        !text.contains("exited 2: mariadb-dump:"),
        "prefix kept: {text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert!(locked.files().is_empty());
}

#[tokio::test]
async fn socket_instead_of_tcp() {
    let server = server();
    let Some(socket) = server.socket.clone() else {
        eprintln!("skipped: the shared server has no unix socket");
        return;
    };
    let db = server.create_database("mysqlsock");
    db.sql("CREATE TABLE t (x INT); INSERT INTO t VALUES (1),(2),(3);");
    let dir = tempfile::tempdir().unwrap();
    let source = MysqlSource::new(MysqlSettings {
        socket: Some(socket.clone()),
        host: "unused.invalid".into(),
        ..settings(server, dir.path())
    });
    assert!(source.list_databases().await.unwrap().contains(&db.name));
    let dump = source.dump(&db.name).await.expect("dump starts");
    assert!(
        dump.info
            .options
            .contains(&format!("--socket={}", socket.display()))
    );
    let (_, report) = tokio::time::timeout(LIMIT, run_dump(dump)).await.unwrap();
    let report = report.expect("dump passes");
    assert_eq!(report.tables.len(), 1);
    assert_eq!(report.tables[0].rows, 3);
}
