//! Reading what a destination holds, by the storage format (docs/storage-format.md): committed
//! backups (a manifest and its artifact), uncommitted artifacts (no manifest), manifests whose
//! artifact is gone, and everything else. Audit, catalog rebuild and prune build on it. Keys
//! come from storage anyone may write to: one named like a manifest but not in the layout's
//! shape (and its artifact) is skipped and reported, never read, imported or deleted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use dbward_core::Manifest;
use dbward_core::destination::{Destination, ObjectMeta};
use dbward_core::layout::{MANIFEST_SUFFIX, is_artifact_key, is_manifest_key, manifest_key_for};
use tokio::io::AsyncReadExt;

/// What one destination holds.
#[derive(Debug, Default)]
pub struct Holdings {
    pub objects: usize,
    pub bytes: u64,
    pub oldest: Option<DateTime<Utc>>,
    pub newest: Option<DateTime<Utc>>,
    /// Manifest key → its artifact object, when present.
    pub manifests: BTreeMap<String, Option<ObjectMeta>>,
    /// Artifacts (by the layout's key shape) that no manifest commits.
    pub uncommitted: Vec<ObjectMeta>,
    /// Objects that are not dbward's: never touched.
    pub foreign: usize,
    /// `key: why`, for objects named like manifests (or their artifacts) whose key is not in
    /// the layout's shape: left alone, and reported because they look like backups.
    pub skipped: Vec<String>,
}

/// Objects dbward writes that are not backups (`check` probes, staged uploads).
fn is_internal(key: &str) -> bool {
    key.starts_with(".dbward-") || key.contains("/.dbward-")
}

/// Lists a destination and sorts its objects by role.
pub async fn holdings(dest: &dyn Destination) -> dbward_core::Result<Holdings> {
    let objects = dest.list("").await?;
    let mut holdings = Holdings::default();
    let keys: BTreeSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    for object in objects.iter().filter(|o| !is_internal(&o.key)) {
        holdings.objects += 1;
        holdings.bytes += object.size;
        if let Some(at) = object.modified {
            holdings.oldest = Some(holdings.oldest.map_or(at, |o| o.min(at)));
            holdings.newest = Some(holdings.newest.map_or(at, |n| n.max(at)));
        }
        if is_manifest_key(&object.key) {
            holdings.manifests.entry(object.key.clone()).or_insert(None);
        } else if object.key.ends_with(MANIFEST_SUFFIX) {
            holdings.skipped.push(format!(
                "{}: named like a manifest, but not <source>/<database>/YYYY/MM/DD/<yyyymmddThhmmssZ>-<id>{MANIFEST_SUFFIX}; left alone",
                object.key
            ));
        }
    }
    for object in objects
        .iter()
        .filter(|o| !is_internal(&o.key) && !o.key.ends_with(MANIFEST_SUFFIX))
    {
        match manifest_key_for(&object.key).filter(|m| keys.contains(m.as_str())) {
            Some(manifest) if holdings.manifests.contains_key(&manifest) => {
                holdings.manifests.insert(manifest, Some(object.clone()));
            }
            Some(manifest) => holdings.skipped.push(format!(
                "{}: its manifest {manifest} is not in the layout's shape; left alone",
                object.key
            )),
            None if is_artifact_key(&object.key) => holdings.uncommitted.push(object.clone()),
            None => holdings.foreign += 1,
        }
    }
    Ok(holdings)
}

/// Reads and parses one manifest.
pub async fn read_manifest(
    dest: &dyn Destination,
    key: &str,
) -> Result<(Manifest, String), String> {
    let mut bytes = Vec::new();
    dest.read(key)
        .await
        .map_err(|e| e.to_string())?
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("reading {key}: {e}"))?;
    let manifest = Manifest::from_json(&bytes).map_err(|e| format!("{key}: {e}"))?;
    Ok((manifest, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The artifact key a manifest at `manifest_key` commits.
pub fn artifact_key(manifest_key: &str, manifest: &Manifest) -> String {
    match manifest_key.rsplit_once('/') {
        Some((folder, _)) => format!("{folder}/{}", manifest.artifact),
        None => manifest.artifact.clone(),
    }
}
