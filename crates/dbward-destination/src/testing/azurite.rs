//! Azurite, Microsoft's Azure Storage emulator (npm package `azurite`), serving Blob storage on
//! a free loopback port with its data in a temporary directory. It checks Shared Key
//! signatures with the well-known development account `devstoreaccount1`. Killed on drop.

use std::path::PathBuf;
use std::process::Command;

use dbward_core::secret::SecretString;

use super::process::{ServerProcess, find_tool, free_port};
use crate::services::AzblobSettings;

/// The development account every Azurite knows.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its key, published in Azurite's documentation (not a secret).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Creates a container with a Shared Key signed `PUT ?restype=container`, in node (Azurite's
/// own runtime), so that the tests need no HMAC code of their own.
const CREATE_CONTAINER_JS: &str = r#"
const http = require('http'), crypto = require('crypto');
const [port, account, key, container] = process.argv.slice(1);
const date = new Date().toUTCString(), version = '2021-08-06';
const resource = `/${account}/${account}/${container}\nrestype:container`;
const toSign = ['PUT', '', '', '', '', '', '', '', '', '', '', '',
  `x-ms-date:${date}\nx-ms-version:${version}\n${resource}`].join('\n');
const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(toSign, 'utf8').digest('base64');
const req = http.request({ host: '127.0.0.1', port, method: 'PUT',
  path: `/${account}/${container}?restype=container`,
  headers: { 'x-ms-date': date, 'x-ms-version': version, 'Content-Length': 0,
    Authorization: `SharedKey ${account}:${sig}` } }, res => {
  let body = ''; res.on('data', d => body += d);
  res.on('end', () => { if (res.statusCode === 201 || res.statusCode === 409) process.exit(0);
    console.error(`HTTP ${res.statusCode}: ${body}`); process.exit(1); });
});
req.on('error', e => { console.error(String(e)); process.exit(1); });
req.end();
"#;

/// A running Azurite (Blob service only).
#[derive(Debug)]
pub struct Azurite {
    server: ServerProcess,
    program: PathBuf,
}

impl Azurite {
    /// Starts `azurite-blob` (from `DBWARD_TEST_AZURITE`, else `PATH`); panics saying how to
    /// install it when it is missing.
    pub fn start() -> Azurite {
        let program = find_tool(
            "DBWARD_TEST_AZURITE",
            "azurite-blob",
            "Azurite (npm azurite@3)",
        );
        let mut azurite = Azurite {
            server: ServerProcess::prepare("azurite-blob"),
            program,
        };
        azurite.launch(free_port());
        azurite
    }

    fn launch(&mut self, port: u16) {
        let data = self.server.dir().join("data");
        std::fs::create_dir_all(&data).expect("azurite data folder");
        let port_text = port.to_string();
        let args = [
            "--blobHost".as_ref(),
            "127.0.0.1".as_ref(),
            "--blobPort".as_ref(),
            port_text.as_ref(),
            "--location".as_ref(),
            data.as_os_str(),
            "--silent".as_ref(),
            "--skipApiVersionCheck".as_ref(),
            "--disableTelemetry".as_ref(),
        ];
        let program = self.program.clone();
        self.server.spawn(
            &program,
            args.iter().copied(),
            &[("AZURITE_ACCOUNTS", "")],
            port,
        );
    }

    /// The version Azurite reports (`azurite-blob --version`).
    pub fn version(&self) -> String {
        super::process::reported_version(&self.program)
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port())
    }

    /// Creates `container` (an existing one is fine).
    pub fn create_container(&self, container: &str) {
        let out = Command::new("node")
            .arg("-e")
            .arg(CREATE_CONTAINER_JS)
            .arg(self.port().to_string())
            .arg(AZURITE_ACCOUNT)
            .arg(AZURITE_KEY)
            .arg(container)
            .output()
            .expect("node runs (it runs Azurite too)");
        assert!(
            out.status.success(),
            "cannot create container {container}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Settings for a destination on `container` with the development account's key.
    pub fn settings(&self, name: &str, container: &str) -> AzblobSettings {
        AzblobSettings {
            name: name.into(),
            container: container.into(),
            endpoint: self.endpoint(),
            prefix: String::new(),
            account_name: Some(AZURITE_ACCOUNT.into()),
            account_key: Some(SecretString::from(AZURITE_KEY.to_string())),
            sas_token: None,
            tuning: Default::default(),
        }
    }

    /// Azurite's output, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Kills the server; its port then refuses connections.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
