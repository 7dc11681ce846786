//! Who may vouch for a stored backup: the host's signing key (created on first need by
//! `backup`), the keys a restoring host trusts (`[integrity]`), and the check every manifest
//! read from storage passes before anything acts on it — a signature by a trusted key, and the
//! very key the layout gives its source, database, start time and id.

use std::io::ErrorKind;
use std::path::Path;

use dbward_core::Manifest;
use dbward_core::layout::object_keys;
use dbward_core::signing::{PublicKey, SigningKey};

use crate::config::IntegrityConfig;

/// The host's signing key; created (0600, in a 0700 folder) when there is none yet, never
/// overwritten.
pub fn signing_key(config: &IntegrityConfig) -> anyhow::Result<SigningKey> {
    let path = &config.signing_key;
    match SigningKey::read(path) {
        Ok(key) => return Ok(key),
        Err(dbward_core::signing::KeyError::Io { err, .. })
            if err.kind() == ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("{e} ([integrity] signing_key)"),
    }
    if let Some(folder) = path.parent() {
        create_private_dir(folder)?;
    }
    let key = SigningKey::generate()?;
    match key.write_new(path) {
        Ok(()) => {
            tracing::info!(
                "created the signing key {} ({}); restoring hosts trust it with [integrity] trusted_keys = [\"{}\"]",
                path.display(),
                key.public().key_id(),
                key.public()
            );
            Ok(key)
        }
        // Another run created it a moment ago: use that one.
        Err(dbward_core::signing::KeyError::Io { err, .. })
            if err.kind() == ErrorKind::AlreadyExists =>
        {
            Ok(SigningKey::read(path)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// `key generate --signing --out FILE`: a new signing key (0600, never overwriting a file);
/// returns its public key.
pub fn generate_signing(out: &Path) -> anyhow::Result<PublicKey> {
    let key = SigningKey::generate()?;
    match key.write_new(out) {
        Ok(()) => Ok(key.public()),
        Err(dbward_core::signing::KeyError::Io { err, .. })
            if err.kind() == ErrorKind::AlreadyExists =>
        {
            Err(super::UsageError(format!(
                "{} exists already; key generate never overwrites a key",
                out.display()
            ))
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

fn create_private_dir(folder: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if folder.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", folder.display()))
}

/// The public key of the host's signing key, when it has one.
pub fn own_public_key(config: &IntegrityConfig) -> anyhow::Result<Option<PublicKey>> {
    match SigningKey::read(&config.signing_key) {
        Ok(key) => Ok(Some(key.public())),
        Err(dbward_core::signing::KeyError::Io { err, .. })
            if err.kind() == ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => anyhow::bail!("{e} ([integrity] signing_key)"),
    }
}

/// What a host accepts from storage.
#[derive(Debug, Clone)]
pub struct Trust {
    keys: Vec<PublicKey>,
    /// `--allow-unsigned`: accept manifests without a signature (old formats), with a warning.
    allow_unsigned: bool,
}

impl Trust {
    /// `[integrity] trusted_keys` and the host's own key. A restore host that cannot read its
    /// own key file (another user's, say) goes on with `trusted_keys` alone, with a warning.
    pub fn load(config: &IntegrityConfig, allow_unsigned: bool) -> Trust {
        let mut keys = config.trusted_keys.clone();
        match own_public_key(config) {
            Ok(own) => keys.extend(own),
            Err(e) => {
                tracing::warn!("{e:#}; trusting only the keys in [integrity] trusted_keys")
            }
        }
        Trust {
            keys,
            allow_unsigned,
        }
    }

    /// Whether a signature by `key` is accepted (WAL entries).
    pub fn trusts(&self, key: &PublicKey) -> bool {
        self.keys.contains(key)
    }

    /// Checks a manifest read from `manifest_key`: `Ok(Some(warning))` when it is accepted
    /// only because of `--allow-unsigned`. Errors name the key and what to do.
    pub fn check(&self, manifest_key: &str, manifest: &Manifest) -> Result<Option<String>, String> {
        check_location(manifest_key, manifest)?;
        match manifest.signer() {
            Err(e) => Err(format!(
                "{manifest_key}: refused: {e}; --allow-unsigned does not accept it"
            )),
            Ok(Some(key)) if self.keys.contains(&key) => Ok(None),
            Ok(Some(key)) => Err(format!(
                "{manifest_key}: refused: signed by key {} ({key}), which this host does not trust; if that key is one of your backup hosts', add \"{key}\" to [integrity] trusted_keys",
                key.key_id()
            )),
            Ok(None) if self.allow_unsigned => Ok(Some(format!(
                "{manifest_key} is unsigned (manifest format {}): accepted because of --allow-unsigned, although nothing proves who wrote it or that its content is unchanged",
                manifest.format_version
            ))),
            Ok(None) => Err(format!(
                "{manifest_key}: refused: unsigned (manifest format {}), so nothing proves who wrote it; if you trust this destination's content, rerun with --allow-unsigned",
                manifest.format_version
            )),
        }
    }
}

/// A manifest must sit at the key the layout gives its own source, database, start time and
/// id, and name an artifact with the same stem beside it: a manifest copied or moved
/// elsewhere must not send a restore to another database.
fn check_location(manifest_key: &str, manifest: &Manifest) -> Result<(), String> {
    let extension = manifest
        .artifact
        .split_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && !manifest.artifact.contains('/'))
        .ok_or_else(|| {
            format!(
                "{manifest_key}: refused: its artifact {:?} is not a file name beside it",
                manifest.artifact
            )
        })?;
    let keys = object_keys(
        &manifest.source,
        &manifest.database,
        manifest.started_at,
        &manifest.id,
        extension,
    );
    if keys.manifest != manifest_key {
        return Err(format!(
            "{manifest_key}: refused: it describes backup {} of {}/{}, which belongs at {}; a manifest found elsewhere is not trusted",
            manifest.id, manifest.source, manifest.database, keys.manifest
        ));
    }
    if !keys.artifact.ends_with(&format!("/{}", manifest.artifact)) {
        return Err(format!(
            "{manifest_key}: refused: its artifact {:?} is not {} beside it",
            manifest.artifact,
            keys.artifact.rsplit('/').next().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> (Manifest, String) {
        let json = r#"{"format_version":3,"id":"01JABCDEFGHJKMNPQRSTVWXYZ0","source":"pg",
            "engine":"postgres","database":"shop",
            "artifact":"20260304T050607Z-01JABCDEFGHJKMNPQRSTVWXYZ0.sql.zst","server_version":"15",
            "dump_tool":"pg_dump","dump_tool_version":"15","dump_format":"plain","host":"h",
            "started_at":"2026-03-04T05:06:07.5Z","finished_at":"2026-03-04T05:07:00Z",
            "options":[],"excluded_tables":[],"tables":[],"dump_bytes":1,"stored_bytes":1,
            "sha256":"00","compression":"zstd","encryption":null,"encryption_recipients":[],
            "replica_lag_seconds":null,"warnings":[]}"#;
        let key = "pg/shop/2026/03/04/20260304T050607Z-01JABCDEFGHJKMNPQRSTVWXYZ0.manifest.json";
        (Manifest::from_json(json.as_bytes()).unwrap(), key.into())
    }

    fn trust(keys: Vec<PublicKey>, allow_unsigned: bool) -> Trust {
        Trust {
            keys,
            allow_unsigned,
        }
    }

    #[test]
    fn concurrent_first_backups_share_one_key_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = IntegrityConfig {
            signing_key: dir.path().join("state/keys/signing.key"),
            trusted_keys: Vec::new(),
        };
        let keys: Vec<PublicKey> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| signing_key(&config).unwrap().public()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&config.signing_key), 0o600);
        assert_eq!(mode(config.signing_key.parent().unwrap()), 0o700);
        assert_eq!(own_public_key(&config).unwrap(), Some(keys[0].clone()));
    }

    #[test]
    fn a_manifest_signed_by_a_trusted_key_at_its_own_key_passes() {
        let (mut m, key) = manifest();
        let signer = SigningKey::generate().unwrap();
        m.sign(&signer);
        assert_eq!(
            trust(vec![signer.public()], false).check(&key, &m),
            Ok(None)
        );
    }

    #[test]
    fn untrusted_keys_are_named_and_never_allowed() {
        let (mut m, key) = manifest();
        let stranger = SigningKey::generate().unwrap();
        m.sign(&stranger);
        let err = trust(vec![], true).check(&key, &m).unwrap_err();
        assert!(
            err.contains(&stranger.public().key_id())
                && err.contains(&stranger.public().to_string())
                && err.contains("[integrity] trusted_keys"),
            "{err}"
        );
    }

    #[test]
    fn unsigned_manifests_pass_only_with_the_override() {
        let (m, key) = manifest();
        let err = trust(vec![], false).check(&key, &m).unwrap_err();
        assert!(
            err.contains("unsigned") && err.contains("--allow-unsigned"),
            "{err}"
        );
        let warning = trust(vec![], true).check(&key, &m).unwrap().unwrap();
        assert!(warning.contains("unsigned"), "{warning}");
    }

    #[test]
    fn a_manifest_elsewhere_is_refused_even_signed_and_allowed() {
        let (mut m, key) = manifest();
        let signer = SigningKey::generate().unwrap();
        m.sign(&signer);
        let trust = trust(vec![signer.public()], true);
        for elsewhere in [
            key.replace("pg/shop/", "pg/prod/"),
            key.replace("2026/03/04", "2026/03/05"),
            key.replace("Z0.manifest", "Z1.manifest"),
            format!("x/{key}"),
        ] {
            let err = trust.check(&elsewhere, &m).unwrap_err();
            assert!(err.contains(&key) && err.contains(&elsewhere), "{err}");
        }
        let mut other = m.clone();
        other.artifact = "../../prod/x.sql.zst".into();
        other.sign(&signer);
        assert!(trust.check(&key, &other).is_err());
        other.artifact = "20260304T050607Z-01JABCDEFGHJKMNPQRSTVWXYZ1.sql.zst".into();
        other.sign(&signer);
        assert!(trust.check(&key, &other).is_err());
    }
}
