//! Judging a finished client tool: pg_dump by the backup gate (§4), pg_restore and psql after a
//! restore. Their stderr is split into errors and warnings, and a dump's completion marker is
//! checked from its first and last bytes. Pure functions, so every case is unit-tested.

use dbward_core::stream::Ends;

use crate::PgFormat;

/// Bytes kept from each end of a dump for the completion marker.
pub const ENDS_BYTES: usize = 64 * 1024;

/// The trailer pg_dump writes as the last comment of a complete plain dump.
pub const PLAIN_TRAILER: &str = "-- PostgreSQL database dump complete";

/// The magic bytes that open a custom-format archive.
const CUSTOM_MAGIC: &[u8] = b"PGDMP";

/// `archCustom` in pg_backup_archiver.h.
const CUSTOM_FORMAT_CODE: u8 = 1;

enum Kind {
    Error,
    /// `pg_dump: detail:` and continuation lines: context for whatever came before.
    Context,
    Warning,
}

/// Classifies one stderr line of `tool` (`pg_dump`, `pg_restore`, `psql`), which prefixes its
/// own messages with `tool: error: ` and the like.
fn classify<'a>(tool: &str, line: &'a str) -> (Kind, &'a str) {
    let own = line
        .strip_prefix(tool)
        .and_then(|rest| rest.strip_prefix(": "));
    for level in ["error: ", "fatal: "] {
        if let Some(rest) = own.and_then(|rest| rest.strip_prefix(level)) {
            return (Kind::Error, rest);
        }
    }
    if line.contains("FATAL:") || line.contains("ERROR:") {
        let rest = own
            .and_then(|rest| rest.strip_prefix("detail: "))
            .unwrap_or(line)
            .trim_start_matches("Error message from server: ");
        return (Kind::Error, rest);
    }
    if own.is_some_and(|rest| rest.starts_with("warning: ")) {
        return (Kind::Warning, line);
    }
    (Kind::Context, line)
}

fn names_server_error(line: &str) -> bool {
    line.contains("FATAL:") || line.contains("ERROR:")
}

/// Judges a client tool's exit: `Ok(warnings)` when it succeeded without an error line,
/// otherwise the one-line reason (`pg_dump exited 1: connection to server ... failed: FATAL:
/// ...`). `tool` is the program's name as it prefixes its messages; `describe` is the exit as
/// `ToolExit::describe` words it.
pub fn judge_exit(
    tool: &str,
    describe: &str,
    success: bool,
    stderr: &str,
) -> Result<Vec<String>, String> {
    let mut errors: Vec<&str> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut last_line = None;
    for line in stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        last_line = Some(line);
        match classify(tool, line) {
            (Kind::Error, text) => errors.push(text),
            // After an error the rest explains that error, not a separate warning.
            (Kind::Context, _) if !errors.is_empty() => {}
            (Kind::Context | Kind::Warning, _) => warnings.push(line.to_string()),
        }
    }
    let reason = errors.first().map(|first| {
        // pg_dump's own line says what it was doing, the server's line says why; one line
        // that holds both is the most useful record.
        match errors.iter().skip(1).find(|l| names_server_error(l)) {
            Some(server) if !names_server_error(first) => format!("{first} ({server})"),
            _ => (*first).to_string(),
        }
    });
    match (success, reason) {
        (true, None) => Ok(warnings),
        (true, Some(reason)) => Err(format!("{describe} but reported an error: {reason}")),
        (false, Some(reason)) => Err(format!("{describe}: {reason}")),
        (false, None) => Err(match last_line {
            Some(line) => format!("{describe}: {line}"),
            None => describe.to_string(),
        }),
    }
}

/// Checks the completion marker of a dump from its first and last bytes. `expect_data` says
/// whether the archive must hold at least one data block (a table or large objects).
pub fn check_marker(format: PgFormat, ends: &Ends, expect_data: bool) -> Result<(), String> {
    match format {
        PgFormat::Custom => check_custom(ends.head(), &ends.tail(), expect_data),
        PgFormat::Plain => check_plain(ends.head(), &ends.tail()),
    }
}

