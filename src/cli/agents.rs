//! `dbward agents`: the agents sharing the catalog — host, version, kind, labels, heartbeat,
//! state and the jobs each holds.

use super::{Globals, output};
use crate::engine::agents;

pub async fn run(globals: &Globals) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open_reader(globals).await?;
    let report = agents::list(&ctx).await?;
    if globals.json {
        output::json(&report)?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = report
        .agents
        .iter()
        .map(|a| {
            let record = &a.record;
            let this = if record.id == report.this_agent {
                " (this)"
            } else {
                ""
            };
            vec![
                format!("{}{this}", record.id),
                record.host.clone(),
                record.kind.to_string(),
                record.version.clone(),
                record.labels.join(","),
                dbward_catalog::timestamp(record.heartbeat_at),
                a.state.to_string(),
                record.running_jobs.join(" "),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(
            &[
                "AGENT",
                "HOST",
                "KIND",
                "VERSION",
                "LABELS",
                "HEARTBEAT",
                "STATE",
                "JOBS"
            ],
            &rows
        )
    );
    Ok(0)
}
