//! How an agent of the catalog is doing, judged from its record and the catalog's clock: a
//! daemon beats its heartbeat every `[daemon] heartbeat` and counts as dead after missing
//! [`MISSED_BEATS`] of them; a one-off command is running while it holds a lease.

use chrono::{DateTime, Utc};
use dbward_catalog::{AgentKind, AgentRecord};
use serde::Serialize;

use super::health::{Kind, Problem, Severity};
use crate::config::SourceConfig;

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

/// How long a daemon may be silent before it counts as dead.
pub fn silence_allowed(heartbeat: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(heartbeat * MISSED_BEATS).unwrap_or(chrono::Duration::MAX)
}

/// How long a daemon must have been silent before its unfinished fires are taken over: dead,
/// and long enough that its leases (last renewed no later than its last heartbeat plus one
/// interval) have expired, so the job runs instead of being skipped.
pub fn silence_before_take_over(
    heartbeat: std::time::Duration,
    lease_ttl: std::time::Duration,
) -> chrono::Duration {
    let leases_gone =
        chrono::Duration::from_std(lease_ttl + heartbeat).unwrap_or(chrono::Duration::MAX);
    silence_allowed(heartbeat).max(leases_gone)
}

/// The state of `agent` at `now` (the catalog's clock), daemons beating every `heartbeat`.
pub fn agent_state(
    agent: &AgentRecord,
    now: DateTime<Utc>,
    heartbeat: std::time::Duration,
) -> AgentState {
    match agent.kind {
        AgentKind::Daemon => {
            if now - agent.heartbeat_at > silence_allowed(heartbeat) {
                AgentState::Dead
            } else {
                AgentState::Alive
            }
        }
        AgentKind::Cli if agent.running_jobs.is_empty() => AgentState::Idle,
        AgentKind::Cli => AgentState::Running,
    }
}

/// How long a dead daemon is reported before it is taken for retired.
pub const REPORTED_DEAD_FOR: chrono::Duration = chrono::Duration::days(7);

/// The fleet's health problems: daemons that stopped beating their heartbeat (WARNING, for a
/// week), and sources pinned to labels (`agents`) that no live daemon has (CRITICAL: nothing
/// backs them up on schedule). Without any daemon in the catalog there is no fleet to judge.
pub fn problems(
    agents: &[AgentRecord],
    sources: &[SourceConfig],
    now: DateTime<Utc>,
    heartbeat: std::time::Duration,
) -> Vec<Problem> {
    let daemons: Vec<&AgentRecord> = agents
        .iter()
        .filter(|a| a.kind == AgentKind::Daemon)
        .collect();
    if daemons.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut live_labels: Vec<String> = Vec::new();
    for daemon in &daemons {
        match agent_state(daemon, now, heartbeat) {
            AgentState::Dead if now - daemon.heartbeat_at <= REPORTED_DEAD_FOR => {
                found.push(Problem {
                    kind: Kind::AgentDead,
                    severity: Severity::Warning,
                    schedule: None,
                    source: format!("agent {}", daemon.id),
                    database: None,
                    message: format!(
                        "daemon {} on {} has not beaten its heartbeat since {} (dead since {} missed beats); its unfinished backups are taken over by the others",
                        daemon.id,
                        daemon.host,
                        daemon.heartbeat_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        MISSED_BEATS
                    ),
                });
            }
            AgentState::Alive => live_labels.extend(daemon.labels.iter().cloned()),
            _ => {}
        }
    }
    for source in sources.iter().filter(|s| !s.agents.is_empty()) {
        if !source.served_by(&live_labels) {
            found.push(Problem {
                kind: Kind::Unserved,
                severity: Severity::Critical,
                schedule: None,
                source: source.name.clone(),
                database: None,
                message: format!(
                    "no live daemon has a label of agents = {:?}: nothing backs this source up on schedule",
                    source.agents
                ),
            });
        }
    }
    found
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

    const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    fn source(name: &str, agents: &[&str]) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            engine: dbward_core::Engine::Sqlite,
            databases: vec!["*".into()],
            exclude_databases: Vec::new(),
            exclude_tables: Vec::new(),
            max_replica_lag: None,
            connection: crate::config::Connection::File {
                path: format!("/srv/{name}.db").into(),
            },
            agents: agents.iter().map(|a| a.to_string()).collect(),
            pitr: false,
            pitr_settings: Default::default(),
            globals: None,
        }
    }

    #[test]
    fn fleet_problems_by_table() {
        let now: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let mut eu = agent(AgentKind::Daemon, "2026-12-01T11:59:50Z", &[]);
        eu.id = "01EU".into();
        eu.labels = vec!["eu-west".into()];
        let mut us_dead = agent(AgentKind::Daemon, "2026-12-01T10:00:00Z", &[]);
        us_dead.id = "01US".into();
        us_dead.labels = vec!["us-east".into()];
        let mut retired = agent(AgentKind::Daemon, "2026-11-01T00:00:00Z", &[]);
        retired.id = "01OLD".into();
        let cli = agent(AgentKind::Cli, "2026-11-01T00:00:00Z", &[]);
        let sources = [
            source("anywhere", &[]),
            source("eu-db", &["eu-west"]),
            source("us-db", &["us-east"]),
        ];
        let kinds = |agents: &[AgentRecord]| -> Vec<(Kind, String)> {
            problems(agents, &sources, now, EVERY)
                .into_iter()
                .map(|p| (p.kind, p.source))
                .collect()
        };
        assert!(
            kinds(std::slice::from_ref(&cli)).is_empty(),
            "no daemon: no fleet"
        );
        assert_eq!(
            kinds(&[eu.clone(), us_dead.clone(), retired.clone(), cli]),
            [
                (Kind::AgentDead, "agent 01US".to_string()),
                (Kind::Unserved, "us-db".to_string())
            ],
            "a retired daemon is no longer reported"
        );
        assert_eq!(
            kinds(&[us_dead]),
            [
                (Kind::AgentDead, "agent 01US".to_string()),
                (Kind::Unserved, "eu-db".to_string()),
                (Kind::Unserved, "us-db".to_string())
            ]
        );
        assert!(
            kinds(&[eu.clone(), {
                let mut us = eu.clone();
                us.labels = vec!["us-east".into()];
                us
            }])
            .is_empty()
        );
    }

    #[test]
    fn take_over_waits_for_death_and_for_the_leases_to_expire() {
        let secs = std::time::Duration::from_secs;
        let cases = [(30, 60, 90), (30, 120, 150), (1, 2, 3), (1, 10, 11)];
        for (heartbeat, ttl, expected) in cases {
            assert_eq!(
                silence_before_take_over(secs(heartbeat), secs(ttl)),
                chrono::Duration::seconds(expected),
                "heartbeat {heartbeat}s, lease_ttl {ttl}s"
            );
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
                agent_state(&agent(kind, heartbeat, jobs), now, EVERY),
                expected,
                "{kind} heartbeat {heartbeat} jobs {jobs:?}"
            );
        }
    }
}
