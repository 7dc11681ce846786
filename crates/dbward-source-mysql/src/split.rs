//! Splits a `mariadb-dump`/`mysqldump` script, while it streams past, into the parts a
//! parallel restore (`restore --jobs N`) runs in three phases: the header and every table's
//! structure (schema, one connection, in dump order), each table's rows (up to N connections
//! at once), and what must come after all rows — triggers, events, routines, final views and
//! the footer (one connection, in dump order).
//!
//! The splitter only records byte ranges of the stream; the caller keeps the bytes (in a
//! spool file). A table's rows are the statements that follow its
//! `-- Dumping data for table` marker as long as each is one self-contained line
//! (`INSERT INTO`, `ALTER TABLE … DISABLE/ENABLE KEYS`, `SELECT SETVAL`, comments); from the
//! first other line (a trigger after the rows, say) to the next marker the text goes to the
//! last phase, which keeps dump order. Markers count only outside `DELIMITER ;;` blocks.

use std::ops::Range;

/// Bytes of a line's start kept to classify it.
const HEAD: usize = 160;

/// The longest header line kept for the session settings every connection repeats.
const SESSION_LINE_MAX: usize = 4096;

/// Marker comments that open a section, and the phase the section runs in.
const MARKERS: &[(&str, Phase)] = &[
    ("-- Table structure for table ", Phase::Schema),
    ("-- Temporary table structure for view ", Phase::Schema),
    ("-- Temporary view structure for view ", Phase::Schema),
    ("-- Dumping data for table ", Phase::Data),
    ("-- Dumping events for database ", Phase::Post),
    ("-- Dumping routines for database ", Phase::Post),
    ("-- Final view structure for view ", Phase::Post),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Schema,
    Data,
    Post,
}

/// One table's rows: a range of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRows {
    /// The table as the marker names it (quoted), for messages.
    pub table: String,
    pub range: Range<u64>,
}

/// Where each phase's text lies in the script.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The header and every structure section, in dump order (the header first).
    pub schema: Vec<Range<u64>>,
    /// The header's session settings (`/*!40101 SET … */;` lines: character set, time zone,
    /// unique and foreign-key checks, SQL mode), repeated on every other connection.
    pub session: Vec<u8>,
    pub tables: Vec<TableRows>,
    /// Triggers, events, routines, final views and the footer, in dump order.
    pub post: Vec<Range<u64>>,
}

#[derive(Debug)]
enum Section {
    Header,
    Schema {
        start: u64,
    },
    Data {
        table: String,
        start: u64,
        /// The end of the last whole statement of rows.
        rows_end: u64,
        /// Still only rows since the marker.
        rows_only: bool,
        /// Inside an `INSERT` whose rows follow one per line (`(1,'a'),`).
        in_insert: bool,
    },
    Post {
        start: u64,
    },
}

/// Feeds on the script's bytes in order; [`Splitter::finish`] gives the plan.
#[derive(Debug)]
pub(crate) struct Splitter {
    total: u64,
    line_start: u64,
    head: Vec<u8>,
    /// The whole current line while in the header (short lines only), for `session`.
    header_line: Vec<u8>,
    /// The line's last byte before `\n`, ignoring `\r`.
    last: Option<u8>,
    in_block: bool,
    section: Section,
    plan: Plan,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter {
            total: 0,
            line_start: 0,
            head: Vec::with_capacity(HEAD),
            header_line: Vec::new(),
            last: None,
            in_block: false,
            section: Section::Header,
            plan: Plan::default(),
        }
    }
}

