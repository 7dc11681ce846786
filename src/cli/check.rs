//! `dbward check`: one line per item; exit 0 when everything passed, 1 otherwise.

use serde_json::json;

use super::{Globals, output};
use crate::engine::check;

pub async fn run(globals: &Globals) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open(globals).await?;
    let items = check::run(&ctx).await;
    let ok = items.iter().all(|i| i.ok);
    if globals.json {
        output::json(&json!({ "ok": ok, "items": items }))?;
    } else {
        for item in &items {
            let status = match (item.ok, item.warning) {
                (false, _) => "FAIL",
                (true, true) => "WARN",
                (true, false) => "ok",
            };
            let subject = if item.name.is_empty() {
                item.kind.to_string()
            } else {
                format!("{} {}", item.kind, item.name)
            };
            outln!("{status:4}  {subject}: {}: {}", item.item, item.detail);
        }
    }
    Ok(if ok { 0 } else { 1 })
}
