//! `dbward show ID`: one backup with its copies, verification and manifest.

use super::{Globals, output};
use crate::engine::{UsageError, show};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup's id (a unique prefix is enough).
    id: String,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    let (ctx, _log) = super::open_reader(globals).await?;
    let Some(shown) = show::find(&ctx, &args.id).await? else {
        return Err(UsageError(format!(
            "no backup with id {:?} in the catalog (see `dbward list`)",
            args.id
        ))
        .into());
    };
    if globals.json {
        output::json(&shown.document()?)?;
        return Ok(0);
    }
    let show::Shown {
        backup,
        manifest,
        verifications,
    } = shown;
    let mut lines = vec![
        ("id", backup.id.clone()),
        ("source", format!("{} ({})", backup.source, backup.engine)),
        ("database", backup.database.clone()),
        ("status", backup.status.to_string()),
        ("error", backup.error.clone().unwrap_or_else(|| "-".into())),
        ("started", backup.started_at.to_rfc3339()),
        ("duration", output::duration(&backup)),
        ("dump size", output::size(backup.dump_bytes)),
        ("stored size", output::size(backup.stored_bytes)),
        (
            "sha256",
            backup.sha256.clone().unwrap_or_else(|| "-".into()),
        ),
        ("verified", output::verification(&backup)),
    ];
    if let Some(m) = &manifest {
        lines.push(("server", m.server_version.clone()));
        lines.push((
            "dump tool",
            format!(
                "{} {} ({})",
                m.dump_tool, m.dump_tool_version, m.dump_format
            ),
        ));
        lines.push(("compression", m.compression.clone()));
        lines.push((
            "rows",
            format!("{} in {} tables", m.total_rows(), m.tables.len()),
        ));
        if !m.excluded_tables.is_empty() {
            lines.push(("excluded", m.excluded_tables.join(", ")));
        }
    }
    for (key, value) in lines {
        outln!("{key:12} {value}");
    }
    for copy in &backup.copies {
        outln!(
            "{:12} {} {} {}{}",
            "copy",
            copy.destination,
            copy.status.as_str(),
            copy.path,
            copy.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    for v in &verifications {
        outln!(
            "{:12} {} {} at {} in {:.1}s",
            "verification",
            v.level,
            if v.ok { "ok" } else { "FAILED" },
            v.at.format("%Y-%m-%d %H:%M:%S"),
            v.duration_ms as f64 / 1000.0
        );
    }
    for warning in &backup.warnings {
        outln!("{:12} {warning}", "warning");
    }
    if let Some(m) = &manifest {
        let rows: Vec<Vec<String>> = m
            .tables
            .iter()
            .map(|t| vec![t.table.clone(), t.rows.to_string()])
            .collect();
        outln!();
        out!("{}", output::table(&["TABLE", "ROWS"], &rows));
    }
    Ok(0)
}