impl Splitter {
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.take(&chunk[..i]);
                    self.total += i as u64 + 1;
                    self.end_line();
                    chunk = &chunk[i + 1..];
                }
                None => {
                    self.take(chunk);
                    self.total += chunk.len() as u64;
                    chunk = &[];
                }
            }
        }
    }

    /// Part of the current line (without its `\n`).
    fn take(&mut self, part: &[u8]) {
        if part.is_empty() {
            return;
        }
        let room = HEAD.saturating_sub(self.head.len());
        self.head.extend_from_slice(&part[..room.min(part.len())]);
        if matches!(self.section, Section::Header) && self.header_line.len() <= SESSION_LINE_MAX {
            self.header_line.extend_from_slice(part);
        }
        if let Some(&b) = part.iter().rev().find(|&&b| b != b'\r') {
            self.last = Some(b);
        }
    }

    fn end_line(&mut self) {
        let start = self.line_start;
        let end = self.total;
        let head = std::mem::take(&mut self.head);
        let text = trim_end(&head);
        if !self.in_block
            && let Some((marker, phase)) =
                MARKERS.iter().find(|(m, _)| text.starts_with(m.as_bytes()))
        {
            let name = String::from_utf8_lossy(&text[marker.len()..]).into_owned();
            self.close(start);
            self.section = match phase {
                Phase::Schema => Section::Schema { start },
                Phase::Data => Section::Data {
                    table: name,
                    start,
                    rows_end: end,
                    rows_only: true,
                    in_insert: false,
                },
                Phase::Post => Section::Post { start },
            };
        } else {
            match &mut self.section {
                Section::Header
                    if self.header_line.len() <= SESSION_LINE_MAX
                        && is_session_setting(&self.header_line) =>
                {
                    self.plan.session.extend_from_slice(&self.header_line);
                    self.plan.session.push(b'\n');
                }
                Section::Data {
                    rows_end,
                    rows_only,
                    in_insert,
                    ..
                } if *rows_only => match row_line(text, self.last, *in_insert) {
                    Some(RowLine::Ends) => {
                        *in_insert = false;
                        *rows_end = end;
                    }
                    Some(RowLine::Continues) => *in_insert = true,
                    None => *rows_only = false,
                },
                _ => {}
            }
            if text == b"DELIMITER ;;" {
                self.in_block = true;
            } else if text == b"DELIMITER ;" {
                self.in_block = false;
            }
        }
        self.header_line.clear();
        self.head = head;
        self.head.clear();
        self.last = None;
        self.line_start = end;
    }

    /// Ends the current section at `at`.
    fn close(&mut self, at: u64) {
        let plan = &mut self.plan;
        match std::mem::replace(&mut self.section, Section::Post { start: at }) {
            Section::Header => push(&mut plan.schema, 0..at),
            Section::Schema { start } => push(&mut plan.schema, start..at),
            Section::Data {
                table,
                start,
                rows_end,
                ..
            } => {
                let rows_end = rows_end.min(at);
                if rows_end > start {
                    plan.tables.push(TableRows {
                        table,
                        range: start..rows_end,
                    });
                }
                push(&mut plan.post, rows_end..at);
            }
            Section::Post { start } => push(&mut plan.post, start..at),
        }
    }

    /// The plan, once the whole script was fed.
    pub(crate) fn finish(mut self) -> Plan {
        if self.total > self.line_start {
            // A last line without `\n` is never taken for rows.
            if let Section::Data { rows_only, .. } = &mut self.section {
                *rows_only = false;
            }
        }
        self.close(self.total);
        self.plan
    }
}

/// Appends `range`, merging it with the previous one when they touch; empty ranges vanish.
fn push(ranges: &mut Vec<Range<u64>>, range: Range<u64>) {
    if range.is_empty() {
        return;
    }
    match ranges.last_mut() {
        Some(last) if last.end == range.start => last.end = range.end,
        _ => ranges.push(range),
    }
}

/// What a line of a table's data section is, when it may run on a data connection at any
/// time after the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowLine {
    /// It ends a statement (or is a comment or nothing).
    Ends,
    /// It opens or continues an `INSERT` whose next rows follow on the next lines.
    Continues,
}

/// Classifies a line of a data section: statements of rows (`INSERT INTO … VALUES` with one
/// row per line: the dump tool escapes every newline inside a value, so each row line starts
/// with `(`), a key toggle, a sequence's value, a comment or nothing; `None` for anything
/// else.
fn row_line(head: &[u8], last: Option<u8>, in_insert: bool) -> Option<RowLine> {
    let ends = if last == Some(b';') {
        RowLine::Ends
    } else {
        RowLine::Continues
    };
    if in_insert {
        return head.starts_with(b"(").then_some(ends);
    }
    if head.is_empty() || head.starts_with(b"--") {
        return Some(RowLine::Ends);
    }
    if head.starts_with(b"INSERT INTO `") {
        return Some(ends);
    }
    let one_line =
        head.starts_with(b"/*!40000 ALTER TABLE `") || head.starts_with(b"SELECT SETVAL(`");
    (one_line && ends == RowLine::Ends).then_some(RowLine::Ends)
}

