//! A running `mariadb-dump`/`mysqldump` and its judgement by the backup gate (docs/cli.md):
//! exit status, stderr split into errors and warnings, the `-- Dump completed` trailer, and
//! the expected tables with the row counts read from the stream.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use dbward_core::process::{ToolExit, ToolProcess};
use dbward_core::secret::SecretFile;
use dbward_core::source::{DumpCompletion, DumpReport};
use dbward_core::stream::Ends;
use dbward_core::{Error, Result, TableRows};

use crate::rows::RowCounter;

/// Bytes kept from each end of the stream; the trailer is a few hundred bytes at most.
pub const ENDS_KEEP: usize = 64 * 1024;

/// The trailer mysqldump and mariadb-dump write last unless comments are turned off.
pub const COMPLETION_MARKER: &str = "-- Dump completed";

/// What the tap sees of the stream while the caller reads it.
#[derive(Debug)]
pub struct StreamState {
    pub counter: RowCounter,
    pub ends: Ends,
}

impl Default for StreamState {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamState {
    pub fn new() -> Self {
        StreamState {
            counter: RowCounter::new(),
            ends: Ends::new(ENDS_KEEP),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        self.counter.feed(chunk);
        self.ends.push(chunk);
    }
}

/// Shared between the tap on the output and the completion.
pub type SharedState = Arc<Mutex<StreamState>>;

pub fn lock(state: &SharedState) -> std::sync::MutexGuard<'_, StreamState> {
    // The tap cannot panic halfway through an update that matters; a poisoned lock still
    // holds usable counts.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The second half of a MySQL/MariaDB dump.
#[derive(Debug)]
pub struct MysqlCompletion {
    pub tool: ToolProcess,
    pub tool_name: &'static str,
    /// Held until the tool has exited: it reads the file when it connects, and a reconnect
    /// would read it again.
    pub secret: Option<SecretFile>,
    pub state: SharedState,
    pub source_name: String,
    pub database: String,
    /// Base tables the server listed before the dump, minus the excluded ones.
    pub expected: BTreeSet<String>,
    pub excluded: Vec<String>,
    /// Those of `excluded` that held rows before the dump.
    pub excluded_with_data: Vec<String>,
    pub warnings: Vec<String>,
    /// Objects the dump leaves out (F23): history rows it cannot keep.
    pub fidelity: Vec<dbward_core::FidelityLoss>,
    pub replica_lag_seconds: Option<f64>,
    /// `pitr = true`: the dump's header must name its binlog position.
    pub binlog: bool,
    /// Asked again when expected tables are missing: a table dropped while the dump ran is
    /// a warning, not a failed backup.
    pub source: crate::MysqlSource,
}

#[async_trait]
impl DumpCompletion for MysqlCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let MysqlCompletion {
            tool,
            tool_name,
            secret,
            state,
            source_name,
            database,
            expected,
            excluded,
            excluded_with_data,
            mut warnings,
            fidelity,
            replica_lag_seconds,
            binlog,
            source,
        } = *self;
        let exit = tool.wait().await;
        drop(secret);
        let exit = exit?;

        match judge_exit(tool_name, &exit) {
            Ok(tool_warnings) => warnings.extend(tool_warnings),
            Err(failed) => {
                if failed.errors.iter().any(|l| is_unknown_database(l)) {
                    return Err(Error::DatabaseMissing {
                        source_name,
                        database,
                    });
                }
                return Err(Error::Dump(failed.reason));
            }
        }

