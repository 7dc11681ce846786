//! The binary log side of a `pitr = true` MariaDB/MySQL source: whether the server keeps
//! one, which files it has and which one it is writing, copying a closed file byte for byte
//! with `mariadb-binlog --read-from-remote-server --raw`, the time of a file's last event,
//! and replaying archived files from a dump's position up to a moment into a database
//! (`mariadb-binlog --start-position --stop-datetime --database --rewrite-db` piped into the
//! client). The tools run with `TZ=UTC`: binlog times are read and written in UTC.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use dbward_core::process::{ToolProcess, restore_through};
use dbward_core::secret::SecretFile;
use dbward_core::{Engine, Error, Result};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::MysqlSettings;
use crate::conn::{lossy, query_error};
use crate::dump::judge_exit;
use crate::tool::{self, Flavor};

/// What the server says of its binary log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogState {
    /// `@@log_bin`.
    pub enabled: bool,
    /// Every file `SHOW BINARY LOGS` lists with its size, oldest first.
    pub files: Vec<(String, u64)>,
    /// The file the server writes now (`SHOW MASTER STATUS`); every other one is closed.
    pub current: Option<String>,
}

impl BinlogState {
    /// The files the server has closed: safe to copy whole.
    pub fn closed(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| Some(name) != self.current.as_ref())
            .collect()
    }
}

