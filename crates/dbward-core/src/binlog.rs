//! MariaDB/MySQL binary log vocabulary for point-in-time recovery: the names of binlog files
//! (`mariadb-bin.000042`: a base name and a sequence number) and the position a logical dump
//! of a `pitr = true` source was consistent at (`--master-data=2`), read from the dump's
//! header and recorded in its signed manifest.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where in the binary log a dump's consistent snapshot was taken: replay starts here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogPosition {
    /// The binlog file (`mariadb-bin.000003`).
    pub file: String,
    /// The byte offset in it of the first event after the snapshot.
    pub position: u64,
}

/// A text that is not a binlog file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a binlog file name: expected a base name of letters, digits, '-' and '_', a dot and a sequence number, like mariadb-bin.000042"
)]
pub struct BinlogNameError(pub String);

/// A binlog file name checked to be one the server writes: safe as one object-key segment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BinlogFileName {
    name: String,
    base_len: usize,
    number: u64,
}

impl BinlogFileName {
    pub fn parse(name: &str) -> Result<BinlogFileName, BinlogNameError> {
        let bad = || BinlogNameError(name.to_string());
        let (base, digits) = name.rsplit_once('.').ok_or_else(bad)?;
        let base_ok = !base.is_empty()
            && base.len() <= 200
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !base_ok || digits.len() < 6 || digits.len() > 10 {
            return Err(bad());
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(BinlogFileName {
            name: name.to_string(),
            base_len: base.len(),
            number: digits.parse().map_err(|_| bad())?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The base name (`mariadb-bin`): files of one server share it.
    pub fn base(&self) -> &str {
        &self.name[..self.base_len]
    }

    /// The sequence number: the server numbers files one after the other.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The file that follows this one (same base, next number, same width at least).
    pub fn next(&self) -> BinlogFileName {
        let width = self.name.len() - self.base_len - 1;
        let name = format!("{}.{:0width$}", self.base(), self.number + 1);
        BinlogFileName::parse(&name).expect("the successor of a binlog name is one")
    }
}

impl fmt::Display for BinlogFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The binlog files missing between `start` and the newest archived file of its base name:
/// `(count, the first `limit` names)`. `archived` may hold anything; other names are
/// ignored. Nothing archived at or after `start` counts `start` itself as missing.
pub fn missing_files(archived: &[String], start: &str, limit: usize) -> (u64, Vec<String>) {
    let Ok(start) = BinlogFileName::parse(start) else {
        return (0, Vec::new());
    };
    let mut present: Vec<BinlogFileName> = archived
        .iter()
        .filter_map(|n| BinlogFileName::parse(n).ok())
        .filter(|n| n.base() == start.base() && n.number() >= start.number())
        .collect();
    present.sort_by_key(|n| n.number());
    present.dedup_by_key(|n| n.number());
    if present.is_empty() {
        return (1, vec![start.to_string()]);
    }
    let mut count = 0;
    let mut named = Vec::new();
    let mut expected = start;
    for file in present {
        if file.number() > expected.number() {
            count += file.number() - expected.number();
            while expected.number() < file.number() && named.len() < limit {
                named.push(expected.to_string());
                expected = expected.next();
            }
        }
        expected = file.next();
    }
    (count, named)
}

/// Reads the binlog position from the header of a dump made with `--master-data=2`: the
/// commented `CHANGE MASTER TO MASTER_LOG_FILE='f', MASTER_LOG_POS=p;` (MySQL 8.0.26+ writes
/// `CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=..., SOURCE_LOG_POS=...`).
pub fn position_from_dump_header(head: &str) -> Option<BinlogPosition> {
    for line in head.lines().take(200) {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("-- CHANGE MASTER TO ")
            .or_else(|| line.strip_prefix("-- CHANGE REPLICATION SOURCE TO "))
        else {
            continue;
        };
        let value = |keys: [&str; 2]| {
            rest.trim_end_matches(';').split(',').find_map(|part| {
                let (key, value) = part.trim().split_once('=')?;
                keys.contains(&key.trim())
                    .then(|| value.trim().trim_matches('\'').to_string())
            })
        };
        let file = value(["MASTER_LOG_FILE", "SOURCE_LOG_FILE"])?;
        let position = value(["MASTER_LOG_POS", "SOURCE_LOG_POS"])?.parse().ok()?;
        BinlogFileName::parse(&file).ok()?;
        return Some(BinlogPosition { file, position });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binlog_names_are_parsed_and_anything_else_is_refused() {
        let n = BinlogFileName::parse("mariadb-bin.000042").unwrap();
        assert_eq!((n.base(), n.number()), ("mariadb-bin", 42));
        assert_eq!(n.next().as_str(), "mariadb-bin.000043");
        assert_eq!(
            BinlogFileName::parse("b.999999").unwrap().next().as_str(),
            "b.1000000"
        );
        for bad in [
            "",
            "mariadb-bin",
            "mariadb-bin.42",
            "../x.000001",
            "a b.000001",
            ".000001",
            "mariadb-bin.index",
            "x.00000a",
        ] {
            assert!(BinlogFileName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gaps_are_counted_from_the_start_file() {
        let names: Vec<String> = [
            "b.000002",
            "b.000003",
            "b.000006",
            "other.000004",
            "b.000001",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            missing_files(&names, "b.000002", 10),
            (2, vec!["b.000004".to_string(), "b.000005".to_string()])
        );
        assert_eq!(missing_files(&names, "b.000006", 10), (0, vec![]));
        assert_eq!(
            missing_files(&names, "b.000007", 10),
            (1, vec!["b.000007".to_string()])
        );
        assert_eq!(missing_files(&names, "b.000001", 1).0, 2);
    }

    #[test]
    fn the_position_is_read_from_either_header_form() {
        let mariadb = "-- MariaDB dump 10.19\n--\n-- Position to start replication or point-in-time recovery from\n--\n\n-- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000003', MASTER_LOG_POS=1234;\n";
        assert_eq!(
            position_from_dump_header(mariadb),
            Some(BinlogPosition {
                file: "mariadb-bin.000003".into(),
                position: 1234
            })
        );
        let mysql =
            "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000007', SOURCE_LOG_POS=157;";
        assert_eq!(position_from_dump_header(mysql).unwrap().position, 157);
        assert_eq!(position_from_dump_header("-- MariaDB dump\n"), None);
    }
}
