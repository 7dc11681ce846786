//! The manifest: the JSON document stored beside every artifact. It describes the backup
//! completely, so that the catalog can be rebuilt from storage alone, and its presence commits
//! the copy. The format is specified in `docs/storage-format.md`; old versions stay readable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest format this build writes. Readers accept this and every earlier version.
/// Version 2 added `encryption` (an older reader must not mistake ciphertext for a dump).
pub const MANIFEST_FORMAT_VERSION: u32 = 2;

/// A database engine dbward can back up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
}

impl Engine {
    /// The name used in config files, manifests and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Sqlite => "sqlite",
        }
    }

    /// Parses a config value; `None` for an unknown engine.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Engine::Postgres,
            Engine::Mysql,
            Engine::Mariadb,
            Engine::Sqlite,
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
}

impl Manifest {
    /// Reads a manifest, refusing formats newer than this build understands.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("manifest is not valid: {e}"))?;
        if manifest.format_version > MANIFEST_FORMAT_VERSION {
            return Err(format!(
                "manifest format {} is newer than this dbward understands ({MANIFEST_FORMAT_VERSION}); upgrade dbward",
                manifest.format_version
            ));
        }
        Ok(manifest)
    }

    /// The stored form: pretty JSON, so that an operator can read it with `cat`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
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
            encryption: None,
            encryption_recipients: vec![],
            replica_lag_seconds: None,
            warnings: vec![],
            database_settings: None,
            excluded_with_data: vec![],
        }
    }

    #[test]
    fn manifest_round_trips_through_json() {
        let m = sample();
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
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
