//! The SQLite source against real database files: snapshot contents and counts, a snapshot
//! taken while another connection writes, and the errors a user can hit.

use dbward_core::source::Source;
use dbward_source_sqlite::{SqliteSettings, SqliteSource, count_tables};
use rusqlite::Connection;
use tokio::io::AsyncReadExt;

fn source(dir: &std::path::Path, file: &str) -> SqliteSource {
    SqliteSource::new(SqliteSettings {
        name: "app".into(),
        path: dir.join(file),
        database: "app".into(),
        spool_dir: dir.join("spool"),
    })
}

fn seed(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, photo BLOB);
         CREATE TABLE \"order\"(id INTEGER PRIMARY KEY, note TEXT);
         CREATE TABLE empty(x);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 500)
           INSERT INTO users SELECT i, 'ユーザー😀' || i, randomblob(64) FROM n;
         INSERT INTO \"order\" VALUES (1, NULL), (2, 'x');",
    )
    .unwrap();
}

#[tokio::test]
async fn snapshot_streams_a_valid_database_with_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    seed(&dir.path().join("app.db"));
    let src = source(dir.path(), "app.db");
    assert_eq!(src.list_databases().await.unwrap(), ["app"]);

    let mut dump = src.dump("app").await.unwrap();
    let mut bytes = Vec::new();
    dump.output.read_to_end(&mut bytes).await.unwrap();
    let report = dump.completion.finish().await.unwrap();
    let counts: Vec<(String, u64)> = report
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.rows))
        .collect();
    assert_eq!(
        counts,
        [
            ("empty".to_string(), 0),
            ("order".to_string(), 2),
            ("users".to_string(), 500)
        ]
    );
    assert!(bytes.starts_with(b"SQLite format 3\0"));

    let restored = dir.path().join("restored.db");
    std::fs::write(&restored, &bytes).unwrap();
    let conn = Connection::open(&restored).unwrap();
    assert_eq!(count_tables(&conn).unwrap(), report.tables);
    // The spool holds nothing once the dump is finished.
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn snapshot_is_consistent_while_another_connection_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    seed(&path);
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let conn = Connection::open(writer_path).unwrap();
        for i in 0..300 {
            conn.execute("INSERT INTO users(name) VALUES (?1)", [format!("late {i}")])
                .unwrap();
        }
    });
    let src = source(dir.path(), "app.db");
    let mut dump = src.dump("app").await.unwrap();
    let mut bytes = Vec::new();
    dump.output.read_to_end(&mut bytes).await.unwrap();
    let report = dump.completion.finish().await.unwrap();
    writer.join().unwrap();

    let restored = dir.path().join("restored.db");
    std::fs::write(&restored, &bytes).unwrap();
    let conn = Connection::open(&restored).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Whatever moment the snapshot caught, the manifest counts describe exactly it.
    assert_eq!(count_tables(&conn).unwrap(), report.tables);
}

#[tokio::test]
async fn missing_file_is_a_connect_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = source(dir.path(), "nope.db").dump("app").await.unwrap_err();
    assert!(err.to_string().contains("nope.db"), "{err}");
    assert!(err.to_string().contains("no such file"), "{err}");
    let lines = source(dir.path(), "nope.db").check().await;
    assert!(lines[0].outcome.is_err());
}

#[tokio::test]
async fn a_file_that_is_not_a_database_fails_the_dump() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.db"), vec![b'x'; 8192]).unwrap();
    let err = source(dir.path(), "junk.db").dump("app").await.unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[tokio::test]
async fn sqlite_passes_the_source_and_target_conformance_suite() {
    use dbward_core::ObjectKind as K;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    seed(&path);
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE log(id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
             CREATE INDEX users_name ON users(name);
             CREATE VIEW named AS SELECT name FROM users;
             CREATE TRIGGER users_log AFTER INSERT ON users BEGIN INSERT INTO log(what) VALUES (NEW.name); END;",
        )
        .unwrap();
    let source = source(dir.path(), "app.db");
    let target = dbward_source_sqlite::SqliteTarget::new("app", dir.path());
    dbward_core::conformance::run(&dbward_core::conformance::Fixture {
        source: &source,
        target: &target,
        database: "app",
        objects: &[
            (K::Tables, 4),
            (K::Views, 1),
            (K::Indexes, 1),
            (K::Triggers, 1),
        ],
        history: &[],
        copy: "app_copy",
        absent: "absent",
    })
    .await;
}
