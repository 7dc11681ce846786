//! Serves the crate's in-process S3 test server (`testing::S3Server`: s3s + s3s-fs, SigV4
//! with a random key pair) until killed, for benchmarks and manual tests against a real S3
//! protocol endpoint on loopback.
//!
//! ```text
//! cargo run --release -p dbward-destination --features testing --example s3_server -- \
//!     [--port N] [--bucket NAME]...
//! ```
//!
//! Prints `endpoint=`, `access_key=`, `secret_key=`, `root=` (the folder s3s-fs stores the
//! buckets in) and `bucket=` lines on stdout, then `ready`, and serves until SIGTERM or
//! SIGINT, when it removes its storage folder and exits 0. The keys are random per start and
//! the storage lives in a temporary folder under `$TMPDIR`.
//!
//! `S3Server` always listens on a free port of its own choosing. Without `--port` (or with
//! `--port 0`) that port is the endpoint, with nothing in between. With `--port N` the endpoint
//! is `127.0.0.1:N`, relayed byte for byte (in this process) to the server's own port: a
//! fixed address costs one more loopback copy of every byte.

use std::process::ExitCode;

use dbward_core::secret::ExposeSecret;
use dbward_destination::testing::S3Server;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str =
    "usage: s3_server [--port N] [--bucket NAME]... (default: a free port, bucket \"bench\")";

fn parse() -> Result<(u16, Vec<String>), String> {
    let mut port = 0u16;
    let mut buckets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let v = args.next().ok_or("--port needs a number")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port: {v:?}"))?;
            }
            "--bucket" => {
                let v = args.next().ok_or("--bucket needs a name")?;
                let ok = !v.is_empty()
                    && v.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    });
                if !ok {
                    return Err(format!("--bucket: not an S3 bucket name: {v:?}"));
                }
                buckets.push(v);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if buckets.is_empty() {
        buckets.push("bench".into());
    }
    Ok((port, buckets))
}

/// Accepts on `listener` and relays every connection to `to`.
async fn relay(listener: TcpListener, to: std::net::SocketAddr) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = inbound.set_nodelay(true);
            if let Ok(mut outbound) = TcpStream::connect(to).await {
                let _ = outbound.set_nodelay(true);
                let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let (port, buckets) = match parse() {
        Ok(v) => v,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("s3_server: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Signals first: a kill right after `ready` must still remove the storage folder.
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            eprintln!("s3_server: cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let server = S3Server::start().await;
    for bucket in &buckets {
        server.create_bucket(bucket);
    }
    let endpoint = if port == 0 || port == server.addr().port() {
        server.endpoint()
    } else {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("s3_server: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        tokio::spawn(relay(listener, server.addr()));
        format!("http://127.0.0.1:{port}")
    };
    println!("endpoint={endpoint}");
    println!("access_key={}", server.access_key().expose_secret());
    println!("secret_key={}", server.secret_key().expose_secret());
    println!("root={}", server.root().display());
    for bucket in &buckets {
        println!("bucket={bucket}");
    }
    println!("ready");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(server); // stops serving and removes the storage folder
    ExitCode::SUCCESS
}
