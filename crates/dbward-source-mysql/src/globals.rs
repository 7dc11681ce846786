//! A MySQL/MariaDB server's server-wide objects (`globals = true`, F23): users (`SHOW CREATE
//! USER`, with or without the password hash), roles, their grants and default roles
//! (`SHOW GRANTS`), as a script of one statement per line; and `restore --globals`, which
//! applies such a script keeping (and reporting) the accounts the target has.

use async_trait::async_trait;
use dbward_core::manifest::{DatabaseOwner, ServerGlobals};
use dbward_core::restore::{GLOBALS_COMPLETE, GlobalsReport};
use dbward_core::source::{CheckLine, Dump, DumpCompletion, DumpInfo, DumpReport};
use dbward_core::{Error, Result};
use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Row};

use crate::MysqlSettings;
use crate::conn::{lossy, query_error, server_version, sqlx_reason};

/// The format recorded in a globals manifest (the same name as PostgreSQL's).
pub const GLOBALS_FORMAT: &str = "globals";

/// Accounts every server creates for itself: never backed up, never applied.
const SYSTEM_ACCOUNTS: [&str; 5] = [
    "mariadb.sys",
    "mysql.sys",
    "mysql.session",
    "mysql.infoschema",
    "PUBLIC",
];

/// One account: a user (`'name'@'host'`) or a MariaDB role (no host).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    user: String,
    host: String,
    role: bool,
}

impl Account {
    fn quoted(&self) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
        if self.role {
            q(&self.user)
        } else {
            format!("{}@{}", q(&self.user), q(&self.host))
        }
    }

    /// How the manifest and reports name it: `app@%`, or a role's name.
    fn label(&self) -> String {
        if self.role {
            self.user.clone()
        } else {
            format!("{}@{}", self.user, self.host)
        }
    }
}

/// `check`'s `globals` line: the accounts can be listed and read.
pub async fn check_line(conn: &mut MySqlConnection) -> CheckLine {
    const ITEM: &str = "globals";
    let listed = match accounts(conn).await {
        Ok(listed) => listed,
        Err(e) => {
            return CheckLine::failed(
                ITEM,
                format!(
                    "{e}; the user needs SELECT on mysql.user (and on mysql.global_priv for MariaDB)"
                ),
            );
        }
    };
    let readable = match listed.iter().find(|a| !a.role) {
        Some(user) => show(conn, &format!("SHOW CREATE USER {}", user.quoted()))
            .await
            .map(drop),
        None => Ok(()),
    };
    match readable {
        Ok(()) => CheckLine::ok(
            ITEM,
            format!(
                "{} accounts (users and roles) with their grants, by SHOW CREATE USER and SHOW GRANTS",
                listed.len()
            ),
        ),
        Err(e) => CheckLine::failed(ITEM, e.to_string()),
    }
}

/// Reads every account, its definition and grants, and returns the artifact as a dump;
/// its manifest also lists `databases`, the server's databases now (what a fresh-server
/// drill must bring back).
pub async fn start(
    settings: &MysqlSettings,
    passwords: bool,
    databases: Vec<String>,
) -> Result<Dump> {
    let mut conn = settings.connect(None).await?;
    let script = read_script(&mut conn, passwords).await;
    let version = server_version(&mut conn).await;
    let _ = conn.close().await;
    let (script, accounts) = script?;
    let mut roles: Vec<String> = accounts.iter().map(Account::label).collect();
    roles.sort();
    Ok(Dump {
        info: DumpInfo {
            server_version: version?,
            tool: "SHOW CREATE USER".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            format: GLOBALS_FORMAT.into(),
            extension: "sql",
            options: if passwords {
                Vec::new()
            } else {
                vec!["without password hashes".into()]
            },
            database_settings: None,
        },
        output: Box::pin(std::io::Cursor::new(script.into_bytes())),
        completion: Box::new(Done(ServerGlobals {
            roles,
            passwords,
            databases: databases
                .into_iter()
                .map(|database| DatabaseOwner {
                    database,
                    owner: String::new(),
                })
                .collect(),
        })),
    })
}

struct Done(ServerGlobals);

#[async_trait]
impl DumpCompletion for Done {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        Ok(DumpReport {
            globals: Some(self.0),
            ..DumpReport::default()
        })
    }

    async fn abort(self: Box<Self>) {}
}

async fn accounts(conn: &mut MySqlConnection) -> Result<Vec<Account>> {
    // MariaDB marks roles; MySQL has no roles apart from accounts.
    let rows = match sqlx::query("SELECT User, Host, is_role FROM mysql.user ORDER BY 1, 2")
        .fetch_all(&mut *conn)
        .await
    {
        Ok(rows) => rows,
        Err(_) => sqlx::query("SELECT User, Host, 'N' FROM mysql.user ORDER BY 1, 2")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error("cannot list the accounts (mysql.user)", &e))?,
    };
    let text = |row: &sqlx::mysql::MySqlRow, i: usize| -> String {
        row.try_get::<Vec<u8>, _>(i)
            .map(lossy)
            .or_else(|_| row.try_get::<String, _>(i))
            .unwrap_or_default()
    };
    Ok(rows
        .iter()
        .map(|row| Account {
            user: text(row, 0),
            host: text(row, 1),
            role: text(row, 2) == "Y",
        })
        .filter(|a| !SYSTEM_ACCOUNTS.contains(&a.user.as_str()))
        .collect())
}

