//! The listener the dashboard and API are served on, for `dbward serve` and the daemon:
//! plain HTTP, or HTTPS with `[http] tls_cert`/`tls_key` (rustls on ring, dbward's one TLS
//! stack). TLS handshakes run in tasks of their own with a time limit, so that a slow or
//! silent client never holds up the next connection; connections whose handshake fails are
//! dropped and logged at debug level. The certificate in force is behind a `watch` channel:
//! each new connection takes the latest one, so the daemon's SIGHUP can swap in a renewed
//! certificate ([`reload`]) without touching the connections already open.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsFiles;

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections whose handshake completed, waiting to be served.
const READY_BACKLOG: usize = 64;

/// Why the listener's TLS could not be set up; each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("[http] tls_cert {path}: cannot read a PEM certificate chain: {reason}")]
    Cert { path: PathBuf, reason: String },
    #[error("[http] tls_cert {path}: holds no certificate (expected PEM `BEGIN CERTIFICATE`)")]
    NoCert { path: PathBuf },
    #[error(
        "[http] tls_key {path}: cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}"
    )]
    Key { path: PathBuf, reason: String },
    #[error("[http] tls_cert {cert} and tls_key {key} do not make a usable pair: {reason}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The certificate in force, read by every new connection.
pub type TlsConfig = watch::Receiver<Arc<ServerConfig>>;

/// Holds `config` in force for a listener started with the returned receiver.
pub fn in_force(config: Arc<ServerConfig>) -> (watch::Sender<Arc<ServerConfig>>, TlsConfig) {
    watch::channel(config)
}

/// Reads `files` again and puts them in force for new connections; on an error the
/// certificate in force stays.
pub fn reload(
    files: &TlsFiles,
    current: &watch::Sender<Arc<ServerConfig>>,
) -> Result<(), TlsError> {
    current.send_replace(load(files)?);
    Ok(())
}

/// Reads the certificate chain and key into a server config (HTTP/1.1 only, as served).
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    dbward_core::tls::install_crypto_provider();
    let chain = read_chain(&files.cert)?;
    // The key's parse error is not repeated beyond its kind: the file is a secret.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        reason: describe_pem_error(&e),
    })?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Pair {
            cert: files.cert.clone(),
            key: files.key.clone(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert {
            path: path.to_path_buf(),
            reason: describe_pem_error(&e),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

fn describe_pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM section of the expected kind".into(),
        _ => "not valid PEM".into(),
    }
}

/// Connections accepted over TLS, for `axum::serve`.
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (it only does when the runtime stops).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and completes each handshake in a task of its own, with the
/// certificate in force when the connection came.
async fn accept_tls(
    tcp: TcpListener,
    tls: TlsConfig,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if ready.is_closed() {
            return;
        }
        let acceptor = TlsAcceptor::from(tls.borrow().clone());
        let handed = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = handed.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        });
    }
}

/// Serves `app` on `tcp` (over TLS with the certificate `tls` holds in force) until `stop`
/// completes. Handlers see the client's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    tcp: TcpListener,
    app: Router,
    tls: Option<TlsConfig>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        None => {
            axum::serve(tcp, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(stop)
                .await
        }
        Some(config) => {
            let local = tcp.local_addr()?;
            let (tx, rx) = mpsc::channel(READY_BACKLOG);
            let accepting = tokio::spawn(accept_tls(tcp, config, tx));
            // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>`.
            let listener = TlsListener { ready: rx, local }.tap_io(|_| {});
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(stop)
            .await;
            accepting.abort();
            served
        }
    }
}
