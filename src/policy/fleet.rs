//! How an agent of the catalog is doing, judged from its record and the catalog's clock: a
//! daemon beats its heartbeat every [`HEARTBEAT_EVERY`] and counts as dead after missing
//! [`MISSED_BEATS`] of them; a one-off command is running while it holds a lease.

use chrono::{DateTime, Utc};
use dbward_catalog::{AgentKind, AgentRecord};
use serde::Serialize;

/// How often a daemon beats its heartbeat.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// Heartbeats a daemon may miss before it counts as dead.
pub const MISSED_BEATS: u32 = 3;

/// What `dbward agents` says of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// A daemon whose heartbeat is recent.
    Alive,
    /// A daemon that missed its heartbeats.
    Dead,
    /// A one-off command holding a lease now.
    Running,
    /// A one-off command that holds nothing: it ran and ended.
    Idle,
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            AgentState::Alive => "alive",
            AgentState::Dead => "dead",
            AgentState::Running => "running",
            AgentState::Idle => "idle",
        };
        f.write_str(text)
    }
}

/// The state of `agent` at `now` (the catalog's clock).
pub fn agent_state(agent: &AgentRecord, now: DateTime<Utc>) -> AgentState {
    match agent.kind {
        AgentKind::Daemon => {
            let silent = now - agent.heartbeat_at;
            let allowed = chrono::Duration::from_std(HEARTBEAT_EVERY * MISSED_BEATS)
                .expect("a small duration");
            if silent > allowed {
                AgentState::Dead
            } else {
                AgentState::Alive
            }
        }
        AgentKind::Cli if agent.running_jobs.is_empty() => AgentState::Idle,
        AgentKind::Cli => AgentState::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(kind: AgentKind, heartbeat: &str, jobs: &[&str]) -> AgentRecord {
        AgentRecord {
            id: "01A".into(),
            host: "a".into(),
            version: "0.1.0".into(),
            kind,
            labels: Vec::new(),
            pid: 1,
            started_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            heartbeat_at: heartbeat.parse().unwrap(),
            running_jobs: jobs.iter().map(|j| j.to_string()).collect(),
        }
    }

    #[test]
    fn agent_states_by_table() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let cases = [
            (
                AgentKind::Daemon,
                "2026-12-01T11:59:45Z",
                &[][..],
                AgentState::Alive,
            ),
            (
                AgentKind::Daemon,
                "2026-12-01T11:58:30Z",
                &[],
                AgentState::Alive,
            ),
            (
                AgentKind::Daemon,
                "2026-12-01T11:58:29Z",
                &[],
                AgentState::Dead,
            ),
            (
                AgentKind::Daemon,
                "2026-12-01T10:00:00Z",
                &["backup/pg/app"],
                AgentState::Dead,
            ),
            (
                AgentKind::Cli,
                "2026-11-01T00:00:00Z",
                &[],
                AgentState::Idle,
            ),
            (
                AgentKind::Cli,
                "2026-12-01T11:59:59Z",
                &["backup/pg/app"],
                AgentState::Running,
            ),
        ];
        for (kind, heartbeat, jobs, expected) in cases {
            assert_eq!(
                agent_state(&agent(kind, heartbeat, jobs), now),
                expected,
                "{kind} heartbeat {heartbeat} jobs {jobs:?}"
            );
        }
    }
}
