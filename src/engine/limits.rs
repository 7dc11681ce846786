//! Limits on the backups running at once across runs (the daemon's `max_jobs`,
//! `max_jobs_per_source` and `max_jobs_per_destination`): a job waits for a slot of its
//! source, then one of each of its destinations, then a global one, so one busy source or
//! destination never holds global slots it cannot use. Every job takes its slots in that one
//! order (destinations by name), so two jobs never wait for each other's slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Slots for backups, shared by every run that is given them.
#[derive(Debug)]
pub struct JobLimits {
    global: Arc<Semaphore>,
    per_source: usize,
    /// `None`: destinations are bounded by the global slots only.
    per_destination: Option<usize>,
    sources: Mutex<HashMap<String, Arc<Semaphore>>>,
    destinations: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The slots one job holds until it is dropped.
#[derive(Debug)]
pub struct Slots {
    _source: OwnedSemaphorePermit,
    _destinations: Vec<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl JobLimits {
    pub fn new(max_jobs: usize, per_source: usize, per_destination: Option<usize>) -> Self {
        JobLimits {
            global: Arc::new(Semaphore::new(max_jobs.max(1))),
            per_source: per_source.max(1),
            per_destination: per_destination.map(|n| n.max(1)),
            sources: Mutex::default(),
            destinations: Mutex::default(),
        }
    }

    /// Waits for a slot of `source` and a global one (a drill, which writes to no
    /// destination).
    pub async fn acquire(&self, source: &str) -> Slots {
        self.acquire_job(source, &[]).await
    }

    /// Waits for a slot of `source`, one of each of `destinations` and a global one (a
    /// backup).
    pub async fn acquire_job(&self, source: &str, destinations: &[String]) -> Slots {
        let of_source = semaphore(&self.sources, source, self.per_source);
        let source = of_source.acquire_owned().await.expect("never closed");
        let mut held = Vec::new();
        if let Some(per_destination) = self.per_destination {
            let mut names: Vec<&String> = destinations.iter().collect();
            names.sort();
            names.dedup();
            for name in names {
                let of_destination = semaphore(&self.destinations, name, per_destination);
                held.push(of_destination.acquire_owned().await.expect("never closed"));
            }
        }
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        Slots {
            _source: source,
            _destinations: held,
            _global: global,
        }
    }
}

/// The semaphore of `name` in `map`, made with `slots` permits when first asked for.
fn semaphore(
    map: &Mutex<HashMap<String, Arc<Semaphore>>>,
    name: &str,
    slots: usize,
) -> Arc<Semaphore> {
    map.lock()
        .expect("not poisoned")
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(Semaphore::new(slots)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_source_never_takes_more_than_its_slots() {
        let limits = Arc::new(JobLimits::new(3, 1, None));
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

    #[tokio::test]
    async fn a_destination_never_takes_more_than_its_slots() {
        let limits = Arc::new(JobLimits::new(4, 4, Some(1)));
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let first = limits.acquire_job("pg", &names(&["nas", "s3"])).await;
        // Another source's job to `s3` waits for the destination; one to `local` does not.
        let waiting = {
            let limits = limits.clone();
            let to = names(&["s3"]);
            tokio::spawn(async move { limits.acquire_job("maria", &to).await })
        };
        let _other = limits.acquire_job("lite", &names(&["local"])).await;
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap();
    }

    #[tokio::test]
    async fn without_a_destination_limit_only_the_others_apply() {
        let limits = JobLimits::new(2, 2, None);
        let to = vec!["s3".to_string()];
        let _a = limits.acquire_job("pg", &to).await;
        let _b = limits.acquire_job("pg", &to).await;
    }
}
