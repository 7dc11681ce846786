//! A database's history for its dashboard page: its newest backups, each with its row total
//! (from its stored manifest) and whether its dump size was an anomaly, and its newest
//! restore drills. Reads the catalog only; `policy::health::size_anomalies` judges the sizes
//! as `status` judged each one when it was the newest.

use std::collections::HashMap;

use dbward_catalog::DrillRecord;

use super::Context;
use crate::catalog::{BackupRecord, BackupStatus, ListFilter};
use crate::policy::health;

/// One backup of the history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub backup: BackupRecord,
    /// Rows in every table, by its manifest; `None` without a manifest (a failed backup).
    pub rows: Option<u64>,
    /// Why its dump size stands out from the ones before it, if it does.
    pub anomaly: Option<String>,
}

/// A database's newest backups (newest first) and drills (newest first).
#[derive(Debug, Clone)]
pub struct History {
    pub backups: Vec<Entry>,
    pub drills: Vec<DrillRecord>,
}

/// The newest `backups` backups not pruned of `source`/`database` and its newest `drills`
/// drills.
pub async fn of(
    ctx: &Context,
    source: &str,
    database: &str,
    backups: u32,
    drills: u32,
) -> anyhow::Result<History> {
    let filter = ListFilter {
        source: Some(source.to_string()),
        database: Some(database.to_string()),
        status: None,
        limit: Some(backups),
    };
    let records = ctx.catalog.list(&filter).await?;
    let rows: HashMap<String, u64> = ctx
        .catalog
        .manifests(source, database, backups)
        .await?
        .into_iter()
        .filter_map(|(id, json)| {
            let manifest = dbward_core::Manifest::from_json(json.as_bytes()).ok()?;
            Some((id, manifest.total_rows()))
        })
        .collect();
    let sizes: Vec<Option<u64>> = records
        .iter()
        .map(|b| b.dump_bytes.filter(|_| b.status == BackupStatus::Succeeded))
        .collect();
    let anomalies = health::size_anomalies(&sizes);
    let backups = records
        .into_iter()
        .zip(anomalies)
        .map(|(backup, anomaly)| Entry {
            rows: rows.get(&backup.id).copied(),
            anomaly: anomaly.map(|(_, why)| why),
            backup,
        })
        .collect();
    let drills = ctx.catalog.drills(source, database, drills).await?;
    Ok(History { backups, drills })
}