async fn show(conn: &mut MySqlConnection, sql: &str) -> Result<Vec<String>> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| query_error(&format!("{sql} failed"), &e))?;
    Ok(rows.into_iter().map(lossy).collect())
}

/// The script: every account created first, then every grant and default role.
async fn read_script(
    conn: &mut MySqlConnection,
    passwords: bool,
) -> Result<(String, Vec<Account>)> {
    let accounts = accounts(conn).await?;
    let mut creates = Vec::new();
    let mut grants = Vec::new();
    for account in &accounts {
        if account.role {
            creates.push(format!("CREATE ROLE {}", account.quoted()));
        } else {
            for line in show(conn, &format!("SHOW CREATE USER {}", account.quoted())).await? {
                creates.push(if passwords {
                    line
                } else {
                    without_authentication(&line)
                });
            }
        }
        for line in show(conn, &format!("SHOW GRANTS FOR {}", account.quoted())).await? {
            // The account's password belongs to CREATE USER; a GRANT must never change it.
            grants.push(without_authentication(&line));
        }
    }
    let mut script = String::from("-- dbward: MySQL/MariaDB accounts, roles and grants\n");
    for statement in creates.iter().chain(&grants) {
        script.push_str(statement.trim_end_matches(';'));
        script.push_str(";\n");
    }
    script.push_str(GLOBALS_COMPLETE);
    script.push('\n');
    Ok((script, accounts))
}

/// Where an `IDENTIFIED …` clause ends: at the next clause of the statement, or its end.
fn authentication_span(statement: &str) -> Option<(usize, usize)> {
    let start = statement.find(" IDENTIFIED ")?;
    let rest = &statement[start + 1..];
    let end = [
        " REQUIRE ",
        " WITH ",
        " PASSWORD EXPIRE",
        " ACCOUNT ",
        " DEFAULT ROLE ",
    ]
    .iter()
    .filter_map(|k| rest.find(k))
    .min()
    .map(|i| start + 1 + i)
    .unwrap_or(statement.len());
    Some((start, end))
}

/// The statement without its `IDENTIFIED …` clause (password hash or plugin).
fn without_authentication(statement: &str) -> String {
    match authentication_span(statement) {
        Some((start, end)) => format!("{}{}", &statement[..start], &statement[end..]),
        None => statement.to_string(),
    }
}

/// The account a `CREATE USER`/`CREATE ROLE` line names, as (user, host); a role's host is
/// empty. Names are as `SHOW CREATE USER` writes them: in backquotes or single quotes.
fn created_account(statement: &str) -> Option<(String, String, bool)> {
    let (rest, role) = if let Some(rest) = statement.strip_prefix("CREATE USER ") {
        (rest, false)
    } else {
        (statement.strip_prefix("CREATE ROLE ")?, true)
    };
    let (user, rest) = quoted_name(rest)?;
    if role {
        return Some((user, String::new(), true));
    }
    let (host, _) = quoted_name(rest.strip_prefix('@')?)?;
    Some((user, host, false))
}

/// A name in backquotes (doubled to escape) or single quotes at the start of `text`.
fn quoted_name(text: &str) -> Option<(String, &str)> {
    let quote = text.chars().next().filter(|c| *c == '`' || *c == '\'')?;
    let body = &text[1..];
    let mut name = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|(_, n)| *n == quote) {
                chars.next();
                name.push(quote);
            } else {
                return Some((name, &body[i + 1..]));
            }
        } else if c == '\\' && quote == '\'' {
            name.extend(chars.next().map(|(_, n)| n));
        } else {
            name.push(c);
        }
    }
    None
}

/// The account a `GRANT … TO acct` or `SET DEFAULT ROLE … FOR acct` changes, as the
/// manifest names it (`user@host`, or a role's name).
fn changed_account(statement: &str) -> Option<String> {
    let keyword = if statement.starts_with("GRANT ") {
        " TO "
    } else if statement.starts_with("SET DEFAULT ROLE ") {
        " FOR "
    } else {
        return None;
    };
    let at = find_outside_quotes(statement, keyword)?;
    let (user, rest) = quoted_name(&statement[at + keyword.len()..])?;
    match rest.strip_prefix('@').and_then(quoted_name) {
        Some((host, _)) => Some(format!("{user}@{host}")),
        None => Some(user),
    }
}

/// Where `needle` first occurs outside backquoted names and quoted strings.
fn find_outside_quotes(text: &str, needle: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '`' || c == '\'' => quote = Some(c),
            None if text[i..].starts_with(needle) => return Some(i),
            None => {}
        }
    }
    None
}

/// The start of a statement for messages, never with its authentication clause.
fn head(statement: &str) -> String {
    let cut = without_authentication(statement);
    cut.chars().take(100).collect()
}

