//! A PostgreSQL server's server-wide objects (`globals = true`, failure mode F23): the backup
//! (`pg_dumpall --globals-only` — roles, memberships, role settings, tablespaces — followed by
//! a dbward section with each database's owner and `ALTER DATABASE … SET` settings, which
//! pg_dumpall leaves to per-database dumps), and `restore --globals`, which applies such a
//! script statement by statement so that what the target has already is kept and reported.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dbward_core::manifest::{DatabaseOwner, ServerGlobals};
use dbward_core::process::ToolProcess;
use dbward_core::restore::{
    GLOBALS_COMPLETE, GlobalsReport, MAX_GLOBALS_BYTES, read_globals_script,
};
use dbward_core::secret::SecretFile;
use dbward_core::source::{CheckLine, Dump, DumpCompletion, DumpInfo, DumpReport};
use dbward_core::stream::TapReader;
use dbward_core::{DatabaseSettings, Error, Manifest, Result};
use sqlx::PgConnection;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::conn::{self, Purpose, quote_ident, quote_literal};
use crate::judge::judge_exit;
use crate::script::{Statement, split_statements};
use crate::tool::{Need, find_tool};
use crate::{PgFormat, PostgresSettings, dump::DUMP_APPLICATION_NAME};

/// The format recorded in a globals manifest.
pub const GLOBALS_FORMAT: &str = "globals";
/// The line that starts dbward's section of database owners and settings.
pub const DATABASES_SECTION: &str = "-- dbward: database owners and settings";
/// What pg_dumpall writes last when it finished.
const PG_DUMPALL_COMPLETE: &str = "PostgreSQL database cluster dump complete";

/// pg_dumpall's arguments; nothing secret.
fn dumpall_args(settings: &PostgresSettings, passwords: bool) -> Vec<String> {
    let mut args = vec!["--globals-only".to_string()];
    if !passwords {
        // Also lets a non-superuser back up the roles: pg_roles instead of pg_authid.
        args.push("--no-role-passwords".into());
    }
    // pg_dumpall reads `--dbname` as a connection string only; `--database` names the
    // database it connects to.
    let database = &settings.maintenance_database;
    args.extend(
        conn::tool_connection_args(settings, database)
            .into_iter()
            .map(|arg| match arg.starts_with("--dbname=") {
                true => format!("--database={database}"),
                false => arg,
            }),
    );
    args
}

/// Reads the roles and databases, then starts pg_dumpall; its output is followed by dbward's
/// section of database owners and settings.
pub async fn start(settings: &PostgresSettings, passwords: bool) -> Result<Dump> {
    let db = &settings.maintenance_database;
    let mut session = conn::connect(settings, db, Purpose::Maintenance).await?;
    let versions = conn::server_version(&mut session).await;
    let listed = read_server_objects(&mut session).await;
    let locale = cluster_locale(&mut session).await;
    conn::close(session).await;
    let (server_version, server_major) = versions?;
    let (globals, section) = listed?;
    let locale = locale?;
    let globals = ServerGlobals {
        passwords,
        ..globals
    };
    let need = Need {
        program: "pg_dumpall",
        ..Need::pg_dump(server_major, &server_version)
    };
    let tool = find_tool(settings.tool_dir.as_deref(), &need).await?;
    let args = dumpall_args(settings, passwords);
    let (mut command, passfile) = conn::tool_command(settings, &tool.path, DUMP_APPLICATION_NAME)?;
    command.args(&args);
    tracing::debug!(tool = %tool.path.display(), ?args, "starting pg_dumpall");
    let (process, stdout) = ToolProcess::spawn("pg_dumpall", command)?;
    // The whole (small) output is kept: the manifest's roles are the ones it creates.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = Arc::clone(&seen);
    let tool_output = TapReader::new(stdout, move |chunk: &[u8]| {
        if let Ok(mut seen) = tap.lock()
            && (seen.len() as u64) <= MAX_GLOBALS_BYTES
        {
            seen.extend_from_slice(chunk);
        }
    });
    let output = tool_output.chain(std::io::Cursor::new(section.into_bytes()));
    Ok(Dump {
        info: DumpInfo {
            server_version,
            tool: "pg_dumpall".into(),
            tool_version: tool.version,
            format: GLOBALS_FORMAT.into(),
            extension: "sql",
            options: args,
            database_settings: Some(locale),
        },
        output: Box::pin(output),
        completion: Box::new(GlobalsCompletion {
            process,
            _passfile: passfile,
            seen,
            globals,
        }),
    })
}