/// Reads the server's binary log state on one short connection.
pub async fn state(settings: &MysqlSettings) -> Result<BinlogState> {
    let mut conn = settings.connect(None).await?;
    let result = async {
        let enabled: i64 = sqlx::query_scalar("SELECT @@log_bin")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| query_error("cannot read @@log_bin", &e))?;
        if enabled == 0 {
            return Ok(BinlogState {
                enabled: false,
                files: Vec::new(),
                current: None,
            });
        }
        let rows: Vec<sqlx::mysql::MySqlRow> = sqlx::raw_sql("SHOW BINARY LOGS")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| {
                query_error(
                    "SHOW BINARY LOGS failed (the user needs BINLOG MONITOR or REPLICATION CLIENT)",
                    &e,
                )
            })?;
        use sqlx::Row;
        let mut files = Vec::new();
        for row in &rows {
            let name: Vec<u8> = row
                .try_get_unchecked(0)
                .map_err(|e| query_error("cannot read SHOW BINARY LOGS", &e))?;
            let size: String = row
                .try_get_unchecked::<Option<String>, _>(1)
                .ok()
                .flatten()
                .unwrap_or_default();
            files.push((lossy(name), size.trim().parse().unwrap_or(0)));
        }
        let current = files.last().map(|(name, _)| name.clone());
        Ok(BinlogState {
            enabled: true,
            files,
            current,
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

/// The dump option that writes the snapshot's binlog position as a comment: MySQL's
/// mysqldump renamed `--master-data` to `--source-data` in 8.0.26 (and dropped the old name
/// in 8.4).
pub fn dump_option(tool: &crate::Version) -> &'static str {
    let renamed =
        tool.flavor == Flavor::Mysql && (tool.major, tool.minor, tool.patch) >= (8, 0, 26);
    if renamed {
        "--source-data=2"
    } else {
        "--master-data=2"
    }
}

/// The refusal when a `pitr = true` source's server keeps no binary log.
pub fn binlog_off(source: &str) -> Error {
    Error::Dump(format!(
        "source {source} has pitr = true but its server's binary log is off (@@log_bin = 0): start the server with log_bin (and a server_id), or set pitr = false"
    ))
}

/// The binlog tool: `mariadb-binlog` or `mysqlbinlog`, by the source's engine.
/// Its flavour from `--version`: MySQL's prints its server version (`Ver 8.0.36 … (MySQL
/// Community Server - GPL)`), MariaDB's its own (`Ver 3.5`), also when installed as
/// `mysqlbinlog`.
async fn binlog_tool(settings: &MysqlSettings) -> Result<(&'static str, PathBuf, Flavor)> {
    let programs = match settings.engine {
        Engine::Mysql => ["mysqlbinlog", "mariadb-binlog"],
        _ => ["mariadb-binlog", "mysqlbinlog"],
    };
    let (name, path) = tool::locate_named(programs, settings.engine, settings.tool_dir.as_deref())?;
    let version = dbward_core::process::run_for_output(&path, ["--version"]).await?;
    Ok((name, path, binlog_tool_flavor(&version)))
}

/// See [`binlog_tool`].
fn binlog_tool_flavor(version: &str) -> Flavor {
    let major: u32 = version
        .split_whitespace()
        .skip_while(|w| *w != "Ver")
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version.contains("MySQL") || major >= 5 {
        Flavor::Mysql
    } else {
        Flavor::Mariadb
    }
}

/// `tool [--defaults-extra-file=F] args... -- files`, in UTC, without `MYSQL_PWD`.
fn command(
    program: &Path,
    secret: Option<&SecretFile>,
    args: &[String],
    files: &[OsString],
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    if let Some(file) = secret {
        let mut arg = OsString::from("--defaults-extra-file=");
        arg.push(file.path());
        command.arg(arg);
    }
    command.args(args).arg("--").args(files);
    command.env_remove("MYSQL_PWD").env("TZ", "UTC");
    command
}

/// Copies the closed binlog file `name` from the server into `dir` (as `dir/name`), byte
/// for byte.
pub async fn copy_file(settings: &MysqlSettings, name: &str, dir: &Path) -> Result<PathBuf> {
    let (tool_name, path, flavor) = binlog_tool(settings).await?;
    let secret = settings.option_file()?;
    let mut args = vec![
        "--read-from-remote-server".to_string(),
        "--raw".to_string(),
        format!("--result-file={}/", dir.display()),
    ];
    args.extend(settings.connection_args());
    args.extend(settings.tls_args(flavor));
    let (process, stdout) = ToolProcess::spawn(
        tool_name,
        command(&path, secret.as_ref(), &args, &[name.into()]),
    )?;
    drop(stdout);
    let exit = process.wait().await?;
    drop(secret);
    judge_exit(tool_name, &exit).map_err(|f| Error::Dump(f.reason))?;
    let copied = dir.join(name);
    if !copied.is_file() {
        return Err(Error::Dump(format!(
            "{tool_name} ended without writing {}",
            copied.display()
        )));
    }
    Ok(copied)
}

/// The time of the last event in a local binlog file (second precision, as the log keeps
/// it); `None` when it holds none.
pub async fn last_event_time(
    settings: &MysqlSettings,
    file: &Path,
) -> Result<Option<DateTime<Utc>>> {
    let (tool_name, path, _) = binlog_tool(settings).await?;
    let (process, stdout) = ToolProcess::spawn(
        tool_name,
        command(&path, None, &[], &[file.as_os_str().to_owned()]),
    )?;
    let mut lines = BufReader::new(stdout).lines();
    let mut last = None;
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|e| Error::Dump(format!("reading {tool_name} output: {e}")))?
    {
        if let Some(at) = event_time(&line) {
            last = Some(at);
        }
    }
    let exit = process.wait().await?;
    judge_exit(tool_name, &exit)
        .map_err(|f| Error::Dump(format!("{}: {}", file.display(), f.reason)))?;
    Ok(last)
}

