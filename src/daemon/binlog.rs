//! The daemon's binlog archiving: for each `pitr = true` MariaDB/MySQL source, one pass of
//! `binlog push` every quarter of its `wal_archive_interval` (at least every 5 seconds, at
//! most every 5 minutes), so that a closed binlog file is archived well within the interval
//! `status` expects. A failed pass is logged and retried on the next turn; the task ends
//! with the daemon (a pass cut short leaves nothing half-committed: an entry is written
//! only after its file read back).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbward_core::Engine;

use super::Shared;

/// How often the task looks at what is due.
const TURN: Duration = Duration::from_secs(1);

/// The pause between passes for a source with `wal_archive_interval` `interval`.
pub fn cadence(interval: Duration) -> Duration {
    (interval / 4).clamp(Duration::from_secs(5), Duration::from_secs(300))
}

/// Runs until the daemon stops.
pub async fn archive(shared: Arc<Shared>) {
    let mut next: BTreeMap<String, Instant> = BTreeMap::new();
    loop {
        if shared.stopping() {
            return;
        }
        let ctx = shared.context();
        let due: Vec<(String, Duration)> = ctx
            .config
            .sources
            .iter()
            .filter(|s| s.pitr && matches!(s.engine, Engine::Mariadb | Engine::Mysql))
            .filter(|s| next.get(&s.name).is_none_or(|at| *at <= Instant::now()))
            .map(|s| {
                (
                    s.name.clone(),
                    cadence(s.pitr_settings.wal_archive_interval),
                )
            })
            .collect();
        for (source, every) in due {
            match crate::engine::binlog::push(&ctx, Some(&source)).await {
                Ok(report) => {
                    for warning in &report.warnings {
                        tracing::warn!(source = %source, "{warning}");
                    }
                    if !report.lost.is_empty() {
                        tracing::error!(source = %source, lost = ?report.lost, "binlog files are neither archived nor on the server: a restore cannot replay past them");
                    }
                }
                Err(e) => tracing::error!(source = %source, "binlog archiving failed: {e:#}"),
            }
            next.insert(source, Instant::now() + every);
        }
        drop(ctx);
        tokio::select! {
            _ = tokio::time::sleep(TURN) => {}
            _ = shared.stop.cancelled() => return,
        }
    }
}
