//! Printing results: aligned tables for people, one JSON document for programs.

use std::io::Write;
use std::sync::OnceLock;

use serde::Serialize;

use crate::catalog::BackupRecord;
use crate::engine::backup::human_bytes;

/// The first error writing standard output. A reader that went away (`dbward list | head`)
/// or a full disk under a redirection must not stop a command half-way (a backup, a prune):
/// later output is dropped, the work goes on, and `main` reports the error at the end.
static STDOUT_FAILED: OnceLock<std::io::Error> = OnceLock::new();

/// Writes `text` to stdout, or nothing once writing it failed (see [`stdout_failure`]).
pub fn print(text: std::fmt::Arguments) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) {
        let _ = STDOUT_FAILED.set(e);
    }
}

/// Why standard output could not be written, when it could not.
pub fn stdout_failure() -> Option<&'static std::io::Error> {
    STDOUT_FAILED.get()
}

/// `print!` through [`print`]: never panics when stdout is closed or full.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::print(format_args!($($arg)*))
    };
}

/// `println!` through [`print`]: never panics when stdout is closed or full.
macro_rules! outln {
    () => {
        $crate::cli::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints `value` as the single JSON document on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    if STDOUT_FAILED.get().is_some() {
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match serde_json::to_writer_pretty(&mut out, value) {
        Err(e) if e.io_error_kind().is_none() => return Err(e.into()),
        serialized => serialized
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush()),
    };
    if let Err(e) = written {
        let _ = STDOUT_FAILED.set(e);
    }
    Ok(())
}

/// A plain text table with a header row and columns padded to fit.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

pub fn size(bytes: Option<u64>) -> String {
    bytes.map(human_bytes).unwrap_or_else(|| "-".into())
}

pub fn duration(record: &BackupRecord) -> String {
    match record.duration() {
        Some(d) => format!("{:.1}s", d.num_milliseconds() as f64 / 1000.0),
        None => "-".into(),
    }
}

pub fn verification(record: &BackupRecord) -> String {
    match &record.verification {
        Some(v) => format!("{} {}", v.level, if v.ok { "ok" } else { "FAILED" }),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let out = super::table(
            &["DB", "STATUS"],
            &[
                vec!["shop".into(), "succeeded".into()],
                vec!["x".into(), "failed".into()],
            ],
        );
        assert_eq!(out, "DB    STATUS\nshop  succeeded\nx     failed\n");
    }
}
