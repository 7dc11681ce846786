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
    let segments: Vec<&str> = key.split('/').collect();
    let [.., source, database, year, month, day, file] = segments.as_slice() else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let Some((stamp, rest)) = file.split_once('-') else {
        return false;
    };
    let Some((id, extension)) = rest.split_once('.') else {
        return false;
    };
    !source.is_empty()
        && !database.is_empty()
        && digits(year, 4)
        && digits(month, 2)
        && digits(day, 2)
        && stamp.len() == 16
        && digits(&stamp[..8], 8)
        && stamp.as_bytes()[8] == b'T'
        && digits(&stamp[9..15], 6)
        && stamp.ends_with('Z')
        && stamp.starts_with(&format!("{year}{month}{day}"))
        && id.len() == 26
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && !extension.is_empty()
        && !file.ends_with(MANIFEST_SUFFIX)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
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