/// Applies a globals script: an account the target has is kept (its password set from the
/// script only with `overwrite_passwords`), grants and default roles are applied, and a
/// statement the server refuses is reported while the rest goes on.
pub async fn apply(
    settings: &MysqlSettings,
    script: &str,
    overwrite_passwords: bool,
) -> Result<GlobalsReport> {
    let mut conn = settings.connect(None).await?;
    let applied = apply_on(&mut conn, script, overwrite_passwords).await;
    let _ = conn.close().await;
    applied
}

async fn apply_on(
    conn: &mut MySqlConnection,
    script: &str,
    overwrite_passwords: bool,
) -> Result<GlobalsReport> {
    let mut report = GlobalsReport::default();
    let statements = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"));
    for statement in statements {
        let Some(statement) = statement.strip_suffix(';') else {
            return Err(Error::Dump(format!(
                "the globals script has a line that is no statement: {:?}",
                head(statement)
            )));
        };
        if let Some((user, host, role)) = created_account(statement) {
            let label = if role {
                user.clone()
            } else {
                format!("{user}@{host}")
            };
            if account_exists(conn, &user, &host).await? {
                if let (true, false, Some((start, end))) =
                    (overwrite_passwords, role, authentication_span(statement))
                {
                    let account = Account { user, host, role }.quoted();
                    let sql = format!("ALTER USER {account}{}", &statement[start..end]);
                    match run(conn, &sql).await {
                        Ok(()) => report.passwords_set.push(label.clone()),
                        Err(e) => report
                            .failed
                            .push(format!("setting the password of {label}: {e}")),
                    }
                }
                report.kept.push(label);
            } else {
                match run(conn, statement).await {
                    Ok(()) => report.created.push(label),
                    Err(e) => report.failed.push(format!("{}: {e}", head(statement))),
                }
            }
            continue;
        }
        if let Some(account) = changed_account(statement)
            && report.kept.contains(&account)
        {
            report.skipped.push(format!(
                "{}: {account} exists on the target and is not changed",
                head(statement)
            ));
            continue;
        }
        if let Err(e) = run(conn, statement).await {
            report.failed.push(format!("{}: {e}", head(statement)));
        }
    }
    Ok(report)
}

async fn account_exists(conn: &mut MySqlConnection, user: &str, host: &str) -> Result<bool> {
    let found: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?")
            .bind(user)
            .bind(host)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error(&format!("cannot look up account {user}@{host}"), &e))?;
    Ok(found > 0)
}

/// Runs one statement; the error is the server's message alone (never the statement).
async fn run(conn: &mut MySqlConnection, sql: &str) -> std::result::Result<(), String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|e| sqlx_reason(&e))
}

/// The accounts a script creates, sorted as the manifest lists them (structural check).
pub fn created_accounts(script: &str) -> Vec<String> {
    let mut found: Vec<String> = script
        .lines()
        .filter_map(|l| created_account(l.trim().trim_end_matches(';')))
        .map(|(user, host, role)| if role { user } else { format!("{user}@{host}") })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_is_cut_out_up_to_the_next_clause() {
        let cases = [
            (
                "CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*2B60' WITH MAX_QUERIES_PER_HOUR 5",
                "CREATE USER `a`@`%` WITH MAX_QUERIES_PER_HOUR 5",
            ),
            (
                "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY PASSWORD '*2B60'",
                "GRANT USAGE ON *.* TO `a`@`%`",
            ),
            (
                "CREATE USER `b`@`localhost` IDENTIFIED VIA ed25519 USING 'xyz' REQUIRE SSL",
                "CREATE USER `b`@`localhost` REQUIRE SSL",
            ),
            ("GRANT `r` TO `a`@`%`", "GRANT `r` TO `a`@`%`"),
        ];
        for (statement, expected) in cases {
            assert_eq!(without_authentication(statement), expected);
        }
    }

    #[test]
    fn created_accounts_are_read_from_either_quoting() {
        assert_eq!(
            created_account("CREATE USER `o``k`@`%` IDENTIFIED BY PASSWORD 'x'"),
            Some(("o`k".into(), "%".into(), false))
        );
        assert_eq!(
            created_account("CREATE ROLE 'r''1'"),
            Some(("r'1".into(), String::new(), true))
        );
        assert_eq!(created_account("GRANT `r` TO `a`@`%`"), None);
    }

    #[test]
    fn the_account_a_grant_changes_is_read_outside_quotes() {
        let cases = [
            (
                "GRANT SELECT ON `a TO b`.* TO `u`@`%` WITH GRANT OPTION",
                Some("u@%"),
            ),
            ("GRANT `r` TO `u`@`localhost`", Some("u@localhost")),
            ("GRANT USAGE ON *.* TO `role1`", Some("role1")),
            ("SET DEFAULT ROLE `r` FOR `u`@`%`", Some("u@%")),
            ("CREATE ROLE `r`", None),
        ];
        for (statement, expected) in cases {
            assert_eq!(
                changed_account(statement).as_deref(),
                expected,
                "{statement}"
            );
        }
    }
}
