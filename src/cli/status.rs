//! `dbward status`: health of every schedule and database, as a monitoring plugin reports
//! it: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the config or catalog cannot be read).

use serde_json::json;

use super::{Globals, output};
use crate::engine::{alerts, status};
use crate::policy::health::{Severity, State};
use crate::policy::span;

pub async fn run(globals: &Globals) -> anyhow::Result<u8> {
    let now = chrono::Utc::now();
    let report = async {
        let (ctx, _log) = super::open_reader(globals).await?;
        let report = status::run(&ctx, now).await?;
        let alerts = alerts::notify(&ctx, &report, now).await;
        anyhow::Ok((report, alerts))
    }
    .await;
    let (report, alerts) = match report {
        Ok(done) => done,
        Err(err) => {
            let message = format!("{err:#}");
            if globals.json {
                output::json(
                    &json!({ "state": State::Unknown, "problems": [], "error": message }),
                )?;
            } else {
                outln!("DBWARD UNKNOWN - {message}");
            }
            return Ok(State::Unknown.exit_code());
        }
    };
    for error in &alerts.errors {
        eprintln!("warning: {error}");
    }
    if globals.json {
        // Serialised from borrowed fields: the document of a large fleet is megabytes, and a
        // `json!` value would copy all of it first.
        #[derive(serde::Serialize)]
        struct Document<'a, A: serde::Serialize> {
            state: State,
            problems: &'a [crate::policy::health::Problem],
            databases: &'a [status::DatabaseHealth],
            wal: &'a [crate::engine::wal_health::WalHealth],
            alerts: &'a A,
        }
        output::json(&Document {
            state: report.state,
            problems: &report.problems,
            databases: &report.databases,
            wal: &report.wal,
            alerts: &alerts,
        })?;
        return Ok(report.state.exit_code());
    }
    let count = |severity| {
        report
            .problems
            .iter()
            .filter(|p| p.severity == severity)
            .count()
    };
    outln!(
        "DBWARD {} - {} critical, {} warning(s), {} database(s)",
        report.state.label(),
        count(Severity::Critical),
        count(Severity::Warning),
        report.databases.len()
    );
    for p in &report.problems {
        let severity = match p.severity {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
        };
        outln!(
            "{severity} {} {}/{}{}: {}",
            p.kind.as_str(),
            p.source,
            p.database.as_deref().unwrap_or("*"),
            p.schedule
                .as_deref()
                .map(|s| format!(" (schedule {s})"))
                .unwrap_or_default(),
            p.message
        );
    }
    let rows: Vec<Vec<String>> = report
        .databases
        .iter()
        .map(|d| {
            vec![
                format!("{}/{}", d.source, d.database.as_deref().unwrap_or("*")),
                d.schedules.join(","),
                d.state.label().to_string(),
                d.last_good
                    .as_ref()
                    .map(|g| format!("{} ago", span(now - g.started_at)))
                    .unwrap_or_else(|| "never".into()),
                d.last_good
                    .as_ref()
                    .map(|g| format!("{} ({} off-host)", g.copies, g.off_host_copies))
                    .unwrap_or_else(|| "-".into()),
                d.last_drill
                    .map(|at| format!("{} ago", span(now - at)))
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    outln!();
    out!(
        "{}",
        output::table(
            &[
                "DATABASE",
                "SCHEDULES",
                "STATE",
                "LAST GOOD",
                "COPIES",
                "LAST DRILL"
            ],
            &rows
        )
    );
    if !report.wal.is_empty() {
        let rows: Vec<Vec<String>> = report
            .wal
            .iter()
            .map(|w| {
                vec![
                    w.source.clone(),
                    w.newest.clone().unwrap_or_else(|| "none".into()),
                    w.archived_at
                        .map(|at| format!("{} ago", span(now - at)))
                        .unwrap_or_else(|| "never".into()),
                    w.missing_segments.to_string(),
                ]
            })
            .collect();
        outln!();
        out!(
            "{}",
            output::table(
                &[
                    "PITR SOURCE",
                    "NEWEST LOG FILE",
                    "ARCHIVED",
                    "MISSING FILES"
                ],
                &rows
            )
        );
    }
    Ok(report.state.exit_code())
}
