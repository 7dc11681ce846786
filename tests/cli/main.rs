//! Black-box tests of the `dbward` binary against real servers: private PostgreSQL and
//! MariaDB instances that require passwords (crates/dbward-testkit), real files, a real
//! tmpfs for a full disk. One test binary, so the servers start once.

mod alerts;
mod catalog_pg;
mod common;
mod config;
mod daemon;
mod daemon_incident;
mod daemon_web;
mod docs;
mod drill_loss;
mod encryption;
mod faults;
mod fidelity;
mod fidelity_warnings;
mod fleet;
mod fresh_server_mariadb;
mod fresh_server_pg;
mod generate;
mod globals;
mod integrity;
mod kill_anywhere;
mod leases;
mod mariadb;
mod mariadb_jobs;
mod pitr;
mod pitr_mariadb;
mod postgres;
mod prune;
mod reads;
mod remote;
mod restore;
mod restore_safety;
mod restore_servers;
mod robustness;
mod secrets;
mod sqlite;
mod status;
mod tls;
mod web;
