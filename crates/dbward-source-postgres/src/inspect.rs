//! Reading a dump without a server (structural verification): the row count of every
//! `COPY ... FROM stdin;` block of a SQL script (a plain dump, or what pg_restore prints for a
//! custom archive), the `TABLE DATA` entries of `pg_restore --list`, and the comparison of both
//! with the manifest. Pure functions over bytes and text, so every case is unit-tested.

use dbward_core::TableRows;

/// Longest line kept outside a COPY block (a COPY header names every column).
const HEADER_LINE_LIMIT: usize = 1024 * 1024;

/// Counts the data lines of each `COPY <table> ... FROM stdin;` block (up to the `\.` line)
/// of a SQL script fed in chunks of any size; memory stays bounded however long a row is.
#[derive(Debug, Default)]
pub struct CopyCounter {
    /// The current line's first bytes.
    line: Vec<u8>,
    /// The current line is longer than what `line` holds.
    overflow: bool,
    /// The block being counted: table as the script names it, and rows so far.
    in_copy: Option<(String, u64)>,
    counts: Vec<TableRows>,
}

impl CopyCounter {
    pub fn push(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.extend_line(&rest[..at]);
            self.end_line();
            rest = &rest[at + 1..];
        }
        self.extend_line(rest);
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        // Inside a block only the end marker matters, so three bytes say enough.
        let limit = if self.in_copy.is_some() {
            3
        } else {
            HEADER_LINE_LIMIT
        };
        let room = limit.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        let whole = !std::mem::take(&mut self.overflow);
        match &mut self.in_copy {
            Some(_) if whole && line == b"\\." => {
                let (table, rows) = self.in_copy.take().expect("inside a block");
                self.counts.push(TableRows { table, rows });
            }
            Some((_, rows)) => *rows += 1,
            None if whole => {
                if let Some(table) = std::str::from_utf8(&line).ok().and_then(copy_table) {
                    self.in_copy = Some((table.to_string(), 0));
                }
            }
            None => {}
        }
        self.line = line;
        self.line.clear();
    }

    /// The counts in script order; an error when the script ends inside a block.
    pub fn finish(mut self) -> Result<Vec<TableRows>, String> {
        if !self.line.is_empty() || self.overflow {
            self.end_line();
        }
        match self.in_copy {
            Some((table, rows)) => Err(format!(
                "the dump ends inside the data of {table} after {rows} rows"
            )),
            None => Ok(self.counts),
        }
    }
}

/// The table of a `COPY <table> [(columns)] FROM stdin;` line, as written there.
pub fn copy_table(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("COPY ")?;
    if !rest.ends_with(" FROM stdin;") {
        return None;
    }
    let (_, len) = parse_qualified(rest)?;
    Some(&rest[..len])
}

/// Parses a possibly quoted, dot-separated name at the start of `text` up to a space, `(` or
/// the end: the unquoted parts and the length of the text they took.
fn parse_qualified(text: &str) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![String::new()];
    let mut chars = text.char_indices().peekable();
    let mut in_quotes = false;
    let mut quoted_part = false;
    while let Some((i, c)) = chars.next() {
        let current = parts.last_mut().expect("parts is never empty");
        match c {
            '"' if in_quotes && chars.peek().map(|&(_, c)| c) == Some('"') => {
                chars.next();
                current.push('"');
            }
            '"' if in_quotes => in_quotes = false,
            _ if in_quotes => current.push(c),
            '"' if current.is_empty() && !quoted_part => {
                in_quotes = true;
                quoted_part = true;
            }
            '.' if !current.is_empty() || quoted_part => {
                parts.push(String::new());
                quoted_part = false;
            }
            ' ' | '(' => return finished(parts, quoted_part, i),
            '"' | '.' => return None,
            _ => current.push(c),
        }
    }
    if in_quotes {
        return None;
    }
    finished(parts, quoted_part, text.len())
}

fn finished(parts: Vec<String>, last_quoted: bool, len: usize) -> Option<(Vec<String>, usize)> {
    let last_empty = parts.last().is_none_or(|p| p.is_empty());
    (!last_empty || last_quoted).then_some((parts, len))
}

/// `"Odd Schema"."Mixed Table"` → (`Odd Schema`, `Mixed Table`): a manifest's table name
/// (quoted as `quote_ident` does) split into its schema and name.
pub fn split_table_name(table: &str) -> Option<(String, String)> {
    let (mut parts, len) = parse_qualified(table)?;
    if len != table.len() || parts.len() != 2 {
        return None;
    }
    let name = parts.pop()?;
    Some((parts.pop()?, name))
}

/// Manifest tables without a `TABLE DATA` entry in `pg_restore --list` output, whose lines read
/// `<id>; <oid> <oid> TABLE DATA <schema> <name> <owner>`.
pub fn missing_table_data<'a>(tables: &'a [TableRows], list: &str) -> Vec<&'a str> {
    let entries: Vec<&str> = list
        .lines()
        .filter(|l| !l.starts_with(';'))
        .filter_map(|l| l.split_once(" TABLE DATA ").map(|(_, rest)| rest))
        .collect();
    tables
        .iter()
        .map(|t| t.table.as_str())
        .filter(|table| {
            let Some((schema, name)) = split_table_name(table) else {
                return true;
            };
            let wanted = format!("{schema} {name} ");
            !entries
                .iter()
                .any(|e| e.starts_with(&wanted) || *e == wanted.trim_end())
        })
        .collect()
}

