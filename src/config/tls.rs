//! The TLS keys of a server connection (`tls`, `ca_file`, `client_cert`, `client_key`, in
//! `[[source]]` and the `[drill]` server tables), validated into `TlsSettings`.

use std::path::{Path, PathBuf};

use dbward_core::tls::{ClientCert, TlsMode, TlsSettings};

use super::raw::anchored;

/// The TLS keys of a server connection (`[[source]]`, `[drill]` servers), as written.
pub(super) struct RawTls<'a> {
    pub tls: Option<&'a str>,
    pub ca_file: Option<&'a str>,
    pub client_cert: Option<&'a str>,
    pub client_key: Option<&'a str>,
}

/// Validates the TLS keys of one server connection; `key` names a key for messages.
pub(super) fn validate_tls(
    raw: RawTls<'_>,
    base: &Path,
    key: &dyn Fn(&str) -> String,
) -> Result<TlsSettings, String> {
    let mode = match raw.tls {
        None => TlsMode::default(),
        Some(text) => TlsMode::parse(text).ok_or_else(|| {
            format!(
                "{}: expected \"disable\", \"prefer\", \"require\", \"verify-ca\" or \"verify-full\", found {text:?}",
                key("tls")
            )
        })?,
    };
    match (mode.verifies(), raw.ca_file) {
        (true, None) => {
            return Err(format!(
                "{}: required with tls = \"{mode}\": the CA certificate (PEM) that signed the server's certificate (the system's roots are not used)",
                key("ca_file")
            ));
        }
        (false, Some(_)) => {
            return Err(format!(
                "{}: used only with tls = \"verify-ca\" or \"verify-full\"; set one of them or remove ca_file",
                key("ca_file")
            ));
        }
        _ => {}
    }
    match (raw.client_cert, raw.client_key) {
        (Some(_), None) => return Err(format!("{}: required with client_cert", key("client_key"))),
        (None, Some(_)) => return Err(format!("{}: required with client_key", key("client_cert"))),
        (Some(_), Some(_)) if mode == TlsMode::Disable => {
            return Err(format!(
                "{}: not used with tls = \"disable\"; remove client_cert and client_key",
                key("client_cert")
            ));
        }
        _ => {}
    }
    // Read now, so that a wrong path is a config error rather than a failed backup.
    let file = |k: &str, path: Option<&str>| -> Result<Option<PathBuf>, String> {
        path.map(|p| {
            let path = anchored(base, p);
            std::fs::File::open(&path)
                .map(|_| path.clone())
                .map_err(|e| format!("{}: cannot read {}: {e}", key(k), path.display()))
        })
        .transpose()
    };
    let ca_file = file("ca_file", raw.ca_file)?;
    let client = match (
        file("client_cert", raw.client_cert)?,
        file("client_key", raw.client_key)?,
    ) {
        (Some(cert), Some(key)) => Some(ClientCert { cert, key }),
        _ => None,
    };
    Ok(TlsSettings {
        mode,
        ca_file,
        client,
    })
}
