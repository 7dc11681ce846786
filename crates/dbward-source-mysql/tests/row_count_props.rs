//! Property tests for the streaming row counter: dumps rendered the way mariadb-dump renders
//! them, with hostile values, cut at arbitrary chunk boundaries, must count exactly.

use std::collections::BTreeMap;

use dbward_source_mysql::RowCounter;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Val {
    Null,
    Int(i64),
    Decimal(i32, u16),
    /// Text, escaped like `mysql_real_escape_string`; `doubled` uses `''` for quotes as
    /// other writers do.
    Text {
        s: String,
        doubled: bool,
    },
    /// `--hex-blob` rendering.
    Hex(Vec<u8>),
    /// `_binary '...'` rendering (without `--hex-blob`).
    Binary(Vec<u8>),
}

fn escape(bytes: &[u8], doubled: bool, out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            0 => out.extend_from_slice(b"\\0"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' if doubled => out.extend_from_slice(b"''"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'"' => out.extend_from_slice(b"\\\""),
            0x1a => out.extend_from_slice(b"\\Z"),
            b => out.push(b),
        }
    }
}

fn render_val(v: &Val, out: &mut Vec<u8>) {
    match v {
        Val::Null => out.extend_from_slice(b"NULL"),
        Val::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Val::Decimal(i, f) => out.extend_from_slice(format!("{i}.{f:03}").as_bytes()),
        Val::Text { s, doubled } => {
            out.push(b'\'');
            escape(s.as_bytes(), *doubled, out);
            out.push(b'\'');
        }
        Val::Hex(b) if b.is_empty() => out.extend_from_slice(b"''"),
        Val::Hex(b) => {
            out.extend_from_slice(b"0x");
            for byte in b {
                out.extend_from_slice(format!("{byte:02X}").as_bytes());
            }
        }
        Val::Binary(b) => {
            out.extend_from_slice(b"_binary '");
            escape(b, false, out);
            out.push(b'\'');
        }
    }
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    rows: Vec<Vec<Val>>,
    /// Rows per INSERT statement, cycled: mariadb-dump starts a new statement when one
    /// reaches net_buffer_length.
    per_insert: usize,
    newline_rows: bool,
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("),(".to_string()),
        Just("');\nINSERT INTO `x` VALUES (1);".to_string()),
        Just("\\".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("\"".to_string()),
        Just("-- not a comment\n/* nor this */ # nor this".to_string()),
        Just("😀 naïve ümlaut 漢字".to_string()),
        Just(";;\nDELIMITER ;;\n".to_string()),
        Just("`".to_string()),
        ".{0,20}",
        "[(),;'\"\\\\`\n]{0,12}",
    ]
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        Just(Val::Null),
        any::<i64>().prop_map(Val::Int),
        (any::<i32>(), 0u16..1000).prop_map(|(i, f)| Val::Decimal(i, f)),
        (hostile_text(), any::<bool>()).prop_map(|(s, doubled)| Val::Text { s, doubled }),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Val::Hex),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Val::Binary),
    ]
}

fn table_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("order".to_string()),
        Just("we`ird".to_string()),
        Just("t);".to_string()),
        Just("naïve😀".to_string()),
        Just("select".to_string()),
        Just("a b".to_string()),
        "[a-z_][a-z0-9_]{0,10}",
    ]
}

fn table() -> impl Strategy<Value = Table> {
    (
        table_name(),
        1usize..4,
        0usize..25,
        1usize..6,
        any::<bool>(),
    )
        .prop_flat_map(|(name, width, nrows, per_insert, newline_rows)| {
            proptest::collection::vec(proptest::collection::vec(val(), width), nrows).prop_map(
                move |rows| Table {
                    name: name.clone(),
                    rows,
                    per_insert,
                    newline_rows,
                },
            )
        })
}

fn tables() -> impl Strategy<Value = Vec<Table>> {
    proptest::collection::vec(table(), 0..6).prop_map(|mut ts| {
        let mut seen = std::collections::BTreeSet::new();
        ts.retain(|t| seen.insert(t.name.clone()));
        ts
    })
}

