//! The manifest: the JSON document stored beside every artifact. It describes the backup
//! completely, so that the catalog can be rebuilt from storage alone, and its presence commits
//! the copy. The format is specified in `docs/storage-format.md`; old versions stay readable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::signing::{PublicKey, SigningKey};

/// The manifest format this build writes. Readers accept this and every earlier version.
/// Version 2 added `encryption` (an older reader must not mistake ciphertext for a dump);
/// version 3 added `chunk_size`, `chunks` and `signature`.
pub const MANIFEST_FORMAT_VERSION: u32 = 3;

/// Domain separation: the bytes a manifest signature covers start with this line.
pub const SIGNATURE_CONTEXT: &[u8] = b"dbward manifest signature v1\n";

/// A database engine dbward can back up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
    /// Generated dumps without a server, for fleet simulations (`--features simulation`).
    #[cfg(feature = "simulation")]
    Synthetic,
}

impl Engine {
    /// The name used in config files, manifests and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Sqlite => "sqlite",
            #[cfg(feature = "simulation")]
            Engine::Synthetic => "synthetic",
        }
    }

    /// Parses a config value; `None` for an unknown engine.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Engine::Postgres,
            Engine::Mysql,
            Engine::Mariadb,
            Engine::Sqlite,
            #[cfg(feature = "simulation")]
            Engine::Synthetic,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The exact number of rows one table holds in the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    /// Qualified where the engine has schemas (`public.orders`), plain otherwise.
    pub table: String,
    pub rows: u64,
}

/// How the source database was created, so that a restore creates it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// PostgreSQL `ENCODING` (`UTF8`, `LATIN1`), MySQL/MariaDB default `CHARACTER SET`.
    pub encoding: String,
    /// PostgreSQL `LC_COLLATE`, MySQL/MariaDB default `COLLATE`.
    #[serde(default)]
    pub collation: Option<String>,
    /// PostgreSQL `LC_CTYPE`.
    #[serde(default)]
    pub ctype: Option<String>,
    /// The role that owns the database (PostgreSQL). Absent where the engine has none and in
    /// manifests written before dbward recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Every role the database's objects belong to or are granted to, sorted (PostgreSQL): a
    /// restore that keeps ownership needs each of them on the target (F23).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// The compression levels of an artifact: one level, or with `compression_level = "auto"` the
/// range the level moved in as the compressor followed the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressionLevel {
    pub auto: bool,
    pub lowest: i32,
    pub highest: i32,
}

/// One object of the source that a backup does not hold because the stock dump tool cannot
/// round-trip it with any option this server allows (F23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FidelityLoss {
    /// The object as the engine names it, with its kind: ``subscription `sub1` ``.
    pub object: String,
    /// Why the backup lacks it and what to do about it.
    pub reason: String,
}

impl FidelityLoss {
    /// The warning line kept with the backup: `<object>: <reason>`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.object, self.reason)
    }
}

