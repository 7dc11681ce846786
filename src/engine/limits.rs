//! Limits on the backups running at once across runs (the daemon's `max_jobs` and
//! `max_jobs_per_source`): a job waits for a slot of its source, then for a global one, so
//! one busy source never holds global slots it cannot use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Slots for backups, shared by every run that is given them.
#[derive(Debug)]
pub struct JobLimits {
    global: Arc<Semaphore>,
    per_source: usize,
    sources: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The slots one job holds until it is dropped.
#[derive(Debug)]
pub struct Slots {
    _source: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl JobLimits {
    pub fn new(max_jobs: usize, per_source: usize) -> Self {
        JobLimits {
            global: Arc::new(Semaphore::new(max_jobs.max(1))),
            per_source: per_source.max(1),
            sources: Mutex::default(),
        }
    }

    /// Waits for a slot of `source` and a global one.
    pub async fn acquire(&self, source: &str) -> Slots {
        let of_source = self
            .sources
            .lock()
            .expect("not poisoned")
            .entry(source.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_source)))
            .clone();
        let source = of_source.acquire_owned().await.expect("never closed");
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        Slots {
            _source: source,
            _global: global,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_source_never_takes_more_than_its_slots() {
        let limits = Arc::new(JobLimits::new(3, 1));
        let first = limits.acquire("pg").await;
        // The second job of `pg` waits; another source still gets a slot.
        let waiting = {
            let limits = limits.clone();
            tokio::spawn(async move { limits.acquire("pg").await })
        };
        let _other = limits.acquire("maria").await;
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap();
    }
}
