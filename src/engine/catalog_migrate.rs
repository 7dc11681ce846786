//! The `catalog migrate` use case: the SQLite catalog of `state_dir` copied into a PostgreSQL
//! catalog (idempotent, verified), so that several hosts can share it.

use anyhow::Context as _;
use dbward_catalog::migrate::{self, TableCopy};
use dbward_catalog::{PgCatalog, SqliteCatalog};
use dbward_core::secret::SecretString;
use serde::Serialize;

use crate::config::Config;

/// What `catalog migrate` did.
#[derive(Debug, Serialize)]
pub struct MigrateReport {
    /// The SQLite file copied.
    pub from: String,
    pub tables: Vec<TableCopy>,
}

/// Copies `config`'s SQLite catalog into the PostgreSQL catalog at `to` (migrated first).
pub async fn run(config: &Config, to: &SecretString) -> anyhow::Result<MigrateReport> {
    let path = config.catalog_path();
    if !path.is_file() {
        anyhow::bail!(
            "no SQLite catalog at {}: nothing to migrate (is state_dir right?)",
            path.display()
        );
    }
    let from = SqliteCatalog::open(&path).await?;
    let to = PgCatalog::connect(to).await?;
    let tables = migrate::copy_into(&from, &to)
        .await
        .with_context(|| format!("copying {} failed; nothing was committed", path.display()))?;
    Ok(MigrateReport {
        from: path.display().to_string(),
        tables,
    })
}
