//! The test servers really demand their password, and test databases come and go.

use dbward_testkit::{MariaServer, PgServer};

#[test]
fn postgres_accepts_the_right_password() {
    let pg = PgServer::shared();
    assert_eq!(pg.sql("postgres", "SELECT current_user"), "postgres");
    assert_eq!(
        pg.sql("postgres", "SHOW password_encryption"),
        "scram-sha-256"
    );
}

#[test]
fn postgres_refuses_a_wrong_or_missing_password() {
    let pg = PgServer::shared();
    let err = pg
        .with_password("wrong")
        .try_sql("postgres", "SELECT 1")
        .unwrap_err();
    assert!(err.contains("password authentication failed"), "{err}");
    let err = pg
        .with_password("")
        .try_sql("postgres", "SELECT 1")
        .unwrap_err();
    assert!(err.contains("password"), "{err}");
}

#[test]
fn postgres_test_database_is_dropped_with_its_connections() {
    let pg = PgServer::shared();
    let db = pg.create_database("testkit");
    db.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
    assert_eq!(pg.sql(&db.name, "SELECT count(*) FROM t"), "2");
    assert!(db.url().ends_with(&format!("/{}", db.name)));
    assert!(db.try_sql("SELECT * FROM missing").is_err());
    let name = db.name.clone();
    drop(db);
    let left = pg.sql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    );
    assert_eq!(left, "0");
}

#[test]
fn postgres_private_cluster_stops_and_is_removed() {
    let pg = PgServer::start_private(std::process::id()).expect("start a private cluster");
    let dir = pg.private_dir().expect("private").to_path_buf();
    assert_eq!(pg.sql("postgres", "SELECT 1"), "1");
    pg.stop().expect("stop");
    assert!(!dir.exists());
    assert!(pg.try_sql("postgres", "SELECT 1").is_err());
}

#[test]
fn mariadb_accepts_the_right_password() {
    let maria = MariaServer::shared();
    assert_eq!(maria.sql("", "SELECT CURRENT_USER()"), "root@127.0.0.1");
    assert_eq!(maria.sql("mysql", "SELECT 1 + 1"), "2");
}

#[test]
fn mariadb_refuses_a_wrong_or_missing_password() {
    let maria = MariaServer::shared();
    let err = maria
        .with_password("wrong")
        .try_sql("", "SELECT 1")
        .unwrap_err();
    assert!(err.contains("Access denied"), "{err}");
    let err = maria.with_password("").try_sql("", "SELECT 1").unwrap_err();
    assert!(err.contains("Access denied"), "{err}");
}

#[test]
fn mariadb_test_database_is_dropped() {
    let maria = MariaServer::shared();
    let db = maria.create_database("testkit");
    db.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'ä')");
    assert_eq!(maria.sql(&db.name, "SELECT v FROM t"), "ä");
    assert!(db.url().ends_with(&format!("/{}", db.name)));
    assert!(db.try_sql("SELECT * FROM missing").is_err());
    let name = db.name.clone();
    drop(db);
    let left = maria.sql(
        "",
        &format!("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"),
    );
    assert_eq!(left, "0");
}

#[test]
fn mariadb_private_server_stops_and_is_removed() {
    let maria = MariaServer::start_private(std::process::id()).expect("start a private server");
    let dir = maria.private_dir().expect("private").to_path_buf();
    assert_eq!(maria.sql("", "SELECT 1"), "1");
    maria.stop().expect("stop");
    assert!(!dir.exists());
    assert!(maria.try_sql("", "SELECT 1").is_err());
}