fn check_custom(head: &[u8], tail: &[u8], expect_data: bool) -> Result<(), String> {
    if !head.starts_with(CUSTOM_MAGIC) {
        return Err(format!(
            "pg_dump output does not start with the custom format's PGDMP header ({} bytes)",
            head.len()
        ));
    }
    // Header: magic, three version bytes, intSize, offSize, format.
    let (Some(&int_size), Some(&format)) = (head.get(8), head.get(10)) else {
        return Err("pg_dump output ends inside the custom format header".into());
    };
    if format != CUSTOM_FORMAT_CODE {
        return Err(format!(
            "pg_dump output is archive format {format}, not custom ({CUSTOM_FORMAT_CODE})"
        ));
    }
    if !(1..=16).contains(&int_size) {
        return Err(format!(
            "pg_dump output declares an implausible int size {int_size}"
        ));
    }
    // Every data block ends with WriteInt(0): a sign byte and intSize zero bytes. A stream cut
    // inside the data section ends anywhere else.
    let marker_len = usize::from(int_size) + 1;
    if expect_data
        && (tail.len() < marker_len || tail[tail.len() - marker_len..].iter().any(|&b| b != 0))
    {
        return Err(
            "pg_dump output does not end with the custom format's end-of-data marker; the dump is truncated"
                .into(),
        );
    }
    Ok(())
}

