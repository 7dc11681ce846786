//! Encryption inside the pipeline: age (format v1) after compression and before hashing, so
//! the manifest's sha256 covers exactly the stored bytes and `age -d` restores them by hand.
//! The manifest records only fingerprints of the recipients, never keys.

use std::io::Write;

use dbward_core::secret::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::FanOut;
use crate::config::EncryptionMode;

/// How the artifact is sealed, decided once per backup.
pub enum Sealing {
    Plain,
    Age(age::Encryptor),
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sealing::Plain => "Plain",
            Sealing::Age(_) => "Age",
        })
    }
}

impl Sealing {
    /// Prepares the encryption of one artifact under `mode` (none when `None`).
    pub fn new(mode: Option<&EncryptionMode>) -> Sealing {
        match mode {
            None => Sealing::Plain,
            Some(EncryptionMode::Recipients(recipients)) => Sealing::Age(
                age::Encryptor::with_recipients(
                    recipients.iter().map(|r| r as &dyn age::Recipient),
                )
                .expect("x25519 recipients always combine"),
            ),
            Some(EncryptionMode::Passphrase(passphrase)) => {
                Sealing::Age(age::Encryptor::with_user_passphrase(
                    age::secrecy::SecretString::from(passphrase.expose_secret().to_string()),
                ))
            }
        }
    }

    pub(super) fn wrap(self, sink: FanOut) -> std::io::Result<Sealed> {
        Ok(match self {
            Sealing::Plain => Sealed::Plain(sink),
            Sealing::Age(encryptor) => Sealed::Age(encryptor.wrap_output(sink)?),
        })
    }
}

/// The manifest's description of an encryption mode: (`age-x25519` | `age-scrypt`, fingerprints).
pub fn describe(mode: Option<&EncryptionMode>) -> (Option<String>, Vec<String>) {
    match mode {
        None => (None, Vec::new()),
        Some(EncryptionMode::Recipients(recipients)) => (
            Some("age-x25519".into()),
            recipients
                .iter()
                .map(|r| fingerprint(&r.to_string()))
                .collect(),
        ),
        Some(EncryptionMode::Passphrase(_)) => (Some("age-scrypt".into()), Vec::new()),
    }
}

/// A short, stable name for a public recipient: `sha256:` and the first 16 hex digits of the
/// sha256 of its `age1...` text.
pub fn fingerprint(recipient: &str) -> String {
    format!(
        "sha256:{}",
        &hex::encode(Sha256::digest(recipient.as_bytes()))[..16]
    )
}

/// A passphrase for scrypt identities on the read side.
pub fn scrypt_identity(passphrase: &SecretString) -> age::scrypt::Identity {
    age::scrypt::Identity::new(age::secrecy::SecretString::from(
        passphrase.expose_secret().to_string(),
    ))
}

/// The writer between the compressor and the fan-out.
pub(super) enum Sealed {
    Plain(FanOut),
    Age(age::stream::StreamWriter<FanOut>),
}

impl Sealed {
    pub(super) fn finish(self) -> std::io::Result<FanOut> {
        match self {
            Sealed::Plain(sink) => Ok(sink),
            Sealed::Age(writer) => writer.finish(),
        }
    }
}

impl Write for Sealed {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Sealed::Plain(sink) => sink.write(data),
            Sealed::Age(writer) => writer.write(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sealed::Plain(sink) => sink.flush(),
            Sealed::Age(writer) => writer.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprints_are_short_stable_and_distinct() {
        let a = age::x25519::Identity::generate().to_public().to_string();
        let b = age::x25519::Identity::generate().to_public().to_string();
        assert_eq!(super::fingerprint(&a), super::fingerprint(&a));
        assert_ne!(super::fingerprint(&a), super::fingerprint(&b));
        assert_eq!(super::fingerprint(&a).len(), "sha256:".len() + 16);
        assert!(!super::fingerprint(&a).contains(&a[4..20]));
    }
}
