//! The check use case: config, state folder, every source (connect, privileges, dump tool)
//! and every destination (write, read back and delete a probe object), one line each.

use bytes::Bytes;
use dbward_core::destination::Destination;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::Context;

/// One line of `dbward check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckItem {
    /// `config`, `source`, `destination` or `alert`.
    pub kind: &'static str,
    pub name: String,
    pub item: String,
    pub ok: bool,
    /// Worth attention but not a failure (does not change the exit code).
    pub warning: bool,
    pub detail: String,
}

/// Checks everything the config names. Sources and destinations are probed concurrently.
pub async fn run(ctx: &Context) -> Vec<CheckItem> {
    let mut items = vec![CheckItem {
        kind: "config",
        name: ctx.config.file.display().to_string(),
        item: "valid".into(),
        ok: true,
        warning: false,
        detail: format!(
            "{} sources, {} destinations, {} schedules; state in {}",
            ctx.config.sources.len(),
            ctx.config.destinations.len(),
            ctx.config.schedules.len(),
            ctx.config.state_dir.display()
        ),
    }];
    let mut tasks = Vec::new();
    for source in ctx.sources.values() {
        let source = source.clone();
        tasks.push(tokio::spawn(async move {
            source
                .check()
                .await
                .into_iter()
                .map(|line| CheckItem {
                    kind: "source",
                    name: source.name().to_string(),
                    item: line.item,
                    ok: line.outcome.is_ok(),
                    warning: line.warning,
                    detail: line.outcome.unwrap_or_else(|e| e),
                })
                .collect::<Vec<_>>()
        }));
    }
    for dest in ctx.destinations.values() {
        let dest = dest.clone();
        tasks.push(tokio::spawn(async move {
            let (ok, detail) = match probe(dest.as_ref()).await {
                Ok(None) => (
                    true,
                    format!(
                        "{}: wrote, read back and deleted a probe object",
                        dest.location()
                    ),
                ),
                Ok(Some(note)) => (
                    true,
                    format!(
                        "{}: wrote and read back a probe object; {note}",
                        dest.location()
                    ),
                ),
                Err(reason) => (false, reason),
            };
            vec![CheckItem {
                kind: "destination",
                name: dest.name().to_string(),
                item: "write/read/delete".into(),
                ok,
                warning: false,
                detail,
            }]
        }));
    }
    for alert in &ctx.config.alerts {
        let (ok, detail) = match super::alerts::reachable(alert).await {
            Ok(detail) => (true, detail),
            Err(reason) => (false, reason),
        };
        items.push(CheckItem {
            kind: "alert",
            name: alert.name.clone(),
            item: "reachable".into(),
            ok,
            warning: false,
            detail,
        });
    }
    items.extend(secrets_and_encryption(ctx).await);
    items.extend(drills_on_production(&ctx.config));
    items.push(signing_key(ctx));
    // Started together, collected in config order.
    for task in tasks {
        match task.await {
            Ok(lines) => items.extend(lines),
            Err(e) => items.push(CheckItem {
                kind: "check",
                name: "internal".into(),
                item: "task".into(),
                ok: false,
                warning: false,
                detail: format!("a check stopped: {e}"),
            }),
        }
    }
    items
}

