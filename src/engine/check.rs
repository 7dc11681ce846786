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
    /// `config`, `source` or `destination`.
    pub kind: &'static str,
    pub name: String,
    pub item: String,
    pub ok: bool,
    pub detail: String,
}

/// Checks everything the config names. Sources and destinations are probed concurrently.
pub async fn run(ctx: &Context) -> Vec<CheckItem> {
    let mut items = vec![CheckItem {
        kind: "config",
        name: ctx.config.file.display().to_string(),
        item: "valid".into(),
        ok: true,
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
                    detail: line.outcome.unwrap_or_else(|e| e),
                })
                .collect::<Vec<_>>()
        }));
    }
    for dest in ctx.destinations.values() {
        let dest = dest.clone();
        tasks.push(tokio::spawn(async move {
            let (ok, detail) = match probe(dest.as_ref()).await {
                Ok(()) => (
                    true,
                    format!(
                        "{}: wrote, read back and deleted a probe object",
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
                detail,
            }]
        }));
    }
    // Started together, collected in config order.
    for task in tasks {
        match task.await {
            Ok(lines) => items.extend(lines),
            Err(e) => items.push(CheckItem {
                kind: "check",
                name: "internal".into(),
                item: "task".into(),
                ok: false,
                detail: format!("a check stopped: {e}"),
            }),
        }
    }
    items
}

async fn probe(dest: &dyn Destination) -> Result<(), String> {
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
    let deleted = dest.delete(&key).await.map_err(|e| e.to_string());
    read_result?;
    if read != payload {
        return Err(format!(
            "destination {}: probe object read back differs from what was written",
            dest.name()
        ));
    }
    deleted
}