/// Everything known about one stored backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub id: String,
    pub source: String,
    pub engine: Engine,
    pub database: String,
    /// File name of the artifact this manifest commits, in the same folder.
    pub artifact: String,
    pub server_version: String,
    pub dump_tool: String,
    pub dump_tool_version: String,
    /// The engine-level format of the dump (`custom`, `plain`, `sql`, `sqlite`).
    pub dump_format: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Non-secret options the dump tool ran with.
    pub options: Vec<String>,
    pub excluded_tables: Vec<String>,
    /// Those of `excluded_tables` that held rows when the dump was taken: data this backup
    /// does not have. Absent in manifests written before dbward recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_with_data: Vec<String>,
    pub tables: Vec<TableRows>,
    /// Bytes the dump tool produced, before compression.
    pub dump_bytes: u64,
    /// Bytes of the stored artifact.
    pub stored_bytes: u64,
    /// sha256 of the stored artifact, lowercase hex.
    pub sha256: String,
    /// `zstd`, `gzip` or `none`.
    pub compression: String,
    /// The compression levels the artifact was written with. Absent without compression and
    /// in manifests written before dbward recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<CompressionLevel>,
    /// `age-x25519` (public-key recipients) or `age-scrypt` (passphrase); absent when the
    /// artifact is not encrypted.
    #[serde(default)]
    pub encryption: Option<String>,
    /// Fingerprints of the age recipients (`sha256:` + 16 hex digits), never the keys.
    #[serde(default)]
    pub encryption_recipients: Vec<String>,
    #[serde(default)]
    pub replica_lag_seconds: Option<f64>,
    /// Absent for SQLite, and in manifests written before dbward recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_settings: Option<DatabaseSettings>,
    pub warnings: Vec<String>,
    /// What the source held that this backup does not, because the stock dump tool cannot
    /// keep it here (each also among `warnings`); `status` reports them as `fidelity`.
    /// Absent when there is none, and in manifests written before dbward recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fidelity: Vec<FidelityLoss>,
    /// The source database's object inventory at backup time, which drills compare the
    /// restored copy with. Absent for engines without one and in manifests written before
    /// dbward recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<crate::Inventory>,
    /// Size of the chunks in `chunks` (the last one may be shorter). Absent before format 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u64>,
    /// sha256 (lowercase hex) of each `chunk_size` piece of the stored artifact, in order, so
    /// that a reader proves every chunk before it passes it on. Absent before format 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<String>>,
    /// A PostgreSQL physical base backup of a whole cluster (`pitr = true`): where its WAL
    /// starts and stops. Absent for dumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_backup: Option<BaseBackup>,
    /// A logical dump of a MariaDB/MySQL `pitr = true` source: the binary log position its
    /// consistent snapshot was taken at, where replay starts. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_position: Option<crate::binlog::BinlogPosition>,
    /// What a backup of the server-wide objects (database [`GLOBALS`], `globals = true`)
    /// holds. Absent for database backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub globals: Option<ServerGlobals>,
    /// The signature over `signed_bytes`; absent before format 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ManifestSignature>,
}

/// The reserved database name of a source's server-wide objects (roles, memberships,
/// tablespaces, database owners and settings). A real database of that name is planned as
/// a failed backup (`policy::planning`), never backed up under it.
pub const GLOBALS: &str = "*globals*";

/// The server-wide objects one globals backup holds, recorded so that `show`, drills and
/// `restore --globals` know what to expect without reading the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerGlobals {
    /// Every role (PostgreSQL) or user and role (MariaDB/MySQL) in the artifact, sorted.
    pub roles: Vec<String>,
    /// Whether the artifact holds the password hashes (`globals_passwords`).
    pub passwords: bool,
    /// Each database on the server at backup time with its owner, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<DatabaseOwner>,
}

/// One database of a server and the role that owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseOwner {
    pub database: String,
    /// Empty on MariaDB/MySQL, whose databases have no owner.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
}

/// The database name of a backup that holds a whole cluster (a base backup).
pub const WHOLE_CLUSTER: &str = "*";

/// Where the write-ahead log of a physical base backup starts and stops: recovery replays
/// from `start_wal_file` and is consistent once it has passed `stop_lsn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseBackup {
    /// The backup's checkpoint redo point (`START WAL LOCATION` of `backup_label`), `X/Y`.
    pub start_lsn: String,
    /// Where the backup ended (`pg_backup_stop`), `X/Y`: the earliest recovery target.
    pub stop_lsn: String,
    pub timeline: u32,
    /// The first WAL segment recovery needs.
    pub start_wal_file: String,
    /// The cluster's `wal_segment_size` in bytes.
    pub wal_segment_bytes: u64,
}

/// Who signed a manifest, and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSignature {
    /// The signer's public key, `dbward-ed25519:` and 64 hex digits.
    pub key: String,
    /// The ed25519 signature of `Manifest::signed_bytes`, 128 hex digits.
    pub value: String,
}

/// Why a manifest's signature is not valid.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("its signature names a malformed key {0:?}")]
    BadKey(String),
    #[error(
        "its signature by key {key_id} does not match its content (altered after it was signed)"
    )]
    Mismatch { key_id: String },
}