/// `/*!40101 SET NAMES utf8mb4 */;`-style session settings of the header; never a `GLOBAL`
/// one (MySQL's `GTID_PURGED`), which must run once.
fn is_session_setting(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(trim_end(line));
    let versioned = text.starts_with("/*!") || text.starts_with("/*M!");
    versioned
        && text.ends_with("*/;")
        && text.contains(" SET ")
        && !text.to_ascii_uppercase().contains("GLOBAL")
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump as `mariadb-dump --routines --triggers --events` writes it (abridged).
    const DUMP: &str = "\
-- MariaDB dump 10.19  Distrib 10.11.14-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: shop
-- ------------------------------------------------------
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
SET @@GLOBAL.GTID_PURGED='x';

--
-- Table structure for table `a`
--

DROP TABLE IF EXISTS `a`;
CREATE TABLE `a` (
  `id` int(11) NOT NULL
) ENGINE=InnoDB;

--
-- Dumping data for table `a`
--

/*!40000 ALTER TABLE `a` DISABLE KEYS */;
INSERT INTO `a` VALUES (1),
(2);
INSERT INTO `a` VALUES (3);
/*!40000 ALTER TABLE `a` ENABLE KEYS */;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
DELIMITER ;;
/*!50003 CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN
-- Dumping data for table `fake`
SET NEW.id = 1; END */;;
DELIMITER ;

--
-- Temporary table structure for view `v`
--

CREATE TABLE `v` (`id` tinyint NOT NULL) ENGINE=MyISAM */;

--
-- Table structure for table `b`
--

CREATE TABLE `b` (`id` int(11) NOT NULL);

--
-- Dumping data for table `b`
--

INSERT INTO `b` VALUES (9),
(10,'it''s \\n (not a new line);'),
(11);

--
-- Dumping routines for database 'shop'
--
DELIMITER ;;
CREATE FUNCTION f() RETURNS int RETURN 1 ;;
DELIMITER ;

--
-- Final view structure for view `v`
--

DROP TABLE IF EXISTS `v`;
CREATE VIEW `v` AS select 1 AS `id`;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

-- Dump completed
";

    fn plan_in_pieces(piece: usize) -> Plan {
        let mut splitter = Splitter::default();
        for chunk in DUMP.as_bytes().chunks(piece) {
            splitter.feed(chunk);
        }
        splitter.finish()
    }

    fn text(ranges: &[Range<u64>]) -> String {
        ranges
            .iter()
            .map(|r| &DUMP[r.start as usize..r.end as usize])
            .collect()
    }

    #[test]
    fn every_byte_lands_in_exactly_one_phase_in_order() {
        let plan = plan_in_pieces(DUMP.len());
        let mut all: Vec<Range<u64>> = plan.schema.clone();
        all.extend(plan.tables.iter().map(|t| t.range.clone()));
        all.extend(plan.post.iter().cloned());
        all.sort_by_key(|r| r.start);
        let mut at = 0;
        for r in &all {
            assert_eq!(r.start, at, "{all:?}");
            at = r.end;
        }
        assert_eq!(at, DUMP.len() as u64);
    }

    #[test]
    fn tables_rows_schema_and_the_rest_are_told_apart() {
        let plan = plan_in_pieces(DUMP.len());
        let schema = text(&plan.schema);
        assert!(schema.starts_with("-- MariaDB dump"), "{schema}");
        assert!(schema.contains("CREATE TABLE `a`") && schema.contains("CREATE TABLE `b`"));
        assert!(schema.contains("CREATE TABLE `v`"));
        assert!(!schema.contains("INSERT") && !schema.contains("TRIGGER"));

        let names: Vec<_> = plan.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["`a`", "`b`"]);
        let a = text(std::slice::from_ref(&plan.tables[0].range));
        assert!(a.contains("INSERT INTO `a` VALUES (3);"), "{a}");
        assert!(a.contains("ENABLE KEYS"), "{a}");
        assert!(
            !a.contains("TRIGGER") && !a.contains("saved_cs_client"),
            "{a}"
        );

        let post = text(&plan.post);
        // The trigger's body holds a marker-like line: inside DELIMITER ;; it is no marker.
        assert!(
            post.contains("CREATE TRIGGER t") && post.contains("`fake`"),
            "{post}"
        );
        assert!(post.contains("CREATE FUNCTION f()"), "{post}");
        assert!(post.contains("CREATE VIEW `v`"), "{post}");
        assert!(post.trim_end().ends_with("-- Dump completed"), "{post}");
        assert!(
            !post.contains("INSERT INTO") && !post.contains("(11)"),
            "{post}"
        );
        let b = text(std::slice::from_ref(&plan.tables[1].range));
        assert!(b.contains("(11);"), "{b}");
    }

    #[test]
    fn session_settings_repeat_without_global_ones() {
        let plan = plan_in_pieces(DUMP.len());
        let session = String::from_utf8(plan.session).unwrap();
        assert!(session.contains("SET NAMES utf8mb4"), "{session}");
        assert!(session.contains("FOREIGN_KEY_CHECKS=0"), "{session}");
        assert!(session.contains("TIME_ZONE='+00:00'"), "{session}");
        assert!(!session.contains("GLOBAL"), "{session}");
    }

    #[test]
    fn the_plan_does_not_depend_on_how_the_stream_is_cut() {
        let whole = plan_in_pieces(DUMP.len());
        for piece in [1, 2, 3, 7, 64, 500] {
            assert_eq!(plan_in_pieces(piece), whole, "pieces of {piece}");
        }
    }

    #[test]
    fn a_statement_the_splitter_does_not_know_ends_the_rows() {
        let dump = "--\n-- Dumping data for table `a`\n--\nINSERT INTO `a` VALUES (1),\n(4);\nINSERT INTO `a` VALUES\n2;\nINSERT INTO `a` VALUES (3);\n";
        let mut splitter = Splitter::default();
        splitter.feed(dump.as_bytes());
        let plan = splitter.finish();
        let rows = &plan.tables[0].range;
        let rows = &dump[rows.start as usize..rows.end as usize];
        assert!(rows.ends_with("VALUES (1),\n(4);\n"), "{rows}");
        let post: String = plan
            .post
            .iter()
            .map(|r| &dump[r.start as usize..r.end as usize])
            .collect();
        assert!(post.starts_with("INSERT INTO `a` VALUES\n2;"), "{post}");
        assert!(post.ends_with("(3);\n"), "{post}");
    }
}
