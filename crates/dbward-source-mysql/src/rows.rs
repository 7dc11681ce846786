//! Exact row counts read from the dump stream itself: a resumable lexer and statement
//! tracker that sees `CREATE TABLE` and counts the tuples of `INSERT INTO ... VALUES`, fed one
//! chunk at a time (chunks may split anything, even a doubled quote) and never buffering.
//!
//! The lexer follows the rules the `mysql` client and server apply when the dump is restored:
//! `'...'`/`"..."` strings with backslash escapes and doubled quotes, backquoted identifiers
//! with doubled backquotes, `-- `/`#` line comments, `/* */` block comments (including
//! versioned `/*!50001 ... */` ones, whose statements are not table data), and the client's
//! `DELIMITER` command, which brackets routine and trigger bodies whose `INSERT`s must not count.

use std::collections::{BTreeMap, BTreeSet};

/// Longest keyword or unquoted word kept; longer words are only ever values or names we
/// do not need whole.
const WORD_KEEP: usize = 64;
/// Identifiers are at most 64 characters (256 bytes in utf8mb4), doubled backquotes included;
/// the cap bounds memory against a hostile stream.
const IDENT_KEEP: usize = 1024;
/// A client delimiter is a short token (`;;`, `//`).
const DELIMITER_KEEP: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Normal,
    Word,
    Ident {
        quote_pending: bool,
    },
    Str {
        quote: u8,
        escape: bool,
        quote_pending: bool,
    },
    LineComment,
    BlockComment {
        star: bool,
    },
    Dash,
    DashDash,
    Slash,
    /// Reading the argument of the client's `DELIMITER` command, up to the end of the line.
    Delimiter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stmt {
    /// Before the first token of a statement.
    Start,
    /// In a statement that does not matter here; waits for `;`.
    Skip,
    Create,
    CreateTable,
    CreateName {
        name: Vec<u8>,
        after_dot: bool,
    },
    /// After `INSERT`/`REPLACE`, before the table name (modifiers, `INTO`).
    Insert,
    /// After the table name, before `VALUES`; `depth` tracks a column list.
    InsertTarget {
        name: Vec<u8>,
        after_dot: bool,
        depth: u32,
    },
    /// Inside `VALUES`: each `(` at depth 0 opens one row.
    Values {
        name: Vec<u8>,
        depth: u32,
        rows: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum Tok {
    Word,
    Ident,
    Str,
    Punct(u8),
}

/// Counts rows per table in a mysqldump / mariadb-dump SQL stream.
#[derive(Debug, Clone)]
pub struct RowCounter {
    lex: Lex,
    stmt: Stmt,
    word: Vec<u8>,
    ident: Vec<u8>,
    delimiter: Vec<u8>,
    /// True between `DELIMITER ;;` and `DELIMITER ;`: routine and trigger bodies.
    custom_delimiter: bool,
    created: BTreeSet<Vec<u8>>,
    rows: BTreeMap<Vec<u8>, u64>,
}

/// What the stream held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every table created or inserted into, with its row count (0 when created only).
    pub rows: BTreeMap<String, u64>,
    /// Tables whose `CREATE TABLE` was seen.
    pub created: BTreeSet<String>,
}

impl Default for RowCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl RowCounter {
    pub fn new() -> Self {
        RowCounter {
            lex: Lex::Normal,
            stmt: Stmt::Start,
            word: Vec::new(),
            ident: Vec::new(),
            delimiter: Vec::new(),
            custom_delimiter: false,
            created: BTreeSet::new(),
            rows: BTreeMap::new(),
        }
    }

    /// Feeds the next chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while i < chunk.len() {
            // Jump straight to the next byte that can change the state; the bytes skipped
            // would have left it as it is (see `skippable`).
            let rest = &chunk[i..];
            let skip = match self.lex {
                // Strings dominate a data dump.
                Lex::Str {
                    quote,
                    escape: false,
                    quote_pending: false,
                } => match self.string(quote, chunk, i) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => return,
                },
                Lex::Normal | Lex::Word if self.skippable() => {
                    // A word ending here would be a token without effect, so the byte that
                    // ends it may as well be read in `Normal`.
                    self.lex = Lex::Normal;
                    find_special(rest)
                }
                Lex::LineComment => memchr::memchr(b'\n', rest),
                Lex::BlockComment { star: false } => memchr::memchr(b'*', rest),
                _ => Some(0),
            };
            match skip {
                Some(n) => i += n,
                None => return,
            }
            self.step(chunk[i]);
            i += 1;
        }
    }

    /// Reads the inside of a string from `chunk[i]` on, escapes and doubled quotes included.
    /// Returns where the string ended (the byte after the closing quote, still to be read),
    /// or `None` when the chunk ended first, with the state left for the next one.
    fn string(&mut self, quote: u8, chunk: &[u8], mut i: usize) -> Option<usize> {
        loop {
            i += memchr::memchr2(quote, b'\\', &chunk[i..])?;
            let Some(&next) = chunk.get(i + 1) else {
                let escape = chunk[i] == b'\\';
                self.lex = Lex::Str {
                    quote,
                    escape,
                    quote_pending: !escape,
                };
                return None;
            };
            if chunk[i] == b'\\' || next == quote {
                // An escaped byte, or a doubled quote standing for one.
                i += 2;
                continue;
            }
            self.lex = Lex::Normal;
            // A value inside a row, as most strings are, changes nothing.
            if !self.skippable() {
                self.token(Tok::Str);
            }
            return Some(i + 1);
        }
    }

    /// True when no token but those `find_special` stops at can change the statement: a
    /// statement being skipped, or the inside of a row of `VALUES`. Words, numbers, and
    /// punctuation other than `(`, `)` and `;` are then without effect.
    fn skippable(&self) -> bool {
        match self.stmt {
            Stmt::Skip => true,
            Stmt::Values { depth, .. } => depth > 0,
            _ => false,
        }
    }

    /// Ends the stream. Fails when it stops inside a string, identifier, comment or
    /// unterminated `INSERT`: a truncated dump.
    pub fn finish(mut self) -> Result<Counts, String> {
        let unterminated = match self.lex {
            Lex::Str {
                quote_pending: false,
                ..
            } => Some("inside a quoted string"),
            Lex::Ident {
                quote_pending: false,
            } => Some("inside a quoted identifier"),
            Lex::BlockComment { .. } => Some("inside a /* comment */"),
            _ => None,
        };
        if let Some(what) = unterminated {
            return Err(format!("the dump ends {what}"));
        }
        // Flush a token that was waiting for the byte after it.
        match self.lex {
            Lex::Word => self.end_word(),
            Lex::Ident { .. } => self.end_ident(),
            Lex::Str { .. } => self.token(Tok::Str),
            _ => {}
        }
        if let Stmt::Values { .. } | Stmt::InsertTarget { .. } = self.stmt {
            return Err("the dump ends inside an INSERT statement".into());
        }
        self.end_statement();
        Ok(self.counts())
    }

    /// Counts so far (for a dump that is still running, or after `finish`).
    pub fn counts(&self) -> Counts {
        let name = |n: &Vec<u8>| String::from_utf8_lossy(n).into_owned();
        let mut rows: BTreeMap<String, u64> = self.created.iter().map(|n| (name(n), 0)).collect();
        for (table, count) in &self.rows {
            *rows.entry(name(table)).or_default() += count;
        }
        Counts {
            rows,
            created: self.created.iter().map(name).collect(),
        }
    }

    fn step(&mut self, b: u8) {
        // A byte that ends a token is looked at again in the state the token left behind.
        loop {
            match self.lex {
                Lex::Normal => match b {
                    b'\'' | b'"' => {
                        self.lex = Lex::Str {
                            quote: b,
                            escape: false,
                            quote_pending: false,
                        }
                    }
                    b'`' => {
                        self.ident.clear();
                        self.lex = Lex::Ident {
                            quote_pending: false,
                        };
                    }
                    b'-' => self.lex = Lex::Dash,
                    b'/' => self.lex = Lex::Slash,
                    b'#' => self.lex = Lex::LineComment,
                    _ if is_word_byte(b) => {
                        self.word.clear();
                        self.word.push(b);
                        self.lex = Lex::Word;
                    }
                    _ if b.is_ascii_whitespace() => {}
                    _ => self.token(Tok::Punct(b)),
                },
                Lex::Word => {
                    if is_word_byte(b) {
                        if self.word.len() < WORD_KEEP {
                            self.word.push(b);
                        }
                    } else {
                        self.lex = Lex::Normal;
                        self.end_word();
                        continue;
                    }
                }
                Lex::Ident { quote_pending } => {
                    if quote_pending {
                        if b == b'`' {
                            self.push_ident(b'`');
                            self.lex = Lex::Ident {
                                quote_pending: false,
                            };
                        } else {
                            self.lex = Lex::Normal;
                            self.end_ident();
                            continue;
                        }
                    } else if b == b'`' {
                        self.lex = Lex::Ident {
                            quote_pending: true,
                        };
                    } else {
                        self.push_ident(b);
                    }
                }
                Lex::Str {
                    quote,
                    escape,
                    quote_pending,
                } => {
                    if quote_pending {
                        if b == quote {
                            // A doubled quote is one quote character inside the string.
                            self.lex = Lex::Str {
                                quote,
                                escape: false,
                                quote_pending: false,
                            };
                        } else {
                            self.lex = Lex::Normal;
                            self.token(Tok::Str);
                            continue;
                        }
                    } else if escape {
                        self.lex = Lex::Str {
                            quote,
                            escape: false,
                            quote_pending: false,
                        };
                    } else if b == b'\\' {
                        self.lex = Lex::Str {
                            quote,
                            escape: true,
                            quote_pending: false,
                        };
                    } else if b == quote {
                        self.lex = Lex::Str {
                            quote,
                            escape: false,
                            quote_pending: true,
                        };
                    }
                }
                Lex::LineComment => {
                    if b == b'\n' {
                        self.lex = Lex::Normal;
                    }
                }
                Lex::BlockComment { star } => {
                    self.lex = if star && b == b'/' {
                        Lex::Normal
                    } else {
                        Lex::BlockComment { star: b == b'*' }
                    };
                }
                Lex::Dash => {
                    if b == b'-' {
                        self.lex = Lex::DashDash;
                    } else {
                        self.lex = Lex::Normal;
                        self.token(Tok::Punct(b'-'));
                        continue;
                    }
                }
                Lex::DashDash => {
                    // `--` starts a comment only when followed by a space or control byte.
                    if b <= b' ' {
                        self.lex = if b == b'\n' {
                            Lex::Normal
                        } else {
                            Lex::LineComment
                        };
                    } else {
                        self.lex = Lex::Normal;
                        self.token(Tok::Punct(b'-'));
                        self.token(Tok::Punct(b'-'));
                        continue;
                    }
                }
                Lex::Slash => {
                    if b == b'*' {
                        self.lex = Lex::BlockComment { star: false };
                    } else {
                        self.lex = Lex::Normal;
                        self.token(Tok::Punct(b'/'));
                        continue;
                    }
                }
                Lex::Delimiter => {
                    if b == b'\n' {
                        let delimiter = self.delimiter.trim_ascii();
                        self.custom_delimiter = !delimiter.is_empty() && delimiter != b";";
                        self.lex = Lex::Normal;
                        self.stmt = Stmt::Start;
                    } else if self.delimiter.len() < DELIMITER_KEEP {
                        self.delimiter.push(b);
                    }
                }
            }
            return;
        }
    }

    fn push_ident(&mut self, b: u8) {
        if self.ident.len() < IDENT_KEEP {
            self.ident.push(b);
        }
    }

    fn end_word(&mut self) {
        self.token(Tok::Word);
    }

    fn end_ident(&mut self) {
        self.token(Tok::Ident);
    }

    fn word_is(&self, keyword: &str) -> bool {
        self.word.eq_ignore_ascii_case(keyword.as_bytes())
    }

    /// The name a `Word` or `Ident` token carries.
    fn name(&self, tok: Tok) -> Vec<u8> {
        match tok {
            Tok::Ident => self.ident.clone(),
            _ => self.word.clone(),
        }
    }

    #[inline]
    fn token(&mut self, tok: Tok) {
        // The tokens of a row list, counted in place.
        if let Stmt::Values { depth, rows, .. } = &mut self.stmt {
            match tok {
                Tok::Punct(b'(') => {
                    if *depth == 0 {
                        *rows += 1;
                    }
                    *depth += 1;
                    return;
                }
                Tok::Punct(b')') => {
                    *depth = depth.saturating_sub(1);
                    return;
                }
                // `;` ends the statement; a word between tuples (`ON DUPLICATE KEY UPDATE`)
                // ends the row list.
                Tok::Punct(b';') => {}
                Tok::Word if *depth == 0 => {}
                _ => return,
            }
        }
        self.statement_token(tok);
    }

    fn statement_token(&mut self, tok: Tok) {
        if let Tok::Punct(b';') = tok {
            self.end_statement();
            return;
        }
        let stmt = std::mem::replace(&mut self.stmt, Stmt::Skip);
        self.stmt = match (stmt, tok) {
            (Stmt::Start, Tok::Word) if self.word_is("DELIMITER") => {
                self.delimiter.clear();
                self.lex = Lex::Delimiter;
                Stmt::Start
            }
            // Inside routine and trigger bodies nothing is table data.
            (Stmt::Start, _) if self.custom_delimiter => Stmt::Skip,
            (Stmt::Start, Tok::Word) if self.word_is("INSERT") || self.word_is("REPLACE") => {
                Stmt::Insert
            }
            (Stmt::Start, Tok::Word) if self.word_is("CREATE") => Stmt::Create,
            (Stmt::Create, Tok::Word) if self.word_is("TABLE") => Stmt::CreateTable,
            (Stmt::Create, Tok::Word) if self.word_is("TEMPORARY") => Stmt::Create,
            (Stmt::CreateTable, Tok::Word)
                if self.word_is("IF") || self.word_is("NOT") || self.word_is("EXISTS") =>
            {
                Stmt::CreateTable
            }
            (Stmt::CreateTable, Tok::Word | Tok::Ident) => Stmt::CreateName {
                name: self.name(tok),
                after_dot: false,
            },
            (
                Stmt::CreateName {
                    name,
                    after_dot: false,
                },
                Tok::Punct(b'.'),
            ) => Stmt::CreateName {
                name,
                after_dot: true,
            },
            (
                Stmt::CreateName {
                    after_dot: true, ..
                },
                Tok::Word | Tok::Ident,
            ) => Stmt::CreateName {
                name: self.name(tok),
                after_dot: false,
            },
            (Stmt::CreateName { name, .. }, _) => {
                self.created.insert(name);
                Stmt::Skip
            }
            (Stmt::Insert, Tok::Word)
                if self.word_is("INTO")
                    || self.word_is("IGNORE")
                    || self.word_is("LOW_PRIORITY")
                    || self.word_is("DELAYED")
                    || self.word_is("HIGH_PRIORITY") =>
            {
                Stmt::Insert
            }
            (Stmt::Insert, Tok::Word | Tok::Ident) => Stmt::InsertTarget {
                name: self.name(tok),
                after_dot: false,
                depth: 0,
            },
            (
                Stmt::InsertTarget {
                    name,
                    after_dot,
                    depth,
                },
                tok,
            ) => self.insert_target(name, after_dot, depth, tok),
            (Stmt::Values { name, depth, rows }, tok) => match tok {
                Tok::Punct(b'(') => Stmt::Values {
                    name,
                    depth: depth + 1,
                    rows: if depth == 0 { rows + 1 } else { rows },
                },
                Tok::Punct(b')') => Stmt::Values {
                    name,
                    depth: depth.saturating_sub(1),
                    rows,
                },
                // A word between tuples (`ON DUPLICATE KEY UPDATE`) ends the row list.
                Tok::Word if depth == 0 => {
                    self.add_rows(name, rows);
                    Stmt::Skip
                }
                _ => Stmt::Values { name, depth, rows },
            },
            _ => Stmt::Skip,
        };
    }

    fn insert_target(&mut self, name: Vec<u8>, after_dot: bool, depth: u32, tok: Tok) -> Stmt {
        match tok {
            Tok::Punct(b'.') if depth == 0 && !after_dot => Stmt::InsertTarget {
                name,
                after_dot: true,
                depth,
            },
            Tok::Word | Tok::Ident if after_dot => Stmt::InsertTarget {
                name: self.name(tok),
                after_dot: false,
                depth,
            },
            Tok::Punct(b'(') => Stmt::InsertTarget {
                name,
                after_dot: false,
                depth: depth + 1,
            },
            Tok::Punct(b')') => Stmt::InsertTarget {
                name,
                after_dot: false,
                depth: depth.saturating_sub(1),
            },
            Tok::Word if depth == 0 && (self.word_is("VALUES") || self.word_is("VALUE")) => {
                Stmt::Values {
                    name,
                    depth: 0,
                    rows: 0,
                }
            }
            // `INSERT ... SELECT` / `SET`: not a form the dump tools write; no rows counted.
            Tok::Word if depth == 0 => Stmt::Skip,
            _ => Stmt::InsertTarget {
                name,
                after_dot: false,
                depth,
            },
        }
    }

    fn add_rows(&mut self, name: Vec<u8>, rows: u64) {
        *self.rows.entry(name).or_default() += rows;
    }

    fn end_statement(&mut self) {
        match std::mem::replace(&mut self.stmt, Stmt::Start) {
            Stmt::Values { name, rows, .. } => self.add_rows(name, rows),
            Stmt::CreateName { name, .. } => {
                self.created.insert(name);
            }
            _ => {}
        }
    }
}