/// `check`'s `globals` line: pg_dumpall is there and the user may read what it must.
pub async fn check_line(
    settings: &PostgresSettings,
    server: &Result<(String, crate::PgMajor)>,
    superuser: Result<bool>,
    passwords: bool,
) -> CheckLine {
    const ITEM: &str = "globals";
    let Ok((version, major)) = server else {
        return CheckLine::failed(ITEM, "not checked: the server version is unknown");
    };
    let need = Need {
        program: "pg_dumpall",
        ..Need::pg_dump(*major, version)
    };
    let tool = match find_tool(settings.tool_dir.as_deref(), &need).await {
        Ok(tool) => tool,
        Err(e) => return CheckLine::failed(ITEM, e.to_string()),
    };
    let what = if passwords {
        "roles with password hashes"
    } else {
        "roles without password hashes"
    };
    match superuser {
        Ok(false) if passwords => CheckLine::failed(
            ITEM,
            format!(
                "{} is not a superuser, and the password hashes (globals_passwords = true) are readable by superusers only: use a superuser, or set globals_passwords = false",
                settings.user
            ),
        ),
        Ok(_) => CheckLine::ok(
            ITEM,
            format!(
                "{what}, memberships, tablespaces and database owners with {} {}",
                tool.path.display(),
                tool.version
            ),
        ),
        Err(e) => CheckLine::failed(ITEM, format!("cannot read the role's attributes: {e}")),
    }
}

/// The server's default encoding and locale: `template1`'s, which initdb set and every new
/// database copies; a fresh-server drill initialises its server with them.
async fn cluster_locale(conn: &mut PgConnection) -> Result<DatabaseSettings> {
    let (encoding, collation, ctype): (String, String, String) = sqlx::query_as(
        "SELECT pg_catalog.pg_encoding_to_char(encoding)::text, datcollate::text, datctype::text
           FROM pg_catalog.pg_database WHERE datname = 'template1'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| conn::query_error("cannot read the server's default encoding and locale", e))?;
    Ok(DatabaseSettings {
        encoding,
        collation: Some(collation),
        ctype: Some(ctype),
        owner: None,
        roles: Vec::new(),
    })
}

/// The databases of the server with their owners, and dbward's section of the script.
async fn read_server_objects(conn: &mut PgConnection) -> Result<(ServerGlobals, String)> {
    let owners: Vec<(String, String)> = sqlx::query_as(
        "SELECT datname::text, pg_catalog.pg_get_userbyid(datdba)::text
           FROM pg_catalog.pg_database WHERE NOT datistemplate ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| conn::query_error("cannot list the databases' owners", e))?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT d.datname::text, c.setting
           FROM pg_catalog.pg_db_role_setting s
           JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
           CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY AS c(setting, n)
          WHERE s.setrole = 0 AND NOT d.datistemplate ORDER BY 1, c.n",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| conn::query_error("cannot read the databases' settings", e))?;
    let databases = owners
        .into_iter()
        .map(|(database, owner)| DatabaseOwner { database, owner })
        .collect::<Vec<_>>();
    let section = databases_section(&databases, &settings);
    Ok((
        ServerGlobals {
            // Read from the artifact itself when pg_dumpall has finished.
            roles: Vec::new(),
            passwords: false,
            databases,
        },
        section,
    ))
}