        let state = std::mem::take(&mut *lock(&state));
        let bytes = state.ends.total();
        if !has_completion_marker(&state.ends.tail()) {
            return Err(Error::Dump(format!(
                "{tool_name} output is incomplete: completion marker \"{COMPLETION_MARKER}\" missing at its end ({bytes} bytes read)"
            )));
        }
        let binlog_position = if binlog {
            let head = String::from_utf8_lossy(state.ends.head()).into_owned();
            Some(
                dbward_core::binlog::position_from_dump_header(&head).ok_or_else(|| {
                    Error::Dump(format!(
                        "{tool_name} output names no binlog position (a `-- CHANGE MASTER TO MASTER_LOG_FILE=...` line in its header); pitr = true needs it to replay the binary log from the dump"
                    ))
                })?,
            )
        } else {
            None
        };
        let counts = state
            .counter
            .finish()
            .map_err(|e| Error::Dump(format!("{tool_name} output is incomplete: {e}")))?;
        let mut missing: Vec<&String> = expected.difference(&counts.created).collect();
        if !missing.is_empty() {
            match source.base_tables(&database).await {
                Ok(now) => missing.retain(|t| {
                    let still_there = now.contains(*t);
                    if !still_there {
                        warnings.push(format!("table `{t}` was dropped while the dump ran"));
                    }
                    still_there
                }),
                Err(e @ Error::DatabaseMissing { .. }) => return Err(e),
                // Unable to ask again: judge by what was expected.
                Err(_) => {}
            }
        }
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|t| format!("`{t}`")).collect();
            return Err(Error::Dump(format!(
                "{tool_name} output lacks {} expected table(s) of {database}: {}",
                missing.len(),
                names.join(", ")
            )));
        }
        Ok(DumpReport {
            tables: counts
                .rows
                .into_iter()
                .map(|(table, rows)| TableRows { table, rows })
                .collect(),
            warnings,
            fidelity,
            excluded_tables: excluded,
            excluded_with_data,
            replica_lag_seconds,
            base_backup: None,
            binlog_position,
            globals: None,
        })
    }

    async fn abort(self: Box<Self>) {
        let MysqlCompletion { tool, secret, .. } = *self;
        tool.kill().await;
        drop(secret);
    }
}

/// stderr lines sorted into errors and warnings, without the tool's `name: ` prefix.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JudgedStderr {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// A line mentioning `error` (`Got error: ...`, `Error 2013: ...`, `error: ...`), or one of the
/// tools' other failure forms (`Couldn't execute '...': Lost connection ... (2013)`), is an
/// error unless it declares itself a warning; every other line is a warning for the manifest.
pub fn judge_stderr<'a>(tool_name: &str, lines: impl Iterator<Item = &'a str>) -> JudgedStderr {
    let mut judged = JudgedStderr::default();
    for line in lines {
        let line = strip_program(tool_name, line.trim());
        if line.is_empty() {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let failure = ["error", "couldn't", "access denied", "lost connection"]
            .iter()
            .any(|word| lower.contains(word));
        if failure && !lower.starts_with("warning") {
            judged.errors.push(line.to_string());
        } else {
            judged.warnings.push(line.to_string());
        }
    }
    judged
}

/// The tools prefix messages with however they were invoked (`/usr/bin/mariadb-dump: `).
fn strip_program<'a>(tool_name: &str, line: &'a str) -> &'a str {
    if let Some((prefix, rest)) = line.split_once(": ") {
        let program = prefix.rsplit('/').next().unwrap_or(prefix);
        let known = [tool_name, "mariadb-dump", "mysqldump", "mariadb", "mysql"];
        if !prefix.contains(char::is_whitespace) && known.contains(&program) {
            return rest.trim();
        }
    }
    line
}

/// Why a tool failed: its error lines and the one-line reason naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure {
    pub errors: Vec<String>,
    pub reason: String,
}

/// Judges how a dump tool or client ended: a non-zero exit or an error line on stderr fails
/// it with a one-line reason (`mariadb exited 1: ERROR 1064 (42000) at line 3: ...`);
/// otherwise its stderr lines are warnings.
pub fn judge_exit(tool_name: &str, exit: &ToolExit) -> Result<Vec<String>, ToolFailure> {
    let judged = judge_stderr(tool_name, exit.stderr_lines());
    if exit.status.success() && judged.errors.is_empty() {
        return Ok(judged.warnings);
    }
    let status = if exit.status.success() {
        format!("{tool_name} reported an error")
    } else {
        exit.describe()
    };
    let reason = failure_reason(
        &status,
        &judged.errors,
        judged.warnings.last().map(String::as_str),
    );
    Err(ToolFailure {
        errors: judged.errors,
        reason,
    })
}

