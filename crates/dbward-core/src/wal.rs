//! PostgreSQL write-ahead log vocabulary for point-in-time recovery: log sequence numbers
//! (`0/3000028`), the names of the files `archive_command` hands over (segments, timeline
//! histories, backup history files, partial segments), and the segment that holds an LSN.
//! Also the entry stored beside each archived file (`docs/storage-format.md`), which commits
//! it and says how to check and open it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::manifest::{ManifestSignature, SignatureError, SignedDocument};
use crate::signing::{PublicKey, SigningKey};

/// The WAL entry format this build writes.
pub const WAL_ENTRY_FORMAT_VERSION: u32 = 1;

/// Domain separation: the bytes a WAL entry signature covers start with this line.
pub const WAL_SIGNATURE_CONTEXT: &[u8] = b"dbward wal entry signature v1\n";

/// What is stored beside one archived WAL file: written after its bytes, it commits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalEntry {
    pub format_version: u32,
    pub source: String,
    /// The WAL file's own name (`000000010000000000000003`).
    pub name: String,
    /// The file name of the stored bytes, in the same folder.
    pub object: String,
    /// Size and sha256 (lowercase hex) of the WAL file as PostgreSQL wrote it.
    pub bytes: u64,
    pub sha256: String,
    /// Size and sha256 of the stored (compressed, encrypted) object.
    pub stored_bytes: u64,
    pub stored_sha256: String,
    /// `zstd`, `gzip` or `none`.
    pub compression: String,
    /// `age-x25519`, `age-scrypt`, or absent.
    #[serde(default)]
    pub encryption: Option<String>,
    #[serde(default)]
    pub encryption_recipients: Vec<String>,
    pub host: String,
    pub archived_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ManifestSignature>,
}

impl SignedDocument for WalEntry {
    const CONTEXT: &'static [u8] = WAL_SIGNATURE_CONTEXT;
    const FORMAT_VERSION: u32 = WAL_ENTRY_FORMAT_VERSION;
    const KIND: &'static str = "WAL entry";
    fn format_version(&self) -> u32 {
        self.format_version
    }
    fn signature_slot(&mut self) -> &mut Option<ManifestSignature> {
        &mut self.signature
    }
    fn signature_ref(&self) -> Option<&ManifestSignature> {
        self.signature.as_ref()
    }
}

impl WalEntry {
    /// What a signature covers: `WAL_SIGNATURE_CONTEXT`, then the entry without `signature`
    /// as compact JSON.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.document_signed_bytes()
    }

    pub fn sign(&mut self, key: &SigningKey) {
        self.sign_document(key)
    }

    /// The key whose valid signature the entry carries; `None` when unsigned.
    pub fn signer(&self) -> Result<Option<PublicKey>, SignatureError> {
        self.document_signer()
    }

    /// Reads an entry, refusing formats newer than this build understands.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        Self::document_from_json(bytes)
    }

    pub fn to_json(&self) -> Vec<u8> {
        self.document_to_json()
    }
}

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
    fn a_signed_wal_entry_survives_storage_and_any_change_breaks_it() {
        let key = SigningKey::generate().unwrap();
        let mut entry = WalEntry {
            format_version: WAL_ENTRY_FORMAT_VERSION,
            source: "pg".into(),
            name: "000000010000000000000003".into(),
            object: "000000010000000000000003.wal.zst".into(),
            bytes: 16 << 20,
            sha256: "ab".repeat(32),
            stored_bytes: 1000,
            stored_sha256: "cd".repeat(32),
            compression: "zstd".into(),
            encryption: None,
            encryption_recipients: vec![],
            host: "db1".into(),
            archived_at: "2026-12-05T12:00:00Z".parse().unwrap(),
            signature: None,
        };
        entry.sign(&key);
        let read = WalEntry::from_json(&entry.to_json()).unwrap();
        assert_eq!(read.signer().unwrap(), Some(key.public()));
        let altered = String::from_utf8(entry.to_json())
            .unwrap()
            .replace(&"ab".repeat(32), &"ef".repeat(32));
        assert!(
            WalEntry::from_json(altered.as_bytes())
                .unwrap()
                .signer()
                .is_err()
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
