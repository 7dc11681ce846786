//! Use cases, one file per verb. Each takes a `Context` (config, catalog, adapters) and
//! returns plain data for the command handler to print.

pub mod access;
pub mod actions;
pub mod agent;
pub mod agents;
pub mod alerts;
pub mod artifact;
pub mod audit;
pub mod backup;
pub mod binlog;
pub mod binlog_drill;
pub mod binlog_restore;
pub mod catalog_migrate;
pub mod check;
pub mod destinations;
pub mod fresh_drill;
pub mod fresh_server;
pub mod globals;
pub mod history;
pub mod integrity;
pub mod journal;
pub mod keys;
pub mod lease;
pub mod limits;
pub mod locate;
pub mod lock;
pub mod observe;
pub mod pitr;
pub mod pitr_drill;
pub mod problems;
pub mod prune;
pub mod rebuild;
mod recovery_base;
pub mod restore;
pub mod scan;
pub mod scratch;
pub mod show;
pub mod status;
pub mod verify;
pub mod wal;
pub mod wal_health;
pub mod wal_retention;

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
    /// This process as an agent of the catalog: what its rows and leases carry.
    pub agent: dbward_catalog::AgentInfo,
    /// This run's spool and secrets folders (what dead runs left is removed on open).
    pub scratch: scratch::Scratch,
    /// Why `catalog` is an empty stand-in in memory rather than the catalog file (see
    /// [`Context::open_for_recovery`]); nothing recorded in it is kept.
    pub catalog_stand_in: Option<String>,
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
        Self::build(config, catalog, scratch, None)
    }

    /// For disaster recovery (`restore --from DEST`), which needs no history: opens the
    /// catalog file when it exists and works, and otherwise — missing, corrupt, locked, or
    /// on a read-only disk — runs on an empty catalog in memory, saying why in
    /// `catalog_stand_in`. A missing catalog is not created. Scratch folders that cannot be
    /// made under `state_dir` go to a private temporary folder.
    pub async fn open_for_recovery(config: Config) -> anyhow::Result<Context> {
        let path = config.catalog_path();
        let opened = if config.catalog_url.is_some() || path.is_file() {
            match crate::catalog::open(&config).await {
                Ok(catalog) => match catalog.check_writable().await {
                    Ok(()) => Ok(catalog),
                    Err(e) => Err(format!("the catalog cannot be written: {e}")),
                },
                Err(e) => Err(e.to_string()),
            }
        } else {
            Err(format!("there is no catalog at {}", path.display()))
        };
        let (catalog, stand_in) = match opened {
            Ok(catalog) => (catalog, None),
            Err(why) => (
                Arc::new(dbward_catalog::SqliteCatalog::in_memory().await?) as Arc<dyn Catalog>,
                Some(why),
            ),
        };
        let scratch = match scratch::Scratch::claim(&config.state_dir) {
            Ok(scratch) => scratch,
            Err(e) => {
                let scratch = scratch::Scratch::claim_private().map_err(|private| {
                    anyhow::anyhow!(
                        "cannot set up scratch folders under {} ({e}) nor in a private temporary folder ({private})",
                        config.state_dir.display()
                    )
                })?;
                tracing::warn!(
                    "cannot set up scratch folders under {} ({e}); using {} instead",
                    config.state_dir.display(),
                    // `<private>/spool/<run>`: name the private folder itself.
                    scratch
                        .spool
                        .ancestors()
                        .nth(2)
                        .unwrap_or(&scratch.spool)
                        .display()
                );
                scratch
            }
        };
        Self::build(config, catalog, scratch, stand_in)
    }

    /// A context for a changed config (the daemon's SIGHUP) on the same catalog, with
    /// adapters and scratch folders of its own; `self` stays usable by the jobs that hold it.
    /// A change of `state_dir` or `[catalog] url` needs a restart.
    pub fn reload(&self, config: Config) -> anyhow::Result<Context> {
        use dbward_core::secret::ExposeSecret;
        let url = |c: &Config| {
            c.catalog_url
                .as_ref()
                .map(|u| u.expose_secret().to_string())
        };
        if config.state_dir != self.config.state_dir {
            anyhow::bail!("state_dir changed; restart dbward to use it");
        }
        if url(&config) != url(&self.config) {
            anyhow::bail!("[catalog] url changed; restart dbward to use it");
        }
        let scratch = scratch::Scratch::claim(&config.state_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot set up scratch folders under {}: {e}",
                config.state_dir.display()
            )
        })?;
        Self::build(config, self.catalog.clone(), scratch, None)
    }

    fn build(
        config: Config,
        catalog: Arc<dyn Catalog>,
        scratch: scratch::Scratch,
        catalog_stand_in: Option<String>,
    ) -> anyhow::Result<Context> {
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
            catalog,
            sources,
            destinations,
            agent: agent::identity(
                &config.state_dir,
                dbward_catalog::AgentKind::Cli,
                Vec::new(),
            ),
            scratch,
            catalog_stand_in,
            config,
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
