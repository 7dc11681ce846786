//! Test support: private PostgreSQL and MariaDB servers that require a password (the machine's
//! own servers trust loopback, so they cannot show an authentication failure), and uniquely
//! named databases that are dropped when the test ends.
//!
//! API contract (implementation pending):
//!
//! - `PgServer::shared() -> &'static PgServer`: one private cluster per test process, or the
//!   one `scripts/test.sh` started (env `DBWARD_TEST_PG_PORT`, `DBWARD_TEST_PG_PASSWORD`,
//!   `DBWARD_TEST_PG_BINDIR`), auth `scram-sha-256`, superuser `postgres`.
//! - `MariaServer::shared() -> &'static MariaServer`: same for MariaDB (env
//!   `DBWARD_TEST_MARIADB_PORT`, `DBWARD_TEST_MARIADB_PASSWORD`), user `root` with a password.
//! - `server.create_database("prefix") -> TestDb`: a fresh database with a unique name,
//!   dropped on `Drop`; `server.sql(db, "...") -> String` runs SQL through the CLI client.
//! - fields: `host`, `port`, `user`, `password`, and for PostgreSQL `bin_dir`.