fn check_plain(head: &[u8], tail: &[u8]) -> Result<(), String> {
    if !head.starts_with(b"--") {
        return Err("pg_dump output does not start with a plain SQL dump header".into());
    }
    let found = tail
        .windows(PLAIN_TRAILER.len())
        .any(|w| w == PLAIN_TRAILER.as_bytes());
    if !found {
        return Err(format!(
            "pg_dump output lacks the trailer {PLAIN_TRAILER:?}; the dump is truncated"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_judged_into_errors_and_warnings() {
        type Want = Result<Vec<&'static str>, &'static str>;
        let cases: Vec<(&str, bool, &str, Want)> = vec![
            ("clean", true, "", Ok(vec![])),
            (
                "warnings are kept",
                true,
                "pg_dump: warning: there are circular foreign-key constraints on this table:\npg_dump: detail: t\n",
                Ok(vec![
                    "pg_dump: warning: there are circular foreign-key constraints on this table:",
                    "pg_dump: detail: t",
                ]),
            ),
            (
                "wrong password",
                false,
                "pg_dump: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"x\"\n",
                Err(
                    "pg_dump exited 1: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"x\"",
                ),
            ),
            (
                "server message joins pg_dump's line",
                false,
                "pg_dump: error: Dumping the contents of table \"t\" failed: PQgetResult() failed.\n\
                 pg_dump: detail: Error message from server: FATAL:  terminating connection due to administrator command\n\
                 server closed the connection unexpectedly\n\
                 pg_dump: detail: Command was: COPY public.t (a) TO stdout;\n",
                Err(
                    "pg_dump exited 1: Dumping the contents of table \"t\" failed: PQgetResult() failed. (FATAL:  terminating connection due to administrator command)",
                ),
            ),
            (
                "old fatal prefix",
                false,
                "pg_dump: fatal: could not open output file\n",
                Err("pg_dump exited 1: could not open output file"),
            ),
            (
                "error despite exit 0",
                true,
                "ERROR:  permission denied for table secrets\n",
                Err(
                    "pg_dump exited 0 but reported an error: ERROR:  permission denied for table secrets",
                ),
            ),
            (
                "failure without an error line keeps the last line",
                false,
                "pg_dump: warning: something odd\nSegmentation fault\n",
                Err("pg_dump exited 1: Segmentation fault"),
            ),
            (
                "failure with empty stderr",
                false,
                "\n",
                Err("pg_dump exited 1"),
            ),
        ];
        for (name, success, stderr, want) in cases {
            let describe = if success {
                "pg_dump exited 0"
            } else {
                "pg_dump exited 1"
            };
            let got = judge_exit("pg_dump", describe, success, stderr);
            let want = want
                .map(|w| w.into_iter().map(String::from).collect::<Vec<_>>())
                .map_err(String::from);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn restore_tools_are_judged_by_their_own_prefixes() {
        type Want = Result<Vec<&'static str>, &'static str>;
        let cases: Vec<(&str, &str, bool, &str, Want)> = vec![
            (
                "pg_restore query failure",
                "pg_restore",
                false,
                "pg_restore: while PROCESSING TOC:\n\
                 pg_restore: from TOC entry 215; 1259 16390 TABLE t postgres\n\
                 pg_restore: error: could not execute query: ERROR:  relation \"t\" already exists\n\
                 Command was: CREATE TABLE public.t (x integer);\n",
                Err(
                    "pg_restore exited 1: could not execute query: ERROR:  relation \"t\" already exists",
                ),
            ),
            (
                "pg_restore truncated input",
                "pg_restore",
                false,
                "pg_restore: error: could not read from input file: end of file\n",
                Err("pg_restore exited 1: could not read from input file: end of file"),
            ),
            (
                "pg_restore warning",
                "pg_restore",
                true,
                "pg_restore: warning: something odd\n",
                Ok(vec!["pg_restore: warning: something odd"]),
            ),
            (
                "psql stops on the first error",
                "psql",
                false,
                "psql:<stdin>:42: ERROR:  role \"app\" does not exist\n",
                Err("psql exited 1: psql:<stdin>:42: ERROR:  role \"app\" does not exist"),
            ),
            (
                "psql notices are warnings",
                "psql",
                true,
                "psql:<stdin>:7: NOTICE:  extension \"x\" already exists, skipping\n",
                Ok(vec![
                    "psql:<stdin>:7: NOTICE:  extension \"x\" already exists, skipping",
                ]),
            ),
            (
                "another tool's prefix is not ours",
                "psql",
                true,
                "pg_dump: error: not us\n",
                Ok(vec!["pg_dump: error: not us"]),
            ),
        ];
        for (name, tool, success, stderr, want) in cases {
            let describe = format!("{tool} exited {}", if success { 0 } else { 1 });
            let got = judge_exit(tool, &describe, success, stderr);
            let want = want
                .map(|w| w.into_iter().map(String::from).collect::<Vec<_>>())
                .map_err(String::from);
            assert_eq!(got, want, "{name}");
        }
    }

    fn ends_of(bytes: &[u8]) -> Ends {
        let mut ends = Ends::new(64);
        ends.push(bytes);
        ends
    }

    fn custom(body: &[u8]) -> Vec<u8> {
        let mut out = b"PGDMP\x01\x0e\x00\x04\x08\x01\x00".to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn completion_markers_are_checked() {
        let trailer = format!("--\n-- x\n{PLAIN_TRAILER}\n--\n\n\\unrestrict abc\n\n");
        let cases: Vec<(&str, PgFormat, Vec<u8>, bool, bool)> = vec![
            (
                "custom complete",
                PgFormat::Custom,
                custom(b"toc\x07\x00\x00\x00\x00\x00"),
                true,
                true,
            ),
            (
                "custom truncated",
                PgFormat::Custom,
                custom(b"toc\x07\x00\x00\x01\x00\x00"),
                true,
                false,
            ),
            (
                "custom without data blocks",
                PgFormat::Custom,
                custom(b"toc\x07"),
                false,
                true,
            ),
            (
                "custom marker shorter than int",
                PgFormat::Custom,
                custom(b""),
                true,
                false,
            ),
            (
                "error text is not a dump",
                PgFormat::Custom,
                b"pg_dump: error: x".to_vec(),
                false,
                false,
            ),
            ("empty output", PgFormat::Custom, vec![], false, false),
            (
                "header cut short",
                PgFormat::Custom,
                b"PGDMP\x01".to_vec(),
                false,
                false,
            ),
            (
                "directory format code",
                PgFormat::Custom,
                b"PGDMP\x01\x0e\x00\x04\x08\x05\x00\x00\x00\x00\x00\x00".to_vec(),
                true,
                false,
            ),
            (
                "plain complete",
                PgFormat::Plain,
                format!("--\n-- dump\n{trailer}").into_bytes(),
                true,
                true,
            ),
            (
                "plain truncated",
                PgFormat::Plain,
                b"--\n-- dump\nCOPY t FROM stdin;\n1\n".to_vec(),
                true,
                false,
            ),
        ];
        for (name, format, bytes, expect_data, ok) in cases {
            let got = check_marker(format, &ends_of(&bytes), expect_data);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        }
    }
}
