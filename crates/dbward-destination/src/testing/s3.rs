//! An S3 server in the test's own process: s3s speaks the protocol (SigV4 auth included),
//! s3s-fs stores buckets as folders of a temporary directory. It can be stopped and started
//! again on the same port to test a store that goes away.

use std::net::SocketAddr;
use std::path::Path;

use dbward_core::secret::SecretString;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::services::S3Settings;

/// A running (or stopped) in-process S3 server.
#[derive(Debug)]
pub struct S3Server {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    access_key: String,
    secret_key: String,
    task: Option<JoinHandle<()>>,
}

impl S3Server {
    /// Starts on a free loopback port with a fresh random access key and secret.
    pub async fn start() -> S3Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let mut server = S3Server {
            dir,
            addr,
            access_key: format!("AK{}", ulid::Ulid::new()),
            secret_key: format!("SK{}{}", ulid::Ulid::new(), ulid::Ulid::new()),
            task: None,
        };
        server.serve(listener);
        server
    }

    fn service(&self) -> S3Service {
        let fs = s3s_fs::FileSystem::new(self.dir.path()).expect("s3s-fs root");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            self.access_key.clone(),
            self.secret_key.clone(),
        ));
        builder.build()
    }

    fn serve(&mut self, listener: TcpListener) {
        let service = self.service();
        self.task = Some(tokio::spawn(async move {
            // Connections live in this set: stopping the server drops them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        let service = service.clone();
                        connections.spawn(async move {
                            let conn = ConnBuilder::new(TokioExecutor::new());
                            let _ = conn.serve_connection(TokioIo::new(socket), service).await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }));
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where s3s-fs keeps the buckets (one folder each; objects are files under it).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn access_key(&self) -> SecretString {
        SecretString::from(self.access_key.clone())
    }

    pub fn secret_key(&self) -> SecretString {
        SecretString::from(self.secret_key.clone())
    }

    /// Creates a bucket (a folder of the store).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.dir.path().join(bucket)).expect("create bucket folder");
    }

    /// Settings for a destination on `bucket` with this server's keys, path-style.
    pub fn settings(&self, name: &str, bucket: &str) -> S3Settings {
        S3Settings {
            name: name.into(),
            bucket: bucket.into(),
            endpoint: Some(self.endpoint()),
            region: Some("us-east-1".into()),
            prefix: String::new(),
            access_key_id: Some(self.access_key()),
            secret_access_key: Some(self.secret_key()),
            path_style: true,
            tuning: Default::default(),
        }
    }

    /// Stops listening and drops every open connection; the data stays.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port, with the same data and keys.
    pub async fn resume(&mut self) {
        if self.task.is_some() {
            return;
        }
        let listener = TcpListener::bind(self.addr).await.expect("rebind port");
        self.serve(listener);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
