//! TLS for database connections, shared by the server engines: how hard a client insists on
//! TLS (libpq's `sslmode` names), the files it verifies the server and authenticates itself
//! with, and the line `check` shows about what was negotiated.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::source::CheckLine;

/// Makes ring rustls's process-wide default before anything needs TLS. dbward has one TLS
/// stack, rustls on ring: sqlx is built for ring, lettre is built with its `ring` feature,
/// and reqwest (alerts, and OpenDAL's HTTP transport) is built without a provider and uses
/// this default. Called by `main`, by every database connection and by every OpenDAL
/// operator's construction, so that library users (tests) get it too.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How a client insists on TLS, weakest first; the names are libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    #[default]
    Prefer,
    /// TLS or no connection, without checking the certificate.
    Require,
    /// TLS with a certificate signed by the configured CA, whatever name it is for.
    VerifyCa,
    /// Like `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl TlsMode {
    pub const ALL: [TlsMode; 5] = [
        TlsMode::Disable,
        TlsMode::Prefer,
        TlsMode::Require,
        TlsMode::VerifyCa,
        TlsMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    pub fn parse(text: &str) -> Option<TlsMode> {
        TlsMode::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Whether the server's certificate is checked against the CA file.
    pub fn verifies(self) -> bool {
        self >= TlsMode::VerifyCa
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client certificate and its private key (PEM files), presented when the server asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The TLS settings of one server connection; the config layer guarantees that a verifying
/// mode has a `ca_file` and that `Disable` has no files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// The CA certificates (PEM) a verifying mode trusts.
    pub ca_file: Option<PathBuf>,
    pub client: Option<ClientCert>,
}

impl TlsSettings {
    /// `check`'s line about the connection just made: the negotiated protocol and cipher (or
    /// `off`) and the mode; a warning when a server that is not on this machine is reached
    /// without checking who it is.
    pub fn check_line(&self, host: &str, negotiated: Option<(String, String)>) -> CheckLine {
        let mode = self.mode;
        let state = match &negotiated {
            Some((version, cipher)) => format!("{version} {cipher} ({mode})"),
            None => format!("off ({mode})"),
        };
        if mode.verifies() || is_local(host) {
            return CheckLine::ok("tls", state);
        }
        let risk = if negotiated.is_some() {
            format!(
                "the server's certificate is not verified, so anyone on the path to {host} can pose as it"
            )
        } else {
            format!("traffic to {host} is not encrypted")
        };
        CheckLine::warning(
            "tls",
            format!("{state}: {risk}; set tls = \"verify-full\" and ca_file"),
        )
    }

    /// Why a connection failed in TLS, in words an operator can act on; `cause` is the TLS
    /// library's message.
    pub fn failure(&self, host: &str, cause: &str) -> String {
        let mode = self.mode;
        if cause.contains("does not support TLS") {
            return format!(
                "the server does not offer TLS, and tls = \"{mode}\" requires it: enable TLS on the server, or set tls = \"prefer\""
            );
        }
        let hint = match mode {
            TlsMode::VerifyFull => format!(
                "check that ca_file holds the CA that signed the server's certificate and that the certificate names {host}"
            ),
            TlsMode::VerifyCa => {
                "check that ca_file holds the CA that signed the server's certificate".into()
            }
            _ => "check client_cert, client_key and the server's TLS settings".into(),
        };
        format!("TLS handshake failed (tls = \"{mode}\"): {cause}; {hint}")
    }
}

/// Whether `host` is this machine: a loopback name or address, or a Unix socket path.
pub fn is_local(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_and_order_by_strength() {
        for mode in TlsMode::ALL {
            assert_eq!(TlsMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(TlsMode::parse("verify_full"), None);
        assert_eq!(TlsMode::default(), TlsMode::Prefer);
        assert!(!TlsMode::Require.verifies() && TlsMode::VerifyCa.verifies());
    }

    #[test]
    fn check_warns_only_for_unverified_remote_servers() {
        let tls = |mode| TlsSettings {
            mode,
            ..TlsSettings::default()
        };
        let on = || Some(("TLSv1.3".to_string(), "TLS_AES_256_GCM_SHA384".to_string()));
        let cases = [
            (TlsMode::Prefer, "127.0.0.1", None, false, "off (prefer)"),
            (
                TlsMode::Prefer,
                "localhost",
                on(),
                false,
                "TLSv1.3 TLS_AES_256_GCM_SHA384 (prefer)",
            ),
            (TlsMode::Disable, "::1", None, false, "off (disable)"),
            (
                TlsMode::Disable,
                "/run/postgresql",
                None,
                false,
                "off (disable)",
            ),
            (
                TlsMode::Prefer,
                "db.example",
                None,
                true,
                "off (prefer): traffic to db.example is not encrypted",
            ),
            (
                TlsMode::Require,
                "10.0.0.5",
                on(),
                true,
                "(require): the server's certificate is not verified",
            ),
            (
                TlsMode::VerifyFull,
                "db.example",
                on(),
                false,
                "TLSv1.3 TLS_AES_256_GCM_SHA384 (verify-full)",
            ),
        ];
        for (mode, host, negotiated, warns, text) in cases {
            let line = tls(mode).check_line(host, negotiated);
            let detail = line.outcome.clone().unwrap();
            assert_eq!(line.warning, warns, "{mode} {host}: {detail}");
            assert!(detail.contains(text), "{mode} {host}: {detail}");
        }
    }
}