/// Compares the counts found in a dump with the manifest: every manifest table must be there
/// with exactly its count. Tables the manifest does not list (an extension's configuration
/// tables, which pg_dump writes but the source does not count) are returned, not refused.
pub fn compare_with_manifest<'a>(
    expected: &[TableRows],
    found: &'a [TableRows],
) -> Result<Vec<&'a TableRows>, String> {
    let mut problems = Vec::new();
    for table in expected {
        match found.iter().find(|f| f.table == table.table) {
            Some(f) if f.rows == table.rows => {}
            Some(f) => problems.push(format!(
                "{} holds {} rows in the dump, the manifest says {}",
                table.table, f.rows, table.rows
            )),
            None => problems.push(format!(
                "{} (manifest: {} rows) has no data in the dump",
                table.table, table.rows
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    Ok(found
        .iter()
        .filter(|f| !expected.iter().any(|e| e.table == f.table))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rows(pairs: &[(&str, u64)]) -> Vec<TableRows> {
        pairs
            .iter()
            .map(|(t, n)| TableRows {
                table: t.to_string(),
                rows: *n,
            })
            .collect()
    }

    const SCRIPT: &str = "--\n-- dump\n--\nCREATE TABLE public.t (a int);\n\
        COPY public.t (a, b) FROM stdin;\n1\t\\N\n2\tx\n\\.\n\n\
        COPY public.empty (a) FROM stdin;\n\\.\n\
        CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$;\n\
        COPY \"Odd Schema\".\"Mixed Table\" (x) FROM stdin;\n1\n\\\\.\n\\.\n\
        COPY public.\"order\" (id) FROM stdin;\n7\n\\.\n\
        -- PostgreSQL database dump complete\n";

    #[test]
    fn copy_blocks_are_counted_whatever_the_chunking() {
        let want = rows(&[
            ("public.t", 2),
            ("public.empty", 0),
            ("\"Odd Schema\".\"Mixed Table\"", 2),
            ("public.\"order\"", 1),
        ]);
        for size in [1, 2, 3, 7, 64, SCRIPT.len()] {
            let mut counter = CopyCounter::default();
            for chunk in SCRIPT.as_bytes().chunks(size) {
                counter.push(chunk);
            }
            assert_eq!(counter.finish().unwrap(), want, "chunks of {size}");
        }
    }

    #[test]
    fn a_script_cut_inside_a_block_is_an_error() {
        let mut counter = CopyCounter::default();
        counter.push(b"COPY public.t (a) FROM stdin;\n1\n2\n");
        let err = counter.finish().unwrap_err();
        assert_eq!(
            err,
            "the dump ends inside the data of public.t after 2 rows"
        );
    }

    #[test]
    fn rows_longer_than_the_line_buffer_count_once() {
        let mut counter = CopyCounter::default();
        counter.push(b"COPY public.big (v) FROM stdin;\n");
        let long = vec![b'x'; 3 * 1024 * 1024];
        counter.push(&long);
        counter.push(b"\n\\.\n");
        assert_eq!(counter.finish().unwrap(), rows(&[("public.big", 1)]));
    }

    #[test]
    fn names_split_into_schema_and_table() {
        let cases = [
            ("public.orders", Some(("public", "orders"))),
            ("public.\"order\"", Some(("public", "order"))),
            (
                "\"Odd Schema\".\"Mixed Table\"",
                Some(("Odd Schema", "Mixed Table")),
            ),
            ("\"a.b\".\"c\"\"d\"", Some(("a.b", "c\"d"))),
            ("orders", None),
            ("a.b.c", None),
            ("\"open.x", None),
            ("a.", None),
        ];
        for (name, want) in cases {
            let got = split_table_name(name);
            let want = want.map(|(s, t)| (s.to_string(), t.to_string()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn table_data_entries_are_matched_by_schema_and_name() {
        let list = ";\n; Archive created at 2026-01-01\n;\n\
            215; 1259 16390 TABLE public orders postgres\n\
            3345; 0 16390 TABLE DATA public orders postgres\n\
            3346; 0 16391 TABLE DATA Odd Schema Mixed Table postgres\n\
            3347; 0 16392 TABLE DATA public order app\n";
        let tables = rows(&[
            ("public.orders", 1),
            ("\"Odd Schema\".\"Mixed Table\"", 1),
            ("public.\"order\"", 1),
            ("public.order_items", 1),
            ("audit.orders", 1),
        ]);
        assert_eq!(
            missing_table_data(&tables, list),
            ["public.order_items", "audit.orders"]
        );
    }

    #[test]
    fn counts_are_compared_exactly() {
        let expected = rows(&[("public.a", 3), ("public.b", 0)]);
        let cases: Vec<(Vec<TableRows>, Result<usize, &str>)> = vec![
            (rows(&[("public.a", 3), ("public.b", 0)]), Ok(0)),
            (
                rows(&[("public.a", 3), ("public.b", 0), ("ext.config", 5)]),
                Ok(1),
            ),
            (
                rows(&[("public.a", 2), ("public.b", 0)]),
                Err("public.a holds 2 rows in the dump, the manifest says 3"),
            ),
            (
                rows(&[("public.a", 3)]),
                Err("public.b (manifest: 0 rows) has no data in the dump"),
            ),
        ];
        for (found, want) in cases {
            let got = compare_with_manifest(&expected, &found).map(|extra| extra.len());
            assert_eq!(got, want.map_err(String::from), "{found:?}");
        }
    }

    proptest! {
        #[test]
        fn counting_never_panics_and_matches_any_split(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            let mut whole = CopyCounter::default();
            whole.push(&data);
            let mut split = CopyCounter::default();
            split.push(&data[..cut]);
            split.push(&data[cut..]);
            prop_assert_eq!(whole.finish(), split.finish());
        }
    }
}