/// dbward's section: `ALTER DATABASE … OWNER TO …` and `… SET …` per database, then the
/// completion line.
fn databases_section(databases: &[DatabaseOwner], settings: &[(String, String)]) -> String {
    let mut out = format!("\n{DATABASES_SECTION}\n\n");
    for db in databases {
        out.push_str(&format!(
            "ALTER DATABASE {} OWNER TO {};\n",
            quote_ident(&db.database),
            quote_ident(&db.owner)
        ));
    }
    for (database, setting) in settings {
        let (name, value) = setting.split_once('=').unwrap_or((setting, ""));
        out.push_str(&format!(
            "ALTER DATABASE {} SET {} TO {};\n",
            quote_ident(database),
            quote_ident(name),
            setting_value(name, value)
        ));
    }
    out.push_str(&format!("\n{GLOBALS_COMPLETE}\n"));
    out
}

/// The settings whose value is a list of names (PostgreSQL's `GUC_LIST_QUOTE`): stored as
/// `a, "B c"`, they must be set again as one literal per element; one literal for the whole
/// would become a single name.
const LIST_SETTINGS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "local_preload_libraries",
    "session_preload_libraries",
    "shared_preload_libraries",
    "unix_socket_directories",
];

/// The `TO …` part for a stored setting: one literal, or one per element of a list setting.
fn setting_value(name: &str, value: &str) -> String {
    if !LIST_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
        return quote_literal(value);
    }
    split_names(value)
        .iter()
        .map(|element| quote_literal(element))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a stored list setting at the commas outside double quotes; each element loses its
/// surrounding blanks and its double quotes (`""` inside them is one `"`).
fn split_names(value: &str) -> Vec<String> {
    let mut elements = vec![String::new()];
    let mut quoted = false;
    let mut chars = value.trim().chars().peekable();
    while let Some(c) = chars.next() {
        let current = elements.last_mut().expect("one element at least");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => elements.push(String::new()),
            c if c.is_whitespace() && !quoted => {}
            c => current.push(c),
        }
    }
    elements
}

struct GlobalsCompletion {
    process: ToolProcess,
    _passfile: Option<SecretFile>,
    seen: Arc<Mutex<Vec<u8>>>,
    globals: ServerGlobals,
}

#[async_trait]
impl DumpCompletion for GlobalsCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let this = *self;
        let exit = this.process.wait().await?;
        let stderr: Vec<&str> = exit.stderr_lines().collect();
        let warnings = judge_exit(
            "pg_dumpall",
            &exit.describe(),
            exit.status.success(),
            &stderr.join("\n"),
        )
        .map_err(Error::Dump)?;
        let seen = std::mem::take(
            &mut *this
                .seen
                .lock()
                .map_err(|_| Error::Dump("the pg_dumpall inspector panicked".into()))?,
        );
        if seen.len() as u64 > MAX_GLOBALS_BYTES {
            return Err(Error::Dump(format!(
                "pg_dumpall wrote more than {MAX_GLOBALS_BYTES} bytes: not a globals script"
            )));
        }
        let text = String::from_utf8(seen)
            .map_err(|_| Error::Dump("pg_dumpall output is not UTF-8 text".into()))?;
        // Its closing comment; newer versions add only a `\unrestrict` line after it.
        let at_end = text
            .rfind(PG_DUMPALL_COMPLETE)
            .is_some_and(|at| text.len() - at < 256);
        if !at_end {
            return Err(Error::Dump(format!(
                "pg_dumpall output does not end with {PG_DUMPALL_COMPLETE:?} (truncated?)"
            )));
        }
        let globals = ServerGlobals {
            roles: created_roles(&text)?,
            ..this.globals
        };
        Ok(DumpReport {
            warnings,
            globals: Some(globals),
            ..DumpReport::default()
        })
    }

    async fn abort(self: Box<Self>) {
        self.process.kill().await;
    }
}

