//! `dbward agents`: the agents sharing the catalog, each with its state judged at the
//! catalog's clock. A read: it records nothing.

use chrono::{DateTime, Utc};
use dbward_catalog::AgentRecord;
use serde::Serialize;

use super::Context;
use crate::policy::fleet::{AgentState, agent_state};

/// One agent and how it is doing.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    #[serde(flatten)]
    pub record: AgentRecord,
    pub state: AgentState,
}

/// Every agent of the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct AgentsReport {
    /// The catalog's clock when it was read.
    pub now: DateTime<Utc>,
    /// This process's own agent id (the state directory's).
    pub this_agent: String,
    pub agents: Vec<AgentView>,
}

pub async fn list(ctx: &Context) -> anyhow::Result<AgentsReport> {
    let now = ctx.catalog.now().await?;
    let agents = ctx
        .catalog
        .agents()
        .await?
        .into_iter()
        .map(|record| AgentView {
            state: agent_state(&record, now, ctx.config.daemon.heartbeat),
            record,
        })
        .collect();
    Ok(AgentsReport {
        now,
        this_agent: ctx.agent.agent.id.clone(),
        agents,
    })
}
