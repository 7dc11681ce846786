//! The problems use case (the dashboard's Problems page, `GET /api/v1/problems`): every
//! current health problem of `status`, with since when it has held (`policy::since`, from the
//! database's history) and what the alert channels were told of it: the newest delivery, and
//! the newest failed one not since followed by a delivery. Reads only.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use super::alerts::problem_key;
use crate::policy::health::{Problem, State};
use crate::policy::since::{dated, dated_by_last_good_drill, since};

/// What `GET /api/v1/problems` answers.
#[derive(Debug, Serialize)]
pub struct ProblemsReport {
    pub state: State,
    /// Worst first, as `status` orders them.
    pub problems: Vec<CurrentProblem>,
}

/// One problem, dated, with its alerts.
#[derive(Debug, Serialize)]
pub struct CurrentProblem {
    #[serde(flatten)]
    pub problem: Problem,
    /// When the condition started, from the catalog's history; `null` when it does not tell.
    pub since: Option<DateTime<Utc>>,
    pub alerts: Vec<AlertDelivery>,
}

/// What happened when one alert channel was told of a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Delivered,
    Failed,
}

/// One alert channel's newest delivery (or failed delivery) of a problem.
#[derive(Debug, Clone, Serialize)]
pub struct AlertDelivery {
    pub channel: String,
    pub state: DeliveryState,
    pub at: DateTime<Utc>,
    /// The severity told (delivered ones).
    pub severity: Option<String>,
    /// Why it failed (failed ones; never the channel's URL).
    pub error: Option<String>,
}

/// Every current problem at `now`.
pub async fn run(ctx: &Context, now: DateTime<Utc>) -> anyhow::Result<ProblemsReport> {
    let report = super::status::run(ctx, now).await?;
    let mut deliveries: BTreeMap<String, Vec<AlertDelivery>> = BTreeMap::new();
    for told in ctx.catalog.alerts_told().await? {
        deliveries
            .entry(told.problem)
            .or_default()
            .push(AlertDelivery {
                channel: told.channel,
                state: DeliveryState::Delivered,
                at: told.at,
                severity: Some(told.severity),
                error: None,
            });
    }
    for failure in ctx.catalog.alert_failures().await? {
        deliveries
            .entry(failure.problem)
            .or_default()
            .push(AlertDelivery {
                channel: failure.channel,
                state: DeliveryState::Failed,
                at: failure.at,
                severity: None,
                error: Some(failure.error),
            });
    }
    // The newest passed drill of every database, as `status` judged it: the date of the
    // problems that need nothing else.
    let last_good_drill: HashMap<(&str, &str), Option<DateTime<Utc>>> = report
        .databases
        .iter()
        .filter_map(|d| Some(((d.source.as_str(), d.database.as_deref()?), d.last_drill)))
        .collect();
    // The histories of every other database with a dated problem, read at once (a few
    // queries per thousand databases, not two per database).
    let dated_databases: Vec<(String, String)> = report
        .problems
        .iter()
        .filter(|p| dated(p.kind) && !dated_by_last_good_drill(p.kind))
        .filter_map(|p| Some((p.source.clone(), p.database.clone()?)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let histories = ctx.catalog.histories(&dated_databases).await?;
    let mut problems = Vec::with_capacity(report.problems.len());
    for problem in report.problems {
        let since = match &problem.database {
            Some(database) if dated_by_last_good_drill(problem.kind) => last_good_drill
                .get(&(problem.source.as_str(), database.as_str()))
                .copied()
                .flatten(),
            Some(database) if dated(problem.kind) => histories
                .get(&(problem.source.clone(), database.clone()))
                .and_then(|h| since(problem.kind, &h.backups, &h.proofs)),
            _ => None,
        };
        let mut alerts = deliveries
            .get(&problem_key(&problem))
            .cloned()
            .unwrap_or_default();
        alerts.sort_by(|a, b| a.channel.cmp(&b.channel).then(b.at.cmp(&a.at)));
        problems.push(CurrentProblem {
            problem,
            since,
            alerts,
        });
    }
    Ok(ProblemsReport {
        state: report.state,
        problems,
    })
}
