//! Lease throughput for scripts/bench-catalog.sh: N clients, each with a `PgCatalog` (a pool
//! of its own) on the catalog named by `$BENCH_CATALOG_URL`, claim and release leases as
//! fast as they can for a while; prints the cycles as one JSON line.
//!
//! ```text
//! BENCH_CATALOG_URL=postgres://... lease_bench --clients 4 --seconds 10
//! ```
//!
//! Each client cycles through 100 jobs of its own (`bench/c<client>/db<n>`), as agents
//! backing up different databases do; every claim must be `Acquired`.

use std::time::{Duration, Instant};

use dbward_catalog::{AgentInfo, AgentKind, AgentRef, Claim, Coordination, PgCatalog};
use dbward_core::secret::SecretString;

const TTL: Duration = Duration::from_secs(60);
const JOBS: usize = 100;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut clients = 4usize;
    let mut seconds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--clients" => clients = value.parse()?,
            "--seconds" => seconds = value.parse()?,
            _ => return Err(format!("unknown option {arg}").into()),
        }
    }
    // The URL holds a password: it comes from the environment, never argv.
    let url = SecretString::from(std::env::var("BENCH_CATALOG_URL")?);
    let mut catalogs = Vec::with_capacity(clients);
    for _ in 0..clients {
        catalogs.push(PgCatalog::connect(&url).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = catalogs
        .into_iter()
        .enumerate()
        .map(|(n, catalog)| tokio::spawn(cycle(n, catalog, deadline)))
        .collect();
    let mut cycles = 0u64;
    for task in tasks {
        cycles += task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{{\"clients\": {clients}, \"seconds\": {elapsed:.3}, \"cycles\": {cycles}, \"cycles_per_second\": {:.1}}}",
        cycles as f64 / elapsed
    );
    Ok(())
}

/// Claims and releases client `n`'s jobs in turn until `deadline`; returns the cycles done.
async fn cycle(n: usize, catalog: PgCatalog, deadline: Instant) -> Result<u64, String> {
    let holder = AgentInfo {
        agent: AgentRef {
            id: format!("bench-agent-{n}"),
            host: "bench-host".into(),
        },
        version: env!("CARGO_PKG_VERSION").into(),
        kind: AgentKind::Cli,
        labels: Vec::new(),
        pid: std::process::id(),
    };
    catalog
        .register_agent(&holder)
        .await
        .map_err(|e| e.to_string())?;
    let mut done = 0u64;
    while Instant::now() < deadline {
        let job = format!("bench/c{n}/db{}", done as usize % JOBS);
        match catalog
            .try_claim(&job, &holder, TTL, false)
            .await
            .map_err(|e| e.to_string())?
        {
            Claim::Acquired { lease, .. } => {
                catalog.release(&lease).await.map_err(|e| e.to_string())?
            }
            Claim::Held(by) => return Err(format!("{job} is held by {by}")),
        }
        done += 1;
    }
    Ok(done)
}
