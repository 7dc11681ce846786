//! Keys: loading what decrypts artifacts (an age identity file, or the configured passphrase),
//! generating an identity (`key generate`), and the key drill (`key verify`) that proves an
//! identity still decrypts the newest backup of every database (F13).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::Utc;
use dbward_core::secret::ExposeSecret;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::locate::{BackupRef, locate};
use super::{Context, UsageError};
use crate::catalog::NewVerification;
use crate::config::EncryptionMode;
use crate::pipeline::encrypt::{fingerprint, scrypt_identity};

/// What can decrypt artifacts, and where it came from (for messages; never its contents).
pub struct Keyring {
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
    origin: String,
    /// Fingerprints of the recipients these identities answer to (x25519 identities only).
    pub fingerprints: Vec<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Reads an age identity file (`AGE-SECRET-KEY-1...` lines, `#` comments).
    pub fn from_identity_file(path: &Path) -> anyhow::Result<Keyring> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!("cannot read identity file {}: {e}", path.display()))
        })?;
        let mut identities: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
        let mut fingerprints = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity: age::x25519::Identity = line.parse().map_err(|_| {
                UsageError(format!(
                    "identity file {} line {}: not an age identity (expected AGE-SECRET-KEY-1...)",
                    path.display(),
                    number + 1
                ))
            })?;
            fingerprints.push(fingerprint(&identity.to_public().to_string()));
            identities.push(Box::new(identity));
        }
        if identities.is_empty() {
            return Err(UsageError(format!(
                "identity file {} holds no age identity",
                path.display()
            ))
            .into());
        }
        Ok(Keyring {
            identities,
            origin: format!("identity file {}", path.display()),
            fingerprints,
        })
    }

    /// The identity that the configured passphrase stands for.
    pub fn from_passphrase(passphrase: &dbward_core::secret::SecretString) -> Keyring {
        Keyring {
            identities: vec![Box::new(scrypt_identity(passphrase))],
            origin: "the [encryption] passphrase".into(),
            fingerprints: Vec::new(),
        }
    }

    pub fn identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.identities
            .iter()
            .map(|i| i.as_ref() as &dyn age::Identity)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// The keyring for a command: `--identity FILE`, else `[encryption] identity`, else the
/// configured passphrase; `None` when nothing is configured.
pub fn keyring(ctx: &Context, identity: Option<&Path>) -> anyhow::Result<Option<Keyring>> {
    keyring_of(&ctx.config, identity)
}

/// [`keyring`] from the config alone, for commands that open no `Context` (`wal fetch`).
pub fn keyring_of(
    config: &crate::config::Config,
    identity: Option<&Path>,
) -> anyhow::Result<Option<Keyring>> {
    let configured = config.encryption.as_ref();
    if let Some(path) = identity.or(configured.and_then(|e| e.identity_file.as_deref())) {
        return Keyring::from_identity_file(path).map(Some);
    }
    Ok(match configured.map(|e| &e.mode) {
        Some(EncryptionMode::Passphrase(p)) => Some(Keyring::from_passphrase(p)),
        _ => None,
    })
}

/// Writes a new identity to `out` (mode 0600, never over an existing file) and returns its
/// public recipient.
pub fn generate(out: &Path) -> anyhow::Result<String> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow::Error::from(UsageError(format!(
                "{} exists already; key generate never overwrites an identity",
                out.display()
            ))),
            _ => anyhow::anyhow!("cannot create {}: {e}", out.display()),
        })?;
    write!(
        file,
        "# created: {}\n# public key: {recipient}\n{}\n",
        Utc::now().to_rfc3339(),
        identity.to_string().expose_secret()
    )?;
    file.sync_all()?;
    Ok(recipient)
}

/// One database's result of a key drill.
#[derive(Debug, Clone, Serialize)]
pub struct KeyDrillResult {
    pub backup_id: String,
    pub source: String,
    pub database: String,
    /// `decrypted`, `failed` or `not encrypted`.
    pub outcome: String,
    pub detail: String,
}

/// The key drill: decrypts (fully, streaming) the newest good backup of every database.
pub async fn drill(
    ctx: &Context,
    identity: &Path,
) -> anyhow::Result<(Vec<KeyDrillResult>, Vec<String>)> {
    let keyring = Keyring::from_identity_file(identity)?;
    let mut results = Vec::new();
    let mut seen_fingerprints = Vec::new();
    for (source, database) in ctx.catalog.databases_with_good_backups().await? {
        let located = locate(
            ctx,
            &BackupRef::Latest {
                source: source.clone(),
                database: database.clone(),
            },
            None,
            false,
        )
        .await?;
        let manifest = &located.manifest;
        seen_fingerprints.extend(manifest.encryption_recipients.iter().cloned());
        if manifest.encryption.is_none() {
            results.push(KeyDrillResult {
                backup_id: manifest.id.clone(),
                source,
                database,
                outcome: "not encrypted".into(),
                detail: "nothing to decrypt".into(),
            });
            continue;
        }
        let started = std::time::Instant::now();
        // Every byte decrypted and decompressed, from the first copy that reads cleanly.
        let drained = read_first_good_copy(
            &located,
            Some(&keyring),
            &super::observe::Quiet,
            "key drill",
            async |mut dump| {
                let mut sink = vec![0u8; 256 * 1024];
                let mut total = 0u64;
                loop {
                    match dump.read(&mut sink).await {
                        Ok(0) => return Ok(total),
                        Ok(n) => total += n as u64,
                        Err(e) => return Err(e.to_string()),
                    }
                }
            },
        )
        .await;
        let outcome = match drained {
            CopyOutcome::Read { value, .. } => Ok(value),
            CopyOutcome::Failed { copy, error, .. } => Err(format!("copy on {copy}: {error}")),
            CopyOutcome::Unreadable { skipped } => Err(skipped.join("; ")),
        };
        let ok = outcome.is_ok();
        let detail = match &outcome {
            Ok(bytes) => format!("decrypted and decompressed {bytes} bytes"),
            Err(e) => e.clone(),
        };
        ctx.catalog
            .record_verification(&NewVerification {
                backup_id: &manifest.id,
                level: "key",
                ok,
                at: Utc::now(),
                duration_ms: started.elapsed().as_millis() as i64,
                details: &serde_json::json!({ "identity": keyring.origin(), "detail": detail })
                    .to_string(),
            })
            .await?;
        results.push(KeyDrillResult {
            backup_id: manifest.id.clone(),
            source,
            database,
            outcome: if ok { "decrypted" } else { "failed" }.into(),
            detail,
        });
    }
    let mut notes = Vec::new();
    if !seen_fingerprints.is_empty()
        && !keyring
            .fingerprints
            .iter()
            .any(|f| seen_fingerprints.contains(f))
    {
        notes.push(format!(
            "the {} matches no recipient of the newest backups (they use {})",
            keyring.origin(),
            dedup(seen_fingerprints).join(", ")
        ));
    }
    Ok((results, notes))
}

fn dedup(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}