/// The roles a script creates, sorted: what structural verification compares with the
/// manifest's `globals.roles`.
pub fn created_roles(script: &str) -> Result<Vec<String>> {
    let mut roles = BTreeSet::new();
    for statement in split_statements(script).map_err(Error::Dump)? {
        if let Statement::CreateRole(name) = Statement::classify(&statement) {
            roles.insert(name);
        }
    }
    Ok(roles.into_iter().collect())
}

/// Applies a globals script on `conn`, one statement at a time: a role the target has is
/// kept (its password changes only with `overwrite_passwords`), a database it lacks is
/// skipped, and a statement the server refuses is reported while the rest goes on.
pub async fn apply(
    conn: &mut PgConnection,
    script: &str,
    overwrite_passwords: bool,
) -> Result<GlobalsReport> {
    let statements = split_statements(script).map_err(Error::Dump)?;
    let mut report = GlobalsReport::default();
    let mut existing: BTreeSet<String> = BTreeSet::new();
    for text in statements {
        match Statement::classify(&text) {
            Statement::Meta => {}
            Statement::CreateRole(role) => {
                if role_exists(conn, &role).await? {
                    existing.insert(role.clone());
                    report.kept.push(role);
                } else {
                    match run(conn, &text).await {
                        Ok(()) => report.created.push(role),
                        Err(e) => report.failed.push(format!("CREATE ROLE {role}: {e}")),
                    }
                }
            }
            Statement::AlterRole { role, password } if existing.contains(&role) => {
                if let (true, Some(password)) = (overwrite_passwords, password) {
                    let sql = format!(
                        "ALTER ROLE {} WITH PASSWORD {}",
                        quote_ident(&role),
                        quote_literal(&password)
                    );
                    match run(conn, &sql).await {
                        Ok(()) => report.passwords_set.push(role),
                        Err(e) => report
                            .failed
                            .push(format!("setting the password of role {role}: {e}")),
                    }
                }
            }
            Statement::AlterRole { role, .. } => {
                if let Err(e) = run(conn, &text).await {
                    report.failed.push(format!("ALTER ROLE {role}: {e}"));
                }
            }
            Statement::AlterDatabase(database) => {
                if !conn::database_exists(conn, &database).await? {
                    report.skipped.push(format!(
                        "database {database} is not on the target: its owner and settings apply when restore --globals runs again after it is restored"
                    ));
                    continue;
                }
                match run(conn, &text).await {
                    Ok(()) if !report.databases.contains(&database) => {
                        report.databases.push(database)
                    }
                    Ok(()) => {}
                    Err(e) => report.failed.push(format!("database {database}: {e}")),
                }
            }
            Statement::CreateTablespace(name) => {
                if tablespace_exists(conn, &name).await? {
                    report
                        .skipped
                        .push(format!("tablespace {name} exists: kept"));
                } else if let Err(e) = run(conn, &text).await {
                    report.failed.push(tablespace_failure(&name, &text, &e));
                }
            }
            Statement::Grant { member } if existing.contains(&member) => {
                report.skipped.push(format!(
                    "{}: role {member} exists on the target and is not changed",
                    Statement::head(&text)
                ));
            }
            Statement::Grant { .. } | Statement::Other => {
                if let Err(e) = run(conn, &text).await {
                    report
                        .failed
                        .push(format!("{}: {e}", Statement::head(&text)));
                }
            }
        }
    }
    Ok(report)
}

/// Why a tablespace could not be created, and what to do: a location that does not exist on
/// the target's machine (the usual case on another machine) is named with the fix.
fn tablespace_failure(name: &str, statement: &str, error: &str) -> String {
    match tablespace_location(statement) {
        Some(location) if error.contains("does not exist") => format!(
            "CREATE TABLESPACE {name}: its location {location} does not exist on the target server; create that directory there, owned by the server's system user and empty, then run restore --globals again (databases and tables that use {name} cannot be restored until it exists): {error}"
        ),
        _ => format!("CREATE TABLESPACE {name}: {error}"),
    }
}

