//! moto's S3 server (PyPI `moto[server]`), for what s3s-fs cannot do: versioned buckets with
//! S3 Object Lock. It runs on a free loopback port (state in memory, log in a temporary
//! directory), checks no signatures, and is killed on drop. Buckets are made with boto3 from
//! the same venv (a Python one-liner per bucket), as an operator would with the AWS CLI.

use std::path::PathBuf;
use std::process::Command;

use dbward_core::secret::SecretString;

use super::process::{ServerProcess, find_tool, free_port};
use crate::services::S3Settings;

/// Keys the destinations send; moto accepts any.
const ACCESS_KEY: &str = "dbward-test";
const SECRET_KEY: &str = "dbward-test-secret";

/// Creates a bucket: `argv = endpoint bucket mode days` (mode `-` for a plain bucket, else
/// Object Lock with that default retention).
const CREATE_BUCKET_PY: &str = r#"
import sys, boto3
endpoint, bucket, mode, days = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="dbward-test", aws_secret_access_key="dbward-test-secret")
if mode == "-":
    s3.create_bucket(Bucket=bucket)
else:
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": mode, "Days": int(days)}}})
"#;

/// Object Lock retention mode of a bucket's default retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Deletable only with `s3:BypassGovernanceRetention` and the bypass header (dbward sends
    /// neither).
    Governance,
    /// Deletable by nobody until the retention passes.
    Compliance,
}

impl LockMode {
    fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    server: ServerProcess,
    program: PathBuf,
}

impl Moto {
    /// Starts `moto_server` (from `DBWARD_TEST_MOTO`, else `PATH`); panics saying how to
    /// install it when it is missing.
    pub fn start() -> Moto {
        let program = find_tool("DBWARD_TEST_MOTO", "moto_server", "moto[server] (PyPI)");
        let mut server = ServerProcess::prepare("moto_server");
        let port = free_port();
        let port_text = port.to_string();
        server.spawn(
            &program,
            ["-H", "127.0.0.1", "-p", &port_text],
            &[("MOTO_ALLOW_NONEXISTENT_REGION", "true")],
            port,
        );
        Moto { server, program }
    }

    /// The Python of moto's venv (boto3 comes with `moto[server]`).
    fn python(&self) -> PathBuf {
        let python = self.program.with_file_name("python");
        if python.is_file() {
            python
        } else {
            "python3".into()
        }
    }

    fn run_python(&self, script: &str, args: &[&str]) -> String {
        let out = Command::new(self.python())
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python().display()));
        assert!(
            out.status.success(),
            "{script} {args:?} failed: {}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Creates a plain (unversioned) bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.run_python(CREATE_BUCKET_PY, &[&self.endpoint(), bucket, "-", "0"]);
    }

    /// Creates a bucket with Object Lock enabled (which turns versioning on) and a default
    /// retention of `days` in `mode`: every object version written is locked that long.
    pub fn create_locked_bucket(&self, bucket: &str, mode: LockMode, days: u32) {
        self.run_python(
            CREATE_BUCKET_PY,
            &[&self.endpoint(), bucket, mode.as_str(), &days.to_string()],
        );
    }

    /// Runs `code` with `s3` bound to a boto3 client of this server and `bucket` to the
    /// argument; returns what it printed. For tests that look behind dbward's back.
    pub fn boto3(&self, bucket: &str, code: &str) -> String {
        let script = format!(
            "import sys, boto3\nbucket = sys.argv[2]\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n{code}\n"
        );
        self.run_python(&script, &[&self.endpoint(), bucket])
    }

    /// The installed moto's version.
    pub fn version(&self) -> String {
        self.run_python(
            "import importlib.metadata as m; print(m.version('moto'))",
            &[],
        )
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Settings for a destination on `bucket`, path-style.
    pub fn settings(&self, name: &str, bucket: &str) -> S3Settings {
        S3Settings {
            name: name.into(),
            bucket: bucket.into(),
            endpoint: Some(self.endpoint()),
            region: Some("us-east-1".into()),
            prefix: String::new(),
            access_key_id: Some(SecretString::from(ACCESS_KEY.to_string())),
            secret_access_key: Some(SecretString::from(SECRET_KEY.to_string())),
            path_style: true,
            tuning: Default::default(),
        }
    }

    /// The server's output, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Kills the server; its state is lost.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}
