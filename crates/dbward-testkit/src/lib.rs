//! Test support: private PostgreSQL and MariaDB servers that require a password (the machine's
//! own servers trust loopback, so they cannot show an authentication failure), and uniquely
//! named databases that are dropped when the test ends.
//!
//! - [`PgServer::shared`] gives one PostgreSQL cluster per test process: the one
//!   `scripts/test.sh` started (env `DBWARD_TEST_PG_PORT`, `DBWARD_TEST_PG_PASSWORD`,
//!   `DBWARD_TEST_PG_BINDIR`), or else a private cluster started on first use. Auth is
//!   `scram-sha-256`, the superuser is `postgres`.
//! - [`MariaServer::shared`] does the same for MariaDB (env `DBWARD_TEST_MARIADB_PORT`,
//!   `DBWARD_TEST_MARIADB_PASSWORD`); the user is `root` with a password.
//! - `server.create_database("prefix")` returns a [`TestDb`] with a unique name, dropped on
//!   `Drop`; `server.sql(db, "...")` runs SQL through the CLI client (`psql`, `mariadb`).
//!
//! A private server never outlives the process that asked for it: a small watchdog shell
//! process stops it and removes its directory once that process is gone.
//!
//! ```no_run
//! use dbward_testkit::PgServer;
//!
//! let pg = PgServer::shared();
//! let db = pg.create_database("backup");
//! db.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
//! assert_eq!(pg.sql(&db.name, "SELECT count(*) FROM t"), "1");
//! assert!(pg.with_password("wrong").try_sql(&db.name, "SELECT 1").is_err());
//! ```

pub mod fidelity;
mod mariadb;
mod postgres;
mod server;
mod tls;
mod util;

pub use mariadb::MariaServer;
pub use postgres::PgServer;
pub use tls::TestCa;
pub use util::{free_port, stop_private_server};

use std::sync::atomic::{AtomicU64, Ordering};

/// A database created for one test, dropped (connections and all) when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The database's unique name: `<prefix>_<pid>_<counter>_<random>`, only `[a-z0-9_]`.
    pub name: String,
    server: Server,
}

#[derive(Debug)]
enum Server {
    Pg(PgServer),
    Maria(MariaServer),
}

impl TestDb {
    /// Runs SQL in this database; returns trimmed stdout and panics (with stderr) on failure.
    pub fn sql(&self, sql: &str) -> String {
        match &self.server {
            Server::Pg(s) => s.sql(&self.name, sql),
            Server::Maria(s) => s.sql(&self.name, sql),
        }
    }

    /// Runs SQL in this database; `Err` carries the client's exit status and stderr.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        match &self.server {
            Server::Pg(s) => s.try_sql(&self.name, sql),
            Server::Maria(s) => s.try_sql(&self.name, sql),
        }
    }

    /// A connection URL for this database, with the server's password in it.
    pub fn url(&self) -> String {
        match &self.server {
            Server::Pg(s) => s.url(&self.name),
            Server::Maria(s) => s.url(&self.name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let result = match &self.server {
            Server::Pg(s) => s.drop_database(&self.name),
            Server::Maria(s) => s.drop_database(&self.name),
        };
        if let Err(e) = result {
            eprintln!(
                "dbward-testkit: could not drop test database {}: {e}",
                self.name
            );
        }
    }
}

/// A fresh database name: `<prefix>_<pid>_<counter>_<random>`, lowercase, at most 48 bytes.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(20)
        .collect();
    if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
        clean.insert_str(0, "t_");
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{clean}_{}_{n}_{}", std::process::id(), util::random_hex(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_safe_identifiers() {
        let a = unique_name("Backup-Job 1");
        let b = unique_name("Backup-Job 1");
        assert_ne!(a, b);
        assert!(a.starts_with("backup_job_1_"), "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert!(unique_name("").starts_with("t__"));
        assert!(unique_name("9x").starts_with("t_9x_"));
        assert!(unique_name(&"x".repeat(100)).len() <= 48);
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("port is free");
    }
}
