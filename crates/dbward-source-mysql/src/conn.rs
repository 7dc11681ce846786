//! How dbward reaches one MySQL/MariaDB server, shared by the source (dumps) and the target
//! (restores): the sqlx connection with its TLS, the arguments every client tool gets, the
//! 0600 option file that carries the password, and the tool command line built around them
//! (with the TLS options of the tool's flavour).

use std::ffi::OsString;
use std::path::Path;

use dbward_core::secret::{ExposeSecret, SecretFile};
use dbward_core::source::CheckLine;
use dbward_core::tls::TlsMode;
use dbward_core::{Error, Result};
use sqlx::ConnectOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};

use crate::tool::Flavor;
use crate::{MysqlSettings, option_file};

/// MySQL/MariaDB error numbers reacted to.
const ER_BAD_DB_ERROR: u16 = 1049;

impl MysqlSettings {
    /// `mysql://user@host:port`, for messages: never holds the password.
    pub fn target(&self) -> String {
        match &self.socket {
            Some(socket) => format!(
                "mysql://{}@localhost (socket {})",
                self.user,
                socket.display()
            ),
            None => format!("mysql://{}@{}:{}", self.user, self.host, self.port),
        }
    }

    fn connect_options(&self, database: Option<&str>) -> MySqlConnectOptions {
        // Built field by field: a URL with the password in it could end up in a log line.
        let mut options = MySqlConnectOptions::new().username(&self.user);
        options = match &self.socket {
            Some(socket) => options.socket(socket),
            None => options.host(&self.host).port(self.port),
        };
        if let Some(password) = &self.password {
            options = options.password(password.expose_secret());
        }
        if let Some(database) = database {
            options = options.database(database);
        }
        let tls = &self.tls;
        dbward_core::tls::install_crypto_provider();
        options = options.ssl_mode(match tls.mode {
            TlsMode::Disable => MySqlSslMode::Disabled,
            TlsMode::Prefer => MySqlSslMode::Preferred,
            TlsMode::Require => MySqlSslMode::Required,
            TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
            TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
        });
        if let Some(ca_file) = &tls.ca_file {
            options = options.ssl_ca(ca_file);
        }
        if let Some(client) = &tls.client {
            options = options
                .ssl_client_cert(&client.cert)
                .ssl_client_key(&client.key);
        }
        options
    }

    /// The host name TLS verifies and `check` judges: `localhost` for a socket.
    fn tls_host(&self) -> &str {
        match &self.socket {
            Some(_) => "localhost",
            None => &self.host,
        }
    }

