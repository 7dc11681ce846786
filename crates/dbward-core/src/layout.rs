//! Where objects live on a destination (`docs/storage-format.md`):
//! `<prefix>/<source>/<database>/<YYYY>/<MM>/<DD>/<yyyymmddThhmmssZ>-<id>.<ext>` and the
//! manifest beside it as `<same stem>.manifest.json`.

use chrono::{DateTime, Utc};

/// Suffix that marks a manifest object.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// The keys of one backup's artifact and manifest on a destination (without its prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKeys {
    pub artifact: String,
    pub manifest: String,
}

/// Computes the keys for a backup. Names are escaped so that any database name yields one
/// safe path segment.
pub fn object_keys(
    source: &str,
    database: &str,
    started_at: DateTime<Utc>,
    id: &str,
    extension: &str,
) -> ObjectKeys {
    let folder = format!(
        "{}/{}/{}",
        escape_segment(source),
        escape_segment(database),
        started_at.format("%Y/%m/%d")
    );
    let stem = format!("{}-{id}", started_at.format("%Y%m%dT%H%M%SZ"));
    ObjectKeys {
        artifact: format!("{folder}/{stem}.{extension}"),
        manifest: format!("{folder}/{stem}{MANIFEST_SUFFIX}"),
    }
}

/// The folder of a source's WAL archive. `.wal` is never an escaped database name (escaping
/// keeps no leading dot), so it cannot share a folder with a database's backups.
pub fn wal_folder(source: &str) -> String {
    format!("{}/.wal", escape_segment(source))
}

/// The keys of one archived WAL file: its entry (`<name>.json`, written last, commits it)
/// and its stored bytes (`<name>.wal` plus the pipeline's extensions, e.g. `.zst.age`).
pub fn wal_keys(source: &str, name: &str, extension: &str) -> ObjectKeys {
    let folder = wal_folder(source);
    ObjectKeys {
        artifact: format!("{folder}/{name}.{extension}"),
        manifest: wal_entry_key(source, name),
    }
}

/// The key of the entry that commits an archived WAL file.
pub fn wal_entry_key(source: &str, name: &str) -> String {
    format!("{}/{name}.json", wal_folder(source))
}

/// The manifest key that commits a given artifact key.
pub fn manifest_key_for(artifact_key: &str) -> Option<String> {
    let (folder, file) = artifact_key.rsplit_once('/').unwrap_or(("", artifact_key));
    let stem = file.split_once('.')?.0;
    Some(if folder.is_empty() {
        format!("{stem}{MANIFEST_SUFFIX}")
    } else {
        format!("{folder}/{stem}{MANIFEST_SUFFIX}")
    })
}

/// Whether `key` has the shape of an artifact dbward writes:
/// `<source>/<database>/<YYYY>/<MM>/<DD>/<yyyymmddThhmmssZ>-<26-character id>.<ext>`.
/// Prune only ever removes such keys, never another program's files.
pub fn is_artifact_key(key: &str) -> bool {
    layout_extension(key).is_some() && !key.ends_with(MANIFEST_SUFFIX)
}

/// Whether `key` has the shape of a manifest dbward writes:
/// `<source>/<database>/<YYYY>/<MM>/<DD>/<yyyymmddThhmmssZ>-<26-character id>.manifest.json`.
pub fn is_manifest_key(key: &str) -> bool {
    layout_extension(key).is_some_and(|ext| ext == &MANIFEST_SUFFIX[1..])
}

