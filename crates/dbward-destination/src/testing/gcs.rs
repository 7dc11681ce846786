//! gcp-storage-emulator (PyPI): a Google Cloud Storage JSON API emulator on a free loopback
//! port, keeping its buckets in a temporary directory, with one bucket created at start. It
//! checks no credentials: destinations on it send unsigned requests. Killed on drop.

use std::path::PathBuf;
use std::process::Command;

use super::process::{ServerProcess, find_tool, free_port};
use crate::services::GcsSettings;

/// A running gcp-storage-emulator.
#[derive(Debug)]
pub struct GcsEmulator {
    server: ServerProcess,
    program: PathBuf,
    bucket: String,
}

impl GcsEmulator {
    /// Starts `gcp-storage-emulator` (from `DBWARD_TEST_GCS_EMULATOR`, else `PATH`) with
    /// `bucket` created; panics saying how to install it when it is missing.
    pub fn start(bucket: &str) -> GcsEmulator {
        let program = find_tool(
            "DBWARD_TEST_GCS_EMULATOR",
            "gcp-storage-emulator",
            "gcp-storage-emulator (PyPI)",
        );
        let mut server = ServerProcess::prepare("gcp-storage-emulator");
        let port = free_port();
        let port_text = port.to_string();
        let base = server.dir().to_string_lossy().into_owned();
        server.spawn(
            &program,
            [
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                &port_text,
                "--default-bucket",
                bucket,
            ],
            &[("STORAGE_BASE", &base), ("STORAGE_DIR", "data")],
            port,
        );
        GcsEmulator {
            server,
            program,
            bucket: bucket.to_string(),
        }
    }

    /// The installed package's version (the emulator has no `--version`).
    pub fn version(&self) -> String {
        let python = self.program.with_file_name("python");
        Command::new(if python.is_file() {
            python
        } else {
            "python3".into()
        })
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('gcp-storage-emulator'))",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Settings for a destination on the emulator's bucket, anonymous (the emulator checks
    /// no signature).
    pub fn settings(&self, name: &str) -> GcsSettings {
        GcsSettings {
            name: name.into(),
            bucket: self.bucket.clone(),
            endpoint: Some(self.endpoint()),
            anonymous: true,
            ..GcsSettings::default()
        }
    }

    /// The emulator's output, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Kills the emulator; its port then refuses connections.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