/// A signed JSON document of dbward's storage format (a manifest, a WAL entry): what its
/// signature covers and how it is read, defined once for every kind.
pub(crate) trait SignedDocument: Serialize + serde::de::DeserializeOwned + Clone {
    /// The bytes every signature of this kind starts with, so that one kind's signature can
    /// never pass for another's.
    const CONTEXT: &'static [u8];
    /// The newest format this build reads.
    const FORMAT_VERSION: u32;
    /// How an error names the kind (`manifest`, `WAL entry`).
    const KIND: &'static str;
    fn format_version(&self) -> u32;
    fn signature_slot(&mut self) -> &mut Option<ManifestSignature>;
    fn signature_ref(&self) -> Option<&ManifestSignature>;

    /// `CONTEXT`, then the document without `signature` as compact JSON, fields in
    /// declaration order. Parsing and re-serialising gives the same bytes, so a reader
    /// recomputes them from the parsed document.
    fn document_signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        *unsigned.signature_slot() = None;
        let mut out = Self::CONTEXT.to_vec();
        serde_json::to_writer(&mut out, &unsigned).expect("a signed document always serialises");
        out
    }

    fn sign_document(&mut self, key: &SigningKey) {
        let value = key.sign(&self.document_signed_bytes());
        *self.signature_slot() = Some(ManifestSignature {
            key: key.public().to_string(),
            value,
        });
    }

    fn document_signer(&self) -> Result<Option<PublicKey>, SignatureError> {
        let Some(signature) = self.signature_ref() else {
            return Ok(None);
        };
        let key = PublicKey::parse(&signature.key)
            .map_err(|_| SignatureError::BadKey(signature.key.clone()))?;
        if key.verifies(&self.document_signed_bytes(), &signature.value) {
            Ok(Some(key))
        } else {
            Err(SignatureError::Mismatch {
                key_id: key.key_id(),
            })
        }
    }

    fn document_from_json(bytes: &[u8]) -> Result<Self, String> {
        let document: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("{} is not valid: {e}", Self::KIND))?;
        if document.format_version() > Self::FORMAT_VERSION {
            return Err(format!(
                "{} format {} is newer than this dbward understands ({}); upgrade dbward",
                Self::KIND,
                document.format_version(),
                Self::FORMAT_VERSION
            ));
        }
        Ok(document)
    }

    /// The stored form: pretty JSON, so that an operator can read it with `cat`.
    fn document_to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a signed document always serialises");
        out.push(b'\n');
        out
    }
}

impl SignedDocument for Manifest {
    const CONTEXT: &'static [u8] = SIGNATURE_CONTEXT;
    const FORMAT_VERSION: u32 = MANIFEST_FORMAT_VERSION;
    const KIND: &'static str = "manifest";
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

impl Manifest {
    /// What a signature covers: `SIGNATURE_CONTEXT`, then the manifest without `signature`
    /// as compact JSON, fields in declaration order.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.document_signed_bytes()
    }

    /// Signs the manifest (replacing any signature).
    pub fn sign(&mut self, key: &SigningKey) {
        self.sign_document(key)
    }

    /// The key whose valid signature the manifest carries; `None` when it is unsigned.
    /// Whether that key is trusted is the caller's question.
    pub fn signer(&self) -> Result<Option<PublicKey>, SignatureError> {
        self.document_signer()
    }

