//! Secret references in config: `{ env = "NAME" }`, `{ file = "/run/secrets/x" }`, or an
//! inline string (discouraged). Resolved once at load; the value lives in a `SecretString`.

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