/// A whole dump in mariadb-dump's layout, with a view, a trigger and a routine whose body
/// inserts into the first table.
fn render_dump(tables: &[Table]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n--\n\
          /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
          /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n\n",
    );
    for t in tables {
        let q = quote_ident(&t.name);
        out.extend_from_slice(
            format!(
                "--\n-- Table structure for table {q}\n--\n\nDROP TABLE IF EXISTS {q};\n\
                 /*!40101 SET character_set_client = utf8mb4 */;\n\
                 CREATE TABLE {q} (\n  `id` int(11) NOT NULL,\n  `s` varchar(50) DEFAULT 'x),(;' COMMENT 'it''s; INSERT INTO {q} VALUES (1)',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\n\
                 --\n-- Dumping data for table {q}\n--\n\nLOCK TABLES {q} WRITE;\n\
                 /*!40000 ALTER TABLE {q} DISABLE KEYS */;\n"
            )
            .as_bytes(),
        );
        for chunk in t.rows.chunks(t.per_insert) {
            out.extend_from_slice(format!("INSERT INTO {q} VALUES ").as_bytes());
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if t.newline_rows {
                    out.push(b'\n');
                }
                out.push(b'(');
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    render_val(v, &mut out);
                }
                out.push(b')');
            }
            out.extend_from_slice(b";\n");
        }
        out.extend_from_slice(
            format!("/*!40000 ALTER TABLE {q} ENABLE KEYS */;\nUNLOCK TABLES;\n").as_bytes(),
        );
    }
    if let Some(first) = tables.first() {
        let q = quote_ident(&first.name);
        out.extend_from_slice(
            format!(
                "DELIMITER ;;\n/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER tr BEFORE INSERT ON {q} FOR EACH ROW SET NEW.s='z' */;;\nDELIMITER ;\n\
                 /*!50001 CREATE TABLE `v` (\n  `id` tinyint NOT NULL\n) ENGINE=MyISAM */;\n\
                 /*!50001 CREATE VIEW `v2` AS SELECT\n 1 AS `id` */;\n\
                 DELIMITER ;;\nCREATE DEFINER=`root`@`%` PROCEDURE `p`()\nBEGIN\n  INSERT INTO {q} VALUES (9,'p'),(10,'q');\nEND ;;\nDELIMITER ;\n"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n-- Dump completed\n");
    out
}

fn count_in_chunks(dump: &[u8], cuts: &[usize]) -> BTreeMap<String, u64> {
    let mut counter = RowCounter::new();
    let mut rest = dump;
    for cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*cut).min(rest.len()));
        counter.feed(chunk);
        rest = tail;
    }
    counter.finish().expect("a complete dump").rows
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn counts_match_at_any_chunk_boundaries(
        tables in tables(),
        cuts in proptest::collection::vec(prop_oneof![Just(1usize), 1usize..300], 1..40),
    ) {
        let dump = render_dump(&tables);
        let expected: BTreeMap<String, u64> =
            tables.iter().map(|t| (t.name.clone(), t.rows.len() as u64)).collect();
        prop_assert_eq!(count_in_chunks(&dump, &cuts), expected);
    }

    #[test]
    fn a_dump_cut_short_inside_data_is_noticed(tables in tables(), frac in 0.0f64..1.0) {
        // Any prefix that ends inside an INSERT or a string must fail `finish`; a prefix
        // that ends between statements must not count rows that were not there.
        let dump = render_dump(&tables);
        let cut = (dump.len() as f64 * frac) as usize;
        let mut counter = RowCounter::new();
        counter.feed(&dump[..cut]);
        if let Ok(counts) = counter.finish() {
            for t in &tables {
                let got = counts.rows.get(&t.name).copied().unwrap_or(0);
                prop_assert!(got <= t.rows.len() as u64);
            }
        }
    }
}