/// The extension of a key in the layout's shape (see [`is_artifact_key`]), or `None` when
/// the key has another shape. Keys come from listings of storage anyone may write to, so
/// this works on bytes and never slices text: any string is answered, none panics.
fn layout_extension(key: &str) -> Option<&str> {
    let segments: Vec<&str> = key.split('/').collect();
    let [.., source, database, year, month, day, file] = segments.as_slice() else {
        return None;
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let (stamp, rest) = file.split_once('-')?;
    let (id, extension) = rest.split_once('.')?;
    let date = [year.as_bytes(), month.as_bytes(), day.as_bytes()].concat();
    let stamp = stamp.as_bytes();
    let well_formed = !source.is_empty()
        && !database.is_empty()
        && (year.len(), month.len(), day.len()) == (4, 2, 2)
        && digits(&date)
        && stamp.len() == 16
        && stamp[..8] == date[..]
        && stamp[8] == b'T'
        && digits(&stamp[9..15])
        && stamp[15] == b'Z'
        && id.len() == 26
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && !extension.is_empty();
    well_formed.then_some(extension)
}

/// Escapes a name into one path segment: `[A-Za-z0-9_-]` and inner dots stay, anything else
/// becomes `%XX`. The mapping is injective, so two names never share a folder.
pub fn escape_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// The name [`escape_segment`] made `segment` from; `None` when it is not such a segment.
pub fn unescape_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unescaping_undoes_escaping(name in "\\PC{1,40}") {
            prop_assert_eq!(unescape_segment(&escape_segment(&name)), Some(name));
        }
    }

    #[test]
    fn keys_follow_the_documented_layout() {
        let at: DateTime<Utc> = "2026-03-04T05:06:07Z".parse().unwrap();
        let keys = object_keys("main-pg", "shop", at, "01J0", "dump.zst");
        assert_eq!(
            keys.artifact,
            "main-pg/shop/2026/03/04/20260304T050607Z-01J0.dump.zst"
        );
        assert_eq!(
            keys.manifest,
            "main-pg/shop/2026/03/04/20260304T050607Z-01J0.manifest.json"
        );
        assert_eq!(manifest_key_for(&keys.artifact), Some(keys.manifest));
    }

    #[test]
    fn artifact_keys_are_recognised_and_nothing_else() {
        let at: DateTime<Utc> = "2026-03-04T05:06:07Z".parse().unwrap();
        let keys = object_keys(
            "main-pg",
            "shop",
            at,
            "01JABCDEFGHJKMNPQRSTVWXYZ0",
            "dump.zst.age",
        );
        assert!(is_artifact_key(&keys.artifact));
        assert!(!is_artifact_key(&keys.manifest));
        for other in [
            "notes.txt",
            "main-pg/shop/2026/03/04/report.pdf",
            "main-pg/shop/2026/03/04/20260304T050607Z-short.dump",
            "main-pg/shop/2026/03/05/20260304T050607Z-01JABCDEFGHJKMNPQRSTVWXYZ0.dump",
            "shop/2026/03/04/20260304T050607Z-01JABCDEFGHJKMNPQRSTVWXYZ0.dump",
        ] {
            assert!(!is_artifact_key(other), "{other}");
        }
    }

    #[test]
    fn hostile_names_stay_one_segment() {
        assert_eq!(escape_segment("../etc"), "%2E.%2Fetc");
        assert_eq!(escape_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(escape_segment(""), "%00");
    }

    #[test]
    fn multi_byte_characters_in_a_key_are_answered_not_a_panic() {
        let id = "01JABCDEFGHJKMNPQRSTVWXYZ0";
        for stamp in [
            "2026010\u{e9}T00000Z",
            "20260101T0000\u{e9}Z",
            "20260101\u{e9}000000",
        ] {
            assert_eq!(stamp.len(), 16, "{stamp}");
            let key = format!("pg/shop/2026/01/01/{stamp}-{id}.dump.zst");
            assert!(!is_artifact_key(&key), "{key}");
            let manifest = manifest_key_for(&key).unwrap();
            assert!(!is_manifest_key(&manifest), "{manifest}");
        }
        let at: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let keys = object_keys("pg", "shop", at, id, "dump.zst");
        assert!(is_manifest_key(&keys.manifest) && !is_manifest_key(&keys.artifact));
    }

    /// Any text, and text built from the layout's own pieces with any character spliced
    /// in, is answered by every key parser without a panic.
    fn near_keys() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("pg/shop/2026/01/01/".to_string()),
            Just("20260101T000000Z".to_string()),
            Just("-01JABCDEFGHJKMNPQRSTVWXYZ0".to_string()),
            Just(".dump.zst".to_string()),
            Just(MANIFEST_SUFFIX.to_string()),
            Just("/".to_string()),
            ".{0,3}",
            "[0-9TZ\u{e9}\u{1F600}-]{0,17}",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn key_parsers_never_panic(key in prop_oneof![".*", near_keys()]) {
            let artifact = is_artifact_key(&key);
            let manifest = is_manifest_key(&key);
            prop_assert!(!(artifact && manifest));
            if let Some(m) = manifest_key_for(&key) {
                prop_assert!(m.ends_with(MANIFEST_SUFFIX));
                if artifact {
                    prop_assert!(is_manifest_key(&m));
                }
            }
        }

        #[test]
        fn escaped_names_are_safe_and_distinct(a in ".{0,12}", b in ".{0,12}") {
            let (ea, eb) = (escape_segment(&a), escape_segment(&b));
            prop_assert!(!ea.contains('/') && !ea.starts_with('.'));
            if a != b && !a.is_empty() && !b.is_empty() {
                prop_assert_ne!(ea, eb);
            }
        }
    }
}