/// The time of an event header line as the decoder prints it in UTC
/// (`#261206  4:12:01 server id 1  end_log_pos 256 ...`).
pub fn event_time(line: &str) -> Option<DateTime<Utc>> {
    let rest = line.strip_prefix('#')?;
    if !rest.contains(" server id ") {
        return None;
    }
    let mut words = rest.split_whitespace();
    let date = words.next()?;
    let time = words.next()?;
    if date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = format!("20{date} {time:0>8}");
    NaiveDateTime::parse_from_str(&text, "%Y%m%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// Sent before the replayed events.
const SKIP_BINLOG: &[u8] = b"SET SESSION sql_log_bin = 0;\n";

/// What to replay: archived binlog files (in order, local), from a position in the first,
/// up to (excluding) events at or after `stop`, of one database, into another.
#[derive(Debug, Clone)]
pub struct Replay<'a> {
    pub files: &'a [PathBuf],
    pub start_position: u64,
    pub stop: DateTime<Utc>,
    pub database: &'a str,
    pub to_database: &'a str,
}

/// Replays the binlog events of `replay.database` into `replay.to_database`: the decoder
/// piped into the client. Returns the client's warnings.
pub async fn replay(settings: &MysqlSettings, replay: &Replay<'_>) -> Result<Vec<String>> {
    let (tool_name, path, flavor) = binlog_tool(settings).await?;
    // MySQL's mysqlbinlog filters by the rewritten name, MariaDB's by the original one.
    let filter = match flavor {
        Flavor::Mysql => replay.to_database,
        Flavor::Mariadb => replay.database,
    };
    let mut args = vec![
        format!("--start-position={}", replay.start_position),
        format!(
            "--stop-datetime={}",
            replay.stop.format("%Y-%m-%d %H:%M:%S")
        ),
        format!("--database={filter}"),
    ];
    if replay.database != replay.to_database {
        args.push(format!(
            "--rewrite-db={}->{}",
            replay.database, replay.to_database
        ));
    }
    let files: Vec<OsString> = replay
        .files
        .iter()
        .map(|f| f.as_os_str().to_owned())
        .collect();
    let (decoder, mut decoded) =
        ToolProcess::spawn(tool_name, command(&path, None, &args, &files))?;
    let (client_name, client_path) = tool::locate_client(
        Flavor::Mariadb,
        settings.engine,
        settings.tool_dir.as_deref(),
    )?;
    let flavor = tool::probe(client_name, &client_path).await?.version.flavor;
    let mut client_args = vec![
        "--binary-mode".to_string(),
        "--batch".to_string(),
        "--max-allowed-packet=1073741824".to_string(),
    ];
    client_args.extend(settings.connection_args());
    let secret = settings.option_file()?;
    let client_command = settings.tool_command(
        &client_path,
        flavor,
        secret.as_ref(),
        &client_args,
        replay.to_database,
    );
    let (client, stdin) = ToolProcess::spawn_fed(client_name, client_command)?;
    let judge = |exit: &dbward_core::process::ToolExit| {
        judge_exit(client_name, exit).map_err(|failed| failed.reason)
    };
    // Replayed events keep their original GTIDs: logged again they would put old GTIDs
    // after newer ones in the server's binlog (which breaks replicas and later replays), so
    // the session does not log them.
    let mut input = tokio::io::AsyncReadExt::chain(SKIP_BINLOG, &mut decoded);
    let loaded = restore_through(client, stdin, &mut input, 4096, |_| Ok(()), judge).await;
    drop(secret);
    let decoded_exit = decoder.wait().await?;
    let decoder_judged = judge_exit(tool_name, &decoded_exit).map_err(|f| f.reason);
    match (loaded, decoder_judged) {
        (Ok(mut warnings), Ok(more)) => {
            warnings.extend(more);
            Ok(warnings)
        }
        (Err(e), _) => Err(e),
        (Ok(_), Err(reason)) => Err(Error::Dump(reason)),
    }
}

/// The PITR drill's marker table, in the drilled database (`pitr_drill_marker = true`).
pub const MARKER_TABLE: &str = "dbward_pitr_drill_markers";

/// Runs one statement on `database`.
async fn execute(settings: &MysqlSettings, database: Option<&str>, sql: String) -> Result<()> {
    let mut conn = settings.connect(database).await?;
    let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| query_error(&format!("`{sql}` failed"), &e));
    let _ = conn.close().await;
    done
}

