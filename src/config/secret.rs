//! Secret references in config: `{ env = "NAME" }`, `{ file = "/run/secrets/x" }`, or an
//! inline string (discouraged). Resolved once at load; the value lives in a `SecretString`.
//! The secrets of connections (sources, destinations, drill servers, the encryption
//! passphrase) that cannot be read are `Deferred`: only a command that connects fails on them.

use std::cell::RefCell;
use std::path::Path;

use dbward_core::secret::SecretString;
use serde::Deserialize;

/// A secret as written in the config file.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum SecretRef {
    Inline(String),
    Env { env: String },
    File { file: String },
}

impl std::fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Inline(_) => f.write_str("Inline([redacted])"),
            SecretRef::Env { env } => write!(f, "Env({env})"),
            SecretRef::File { file } => write!(f, "File({file})"),
        }
    }
}

impl SecretRef {
    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn resolve(&self, base: &Path) -> Result<SecretString, String> {
        match self {
            SecretRef::Inline(value) => Ok(SecretString::from(value.clone())),
            SecretRef::Env { env } => match std::env::var(env) {
                Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
                Ok(_) => Err(format!("environment variable {env} is empty")),
                Err(_) => Err(format!("environment variable {env} is not set")),
            },
            SecretRef::File { file } => {
                let path = super::raw::anchored(base, file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(format!("secret file {} is empty", path.display()));
                }
                Ok(SecretString::from(value.to_string()))
            }
        }
    }
}

/// Connection secrets that could not be read while the config loaded, each with the error it
/// gave (naming the key and the variable or file, never a value). `list`, `show` and
/// `status` connect to nothing and ignore them; every other command fails with the first
/// (`Config::require_secrets`), as loading used to.
#[derive(Debug, Default)]
pub struct Deferred(RefCell<Vec<String>>);

impl Deferred {
    /// Reads `secret`; when it cannot be read, records `<key>: <error>` and returns an empty
    /// placeholder that no command uses (they require the secrets first).
    pub fn resolve(&self, secret: &SecretRef, base: &Path, key: &str) -> SecretString {
        secret.resolve(base).unwrap_or_else(|e| {
            self.0.borrow_mut().push(format!("{key}: {e}"));
            SecretString::from(String::new())
        })
    }

    pub fn into_errors(self) -> Vec<String> {
        self.0.into_inner()
    }
}
