//! The life of a test server, the same for PostgreSQL and MariaDB: the one shared by a test
//! process, the login the environment names, a private server's watched directory, starting
//! on a free port, stopping, and the text forms (`Debug` without the password, the URL).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::{self, log_tail};

/// The address every test server listens on.
pub(crate) const LOOPBACK: &str = "127.0.0.1";

/// The server in `cell`, shared by every test in this process: the one the environment names
/// (`from_env`), else a private one started on first use. Panics, naming `engine`, if neither
/// is possible.
pub(crate) fn shared<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    engine: &str,
    from_env: fn() -> Option<Result<T, String>>,
    start_private: fn(u32) -> Result<T, String>,
) -> &'static T {
    let server =
        cell.get_or_init(|| from_env().unwrap_or_else(|| start_private(std::process::id())));
    match server {
        Ok(server) => server,
        Err(e) => panic!("dbward-testkit: no {engine} server for tests: {e}"),
    }
}

/// The port and password in `<prefix>_PORT` and `<prefix>_PASSWORD`: `None` when neither is
/// set, an error when only one is or the port is not a number.
pub(crate) fn env_login(prefix: &str) -> Option<Result<(u16, String), String>> {
    let port_var = format!("{prefix}_PORT");
    let password_var = format!("{prefix}_PASSWORD");
    match (
        std::env::var(&port_var).ok(),
        std::env::var(&password_var).ok(),
    ) {
        (None, None) => None,
        (Some(port), Some(password)) => Some(
            port.parse()
                .map(|port| (port, password))
                .map_err(|e| format!("{port_var}={port}: {e}")),
        ),
        _ => Some(Err(format!(
            "set both {port_var} and {password_var}, or neither"
        ))),
    }
}

/// A new temporary directory `<prefix>*` for a private server, kept until the watchdog removes
/// it: once process `owner_pid` has exited (or [`util::stop_private_server`] asks), the
/// watchdog runs the program and arguments `stop` gives for the directory, then removes it.
pub(crate) fn watched_dir(
    owner_pid: u32,
    prefix: &str,
    stop: impl FnOnce(&Path) -> Vec<OsString>,
) -> Result<PathBuf, String> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("create a temporary directory: {e}"))?
        .keep();
    // The watchdog comes first so that nothing after it can leave a directory behind.
    let stop = stop(&dir);
    let stop: Vec<&OsStr> = stop.iter().map(OsString::as_os_str).collect();
    util::spawn_watchdog(owner_pid, &dir, &stop)?;
    Ok(dir)
}

/// `started`, the outcome of starting the private server in `dir`; when it failed, the server
/// is stopped and `dir` removed first.
pub(crate) fn or_remove<T>(dir: &Path, started: Result<T, String>) -> Result<T, String> {
    if started.is_err() {
        let _ = util::stop_private_server(dir);
    }
    started
}

/// Runs `start` with a free port until it succeeds, three tries at most (another process may
/// take the port first); returns the port, or the last error with the tail of `log`.
pub(crate) fn on_a_free_port(
    log: &Path,
    mut start: impl FnMut(u16) -> Result<(), String>,
) -> Result<u16, String> {
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = util::free_port();
        match start(port) {
            Ok(()) => return Ok(port),
            Err(e) => last_error = format!("{e}\n{}", log_tail(log)),
        }
    }
    Err(last_error)
}

/// Stops the private server living in `dir` and removes the directory; nothing to do for a
/// server that came from the environment (`None`).
pub(crate) fn stop(dir: Option<&Path>) -> Result<(), String> {
    dir.map_or(Ok(()), util::stop_private_server)
}

/// The output of a client's SQL, or a panic naming the engine, database, error and SQL.
pub(crate) fn sql_or_panic(
    output: Result<String, String>,
    engine: &str,
    database: &str,
    sql: &str,
) -> String {
    output.unwrap_or_else(|e| panic!("SQL failed on {engine} database {database}: {e}\nSQL: {sql}"))
}

/// The login and address of a server, as the servers show them.
pub(crate) struct Login<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
}

impl Login<'_> {
    /// `scheme://user:password@host:port/database` (the password is hex, no escaping needed).
    pub(crate) fn url(&self, scheme: &str, database: &str) -> String {
        format!(
            "{scheme}://{}:{}@{}:{}/{database}",
            self.user, self.password, self.host, self.port
        )
    }

    /// A server's `Debug`: its login with the password redacted, the field `extra` and the
    /// private directory.
    pub(crate) fn debug(
        &self,
        f: &mut fmt::Formatter<'_>,
        name: &str,
        extra: (&str, &dyn fmt::Debug),
        dir: &Option<PathBuf>,
    ) -> fmt::Result {
        f.debug_struct(name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field(extra.0, extra.1)
            .field("dir", dir)
            .finish()
    }
}

/// The part of a server's public API that is the same for both engines: `Debug` (without the
/// password), `shared`, `private_dir`, `stop`, `with_password` and `url`. The type brings the
/// fields `host`, `port`, `user`, `password`, `dir` (and `extra`, shown by `Debug`) and the
/// functions `from_env` and `start_private`; `kind` is what a private one is called.
macro_rules! server_api {
    (
        $ty:ident,
        engine: $engine:literal,
        kind: $kind:literal,
        scheme: $scheme:literal,
        extra: $extra:ident,
        shared_doc: $shared_doc:literal $(,)?
    ) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let extra: (&str, &dyn std::fmt::Debug) = (stringify!($extra), &self.$extra);
                self.login().debug(f, stringify!($ty), extra, &self.dir)
            }
        }

        impl $ty {
            #[doc = $shared_doc]
            pub fn shared() -> &'static $ty {
                static SHARED: std::sync::OnceLock<Result<$ty, String>> =
                    std::sync::OnceLock::new();
                $crate::server::shared(&SHARED, $engine, Self::from_env, Self::start_private)
            }

            #[doc = concat!("The private ", $kind, "'s directory, when this value came from \
                [`Self::start_private`].")]
            pub fn private_dir(&self) -> Option<&std::path::Path> {
                self.dir.as_deref()
            }

            #[doc = concat!("Stops a private ", $kind, " now and removes its directory; does \
                nothing for a server that came from the environment.")]
            pub fn stop(&self) -> Result<(), String> {
                $crate::server::stop(self.dir.as_deref())
            }

            /// The same server with another password (to show that a wrong one is refused).
            pub fn with_password(&self, password: &str) -> $ty {
                $ty {
                    password: password.into(),
                    dir: None,
                    ..self.clone()
                }
            }

            #[doc = concat!("`", $scheme, "://user:password@host:port/database` (the password \
                is hex, no escaping needed).")]
            pub fn url(&self, database: &str) -> String {
                self.login().url($scheme, database)
            }

            fn login(&self) -> $crate::server::Login<'_> {
                $crate::server::Login {
                    host: &self.host,
                    port: self.port,
                    user: &self.user,
                    password: &self.password,
                }
            }
        }
    };
}
pub(crate) use server_api;