/// One line: `mariadb-dump exited 2: Got error: 1045: "Access denied ..." when trying to connect`.
pub fn failure_reason(status: &str, errors: &[String], last_line: Option<&str>) -> String {
    const MAX: usize = 600;
    let detail = match errors {
        [] => last_line
            .map(str::to_string)
            .unwrap_or_else(|| "no message on stderr".into()),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more error line(s))", rest.len()),
    };
    let mut detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    if detail.len() > MAX {
        let mut cut = MAX;
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        detail.truncate(cut);
        detail.push_str("...");
    }
    format!("{status}: {detail}")
}

/// `Got error: 1049: "Unknown database 'x'" when selecting the database`: the database went
/// away after the pre-dump connection saw it.
fn is_unknown_database(line: &str) -> bool {
    line.contains("1049") && line.to_ascii_lowercase().contains("unknown database")
}

/// The last non-blank line is the trailer; anywhere earlier it could be a string value.
pub fn has_completion_marker(tail: &[u8]) -> bool {
    String::from_utf8_lossy(tail)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with(COMPLETION_MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_errors_and_warnings_are_told_apart() {
        let stderr = "/usr/bin/mariadb-dump: Got error: 1045: \"Access denied for user 'root'@'localhost' (using password: YES)\" when trying to connect\n\
                      Warning: column statistics not supported by the server.\n\
                      mysqldump: Deprecated program name. It will be removed in a future release, use '/usr/bin/mariadb-dump' instead\n\
                      mariadb-dump: Error 2013: Lost connection to server during query when dumping table `t` at row: 0\n\
                      mariadb-dump: Couldn't execute 'SELECT /*!40001 SQL_NO_CACHE */ `x` FROM `t`': Lost connection to server during query (2013)\n";
        let j = judge_stderr("mariadb-dump", stderr.lines());
        assert_eq!(
            j.errors,
            [
                "Got error: 1045: \"Access denied for user 'root'@'localhost' (using password: YES)\" when trying to connect",
                "Error 2013: Lost connection to server during query when dumping table `t` at row: 0",
                "Couldn't execute 'SELECT /*!40001 SQL_NO_CACHE */ `x` FROM `t`': Lost connection to server during query (2013)"
            ]
        );
        assert_eq!(j.warnings.len(), 2);
        assert!(j.warnings[1].starts_with("Deprecated program name"));
    }

    #[test]
    fn failure_reason_is_one_line_naming_the_tool() {
        let r = failure_reason(
            "mariadb-dump exited 2",
            &["Got error: 1045: \"Access denied for user 'root'@'localhost' (using password: YES)\" when trying to connect".into()],
            None,
        );
        assert_eq!(
            r,
            "mariadb-dump exited 2: Got error: 1045: \"Access denied for user 'root'@'localhost' (using password: YES)\" when trying to connect"
        );
        let r = failure_reason("mysqldump was killed by signal 9", &[], None);
        assert_eq!(r, "mysqldump was killed by signal 9: no message on stderr");
        let r = failure_reason("x exited 1", &["a\nb".into(), "c".into()], None);
        assert!(!r.contains('\n') && r.contains("1 more"), "{r}");
    }

    #[test]
    fn marker_must_be_the_last_line() {
        assert!(has_completion_marker(b"...;\n\n-- Dump completed\n"));
        assert!(has_completion_marker(
            b"-- Dump completed on 2026-01-01  2:00:00\n\n"
        ));
        assert!(!has_completion_marker(
            b"-- Dump completed\nINSERT INTO `t` VALUES (1);\n"
        ));
        assert!(!has_completion_marker(b""));
    }

    #[test]
    fn unknown_database_is_recognised() {
        assert!(is_unknown_database(
            "Got error: 1049: \"Unknown database 'gone'\" when selecting the database"
        ));
    }
}
