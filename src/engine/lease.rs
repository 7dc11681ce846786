//! Job ownership across processes and hosts. A job (one source and database) belongs to the
//! process that holds both its local lock (`lock.rs`: the processes of one state directory)
//! and its lease in the catalog (every agent sharing the catalog). The holder renews the
//! lease every third of `[catalog] lease_ttl`; a holder that dies stops renewing, and its
//! lease expires. The local lock makes one case fast: the next process of the same agent
//! that gets the lock knows the lease's holder is dead and takes the lease over at once.

use std::sync::Arc;
use std::time::Duration;

use dbward_catalog::{Claim, Lease, LeaseHolder};
use dbward_core::layout::escape_segment;
use tokio::sync::watch;

use super::Context;
use super::lock::{JobLock, LockError, try_lock};
use crate::catalog::Catalog;

/// Why a job is not ours.
#[derive(Debug, thiserror::Error)]
pub enum Busy {
    #[error("another run on this host holds {job} ({holder})")]
    Local { job: String, holder: String },
    #[error("{holder} holds {job} until {}", dbward_catalog::timestamp(holder.expires_at))]
    Leased { job: String, holder: LeaseHolder },
}

/// Why a job could not be claimed at all.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Lock(LockError),
    #[error("cannot claim {job} in the catalog: {source}")]
    Catalog {
        job: String,
        source: dbward_catalog::CatalogError,
    },
}

/// A job held by this process until dropped or released.
#[derive(Debug)]
pub struct JobLease {
    _lock: JobLock,
    lease: Lease,
    catalog: Arc<dyn Catalog>,
    lost: watch::Receiver<Option<String>>,
    renewer: tokio::task::JoinHandle<()>,
    /// The holder whose expired (or dead) lease this one replaced.
    pub replaced: Option<LeaseHolder>,
}

/// The lease name of a source's database backups.
pub fn backup_job(source: &str, database: &str) -> String {
    format!(
        "backup/{}/{}",
        escape_segment(source),
        escape_segment(database)
    )
}

/// Takes `job` for this process, or says who has it.
pub async fn claim(
    ctx: &Context,
    job: &str,
    source: &str,
    database: &str,
) -> Result<JobLease, ClaimError> {
    let lock = match try_lock(&ctx.config.state_dir, source, database) {
        Ok(lock) => lock,
        Err(LockError::Held { job, holder }) => return Err(Busy::Local { job, holder }.into()),
        Err(e) => return Err(ClaimError::Lock(e)),
    };
    let ttl = ctx.config.lease_ttl;
    // Holding the local lock, this process knows no other process of its agent is alive in
    // this job: a lease of its own agent is a dead process's.
    let claimed = ctx
        .catalog
        .try_claim(job, &ctx.agent, ttl, true)
        .await
        .map_err(|source| ClaimError::Catalog {
            job: job.to_string(),
            source,
        })?;
    let (lease, replaced) = match claimed {
        Claim::Acquired { lease, replaced } => (lease, replaced),
        Claim::Held(holder) => {
            return Err(Busy::Leased {
                job: job.to_string(),
                holder,
            }
            .into());
        }
    };
    let (tell, lost) = watch::channel(None);
    let renewer = tokio::spawn(renew(ctx.catalog.clone(), lease.clone(), ttl, tell));
    Ok(JobLease {
        _lock: lock,
        lease,
        catalog: ctx.catalog.clone(),
        lost,
        renewer,
        replaced,
    })
}

/// Renews `lease` every third of `ttl` until it is lost, which it then tells.
async fn renew(
    catalog: Arc<dyn Catalog>,
    lease: Lease,
    ttl: Duration,
    tell: watch::Sender<Option<String>>,
) {
    let mut expires_at = lease.expires_at;
    loop {
        tokio::time::sleep(ttl / 3).await;
        match catalog.renew(&lease, ttl).await {
            Ok(true) => {
                expires_at =
                    chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
            }
            Ok(false) => {
                let _ = tell.send(Some(format!(
                    "lost the lease of {}: it expired and another process took it over (this \
                     process was stopped or cut off from the catalog for longer than \
                     [catalog] lease_ttl)",
                    lease.job
                )));
                return;
            }
            Err(e) if chrono::Utc::now() >= expires_at => {
                let _ = tell.send(Some(format!(
                    "lost the lease of {}: cannot renew it in the catalog: {e}",
                    lease.job
                )));
                return;
            }
            Err(e) => tracing::warn!("cannot renew the lease of {} (retrying): {e}", lease.job),
        }
    }
}

impl JobLease {
    /// Resolves, with the reason, once the lease is lost; never while it is held.
    pub async fn lost(&self) -> String {
        let mut lost = self.lost.clone();
        let told = lost
            .wait_for(Option::is_some)
            .await
            .map(|reason| reason.clone().unwrap_or_default());
        match told {
            Ok(reason) => reason,
            // The renewer ended without telling: it was stopped, so the lease is held.
            Err(_) => std::future::pending().await,
        }
    }

    /// Gives the job up: stops renewing and releases the lease in the catalog.
    pub async fn release(self) {
        self.renewer.abort();
        if let Err(e) = self.catalog.release(&self.lease).await {
            tracing::warn!(
                "cannot release the lease of {} (it expires by itself): {e}",
                self.lease.job
            );
        }
    }
}

impl Drop for JobLease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}