#[test]
fn byte_at_a_time_on_a_hostile_sample() {
    let tables = vec![Table {
        name: "we`ird".into(),
        rows: vec![
            vec![
                Val::Text {
                    s: "'),(\\".into(),
                    doubled: false,
                },
                Val::Null,
            ],
            vec![
                Val::Text {
                    s: "''".into(),
                    doubled: true,
                },
                Val::Binary(vec![0, b'\'', b'\\', 0xff]),
            ],
            vec![Val::Hex(vec![0x29, 0x2c, 0x28]), Val::Decimal(-3, 5)],
        ],
        per_insert: 2,
        newline_rows: true,
    }];
    let dump = render_dump(&tables);
    let counts = count_in_chunks(&dump, &[1]);
    assert_eq!(counts.get("we`ird"), Some(&3));
}

/// Throughput of the counter on a data-heavy dump; run with
/// `cargo test --release -p dbward-source-mysql --test row_count_props -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let row =
        b"(123456,'some text with \\'quotes\\' and ),( inside',0x00FF00FF00FF00FF,NULL,3.14159)";
    let mut dump = b"CREATE TABLE `t` (`id` int);\n".to_vec();
    let mut rows = 0u64;
    while dump.len() < 256 * 1024 * 1024 {
        dump.extend_from_slice(b"INSERT INTO `t` VALUES ");
        for i in 0..10_000 {
            if i > 0 {
                dump.push(b',');
            }
            dump.extend_from_slice(row);
            rows += 1;
        }
        dump.extend_from_slice(b";\n");
    }
    let start = std::time::Instant::now();
    let counts = count_in_chunks(&dump, &[64 * 1024]);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(counts.get("t"), Some(&rows));
    println!(
        "{} MiB, {rows} rows in {secs:.2}s: {:.0} MiB/s",
        dump.len() >> 20,
        (dump.len() >> 20) as f64 / secs
    );
}

/// A deterministic generator (splitmix64) for the realistic benchmark dump.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Prose-like text: words, with now and then a quote, a backslash, a newline, a
    /// double quote, SQL punctuation or non-ASCII, as user-entered text has.
    fn text(&mut self, min: usize, max: usize) -> String {
        const WORDS: &[&str] = &[
            "the",
            "order",
            "shipped",
            "customer",
            "address",
            "street",
            "payment",
            "refund",
            "delivery",
            "status",
            "pending",
            "invoice",
            "Müller",
            "café",
            "東京",
            "note",
            "O'Brien",
            "it's",
            "C:\\temp",
            "\"quoted\"",
            "line\nbreak",
            "a),(b",
            "50%",
            "x;y",
            "-- not",
            "/* nor */",
            "#tag",
            "`tick`",
            "tab\there",
            "123",
            "4.5",
        ];
        let len = min + self.below(max - min + 1);
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            if !s.is_empty() {
                s.push(' ');
            }
            // Mostly plain words; the hostile ones about one word in six.
            let w = if self.below(6) == 0 {
                WORDS[self.below(WORDS.len())]
            } else {
                WORDS[self.below(12)]
            };
            s.push_str(w);
        }
        s
    }
}

