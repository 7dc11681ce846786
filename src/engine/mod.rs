//! Use cases, one file per verb. Each takes a `Context` (config, catalog, adapters) and
//! returns plain data for the command handler to print.

pub mod alerts;
pub mod artifact;
pub mod audit;
pub mod backup;
pub mod catalog_migrate;
pub mod check;
pub mod journal;
pub mod keys;
pub mod locate;
pub mod lock;
pub mod prune;
pub mod rebuild;
pub mod restore;
pub mod scan;
pub mod scratch;
pub mod select;
pub mod status;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::Arc;

use dbward_core::destination::Destination;
use dbward_core::source::Source;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::registry;

/// Everything a use case needs, built once per command.
#[derive(Debug)]
pub struct Context {
    pub config: Config,
    pub catalog: Arc<dyn Catalog>,
    pub sources: BTreeMap<String, Arc<dyn Source>>,
    pub destinations: BTreeMap<String, Arc<dyn Destination>>,
    pub host: String,
    /// This run's spool and secrets folders (what dead runs left is removed on open).
    pub scratch: scratch::Scratch,
}

impl Context {
    /// Opens the catalog and builds every adapter.
    pub async fn open(config: Config) -> anyhow::Result<Context> {
        let catalog = crate::catalog::open(&config).await?;
        let scratch = scratch::Scratch::claim(&config.state_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot set up scratch folders under {} (spool/, secrets/): {e}",
                config.state_dir.display()
            )
        })?;
        let sources = config
            .sources
            .iter()
            .map(|s| (s.name.clone(), registry::source(s, &scratch)))
            .collect();
        let destinations = config
            .destinations
            .iter()
            .map(|d| {
                registry::destination(d)
                    .map(|dest| (d.name.clone(), dest))
                    .map_err(|e| crate::config::ConfigError {
                        file: config.file.display().to_string(),
                        message: format!("[[destination]] {:?}: {e}", d.name),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Context {
            config,
            catalog,
            sources,
            destinations,
            host: host_name(),
            scratch,
        })
    }
}

/// This machine's name, recorded in runs and manifests.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// A mistake in how a command was called (unknown schedule, source, ...): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
