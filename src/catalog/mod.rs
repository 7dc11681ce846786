//! The catalog as the root crate sees it: the `dbward-catalog` port and its model, and `open`,
//! which picks the implementation the config names (`[catalog] url`: PostgreSQL; none: the
//! SQLite file in `state_dir`).

use std::sync::Arc;

pub use dbward_catalog::{
    ActionRecord, ActorKind, AgentRef, BackupEnd, BackupRecord, BackupStart, BackupStatus, Catalog,
    CopyRecord, CopyStatus, Fire, HealthFacts, ListFilter, NewSession, NewVerification, Role,
    RunStatus, SessionRecord, SourceBinding, TokenRecord, UserRecord, WalFileRecord, WalLog,
    create_private_dir,
};
use dbward_catalog::{PgCatalog, SqliteCatalog};

use crate::config::Config;

/// Opens (and migrates) the catalog the config names.
pub async fn open(config: &Config) -> anyhow::Result<Arc<dyn Catalog>> {
    Ok(match &config.catalog_url {
        Some(url) => Arc::new(PgCatalog::connect(url).await?),
        None => Arc::new(SqliteCatalog::open(&config.catalog_path()).await?),
    })
}