/// The `LOCATION '…'` of a `CREATE TABLESPACE` statement as pg_dumpall writes it.
fn tablespace_location(statement: &str) -> Option<String> {
    let at = statement.to_ascii_uppercase().find(" LOCATION '")? + " LOCATION '".len();
    let mut location = String::new();
    let mut chars = statement[at..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return Some(location);
            }
        }
        location.push(c);
    }
    None
}

/// Runs one statement; the error is the server's message alone (never the statement, which
/// may hold a password hash).
async fn run(conn: &mut PgConnection, sql: &str) -> std::result::Result<(), String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|e| conn::describe(&e))
}

async fn role_exists(conn: &mut PgConnection, role: &str) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| conn::query_error(&format!("cannot look up role {role:?}"), e))
}

async fn tablespace_exists(conn: &mut PgConnection, name: &str) -> Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| conn::query_error(&format!("cannot look up tablespace {name:?}"), e))
}

/// The roles of `wanted` (a dump's `database_settings.roles`) that the server lacks, sorted;
/// none when the restore will not keep ownership: a non-superuser restores a custom archive
/// with `--no-owner`.
pub async fn missing_roles(
    conn: &mut PgConnection,
    manifest: &Manifest,
    wanted: &[String],
) -> Result<Vec<String>> {
    let keeps_owners =
        conn::is_superuser(conn).await? || manifest.dump_format == PgFormat::Plain.as_str();
    if !keeps_owners {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT r FROM unnest($1::text[]) AS r
          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) ORDER BY 1",
    )
    .bind(wanted)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| conn::query_error("cannot look up the backup's roles", e))
}

/// Structural verification of a globals artifact: complete, every statement parses, and it
/// creates exactly the roles the manifest lists.
pub async fn inspect(
    manifest: &Manifest,
    dump: Pin<Box<dyn AsyncRead + Send>>,
) -> Result<Vec<String>> {
    let script = read_globals_script(dump).await?;
    let found = crate::globals::created_roles(&script)?;
    let expected = manifest
        .globals
        .as_ref()
        .map(|g| g.roles.clone())
        .unwrap_or_default();
    if found != expected {
        let missing: Vec<_> = expected.iter().filter(|r| !found.contains(r)).collect();
        let extra: Vec<_> = found.iter().filter(|r| !expected.contains(r)).collect();
        return Err(Error::Dump(format!(
            "the globals artifact does not hold the manifest's roles: missing {missing:?}, unexpected {extra:?}"
        )));
    }
    Ok(vec![format!(
        "globals: {} roles, as the manifest lists",
        found.len()
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_are_set_again_one_literal_per_name() {
        assert_eq!(
            setting_value("search_path", r#"app, "My ""Schema""", public"#),
            r#"'app', 'My "Schema"', 'public'"#
        );
        assert_eq!(setting_value("search_path", r#""""#), "''");
        assert_eq!(
            setting_value("temp_tablespaces", "a,b"),
            "'a', 'b'",
            "without blanks too"
        );
        // Other settings, lists or not, are one literal the server parses again.
        assert_eq!(setting_value("DateStyle", "ISO, MDY"), "'ISO, MDY'");
        assert_eq!(setting_value("work_mem", "7MB"), "'7MB'");
    }

    #[test]
    fn a_missing_tablespace_location_is_named_with_the_fix() {
        let statement = "CREATE TABLESPACE ts OWNER a LOCATION '/srv/it''s';";
        assert_eq!(tablespace_location(statement).as_deref(), Some("/srv/it's"));
        let said = tablespace_failure("ts", statement, "directory \"/srv/it's\" does not exist");
        assert!(
            said.starts_with("CREATE TABLESPACE ts: its location /srv/it's does not exist on the target server; create that directory"),
            "{said}"
        );
        assert_eq!(
            tablespace_failure("ts", statement, "permission denied"),
            "CREATE TABLESPACE ts: permission denied"
        );
    }
}
