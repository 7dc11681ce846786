//! Ed25519 keys that sign manifests: dbward's key file format (`docs/storage-format.md`), the
//! public key string `dbward-ed25519:<hex>` and its short key id for messages.

use std::path::Path;

use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256};

/// Prefix of a public key string.
pub const PUBLIC_PREFIX: &str = "dbward-ed25519:";
/// Prefix of the one secret line in a key file.
pub const SECRET_PREFIX: &str = "dbward-ed25519-secret:";

/// A key that cannot be read, parsed or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0:?} is not a dbward public key: expected dbward-ed25519: and 64 hex digits")]
    BadPublic(String),
    #[error(
        "{}: not a dbward signing key file (expected one line dbward-ed25519-secret: and 64 hex digits)",
        .0.display()
    )]
    BadFile(std::path::PathBuf),
    #[error("{context} {}: {err}", path.display())]
    Io {
        context: &'static str,
        path: std::path::PathBuf,
        err: std::io::Error,
    },
    #[error("the system's random number generator failed: {0}")]
    Random(String),
}

/// A public key that verifies manifest signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Parses `dbward-ed25519:<64 hex digits>`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadPublic(text.to_string());
        let hex_part = text.strip_prefix(PUBLIC_PREFIX).ok_or_else(bad)?;
        let bytes: [u8; 32] = hex::decode(hex_part)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad())
    }

    /// A short fingerprint for messages: `sha256:` and the first 16 hex digits of the
    /// sha256 of the key's 32 bytes.
    pub fn key_id(&self) -> String {
        let digest = hex::encode(Sha256::digest(self.0.as_bytes()));
        format!("sha256:{}", &digest[..16])
    }

    /// Whether `signature` (128 hex digits) signs `message` with this key.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = hex::decode(signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        self.0
            .verify(message, &ed25519_dalek::Signature::from_bytes(&bytes))
            .is_ok()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", hex::encode(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// A secret signing key. `Debug` shows only its public key.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public())
    }
}

impl SigningKey {
    /// A new key from the system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature of `message`, 128 hex digits.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }

    /// The key file's text: comment lines (`#`), then the one secret line.
    pub fn to_file_text(&self) -> String {
        format!(
            "# dbward signing key (ed25519): signs the manifests this host writes. Keep it secret.\n\
             # public key: {}\n{SECRET_PREFIX}{}\n",
            self.public(),
            hex::encode(self.0.to_bytes())
        )
    }

    /// Parses a key file's text: blank and `#` lines are ignored, exactly one secret line.
    pub fn from_file_text(text: &str, path: &Path) -> Result<Self, KeyError> {
        let mut secrets = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let bad = || KeyError::BadFile(path.to_path_buf());
        let line = secrets.next().ok_or_else(bad)?;
        if secrets.next().is_some() {
            return Err(bad());
        }
        let seed: [u8; 32] = line
            .strip_prefix(SECRET_PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|err| KeyError::Io {
            context: "cannot read the signing key",
            path: path.to_path_buf(),
            err,
        })?;
        Self::from_file_text(&text, path)
    }

    /// Writes a new key file, 0600; an existing file is never overwritten. The file appears
    /// complete or not at all (written beside it, then hard-linked to its name), so a
    /// concurrent reader never sees it half written.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |context, err| KeyError::Io {
            context,
            path: path.to_path_buf(),
            err,
        };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Random(e.to_string()))?;
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let staged = path.with_file_name(format!(".{file_name}.{}.tmp", hex::encode(nonce)));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)
            .and_then(|mut file| {
                file.write_all(self.to_file_text().as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::hard_link(&staged, path));
        let _ = std::fs::remove_file(&staged);
        written.map_err(|e| io("cannot create the signing key (it is never overwritten)", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        let key = SigningKey::generate().unwrap();
        let text = key.to_file_text();
        let back = SigningKey::from_file_text(&text, Path::new("k")).unwrap();
        assert_eq!(back.public(), key.public());
        let public = key.public().to_string();
        assert!(public.starts_with(PUBLIC_PREFIX) && public.len() == 15 + 64);
        assert_eq!(PublicKey::parse(&public).unwrap(), key.public());
        assert!(text.contains(&public), "the file names its public key");
        assert!(!format!("{key:?}").contains(&text.lines().last().unwrap()[22..]));
    }

    #[test]
    fn signatures_verify_only_with_their_key_and_message() {
        let (a, b) = (
            SigningKey::generate().unwrap(),
            SigningKey::generate().unwrap(),
        );
        let sig = a.sign(b"message");
        assert!(a.public().verifies(b"message", &sig));
        assert!(!a.public().verifies(b"messagf", &sig));
        assert!(!b.public().verifies(b"message", &sig));
        assert!(!a.public().verifies(b"message", "zz"));
        assert_ne!(a.public().key_id(), b.public().key_id());
    }

    #[test]
    fn malformed_keys_are_refused() {
        for text in [
            "",
            "dbward-ed25519:abcd",
            "ed25519:00",
            &format!("{PUBLIC_PREFIX}{}", "g".repeat(64)),
        ] {
            assert!(PublicKey::parse(text).is_err(), "{text}");
        }
        let path = Path::new("key");
        for text in ["", "# only a comment\n", "dbward-ed25519-secret:00\n"] {
            let err = SigningKey::from_file_text(text, path).unwrap_err();
            assert!(
                err.to_string().contains("not a dbward signing key"),
                "{err}"
            );
        }
        let line = SigningKey::generate().unwrap().to_file_text();
        assert!(SigningKey::from_file_text(&format!("{line}{line}"), path).is_err());
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let key = SigningKey::generate().unwrap();
        key.write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let other = SigningKey::generate().unwrap();
        let err = other.write_new(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::Io { err, .. } if err.kind() == std::io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(SigningKey::read(&path).unwrap().public(), key.public());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["signing.key"], "no staged file left behind");
    }
}
