//! WsgiDAV (PyPI `wsgidav`, served by `cheroot`): a WebDAV server on a free loopback port
//! sharing a temporary directory, with HTTP Basic authentication for one generated user.
//! Killed on drop.

use std::path::PathBuf;

use dbward_core::secret::SecretString;

use super::process::{ServerProcess, find_tool, free_port};
use crate::services::WebdavSettings;

/// A running WsgiDAV.
#[derive(Debug)]
pub struct WebdavServer {
    server: ServerProcess,
    program: PathBuf,
    user: String,
    password: String,
}

impl WebdavServer {
    /// Starts `wsgidav` (from `DBWARD_TEST_WSGIDAV`, else `PATH`); panics saying how to
    /// install it when it is missing.
    pub fn start() -> WebdavServer {
        let program = find_tool(
            "DBWARD_TEST_WSGIDAV",
            "wsgidav",
            "WsgiDAV (PyPI wsgidav, cheroot)",
        );
        let mut server = ServerProcess::prepare("wsgidav");
        let user = "dbward".to_string();
        let password = format!("pw-{}", ulid::Ulid::new());
        let share = server.dir().join("share");
        std::fs::create_dir_all(&share).expect("share folder");
        let port = free_port();
        // JSON is YAML too; WsgiDAV reads `.yaml` with the PyYAML it depends on.
        let config = format!(
            r#"{{
  "host": "127.0.0.1",
  "port": {port},
  "server": "cheroot",
  "provider_mapping": {{ "/": {share:?} }},
  "http_authenticator": {{
    "domain_controller": null,
    "accept_basic": true,
    "accept_digest": false,
    "default_to_digest": false
  }},
  "simple_dc": {{ "user_mapping": {{ "*": {{ {user:?}: {{ "password": {password:?} }} }} }} }},
  "dir_browser": {{ "enable": false }},
  "verbose": 2,
  "logging": {{ "enable_loggers": [] }}
}}
"#,
            share = share.to_string_lossy(),
        );
        let config_path = server.dir().join("wsgidav.yaml");
        std::fs::write(&config_path, config).expect("wsgidav config");
        server.spawn(
            &program,
            ["--config".as_ref(), config_path.as_os_str()],
            &[],
            port,
        );
        WebdavServer {
            server,
            program,
            user,
            password,
        }
    }

    /// The version WsgiDAV reports (`wsgidav --version`).
    pub fn version(&self) -> String {
        super::process::reported_version(&self.program)
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// The folder the server shares.
    pub fn share(&self) -> PathBuf {
        self.server.dir().join("share")
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> SecretString {
        SecretString::from(self.password.clone())
    }

    /// Settings for a destination at `root` (a folder of the share) with the server's user.
    pub fn settings(&self, name: &str, root: &str) -> WebdavSettings {
        WebdavSettings {
            name: name.into(),
            endpoint: self.endpoint(),
            root: root.into(),
            username: Some(self.user.clone()),
            password: Some(self.password()),
            token: None,
            tuning: Default::default(),
        }
    }

    /// WsgiDAV's output, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Kills the server; its port then refuses connections.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
