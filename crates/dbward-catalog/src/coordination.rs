//! What lets several dbward processes share one catalog: the agents registry, job leases,
//! claimed fires and source bindings — the [`Coordination`] part of the catalog port. Every
//! time here is the catalog's own clock ([`Coordination::now`]), so hosts with skewed clocks
//! still agree on when a lease expires.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// Who recorded a row or holds a lease: a host name and the stable id of one dbward state
/// directory on it (see `docs/cli.md`, `dbward agents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRef {
    pub id: String,
    pub host: String,
}

crate::model::text_enum! {
    /// What kind of process an agent is.
    AgentKind {
        /// A one-off command (`dbward backup`, `verify`, `restore`, `prune`...).
        Cli => "cli",
        /// `dbward daemon`, which beats its heartbeat while it lives.
        Daemon => "daemon",
    }
}

/// An agent as it registers itself.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub agent: AgentRef,
    pub version: String,
    pub kind: AgentKind,
    pub labels: Vec<String>,
    pub pid: u32,
}

/// An agent as `dbward agents` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRecord {
    pub id: String,
    pub host: String,
    pub version: String,
    pub kind: AgentKind,
    pub labels: Vec<String>,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// The jobs it holds an unexpired lease on.
    pub running_jobs: Vec<String>,
}

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseHolder {
    pub agent: AgentRef,
    pub pid: u32,
    pub since: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "agent {} on {}, pid {}, since {}",
            self.agent.id,
            self.agent.host,
            self.pid,
            crate::timestamp(self.since)
        )
    }
}

/// A held lease. Only the holder knows its token, which every renewal and release names, so
/// a holder that lost its lease cannot touch its successor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The outcome of [`Coordination::try_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The lease is ours. `replaced` is the holder whose lease had expired (or who was this
    /// agent's own dead process): what it left running is now ours to mark interrupted.
    Acquired {
        lease: Lease,
        replaced: Option<LeaseHolder>,
    },
    /// Someone alive holds it.
    Held(LeaseHolder),
}

/// One fire of a schedule's task for one target, at its nominal time: the unit a fleet of
/// daemons claims, so that each runs exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fire {
    /// `backup`, `drill`, `audit`, `prune`.
    pub kind: String,
    pub schedule: String,
    /// `source/database` (escaped like object keys), or `""` for a schedule-wide task.
    pub target: String,
    pub at: DateTime<Utc>,
}

/// The outcome of [`Coordination::bind_source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceBinding {
    /// The name stands for this address in the catalog (it does now, if it was new).
    Bound,
    /// The name already stands for another server, recorded by another agent.
    Conflict { address: String, agent: AgentRef },
}

/// The catalog's part in sharing work between processes and hosts.
#[async_trait]
pub trait Coordination: Send + Sync {
    /// The catalog's clock.
    async fn now(&self) -> Result<DateTime<Utc>>;

    /// Records an agent, or refreshes it (version, labels, pid) and beats its heartbeat.
    async fn register_agent(&self, info: &AgentInfo) -> Result<()>;

    /// Beats an agent's heartbeat.
    async fn heartbeat(&self, agent_id: &str) -> Result<()>;

    /// Every agent, by host then id, with the jobs it holds. A read.
    async fn agents(&self) -> Result<Vec<AgentRecord>>;

    /// Takes the lease of `job` for `ttl` unless someone else holds it unexpired. A lease of
    /// `holder`'s own agent id is taken over only when `own_holder_is_dead` (the caller knows,
    /// by a local lock, that no process of its agent is alive in that job).
    async fn try_claim(
        &self,
        job: &str,
        holder: &AgentInfo,
        ttl: Duration,
        own_holder_is_dead: bool,
    ) -> Result<Claim>;

    /// Extends a held lease to `ttl` from now. `false`: it was lost (expired and taken, or
    /// released); the holder must stop.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool>;

    /// Gives a lease up. Releasing a lease that was lost does nothing.
    async fn release(&self, lease: &Lease) -> Result<()>;

    /// Claims one fire of a schedule for one target (a `source/database`, or `""` for a
    /// schedule-wide task) at its nominal time. Exactly one agent gets `true`; it gets `true`
    /// again while the fire is unfinished (its restarted daemon runs what it had claimed).
    async fn claim_fire(&self, fire: &Fire, agent_id: &str) -> Result<bool>;

    /// Marks a claimed fire done: nobody takes it over any more.
    async fn finish_fire(&self, fire: &Fire) -> Result<()>;

    /// Whether `agent_id` holds `fire` and it is unfinished: checked again once the job's
    /// lease is held, because while the agent waited for it another agent may have taken the
    /// fire over (it found this one silent) or run it to the end.
    async fn owns_fire(&self, fire: &Fire, agent_id: &str) -> Result<bool>;

    /// Forgets fires finished before `before` (history enough to show nothing ran twice);
    /// unfinished ones stay for a take-over. Returns how many went.
    async fn forget_fires(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Unfinished fires of `kind` claimed by a daemon whose heartbeat is older than
    /// `silent_since`: work a dead agent left. A read.
    async fn orphaned_fires(
        &self,
        kind: &str,
        silent_since: DateTime<Utc>,
    ) -> Result<Vec<(Fire, String)>>;

    /// Takes an orphaned fire over from `from_agent`; `false` when another agent was first
    /// (or the fire was finished meanwhile).
    async fn take_over_fire(&self, fire: &Fire, from_agent: &str, agent_id: &str) -> Result<bool>;

    /// Records that source `name` is the server at `address` (the first agent to record it
    /// wins), or tells which other address and agent it already stands for. With `replace`,
    /// a different address is replaced by this one (the caller judged it a move, not a
    /// clash).
    async fn bind_source(
        &self,
        name: &str,
        address: &str,
        agent: &AgentRef,
        replace: bool,
    ) -> Result<SourceBinding>;
}