/// A data-heavy dump in mariadb-dump's layout (extended INSERTs of about 1 MB, as
/// net_buffer_length makes them) with four kinds of table: people with names, e-mails and
/// free text; narrow numeric orders; hex-blob attachments; logs with `_binary` UUIDs.
fn realistic_dump(size: usize) -> (Vec<u8>, BTreeMap<String, u64>) {
    const INSERT_LINE: usize = 1_000_000;
    let mut rng = Rng(0x5eed);
    let mut out = Vec::with_capacity(size + 2 * INSERT_LINE);
    let mut expected = BTreeMap::new();
    out.extend_from_slice(
        b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n--\n\
          /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\n",
    );
    let tables = ["customers", "orders", "attachments", "log"];
    let mut id = 0i64;
    for (k, table) in tables.iter().enumerate() {
        out.extend_from_slice(
            format!(
                "--\n-- Table structure for table `{table}`\n--\n\nDROP TABLE IF EXISTS `{table}`;\n\
                 CREATE TABLE `{table}` (\n  `id` int(11) NOT NULL,\n  `v` text DEFAULT 'a),(b',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\n\
                 --\n-- Dumping data for table `{table}`\n--\n\nLOCK TABLES `{table}` WRITE;\n\
                 /*!40000 ALTER TABLE `{table}` DISABLE KEYS */;\n"
            )
            .as_bytes(),
        );
        let end = size * (k + 1) / tables.len();
        let mut rows = 0u64;
        while out.len() < end {
            let line_start = out.len();
            out.extend_from_slice(format!("INSERT INTO `{table}` VALUES ").as_bytes());
            let mut first = true;
            while out.len() - line_start < INSERT_LINE {
                if !first {
                    out.push(b',');
                }
                first = false;
                id += 1;
                let text = |rng: &mut Rng, min, max| Val::Text {
                    s: rng.text(min, max),
                    doubled: false,
                };
                let row = match k {
                    0 => vec![
                        Val::Int(id),
                        text(&mut rng, 8, 24),
                        Val::Text {
                            s: format!("user{}@example.com", rng.below(1_000_000)),
                            doubled: false,
                        },
                        text(&mut rng, 20, 200),
                        Val::Text {
                            s: format!("2024-0{}-1{} 12:34:56", 1 + rng.below(9), rng.below(10)),
                            doubled: false,
                        },
                        Val::Decimal(rng.below(100_000) as i32 - 500, rng.below(1000) as u16),
                        if rng.below(3) == 0 {
                            Val::Null
                        } else {
                            text(&mut rng, 0, 40)
                        },
                    ],
                    1 => vec![
                        Val::Int(id),
                        Val::Int(rng.below(1_000_000) as i64),
                        Val::Int(rng.below(5) as i64),
                        Val::Decimal(rng.below(10_000) as i32, rng.below(100) as u16),
                        Val::Text {
                            s: "2024-05-06 07:08:09".into(),
                            doubled: false,
                        },
                        Val::Null,
                    ],
                    2 => {
                        let n = 16 + rng.below(500);
                        vec![
                            Val::Int(id),
                            text(&mut rng, 5, 20),
                            Val::Hex(rng.bytes(n)),
                            Val::Int(n as i64),
                        ]
                    }
                    _ => vec![
                        Val::Int(id),
                        Val::Binary(rng.bytes(16)),
                        Val::Int(rng.below(8) as i64),
                        text(&mut rng, 20, 300),
                    ],
                };
                out.push(b'(');
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    render_val(v, &mut out);
                }
                out.push(b')');
                rows += 1;
            }
            out.extend_from_slice(b";\n");
        }
        out.extend_from_slice(
            format!("/*!40000 ALTER TABLE `{table}` ENABLE KEYS */;\nUNLOCK TABLES;\n").as_bytes(),
        );
        expected.insert(table.to_string(), rows);
    }
    out.extend_from_slice(b"/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n-- Dump completed\n");
    (out, expected)
}

/// Throughput on a realistic generated dump, median of 5 runs per chunk size; run with
/// `cargo test --release -p dbward-source-mysql --test row_count_props -- --ignored --nocapture realistic`.
#[test]
#[ignore]
fn throughput_realistic() {
    let (dump, expected) = realistic_dump(128 << 20);
    let total: u64 = expected.values().sum();
    for chunk in [64 * 1024, 8 * 1024] {
        let mut secs: Vec<f64> = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                let counts = count_in_chunks(&dump, &[chunk]);
                let secs = start.elapsed().as_secs_f64();
                assert_eq!(counts, expected);
                secs
            })
            .collect();
        secs.sort_by(f64::total_cmp);
        let median = secs[2];
        println!(
            "realistic dump, {:.0} MB, {total} rows, {} KiB chunks: median {:.0} MB/s ({:.0} MiB/s), runs {:?}",
            dump.len() as f64 / 1e6,
            chunk / 1024,
            dump.len() as f64 / 1e6 / median,
            dump.len() as f64 / (1 << 20) as f64 / median,
            secs.iter()
                .map(|s| format!("{:.0}", dump.len() as f64 / 1e6 / s))
                .collect::<Vec<_>>(),
        );
    }
}