/// Writes, reads back and deletes a probe object. `Ok(Some(note))` when the store keeps the
/// probe under an Object Lock: writing works, and keeping is what the lock is for.
async fn probe(dest: &dyn Destination) -> Result<Option<String>, String> {
    let key = format!(".dbward-probe-{}", ulid::Ulid::new());
    let payload = Bytes::from(format!("dbward probe {key}"));
    dest.put(&key, payload.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut read = Vec::new();
    let read_result = match dest.read(&key).await {
        Ok(mut reader) => reader
            .read_to_end(&mut read)
            .await
            .map_err(|e| e.to_string())
            .map(|_| ()),
        Err(e) => Err(e.to_string()),
    };
    let deleted = dest.delete(&key).await;
    read_result?;
    if read != payload {
        return Err(format!(
            "destination {}: probe object read back differs from what was written",
            dest.name()
        ));
    }
    match deleted {
        Ok(()) => Ok(None),
        Err(retained @ dbward_core::Error::Retained { .. }) => Ok(Some(format!(
            "the probe object {key} is retained by the bucket's Object Lock ({retained})"
        ))),
        Err(e) => Err(e.to_string()),
    }
}

/// Drills of a server source without a `[drill]` server for its engine restore into the
/// source's own server, usually production: scratch databases and their load land there.
fn drills_on_production(config: &crate::config::Config) -> Vec<CheckItem> {
    config
        .sources
        .iter()
        .filter(|s| s.engine != dbward_core::Engine::Sqlite)
        .filter(|s| config.drill.server(s.engine).is_none())
        .map(|s| CheckItem {
            kind: "drill",
            name: s.name.clone(),
            item: "target".into(),
            ok: true,
            warning: true,
            detail: format!(
                "drills of {} restore into its own server (usually production): set [drill] {} = {{ host = ..., user = ... }} to drill on a scratch server",
                s.name, s.engine
            ),
        })
        .collect()
}

fn note(kind: &'static str, item: &str, warning: bool, detail: String) -> CheckItem {
    CheckItem {
        kind,
        name: String::new(),
        item: item.into(),
        ok: true,
        warning,
        detail,
    }
}

/// Encryption mode and its trade-offs, the recipients recent backups used (rotation), and
/// inline secrets in a config file others can read.
async fn secrets_and_encryption(ctx: &Context) -> Vec<CheckItem> {
    use std::os::unix::fs::PermissionsExt;

    use crate::config::EncryptionMode;
    use crate::pipeline::encrypt::describe;

    let mut items = Vec::new();
    let mode = ctx.config.encryption.as_ref().map(|e| &e.mode);
    let (_, fingerprints) = describe(mode);
    items.push(match mode {
        None => note("encryption", "mode", true, "off: artifacts are stored unencrypted; add [encryption] recipients for off-host copies".into()),
        Some(EncryptionMode::Recipients(_)) => note(
            "encryption",
            "mode",
            false,
            format!("age public-key recipients {} (this host can encrypt, not decrypt)", fingerprints.join(", ")),
        ),
        Some(EncryptionMode::Passphrase(_)) => note(
            "encryption",
            "mode",
            true,
            "age passphrase (scrypt): this host holds what decrypts every backup, so a stolen host exposes them all; prefer recipients from `dbward key generate`".into(),
        ),
    });
    let mut used: Vec<String> = Vec::new();
    if let Ok(pairs) = ctx.catalog.databases_with_good_backups().await {
        for (source, database) in pairs {
            if let Ok(Some((_, Some(json)))) = ctx.catalog.latest_good(&source, &database).await
                && let Ok(manifest) = dbward_core::Manifest::from_json(json.as_bytes())
            {
                used.extend(manifest.encryption_recipients);
            }
        }
    }
    used.sort();
    used.dedup();
    if !used.is_empty() {
        let retired: Vec<&String> = used.iter().filter(|f| !fingerprints.contains(f)).collect();
        items.push(note(
            "encryption",
            "recent backups",
            !retired.is_empty(),
            if retired.is_empty() {
                format!("newest backups use recipients {}", used.join(", "))
            } else {
                format!(
                    "newest backups use recipients {}; {} no longer configured: keep those identities until the backups age out",
                    used.join(", "),
                    retired.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
        ));
    }
    if !ctx.config.inline_secrets.is_empty() {
        let mode = std::fs::metadata(&ctx.config.file)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        if mode & 0o077 != 0 {
            items.push(note(
                "config",
                "secrets",
                true,
                format!(
                    "{} holds inline secrets ({}) and is readable by others (mode {mode:o}): chmod 600 it, or use {{ env = ... }} / {{ file = ... }}",
                    ctx.config.file.display(),
                    ctx.config.inline_secrets.join(", ")
                ),
            ));
        }
    }
    items
}

/// The signing key's public key (for other hosts' `trusted_keys`), and a warning when others
/// can read the key file: whoever reads it can sign manifests this host's restores accept.
fn signing_key(ctx: &Context) -> CheckItem {
    use std::os::unix::fs::PermissionsExt;
    let integrity = &ctx.config.integrity;
    let path = integrity.signing_key.display();
    let trusted = if integrity.trusted_keys.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = integrity.trusted_keys.iter().map(|k| k.key_id()).collect();
        format!("; also trusts {}", ids.join(", "))
    };
    match super::integrity::own_public_key(integrity) {
        Ok(None) => note(
            "integrity",
            "signing key",
            false,
            format!("none yet at {path}: the first backup creates it{trusted}"),
        ),
        Ok(Some(public)) => {
            let mode = std::fs::metadata(&integrity.signing_key)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                note(
                    "integrity",
                    "signing key",
                    true,
                    format!(
                        "{path} is readable by others (mode {mode:o}): anyone who reads it can sign manifests; chmod 600 it (public key {public}){trusted}"
                    ),
                )
            } else {
                note(
                    "integrity",
                    "signing key",
                    false,
                    format!("{} {public} ({path}){trusted}", public.key_id()),
                )
            }
        }
        Err(e) => CheckItem {
            ok: false,
            ..note("integrity", "signing key", false, format!("{e:#}"))
        },
    }
}