/// Writes the drill marker `id` into `database` (creating the table on first use).
pub async fn write_marker(settings: &MysqlSettings, database: &str, id: &str) -> Result<()> {
    execute(
        settings,
        Some(database),
        format!("CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (id VARCHAR(64) PRIMARY KEY, written_at DATETIME(6) NOT NULL)"),
    )
    .await?;
    execute(
        settings,
        Some(database),
        format!(
            "INSERT INTO {MARKER_TABLE} VALUES ('{}', UTC_TIMESTAMP(6))",
            id.replace('\'', "")
        ),
    )
    .await
}

/// `FLUSH BINARY LOGS`: closes the file being written, so that it can be archived.
pub async fn flush(settings: &MysqlSettings) -> Result<()> {
    execute(settings, None, "FLUSH BINARY LOGS".into()).await
}

/// Of `ids`, the markers `database` holds (none when it has no marker table).
pub async fn markers_present(
    settings: &MysqlSettings,
    database: &str,
    ids: &[String],
) -> Result<Vec<String>> {
    let mut conn = settings.connect(Some(database)).await?;
    let sql = format!("SELECT id FROM {MARKER_TABLE} ORDER BY id");
    let rows: std::result::Result<Vec<Vec<u8>>, _> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut conn)
        .await;
    let _ = conn.close().await;
    let found = match rows {
        Ok(rows) => rows.into_iter().map(lossy).collect::<Vec<_>>(),
        Err(sqlx::Error::Database(e)) if e.message().contains("doesn't exist") => Vec::new(),
        Err(e) => return Err(query_error("cannot read the drill markers", &e)),
    };
    Ok(ids
        .iter()
        .filter(|id| found.contains(id))
        .cloned()
        .collect())
}

/// Drops a drill's scratch database.
pub async fn drop_database(settings: &MysqlSettings, database: &str) -> Result<()> {
    execute(
        settings,
        None,
        format!(
            "DROP DATABASE IF EXISTS {}",
            crate::conn::quote_ident(database)
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_option_follows_the_tools_name_for_it() {
        let v = |flavor, major, minor, patch| crate::Version {
            flavor,
            major,
            minor,
            patch,
            text: String::new(),
        };
        assert_eq!(
            dump_option(&v(Flavor::Mariadb, 11, 4, 2)),
            "--master-data=2"
        );
        assert_eq!(dump_option(&v(Flavor::Mysql, 8, 0, 25)), "--master-data=2");
        assert_eq!(dump_option(&v(Flavor::Mysql, 8, 0, 26)), "--source-data=2");
        assert_eq!(dump_option(&v(Flavor::Mysql, 8, 4, 0)), "--source-data=2");
    }

    #[test]
    fn the_binlog_tools_flavour_is_read_from_its_version() {
        for (text, flavor) in [
            (
                "mariadb-binlog Ver 3.5 for debian-linux-gnu at x86_64",
                Flavor::Mariadb,
            ),
            (
                "mysqlbinlog Ver 3.5 for debian-linux-gnu at x86_64",
                Flavor::Mariadb,
            ),
            (
                "mysqlbinlog  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)",
                Flavor::Mysql,
            ),
            ("mysqlbinlog  Ver 8.4.0 for Linux on x86_64", Flavor::Mysql),
        ] {
            assert_eq!(binlog_tool_flavor(text), flavor, "{text}");
        }
    }

    #[test]
    fn event_headers_give_their_time() {
        let at =
            event_time("#261206  4:12:01 server id 1  end_log_pos 256 CRC32 0x1 Query").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T04:12:01+00:00");
        let at = event_time("#261206 14:12:01 server id 1  end_log_pos 256 Xid = 7").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T14:12:01+00:00");
        assert_eq!(event_time("# at 256"), None);
        assert_eq!(event_time("#Q> insert into t values (1)"), None);
    }
}