    /// Why a connection failed, with what to do when TLS was the reason. A refused
    /// certificate arrives as an I/O error of kind `InvalidData` (rustls's error inside).
    fn connect_reason(&self, e: &sqlx::Error) -> String {
        match e {
            sqlx::Error::Tls(cause) => self.tls.failure(self.tls_host(), &cause.to_string()),
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                self.tls.failure(self.tls_host(), &io.to_string())
            }
            other => sqlx_reason(other),
        }
    }

    /// `check`'s TLS line: what the session negotiated and the configured mode.
    pub(crate) async fn tls_line(&self, conn: &mut MySqlConnection) -> CheckLine {
        let rows = sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')",
        )
        .fetch_all(&mut *conn)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                return CheckLine::failed(
                    "tls",
                    format!("cannot read Ssl_version: {}", sqlx_reason(&e)),
                );
            }
        };
        let value = |name: &str| {
            rows.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| lossy(v.clone()))
                .unwrap_or_default()
        };
        let version = value("Ssl_version");
        let negotiated = (!version.is_empty()).then(|| (version, value("Ssl_cipher")));
        self.tls.check_line(self.tls_host(), negotiated)
    }

    /// The TLS options of a client tool of `flavor`. MariaDB's tools have no mode that
    /// insists on TLS without verifying: under `require` they get `--ssl`, which falls back
    /// to plain, and dbward's own connection, made before any tool starts, refuses a server
    /// without TLS. Their `--ssl-verify-server-cert` also checks the host name, so under
    /// `verify-ca` they are stricter than dbward's own connection.
    pub(crate) fn tls_args(&self, flavor: Flavor) -> Vec<String> {
        let tls = &self.tls;
        let mut args: Vec<String> = match (flavor, tls.mode) {
            (Flavor::Mariadb, TlsMode::Disable) => vec!["--skip-ssl".into()],
            // Explicitly unverified: MariaDB 11.4's tools verify by default.
            (Flavor::Mariadb, TlsMode::Prefer | TlsMode::Require) => {
                vec!["--ssl".into(), "--skip-ssl-verify-server-cert".into()]
            }
            (Flavor::Mariadb, TlsMode::VerifyCa | TlsMode::VerifyFull) => {
                vec!["--ssl".into(), "--ssl-verify-server-cert".into()]
            }
            (Flavor::Mysql, mode) => vec![format!(
                "--ssl-mode={}",
                match mode {
                    TlsMode::Disable => "DISABLED",
                    TlsMode::Prefer => "PREFERRED",
                    TlsMode::Require => "REQUIRED",
                    TlsMode::VerifyCa => "VERIFY_CA",
                    TlsMode::VerifyFull => "VERIFY_IDENTITY",
                }
            )],
        };
        if let Some(ca_file) = &tls.ca_file {
            args.push(format!("--ssl-ca={}", ca_file.display()));
        }
        if let Some(client) = &tls.client {
            args.push(format!("--ssl-cert={}", client.cert.display()));
            args.push(format!("--ssl-key={}", client.key.display()));
        }
        args
    }

    /// Connects, to `database` when given; an unknown database is `DatabaseMissing`.
    pub(crate) async fn connect(&self, database: Option<&str>) -> Result<MySqlConnection> {
        let options = self.connect_options(database);
        let timeout = self.connect_timeout;
        match tokio::time::timeout(timeout, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => {
                if let (Some(database), sqlx::Error::Database(db)) = (database, &e)
                    && db
                        .try_downcast_ref::<MySqlDatabaseError>()
                        .is_some_and(|m| m.number() == ER_BAD_DB_ERROR)
                {
                    return Err(Error::DatabaseMissing {
                        source_name: self.name.clone(),
                        database: database.to_string(),
                    });
                }
                Err(Error::Connect {
                    target: self.target(),
                    reason: self.connect_reason(&e),
                })
            }
            Err(_) => Err(Error::Connect {
                target: self.target(),
                reason: format!("no answer within {timeout:?}"),
            }),
        }
    }

    /// How the client tools reach the server; nothing here is secret.
    pub(crate) fn connection_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        match &self.socket {
            Some(socket) => {
                args.push("--protocol=SOCKET".into());
                args.push(format!("--socket={}", socket.display()));
            }
            None => {
                // Without it the clients read `localhost` as "use the default socket" and
                // ignore the port.
                args.push("--protocol=TCP".into());
                args.push(format!("--host={}", self.host));
                args.push(format!("--port={}", self.port));
            }
        }
        args.push(format!("--user={}", self.user));
        args
    }

    /// The 0600 `[client]` file with the password, in `secret_dir`; `None` without a password.
    /// Keep it until the tool has exited: it reads the file again when it reconnects.
    pub(crate) fn option_file(&self) -> Result<Option<SecretFile>> {
        let Some(password) = &self.password else {
            return Ok(None);
        };
        let dir = &self.secret_dir;
        dbward_core::secret::create_private_dir(dir)?;
        let contents = option_file::client_section(password).map_err(Error::Dump)?;
        SecretFile::create(dir, "dbward-mysql", &contents).map(Some)
    }

    /// `program [--defaults-extra-file=F] args... TLS-args -- database` for a tool of
    /// `flavor`, with `MYSQL_PWD` removed from the environment (an inherited one would be
    /// visible in `/proc/<pid>/environ`).
    pub(crate) fn tool_command(
        &self,
        program: &Path,
        flavor: Flavor,
        secret: Option<&SecretFile>,
        args: &[String],
        database: &str,
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        if let Some(file) = secret {
            // The clients only honour this option in first position.
            let mut arg = OsString::from("--defaults-extra-file=");
            arg.push(file.path());
            command.arg(arg);
        }
        command.args(args);
        command.args(self.tls_args(flavor));
        // End of options: a database named `--help` must stay a name.
        command.arg("--").arg(database);
        command.env_remove("MYSQL_PWD");
        command
    }
}

/// A MySQL identifier in backquotes.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub(crate) fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The server's own words where there are some (`Access denied for user ...`).
pub(crate) fn sqlx_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn query_error(what: &str, e: &sqlx::Error) -> Error {
    Error::Query(format!("{what}: {}", sqlx_reason(e)))
}

/// `SELECT VERSION()`.
pub(crate) async fn server_version(conn: &mut MySqlConnection) -> Result<String> {
    let version: Vec<u8> = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(conn)
        .await
        .map_err(|e| query_error("cannot read the server version", &e))?;
    Ok(lossy(version))
}

/// Every table and view of `database` with its `TABLE_TYPE`.
pub(crate) async fn list_tables(
    conn: &mut MySqlConnection,
    database: &str,
) -> Result<Vec<(String, String)>> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("cannot list tables", &e))?;
    Ok(rows
        .into_iter()
        .map(|(name, kind)| (lossy(name), lossy(kind)))
        .collect())
}

/// Tables that hold rows of their own: system-versioned tables are base tables with history;
/// views and sequences are not.
pub(crate) fn base_tables(tables: &[(String, String)]) -> impl Iterator<Item = String> + '_ {
    tables
        .iter()
        .filter(|(_, kind)| kind == "BASE TABLE" || kind == "SYSTEM VERSIONED")
        .map(|(name, _)| name.clone())
}

/// The default character set and collation of `database`, when it exists and both are plain
/// names (they are written into SQL unquoted).
pub(crate) async fn schema_charset(
    conn: &mut MySqlConnection,
    database: &str,
) -> Result<Option<(String, String)>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME \
         FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind(database)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| query_error("cannot read the database's character set", &e))?;
    Ok(row
        .map(|(cs, co)| (lossy(cs), lossy(co)))
        .filter(|(cs, co)| is_plain_name(cs) && is_plain_name(co)))
}

/// A character set or collation name that may be written into SQL unquoted.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
