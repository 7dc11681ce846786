//! Certificates for TLS test servers, made with the `openssl` command: a private CA, a server
//! certificate it signs for `localhost` and `127.0.0.1`, a client certificate, and a second,
//! unrelated CA that must not be trusted.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::run_checked;

/// The PEM files of a test CA and what it signed, in one directory.
#[derive(Debug, Clone)]
pub struct TestCa {
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// A CA that signed nothing here: trusting only it must fail verification.
    pub other_ca_file: PathBuf,
    /// The server's certificate (names `localhost` and `127.0.0.1`) and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate (CN `dbward_client`) and key, signed by the CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestCa {
    /// Makes every file in `dir`; the server key is handed to `owner` (uid, gid) when given,
    /// since servers refuse a key that others can read.
    pub(crate) fn generate(dir: &Path, owner: Option<(u32, u32)>) -> Result<TestCa, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let path = |name: &str| dir.join(name);
        let ca = TestCa {
            ca_file: path("ca.crt"),
            other_ca_file: path("other-ca.crt"),
            server_cert: path("server.crt"),
            server_key: path("server.key"),
            client_cert: path("client.crt"),
            client_key: path("client.key"),
        };
        self_signed(&ca.ca_file, &path("ca.key"), "dbward test CA")?;
        self_signed(&ca.other_ca_file, &path("other-ca.key"), "dbward other CA")?;
        let ext = path("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .map_err(|e| format!("write {}: {e}", ext.display()))?;
        signed(&ca, "localhost", &ca.server_cert, &ca.server_key, &ext)?;
        let client_ext = path("client.ext");
        std::fs::write(
            &client_ext,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .map_err(|e| format!("write {}: {e}", client_ext.display()))?;
        signed(
            &ca,
            "dbward_client",
            &ca.client_cert,
            &ca.client_key,
            &client_ext,
        )?;
        use std::os::unix::fs::PermissionsExt;
        for key in [&ca.server_key, &ca.client_key] {
            std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("chmod {}: {e}", key.display()))?;
        }
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&ca.server_key, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", ca.server_key.display()))?;
        }
        Ok(ca)
    }
}

fn openssl(args: &[&str]) -> Result<String, String> {
    run_checked(Command::new("openssl").args(args)).map_err(|e| {
        format!("{e}\n(the TLS test servers need the `openssl` command: apt-get install openssl)")
    })
}

/// `openssl req` arguments that make a new P-256 key in `key`, unencrypted.
fn new_key(key: &str) -> [&str; 7] {
    [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
    ]
}

fn self_signed(cert: &Path, key: &Path, name: &str) -> Result<(), String> {
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    let subject = format!("/CN={name}");
    let mut args = vec!["req", "-x509"];
    args.extend(new_key(&key));
    args.extend([
        "-out",
        &cert,
        "-days",
        "3",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&args).map(drop)
}

fn signed(ca: &TestCa, name: &str, cert: &Path, key: &Path, ext: &Path) -> Result<(), String> {
    let csr = cert.with_extension("csr");
    let (csr, cert, key, ext) = (
        csr.to_string_lossy(),
        cert.to_string_lossy(),
        key.to_string_lossy(),
        ext.to_string_lossy(),
    );
    let subject = format!("/CN={name}");
    let mut args = vec!["req"];
    args.extend(new_key(&key));
    args.extend(["-out", &csr, "-subj", &subject]);
    openssl(&args)?;
    let ca_cert = ca.ca_file.to_string_lossy();
    let ca_key = ca.ca_file.with_extension("key");
    let ca_key = ca_key.to_string_lossy();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_cert,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &cert,
        "-days",
        "3",
        "-extfile",
        &ext,
    ])
    .map(drop)
}
