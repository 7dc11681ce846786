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
