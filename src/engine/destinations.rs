//! The destinations use case (the dashboard's Destinations page, `GET /api/v1/destinations`):
//! each destination with what it holds by the catalog's account (committed copies of backups
//! not pruned, and their bytes), its newest `dbward audit`, and its free space where the store
//! can tell (a filesystem's, asked with a short timeout). A destination no longer in the
//! config that still holds copies is listed too. Writes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dbward_catalog::DestinationAuditRecord;
use serde::Serialize;

use super::Context;
use crate::config::DestinationKind;

/// How long the free space of one destination may take to read.
const FREE_SPACE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `GET /api/v1/destinations` answers.
#[derive(Debug, Serialize)]
pub struct DestinationsReport {
    pub destinations: Vec<DestinationView>,
}

/// One destination.
#[derive(Debug, Serialize)]
pub struct DestinationView {
    pub name: String,
    /// Whether the config still names it.
    pub configured: bool,
    /// `fs`, `s3`, `sftp`, `gcs`, `azblob` or `webdav`; `null` when not configured.
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    /// Where it is (never a credential); `null` when not configured.
    pub location: Option<String>,
    /// Anything but a local filesystem counts as off-host (3-2-1).
    pub off_host: bool,
    /// Committed copies of backups not pruned, and their bytes.
    pub copies: u64,
    pub bytes: u64,
    /// When the newest backup it holds started.
    pub newest: Option<DateTime<Utc>>,
    /// Free space, where the store tells it.
    pub free_bytes: Option<u64>,
    /// The newest `dbward audit` of it.
    pub last_audit: Option<DestinationAuditRecord>,
}

fn kind_name(kind: &DestinationKind) -> &'static str {
    match kind {
        DestinationKind::Fs { .. } => "fs",
        DestinationKind::S3(_) => "s3",
        DestinationKind::Sftp(_) => "sftp",
        DestinationKind::Gcs(_) => "gcs",
        DestinationKind::Azblob(_) => "azblob",
        DestinationKind::Webdav(_) => "webdav",
    }
}

/// Every destination, configured ones in config order, then the others by name.
pub async fn list(ctx: &Context) -> anyhow::Result<DestinationsReport> {
    let mut holdings: BTreeMap<String, _> = ctx
        .catalog
        .holdings()
        .await?
        .into_iter()
        .map(|h| (h.destination.clone(), h))
        .collect();
    let mut audits: BTreeMap<String, _> = ctx
        .catalog
        .destination_audits()
        .await?
        .into_iter()
        .map(|a| (a.destination.clone(), a))
        .collect();
    let mut destinations = Vec::new();
    for config in &ctx.config.destinations {
        let held = holdings.remove(&config.name);
        let store = ctx.destinations.get(&config.name);
        let free_bytes = match store {
            Some(store) => tokio::time::timeout(FREE_SPACE_TIMEOUT, store.free_bytes())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        destinations.push(DestinationView {
            name: config.name.clone(),
            configured: true,
            kind: Some(kind_name(&config.kind)),
            location: store.map(|s| s.location()),
            off_host: !matches!(config.kind, DestinationKind::Fs { .. }),
            copies: held.as_ref().map_or(0, |h| h.copies),
            bytes: held.as_ref().map_or(0, |h| h.bytes),
            newest: held.and_then(|h| h.newest),
            free_bytes,
            last_audit: audits.remove(&config.name),
        });
    }
    for (name, held) in holdings {
        destinations.push(DestinationView {
            last_audit: audits.remove(&name),
            name,
            configured: false,
            kind: None,
            location: None,
            off_host: false,
            copies: held.copies,
            bytes: held.bytes,
            newest: held.newest,
            free_bytes: None,
        });
    }
    Ok(DestinationsReport { destinations })
}
