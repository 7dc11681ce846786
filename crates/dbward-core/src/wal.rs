//! PostgreSQL write-ahead log vocabulary for point-in-time recovery: log sequence numbers
//! (`0/3000028`), the names of the files `archive_command` hands over (segments, timeline
//! histories, backup history files, partial segments), and the segment that holds an LSN.
//! Pure: parsing and naming only.

use std::fmt;

/// A PostgreSQL log sequence number, written `X/Y` (two hexadecimal halves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(pub u64);

/// Why a text is not an LSN or a WAL file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalNameError {
    #[error(
        "{0:?} is not an LSN: expected two hexadecimal numbers separated by '/', like 0/3000028"
    )]
    Lsn(String),
    #[error(
        "{0:?} is not a WAL file name: expected 24 hexadecimal digits (a segment), optionally followed by .partial or .<offset>.backup, or 8 digits and .history"
    )]
    FileName(String),
}

impl Lsn {
    /// Parses `X/Y` as PostgreSQL prints it (upper or lower case, up to 8 digits a half).
    pub fn parse(text: &str) -> Result<Lsn, WalNameError> {
        let bad = || WalNameError::Lsn(text.to_string());
        let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
        let half = |s: &str| {
            if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            u64::from_str_radix(s, 16).map_err(|_| bad())
        };
        Ok(Lsn((half(high)? << 32) | half(low)?))
    }

    /// The name of the segment of `timeline` that holds this LSN, for a cluster with
    /// `segment_bytes` segments (`wal_segment_size`, a power of two from 1 MiB to 1 GiB).
    pub fn segment_name(self, timeline: u32, segment_bytes: u64) -> String {
        let segment = self.0 / segment_bytes;
        let per_log = 0x1_0000_0000 / segment_bytes;
        format!(
            "{timeline:08X}{:08X}{:08X}",
            segment / per_log,
            segment % per_log
        )
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// What kind of file `archive_command` (`%f`) or `restore_command` named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFileKind {
    /// A whole segment: 24 hexadecimal digits (timeline, log, segment).
    Segment,
    /// A timeline history file: `<timeline>.history`.
    History,
    /// A backup history file: `<segment>.<offset>.backup`.
    BackupHistory,
    /// The last, incomplete segment of an old timeline: `<segment>.partial`.
    Partial,
}

/// A WAL file name checked to be one PostgreSQL writes: safe as one object-key segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalFileName {
    name: String,
    kind: WalFileKind,
}

impl WalFileName {
    /// Checks `name` (a bare file name, as `%f` gives it).
    pub fn parse(name: &str) -> Result<WalFileName, WalNameError> {
        let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let kind = match name.split('.').collect::<Vec<_>>().as_slice() {
            [segment] if hex(segment, 24) => WalFileKind::Segment,
            [timeline, "history"] if hex(timeline, 8) => WalFileKind::History,
            [segment, "partial"] if hex(segment, 24) => WalFileKind::Partial,
            [segment, offset, "backup"] if hex(segment, 24) && hex(offset, 8) => {
                WalFileKind::BackupHistory
            }
            _ => return Err(WalNameError::FileName(name.to_string())),
        };
        Ok(WalFileName {
            name: name.to_string(),
            kind,
        })
    }

    pub fn kind(&self) -> WalFileKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The timeline the file belongs to.
    pub fn timeline(&self) -> u32 {
        u32::from_str_radix(&self.name[..8], 16).expect("checked by parse")
    }
}

impl fmt::Display for WalFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB16: u64 = 16 * 1024 * 1024;

    #[test]
    fn lsns_parse_and_print_as_postgres_writes_them() {
        let lsn = Lsn::parse("0/3000028").unwrap();
        assert_eq!(lsn, Lsn(0x0300_0028));
        assert_eq!(lsn.to_string(), "0/3000028");
        assert_eq!(Lsn::parse("1A/ff").unwrap().to_string(), "1A/FF");
        assert!(Lsn::parse("0/3000028").unwrap() < Lsn::parse("1/0").unwrap());
        for bad in ["", "0", "0/", "/1", "g/1", "0/123456789", "0/1/2", "0x1/2"] {
            assert!(Lsn::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_segment_of_an_lsn_is_named_like_postgres_names_it() {
        // SELECT pg_walfile_name('0/3000028') on timeline 1 with 16 MiB segments.
        assert_eq!(
            Lsn::parse("0/3000028").unwrap().segment_name(1, MIB16),
            "000000010000000000000003"
        );
        assert_eq!(
            Lsn::parse("1/FF000000").unwrap().segment_name(2, MIB16),
            "0000000200000001000000FF"
        );
        // 64 MiB segments: four to a 256-segment log file is 64 per log.
        assert_eq!(
            Lsn::parse("2/8000000")
                .unwrap()
                .segment_name(3, 64 * 1024 * 1024),
            "000000030000000200000002"
        );
    }

    #[test]
    fn wal_file_names_are_classified_and_anything_else_is_refused() {
        let kinds = [
            ("000000010000000000000003", WalFileKind::Segment),
            ("00000002.history", WalFileKind::History),
            (
                "000000010000000000000003.00000028.backup",
                WalFileKind::BackupHistory,
            ),
            ("000000010000000000000003.partial", WalFileKind::Partial),
        ];
        for (name, kind) in kinds {
            let parsed = WalFileName::parse(name).unwrap();
            assert_eq!((parsed.kind(), parsed.as_str()), (kind, name));
        }
        assert_eq!(
            WalFileName::parse("00000002.history").unwrap().timeline(),
            2
        );
        for bad in [
            "",
            "00000001000000000000003",
            "0000000100000000000000030",
            "../00000001000000000000003",
            "00000001000000000000000G",
            "00000002.HISTORY",
            "000000010000000000000003.backup",
            "RECOVERYHISTORY",
            "000000010000000000000003/x",
        ] {
            assert!(WalFileName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