/// The bytes that can change the state while `skippable`: quotes and comment starts change
/// the lexer's, `(`, `)` and `;` the statement's. Pairs of bytes that differ in one bit are
/// tested together, which lets `&` (0x26) through as well; `step` reads it exactly.
#[inline(always)]
fn is_special(b: u8) -> bool {
    let b1 = b | 1;
    (b1 == (b'"' | 1)) // " #
        | (b1 == (b'\'' | 1)) // & '
        | (b1 == (b'(' | 1)) // ( )
        | ((b | 2) == b'/') // - /
        | (b == b';')
        | (b == b'`')
}

/// The position of the first `is_special` byte, 32 bytes at a time: the compiler turns the
/// block into vector compares, and each byte of `lo`/`hi` is 1 where the block has one.
fn find_special(hay: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut base = 0;
    for block in hay.chunks_exact(BLOCK) {
        let mut hits = [0u8; BLOCK];
        for (hit, &b) in hits.iter_mut().zip(block) {
            *hit = u8::from(is_special(b));
        }
        let (lo, hi) = hits.split_at(BLOCK / 2);
        let lo = u128::from_le_bytes(lo.try_into().expect("16 bytes"));
        let hi = u128::from_le_bytes(hi.try_into().expect("16 bytes"));
        if lo | hi != 0 {
            let bit = if lo != 0 {
                lo.trailing_zeros()
            } else {
                128 + hi.trailing_zeros()
            };
            return Some(base + bit as usize / 8);
        }
        base += BLOCK;
    }
    hay[base..]
        .iter()
        .position(|&b| is_special(b))
        .map(|n| base + n)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(dump: &str) -> Counts {
        let mut c = RowCounter::new();
        c.feed(dump.as_bytes());
        c.finish().expect("complete dump")
    }

    fn rows(counts: &Counts) -> Vec<(&str, u64)> {
        counts.rows.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }

    #[test]
    fn counts_tuples_of_extended_inserts() {
        let c = count(
            "CREATE TABLE `t` (\n `s` varchar(5) DEFAULT 'x),(;'\n);\n\
             INSERT INTO `t` VALUES (1,'a\\'b'),(2,'),(''');\nINSERT INTO `t` VALUES\n(3,NULL);\n",
        );
        assert_eq!(rows(&c), [("t", 3)]);
    }

    #[test]
    fn created_tables_without_data_have_zero_rows() {
        let c =
            count("CREATE TABLE `empty` (`x` int);\nCREATE TABLE IF NOT EXISTS `db`.`q` (x int);");
        assert_eq!(rows(&c), [("empty", 0), ("q", 0)]);
        assert_eq!(c.created.len(), 2);
    }

    #[test]
    fn doubled_backquotes_and_reserved_words_name_tables() {
        let c = count(
            "CREATE TABLE `we``ird` (x int);\nINSERT INTO `we``ird` VALUES (1),(2);\nINSERT INTO `order` VALUES (0x00FF,_binary 'a\\0b');",
        );
        assert_eq!(rows(&c), [("order", 1), ("we`ird", 2)]);
    }

    #[test]
    fn comments_views_and_routine_bodies_are_not_data() {
        let c = count(
            "/*M!999999\\- enable the sandbox mode */ \n-- INSERT INTO `t` VALUES (1);\n\
             # INSERT INTO `t` VALUES (1);\n\
             /*!50001 CREATE TABLE `v` (`id` tinyint NOT NULL) ENGINE=MyISAM */;\n\
             /*!50001 CREATE VIEW `v2` AS SELECT 1 AS `id` */;\n\
             DELIMITER ;;\nCREATE PROCEDURE `p`()\nBEGIN INSERT INTO t VALUES (9),(10); END\n;;\nDELIMITER ;\n\
             INSERT INTO `t` VALUES (1);\n-- Dump completed\n",
        );
        assert_eq!(rows(&c), [("t", 1)]);
        assert!(c.created.is_empty());
    }

    #[test]
    fn column_lists_and_on_duplicate_key_do_not_count_as_rows() {
        let c = count(
            "INSERT IGNORE INTO `t` (`a`, `b`) VALUES (1,2),(3,4) ON DUPLICATE KEY UPDATE a=VALUES(a);",
        );
        assert_eq!(rows(&c), [("t", 2)]);
    }

    #[test]
    fn truncated_dumps_are_reported() {
        for cut in [
            "INSERT INTO `t` VALUES (1,'abc",
            "INSERT INTO `t` VALUES (1)",
            "/* x",
        ] {
            let mut c = RowCounter::new();
            c.feed(cut.as_bytes());
            assert!(c.finish().is_err(), "{cut}");
        }
    }

    /// The lexer without `feed`'s skipping: every byte through `step`.
    fn feed_stepwise(c: &mut RowCounter, chunk: &[u8]) {
        for &b in chunk {
            c.step(b);
        }
    }

    fn fragment() -> impl proptest::strategy::Strategy<Value = &'static [u8]> {
        const FRAGMENTS: &[&[u8]] = &[
            b"INSERT",
            b"INTO",
            b"VALUES",
            b"REPLACE",
            b"CREATE",
            b"TABLE",
            b"DELIMITER",
            b"ON",
            b"SELECT",
            b"`t`",
            b"t",
            b"x.y",
            b"1",
            b"-1.5e3",
            b"0xFF",
            b"NULL",
            b"_binary",
            b" ",
            b"\n",
            b"\t",
            b"(",
            b")",
            b",",
            b";",
            b";;",
            b"'",
            b"\"",
            b"`",
            b"\\",
            b"-",
            b"--",
            b"-- ",
            b"/",
            b"/*",
            b"*/",
            b"*",
            b"#",
            b".",
            b"&",
            b"=",
            b"\x80",
            b"\xff",
            b"abc def ghi jkl mno pqr stu vwx",
            b"'it''s'",
            b"'a\\'b'",
            b"\"q\"\"q\"",
            b"0123456789abcdef0123456789abcdef0123456789",
        ];
        proptest::sample::select(FRAGMENTS)
    }

    const PREFIXES: &[&[u8]] = &[
        b"",
        b"INSERT INTO `t` VALUES (",
        b"INSERT INTO t VALUES ",
        b"DROP x ",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// `feed`'s jumps leave the counts exactly as reading every byte would, on any
        /// input, however it is cut.
        #[test]
        fn skipping_equals_stepping(
            prefix in proptest::sample::select(PREFIXES),
            parts in proptest::collection::vec(fragment(), 0..80),
            cuts in proptest::collection::vec(1usize..40, 1..10),
        ) {
            let mut input = prefix.to_vec();
            for p in parts {
                input.extend_from_slice(p);
            }
            let (mut fast, mut slow) = (RowCounter::new(), RowCounter::new());
            let mut rest = &input[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
                fast.feed(chunk);
                feed_stepwise(&mut slow, chunk);
                proptest::prop_assert_eq!(fast.counts(), slow.counts());
                rest = tail;
            }
            proptest::prop_assert_eq!(fast.finish(), slow.finish());
        }
    }

    #[test]
    fn byte_at_a_time_equals_whole() {
        let dump = "CREATE TABLE `a``b` (x int);\nINSERT INTO `a``b` VALUES ('it''s',\"q\"\"q\"),('\\\\'),(-1.5e3);\n--\n";
        let mut c = RowCounter::new();
        for b in dump.as_bytes() {
            c.feed(std::slice::from_ref(b));
        }
        assert_eq!(c.finish().unwrap(), count(dump));
        assert_eq!(rows(&count(dump)), [("a`b", 3)]);
    }
}