    /// Reads a manifest, refusing formats newer than this build understands.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        Self::document_from_json(bytes)
    }

    /// The stored form: pretty JSON, so that an operator can read it with `cat`.
    pub fn to_json(&self) -> Vec<u8> {
        self.document_to_json()
    }

    /// Total rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: MANIFEST_FORMAT_VERSION,
            id: "01JABCDEF".into(),
            source: "pg".into(),
            engine: Engine::Postgres,
            database: "shop".into(),
            artifact: "20260101T020000Z-01JABCDEF.dump.zst".into(),
            server_version: "15.4".into(),
            dump_tool: "pg_dump".into(),
            dump_tool_version: "15.4".into(),
            dump_format: "custom".into(),
            host: "db1".into(),
            started_at: "2026-01-01T02:00:00Z".parse().unwrap(),
            finished_at: "2026-01-01T02:01:00Z".parse().unwrap(),
            options: vec!["--format=custom".into()],
            excluded_tables: vec![],
            tables: vec![TableRows {
                table: "public.orders".into(),
                rows: 42,
            }],
            dump_bytes: 1000,
            stored_bytes: 300,
            sha256: "ab".repeat(32),
            compression: "zstd".into(),
            compression_level: None,
            encryption: None,
            encryption_recipients: vec![],
            replica_lag_seconds: None,
            warnings: vec![],
            database_settings: None,
            excluded_with_data: vec![],
            chunk_size: Some(4),
            chunks: Some(vec!["cd".repeat(32), "ef".repeat(32)]),
            fidelity: Vec::new(),
            inventory: None,
            base_backup: None,
            binlog_position: None,
            globals: None,
            signature: None,
        }
    }

    fn signed(key: &SigningKey) -> Manifest {
        let mut m = sample();
        m.sign(key);
        m
    }

    #[test]
    fn a_signed_manifest_verifies_after_a_round_trip_through_storage() {
        let key = SigningKey::generate().unwrap();
        let stored = signed(&key).to_json();
        let read = Manifest::from_json(&stored).unwrap();
        assert_eq!(read.signer().unwrap(), Some(key.public()));
        assert_eq!(read.signed_bytes(), signed(&key).signed_bytes());
        assert!(read.signed_bytes().starts_with(SIGNATURE_CONTEXT));
    }

    #[test]
    fn any_changed_field_breaks_the_signature() {
        let key = SigningKey::generate().unwrap();
        let stored = String::from_utf8(signed(&key).to_json()).unwrap();
        for (from, to) in [
            ("\"database\": \"shop\"", "\"database\": \"prod\""),
            ("\"source\": \"pg\"", "\"source\": \"other\""),
            ("\"rows\": 42", "\"rows\": 43"),
            ("\"sha256\": \"abab", "\"sha256\": \"bbab"),
            ("\"chunks\": [\n    \"cdcd", "\"chunks\": [\n    \"dddd"),
            ("\"encryption\": null", "\"encryption\": \"age-x25519\""),
        ] {
            assert!(stored.contains(from), "{from} in {stored}");
            let altered = Manifest::from_json(stored.replacen(from, to, 1).as_bytes()).unwrap();
            let err = altered.signer().unwrap_err();
            assert!(err.to_string().contains("altered"), "{from}: {err}");
        }
    }

    #[test]
    fn removing_the_encryption_of_an_encrypted_manifest_breaks_the_signature() {
        let key = SigningKey::generate().unwrap();
        let mut m = sample();
        m.encryption = Some("age-x25519".into());
        m.sign(&key);
        let mut value: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        value["encryption"] = serde_json::Value::Null;
        let altered = Manifest::from_json(value.to_string().as_bytes()).unwrap();
        assert!(altered.signer().is_err());
    }

    #[test]
    fn a_signature_moved_to_another_key_fails() {
        let (a, b) = (
            SigningKey::generate().unwrap(),
            SigningKey::generate().unwrap(),
        );
        let mut m = signed(&a);
        m.signature.as_mut().unwrap().key = b.public().to_string();
        assert!(m.signer().is_err());
        let mut m = signed(&a);
        m.signature.as_mut().unwrap().key = "dbward-ed25519:nope".into();
        assert!(matches!(m.signer(), Err(SignatureError::BadKey(_))));
        let mut m = sample();
        m.signature = None;
        assert_eq!(m.signer().unwrap(), None);
    }

    #[test]
    fn a_format_2_manifest_still_parses_unsigned() {
        let json = r#"{"format_version":2,"id":"01J","source":"pg","engine":"postgres",
            "database":"shop","artifact":"x.dump.zst","server_version":"15","dump_tool":"pg_dump",
            "dump_tool_version":"15","dump_format":"custom","host":"h",
            "started_at":"2026-01-01T02:00:00Z","finished_at":"2026-01-01T02:01:00Z",
            "options":[],"excluded_tables":[],"tables":[],"dump_bytes":1,"stored_bytes":1,
            "sha256":"00","compression":"zstd","encryption":null,"encryption_recipients":[],
            "replica_lag_seconds":null,"warnings":[]}"#;
        let m = Manifest::from_json(json.as_bytes()).unwrap();
        assert_eq!(m.signer().unwrap(), None);
        assert_eq!((m.format_version, m.chunks), (2, None));
    }

    /// The signed form of format 3 is fixed: stored signatures must verify in every later
    /// version, so fields must not be reordered, renamed or re-encoded.
    #[test]
    fn the_signed_form_of_format_3_is_pinned() {
        let canonical = concat!(
            r#"{"format_version":3,"id":"01JABCDEFGHJKMNPQRSTVWXYZ0","source":"pg","engine":"postgres","#,
            r#""database":"shop é","artifact":"20260101T020000Z-01JABCDEFGHJKMNPQRSTVWXYZ0.dump.zst","#,
            r#""server_version":"15.4","dump_tool":"pg_dump","dump_tool_version":"15.4","dump_format":"custom","#,
            r#""host":"db1","started_at":"2026-01-01T02:00:00.500Z","finished_at":"2026-01-01T02:01:00Z","#,
            r#""options":["--format=custom"],"excluded_tables":["public.audit"],"excluded_with_data":["public.audit"],"#,
            r#""tables":[{"table":"public.orders","rows":42}],"dump_bytes":1000,"stored_bytes":300,"#,
            r#""sha256":"abab","compression":"zstd","encryption":"age-x25519","encryption_recipients":["sha256:0011223344556677"],"#,
            r#""replica_lag_seconds":0.1,"database_settings":{"encoding":"UTF8","collation":"C","ctype":null},"#,
            r#""warnings":["a \"quoted\"\nline"],"chunk_size":4194304,"chunks":["cdcd"]}"#
        );
        let m = Manifest::from_json(canonical.as_bytes()).unwrap();
        let mut expected = SIGNATURE_CONTEXT.to_vec();
        expected.extend_from_slice(canonical.as_bytes());
        assert_eq!(
            String::from_utf8(m.signed_bytes()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }

    proptest::proptest! {
        #[test]
        fn the_signed_form_survives_storage(
            lag in proptest::option::of(proptest::num::f64::NORMAL | proptest::num::f64::ZERO),
            name in "\\PC{0,20}",
            nanos in 0u32..1_000_000_000,
        ) {
            let key = SigningKey::generate().unwrap();
            let mut m = sample();
            m.replica_lag_seconds = lag;
            m.database = name.clone();
            m.warnings = vec![name];
            m.started_at += chrono::Duration::nanoseconds(nanos.into());
            m.sign(&key);
            let read = Manifest::from_json(&m.to_json()).unwrap();
            proptest::prop_assert_eq!(read.signer().unwrap(), Some(key.public()));
        }
    }

    #[test]
    fn manifest_round_trips_through_json() {
        let m = sample();
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
        assert!(
            !String::from_utf8(m.to_json())
                .unwrap()
                .contains("base_backup")
        );
    }

    #[test]
    fn a_base_backup_manifest_round_trips_and_its_wal_range_is_signed() {
        let key = SigningKey::generate().unwrap();
        let mut m = sample();
        m.database = WHOLE_CLUSTER.into();
        m.base_backup = Some(BaseBackup {
            start_lsn: "0/3000028".into(),
            stop_lsn: "0/3000100".into(),
            timeline: 1,
            start_wal_file: "000000010000000000000003".into(),
            wal_segment_bytes: 16 << 20,
        });
        m.sign(&key);
        let stored = String::from_utf8(m.to_json()).unwrap();
        assert_eq!(Manifest::from_json(stored.as_bytes()).unwrap(), m);
        let altered = stored.replace("0/3000100", "0/3000101");
        let altered = Manifest::from_json(altered.as_bytes()).unwrap();
        assert!(altered.signer().is_err());
    }

    #[test]
    fn newer_manifest_format_is_refused_with_advice() {
        let mut m = sample();
        m.format_version = MANIFEST_FORMAT_VERSION + 1;
        let err = Manifest::from_json(&m.to_json()).unwrap_err();
        assert!(err.contains("upgrade dbward"), "{err}");
    }

    #[test]
    fn engine_names_parse_back() {
        for e in [
            Engine::Postgres,
            Engine::Mysql,
            Engine::Mariadb,
            Engine::Sqlite,
        ] {
            assert_eq!(Engine::parse(e.as_str()), Some(e));
        }
        assert_eq!(Engine::parse("oracle"), None);
    }
}
