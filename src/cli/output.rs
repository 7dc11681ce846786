//! Printing results: aligned tables for people, one JSON document for programs.

use std::io::Write;

use serde::Serialize;

use crate::catalog::BackupRecord;
use crate::engine::backup::human_bytes;

/// Prints `value` as the single JSON document on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
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
