//! [`Coordination`](crate::Coordination) for both SQL backends, written once like
//! `sql.rs`. The only per-backend text is the expression of the catalog's clock. A claim is
//! one `INSERT … ON CONFLICT DO UPDATE … WHERE <expired>` statement, which both engines run
//! atomically against the primary key: two claimants of a free or expired lease cannot both
//! get it, and a live lease is never overwritten.

/// Implements `Coordination` for `$ty { pool }`, whose rows are `$row`; `$now` is an SQL
/// expression of the current UTC time in the catalog's text format.
macro_rules! sql_coordination {
    ($ty:ident, $row:ty, $now:literal) => {
        mod coordination_queries {
            use std::time::Duration;

            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::$ty;
            use $crate::{
                AgentInfo, AgentKind, AgentRecord, AgentRef, CatalogError, Claim, Coordination,
                Fire, Lease, LeaseHolder, Result, SourceBinding, parse_time, timestamp,
            };

            type DbRow = $row;

            fn holder_from_row(row: &DbRow) -> Result<LeaseHolder> {
                Ok(LeaseHolder {
                    agent: AgentRef {
                        id: row.try_get("agent_id")?,
                        host: row.try_get("host")?,
                    },
                    pid: pid(row.try_get("pid")?),
                    since: parse_time(&row.try_get::<String, _>("acquired_at")?)?,
                    expires_at: parse_time(&row.try_get::<String, _>("expires_at")?)?,
                })
            }

            /// Reads and swaps a contended lease row at most this often before giving up.
            const CLAIM_ATTEMPTS: usize = 5;

            fn pid(value: i64) -> u32 {
                u32::try_from(value).unwrap_or(0)
            }

            fn later(at: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>> {
                chrono::Duration::from_std(ttl)
                    .ok()
                    .and_then(|ttl| at.checked_add_signed(ttl))
                    .ok_or_else(|| CatalogError::Invalid(format!("lease time {ttl:?}")))
            }

            #[async_trait]
            impl Coordination for $ty {
                async fn now(&self) -> Result<DateTime<Utc>> {
                    let row = sqlx::query(concat!("SELECT ", $now, " AS now"))
                        .fetch_one(&self.pool)
                        .await?;
                    parse_time(&row.try_get::<String, _>("now")?)
                }

                async fn register_agent(&self, info: &AgentInfo) -> Result<()> {
                    let now = timestamp(self.now().await?);
                    let labels = serde_json::to_string(&info.labels)
                        .map_err(|e| CatalogError::Invalid(format!("agent labels: {e}")))?;
                    sqlx::query(
                        "INSERT INTO agents
                             (id, host, version, kind, labels, pid, started_at, heartbeat_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                         ON CONFLICT (id) DO UPDATE SET host = excluded.host,
                             version = excluded.version, kind = excluded.kind,
                             labels = excluded.labels, pid = excluded.pid,
                             started_at = excluded.started_at,
                             heartbeat_at = excluded.heartbeat_at",
                    )
                    .bind(&info.agent.id)
                    .bind(&info.agent.host)
                    .bind(&info.version)
                    .bind(info.kind.as_str())
                    .bind(labels)
                    .bind(i64::from(info.pid))
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn heartbeat(&self, agent_id: &str) -> Result<()> {
                    sqlx::query(concat!(
                        "UPDATE agents SET heartbeat_at = ",
                        $now,
                        " WHERE id = $1"
                    ))
                    .bind(agent_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn agents(&self) -> Result<Vec<AgentRecord>> {
                    let now = timestamp(self.now().await?);
                    let rows = sqlx::query(
                        "SELECT id, host, version, kind, labels, pid, started_at, heartbeat_at
                         FROM agents ORDER BY host, id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    let leases = sqlx::query(
                        "SELECT agent_id, job FROM leases WHERE expires_at > $1
                         ORDER BY agent_id, job",
                    )
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let id: String = row.try_get("id")?;
                            let kind: String = row.try_get("kind")?;
                            let labels: String = row.try_get("labels")?;
                            let running_jobs = leases
                                .iter()
                                .filter(|l| l.try_get::<String, _>("agent_id").ok().as_ref() == Some(&id))
                                .map(|l| l.try_get("job"))
                                .collect::<std::result::Result<_, _>>()?;
                            Ok(AgentRecord {
                                host: row.try_get("host")?,
                                version: row.try_get("version")?,
                                kind: AgentKind::parse(&kind).ok_or_else(|| {
                                    CatalogError::Invalid(format!("agent kind {kind:?}"))
                                })?,
                                labels: serde_json::from_str(&labels).map_err(|e| {
                                    CatalogError::Invalid(format!("agent labels {labels:?}: {e}"))
                                })?,
                                pid: pid(row.try_get("pid")?),
                                started_at: parse_time(&row.try_get::<String, _>("started_at")?)?,
                                heartbeat_at: parse_time(
                                    &row.try_get::<String, _>("heartbeat_at")?,
                                )?,
                                running_jobs,
                                id,
                            })
                        })
                        .collect()
                }

                async fn try_claim(
                    &self,
                    job: &str,
                    holder: &AgentInfo,
                    ttl: Duration,
                    own_holder_is_dead: bool,
                ) -> Result<Claim> {
                    // Compare and swap on the token read: each statement is atomic on both
                    // engines, and a row that changed between the read and the write is read
                    // again rather than overwritten.
                    for _ in 0..CLAIM_ATTEMPTS {
                        let now = self.now().await?;
                        let expires_at = later(now, ttl)?;
                        let token = ulid::Ulid::new().to_string();
                        let previous = sqlx::query(
                            "SELECT agent_id, host, pid, token, acquired_at, expires_at
                             FROM leases WHERE job = $1",
                        )
                        .bind(job)
                        .fetch_optional(&self.pool)
                        .await?;
                        let (claimed, replaced) = match previous {
                            None => {
                                let done = sqlx::query(
                                    "INSERT INTO leases
                                         (job, agent_id, host, pid, token, acquired_at, expires_at)
                                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                                     ON CONFLICT (job) DO NOTHING",
                                )
                                .bind(job)
                                .bind(&holder.agent.id)
                                .bind(&holder.agent.host)
                                .bind(i64::from(holder.pid))
                                .bind(&token)
                                .bind(timestamp(now))
                                .bind(timestamp(expires_at))
                                .execute(&self.pool)
                                .await?;
                                (done.rows_affected() == 1, None)
                            }
                            Some(row) => {
                                let current = holder_from_row(&row)?;
                                let free = current.expires_at <= now
                                    || (current.agent.id == holder.agent.id && own_holder_is_dead);
                                if !free {
                                    return Ok(Claim::Held(current));
                                }
                                let done = sqlx::query(
                                    "UPDATE leases SET agent_id = $1, host = $2, pid = $3,
                                         token = $4, acquired_at = $5, expires_at = $6
                                     WHERE job = $7 AND token = $8",
                                )
                                .bind(&holder.agent.id)
                                .bind(&holder.agent.host)
                                .bind(i64::from(holder.pid))
                                .bind(&token)
                                .bind(timestamp(now))
                                .bind(timestamp(expires_at))
                                .bind(job)
                                .bind(row.try_get::<String, _>("token")?)
                                .execute(&self.pool)
                                .await?;
                                (done.rows_affected() == 1, Some(current))
                            }
                        };
                        if claimed {
                            let lease = Lease {
                                job: job.to_string(),
                                token,
                                expires_at,
                            };
                            return Ok(Claim::Acquired { lease, replaced });
                        }
                    }
                    Err(CatalogError::Invalid(format!(
                        "the lease of {job} changed hands {CLAIM_ATTEMPTS} times while it was claimed"
                    )))
                }

                async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
                    let now = self.now().await?;
                    let done = sqlx::query(
                        "UPDATE leases SET expires_at = $1
                         WHERE job = $2 AND token = $3 AND expires_at > $4",
                    )
                    .bind(timestamp(later(now, ttl)?))
                    .bind(&lease.job)
                    .bind(&lease.token)
                    .bind(timestamp(now))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn release(&self, lease: &Lease) -> Result<()> {
                    sqlx::query("DELETE FROM leases WHERE job = $1 AND token = $2")
                        .bind(&lease.job)
                        .bind(&lease.token)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn claim_fire(&self, fire: &Fire, agent_id: &str) -> Result<bool> {
                    let done = sqlx::query(concat!(
                        "INSERT INTO fires (kind, schedule, target, fire_at, agent_id, claimed_at)
                         VALUES ($1, $2, $3, $4, $5, ",
                        $now,
                        ") ON CONFLICT (kind, schedule, target, fire_at) DO UPDATE
                             SET claimed_at = excluded.claimed_at
                         WHERE fires.agent_id = excluded.agent_id AND fires.finished_at IS NULL"
                    ))
                    .bind(&fire.kind)
                    .bind(&fire.schedule)
                    .bind(&fire.target)
                    .bind(timestamp(fire.at))
                    .bind(agent_id)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn finish_fire(&self, fire: &Fire) -> Result<()> {
                    sqlx::query(concat!(
                        "UPDATE fires SET finished_at = ",
                        $now,
                        " WHERE kind = $1 AND schedule = $2 AND target = $3 AND fire_at = $4"
                    ))
                    .bind(&fire.kind)
                    .bind(&fire.schedule)
                    .bind(&fire.target)
                    .bind(timestamp(fire.at))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn owns_fire(&self, fire: &Fire, agent_id: &str) -> Result<bool> {
                    let held = sqlx::query(
                        "SELECT 1 AS held FROM fires
                          WHERE kind = $1 AND schedule = $2 AND target = $3 AND fire_at = $4
                            AND agent_id = $5 AND finished_at IS NULL",
                    )
                    .bind(&fire.kind)
                    .bind(&fire.schedule)
                    .bind(&fire.target)
                    .bind(timestamp(fire.at))
                    .bind(agent_id)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(held.is_some())
                }

                async fn forget_fires(&self, before: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query(
                        "DELETE FROM fires WHERE finished_at IS NOT NULL AND finished_at < $1",
                    )
                    .bind(timestamp(before))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn orphaned_fires(
                    &self,
                    kind: &str,
                    silent_since: DateTime<Utc>,
                ) -> Result<Vec<(Fire, String)>> {
                    let rows = sqlx::query(
                        "SELECT f.kind, f.schedule, f.target, f.fire_at, f.agent_id FROM fires f
                           JOIN agents a ON a.id = f.agent_id
                         WHERE f.kind = $1 AND f.finished_at IS NULL AND a.kind = 'daemon'
                           AND a.heartbeat_at < $2
                         ORDER BY f.fire_at, f.schedule, f.target",
                    )
                    .bind(kind)
                    .bind(timestamp(silent_since))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let fire = Fire {
                                kind: row.try_get("kind")?,
                                schedule: row.try_get("schedule")?,
                                target: row.try_get("target")?,
                                at: parse_time(&row.try_get::<String, _>("fire_at")?)?,
                            };
                            Ok((fire, row.try_get("agent_id")?))
                        })
                        .collect()
                }

                async fn take_over_fire(
                    &self,
                    fire: &Fire,
                    from_agent: &str,
                    agent_id: &str,
                ) -> Result<bool> {
                    let done = sqlx::query(concat!(
                        "UPDATE fires SET agent_id = $1, claimed_at = ",
                        $now,
                        " WHERE kind = $2 AND schedule = $3 AND target = $4 AND fire_at = $5
                           AND agent_id = $6 AND finished_at IS NULL"
                    ))
                    .bind(agent_id)
                    .bind(&fire.kind)
                    .bind(&fire.schedule)
                    .bind(&fire.target)
                    .bind(timestamp(fire.at))
                    .bind(from_agent)
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn bind_source(
                    &self,
                    name: &str,
                    address: &str,
                    agent: &AgentRef,
                    replace: bool,
                ) -> Result<SourceBinding> {
                    sqlx::query(concat!(
                        "INSERT INTO sources (name, address, agent_id, host, first_seen)
                         VALUES ($1, $2, $3, $4, ",
                        $now,
                        ") ON CONFLICT (name) DO UPDATE SET address = excluded.address,
                             agent_id = excluded.agent_id, host = excluded.host
                         WHERE $5 AND sources.address <> excluded.address"
                    ))
                    .bind(name)
                    .bind(address)
                    .bind(&agent.id)
                    .bind(&agent.host)
                    .bind(replace)
                    .execute(&self.pool)
                    .await?;
                    let row = sqlx::query(
                        "SELECT address, agent_id, host FROM sources WHERE name = $1",
                    )
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                    let bound: String = row.try_get("address")?;
                    Ok(if bound == address {
                        SourceBinding::Bound
                    } else {
                        SourceBinding::Conflict {
                            address: bound,
                            agent: AgentRef {
                                id: row.try_get("agent_id")?,
                                host: row.try_get("host")?,
                            },
                        }
                    })
                }
            }
        }
    };
}

pub(crate) use sql_coordination;
