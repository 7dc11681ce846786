//! `dbward show` and the web's backup page: one backup from the catalog with its manifest
//! and every verification. A read.

use dbward_catalog::VerificationEntry;
use dbward_core::Manifest;
use serde_json::{Value, json};

use super::Context;
use crate::catalog::BackupRecord;

/// One backup with what is known about it.
#[derive(Debug)]
pub struct Shown {
    pub backup: BackupRecord,
    pub manifest: Option<Manifest>,
    pub verifications: Vec<VerificationEntry>,
}

impl Shown {
    /// The JSON document of `show --json` (and `GET /api/v1/backups/{id}`): the backup
    /// record with `manifest` and `verifications`.
    pub fn document(&self) -> anyhow::Result<Value> {
        let mut value = serde_json::to_value(&self.backup)?;
        value["manifest"] = json!(self.manifest);
        value["verifications"] = json!(self.verifications);
        Ok(value)
    }
}

/// The backup with this id (or unique id prefix), if the catalog has it.
pub async fn find(ctx: &Context, id: &str) -> anyhow::Result<Option<Shown>> {
    let Some((backup, manifest)) = ctx.catalog.get(id).await? else {
        return Ok(None);
    };
    let manifest = manifest
        .map(|m| Manifest::from_json(m.as_bytes()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("backup {}: {e}", backup.id))?;
    let verifications = ctx.catalog.verifications(&backup.id).await?;
    Ok(Some(Shown {
        backup,
        manifest,
        verifications,
    }))
}
