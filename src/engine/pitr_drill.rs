//! The PITR drill (`verify --pitr --source S`, and the daemon's drill cadence for a `pitr =
//! true` source): recovers the newest good base backup plus the archived WAL to a recent
//! moment in a scratch directory (`state_dir/drills/pitr-<source>`, one drill of a source at a
//! time) on a private loopback port, checks it and
//! records a `drill` verification with the restore's duration (the measured RTO). With
//! `pitr_drill_marker = true` the drill first writes one marker row before its target time
//! and one after it (`dbward_pitr_drill.markers` on the source), switches WAL so both are
//! archived, recovers to the target and checks that the copy holds exactly the first; without
//! markers it recovers to the end of the archive. The scratch directory is always removed, and
//! what a killed drill left there is removed by the next one.

use std::time::{Duration, Instant};

use dbward_core::Engine;
use dbward_core::layout::escape_segment;
use dbward_core::manifest::WHOLE_CLUSTER;
use dbward_source_postgres::drill_marker::{self, Markers};
use dbward_source_postgres::recover::RecoveryTarget;

use super::observe::Observer;
use super::pitr::{self, PitrRequest};
use super::verify::{Check, VerifyResult};
use super::{Context, UsageError};
use crate::config::VerifyLevel;

/// The job lock a PITR drill holds for its source (beside the backups' `*`).
const DRILL_LOCK: &str = "pitr-drill";

/// How long the drill waits for the server to archive the segment holding its markers.
const ARCHIVE_WAIT: Duration = Duration::from_secs(120);

/// Drills `source` and records the outcome; a failed drill is a result, not an error.
pub async fn run(
    ctx: &Context,
    source: &str,
    identity: Option<&std::path::Path>,
    progress: &dyn Observer,
) -> anyhow::Result<VerifyResult> {
    if ctx.config.source(source).is_some_and(|s| {
        s.pitr && super::wal::LogKind::of(s.engine) == Some(super::wal::LogKind::Binlog)
    }) {
        return super::binlog_drill::run(ctx, source, identity, progress).await;
    }
    let config = ctx
        .config
        .source(source)
        .filter(|s| s.pitr && s.engine == Engine::Postgres)
        .ok_or_else(|| {
            UsageError(format!(
                "verify --pitr drills a PostgreSQL [[source]] with pitr = true, and {source:?} is none"
            ))
        })?;
    let (base, _) = ctx
        .catalog
        .latest_good(source, WHOLE_CLUSTER)
        .await?
        .ok_or_else(|| {
            UsageError(format!(
                "source {source:?} has no good base backup to drill; take one with `dbward backup`"
            ))
        })?;
    let started = Instant::now();
    let mut result = VerifyResult::pending(&base.id, source, WHOLE_CLUSTER, VerifyLevel::Drill);
    let markers = if config.pitr_settings.drill_marker {
        let settings = crate::registry::postgres_settings(config, &config.connection, &ctx.scratch);
        let id = ulid::Ulid::new();
        let written = async {
            let m = drill_marker::write_markers(
                &settings,
                &format!("{id}-before"),
                &format!("{id}-after"),
            )
            .await?;
            drill_marker::wait_archived(&settings, &m.segment, ARCHIVE_WAIT).await?;
            Ok::<Markers, dbward_core::Error>(m)
        }
        .await;
        match written {
            Ok(m) => Some(m),
            Err(e) => {
                result.error = Some(format!("{e}"));
                return finish(ctx, result, started).await;
            }
        }
    } else {
        None
    };
    let target = match &markers {
        Some(m) => RecoveryTarget::Time(m.target),
        None => RecoveryTarget::Latest,
    };
    // One PITR drill of a source at a time, in a directory of its own: whatever a drill
    // killed mid-way left there is removed by the next one.
    let _lock = super::lock::try_lock(&ctx.config.state_dir, source, DRILL_LOCK)
        .map_err(|e| UsageError(format!("PITR drill of {source:?} not started: {e}")))?;
    let drills = ctx.config.state_dir.join("drills");
    crate::catalog::create_private_dir(&drills)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", drills.display()))?;
    let directory = drills.join(format!("pitr-{}", escape_segment(source)));
    if let Some(pid) = live_server(&directory) {
        anyhow::bail!(
            "a PostgreSQL server (pid {pid}) still runs in {}, left by an interrupted PITR drill; stop it (pg_ctl stop -D {}) and drill again",
            directory.display(),
            directory.display()
        );
    }
    match std::fs::remove_dir_all(&directory) {
        Ok(()) => {
            tracing::info!(directory = %directory.display(), "removed what an interrupted PITR drill left")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot remove {}: {e}", directory.display()),
    }
    let request = PitrRequest {
        source: source.to_string(),
        backup_id: Some(base.id.clone()),
        directory: directory.clone(),
        target,
        start: true,
        identity: identity.map(|p| p.to_path_buf()),
        from: None,
        probe_markers: markers
            .as_ref()
            .map(|m| vec![m.before.clone(), m.after.clone()]),
    };
    let restore_started = Instant::now();
    let restored = pitr::run(ctx, &request, progress).await;
    let _ = std::fs::remove_dir_all(&directory);
    match restored {
        Ok(summary) => {
            result.restore_ms = Some(restore_started.elapsed().as_millis() as u64);
            result.checks.push(Check {
                name: "recovery".into(),
                ok: summary.recovered,
                detail: format!(
                    "base backup {} recovered to {}{}",
                    summary.backup_id,
                    summary.target,
                    summary
                        .last_transaction_at
                        .map(|at| format!("; last transaction at {at}"))
                        .unwrap_or_default()
                ),
            });
            if let Some(m) = &markers {
                result
                    .checks
                    .push(marker_check(m, summary.markers_found.as_deref()));
            }
            result.ok = result.checks.iter().all(|c| c.ok);
            if !result.ok {
                result.error =
                    Some("the recovered copy is not what the source held at the target".into());
            }
        }
        Err(e) => result.error = Some(format!("{e:#}")),
    }
    finish(ctx, result, started).await
}

/// The pid of a server still running on `directory`, by its `postmaster.pid`.
fn live_server(directory: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(directory.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    (pid > 0 && alive).then_some(pid)
}

/// The marker check: exactly the marker written before the target.
fn marker_check(markers: &Markers, found: Option<&[String]>) -> Check {
    let found = found.unwrap_or_default();
    let ok = found == [markers.before.clone()];
    Check {
        name: "markers".into(),
        ok,
        detail: if ok {
            format!(
                "marker {} written before {} is there, and {} written after it is not",
                markers.before,
                markers.target.format("%Y-%m-%d %H:%M:%S%.6f UTC"),
                markers.after
            )
        } else {
            format!(
                "expected exactly marker {} (written before {}), found [{}]",
                markers.before,
                markers.target.format("%Y-%m-%d %H:%M:%S%.6f UTC"),
                found.join(", ")
            )
        },
    }
}

/// Records a PITR drill (of either engine) and says how it went.
pub(super) async fn finish(
    ctx: &Context,
    mut result: VerifyResult,
    started: Instant,
) -> anyhow::Result<VerifyResult> {
    result.duration_ms = started.elapsed().as_millis() as u64;
    super::verify::store(ctx, VerifyLevel::Drill, &result).await?;
    if result.ok {
        tracing::info!(target: "dbward::summary", backup = %result.backup_id, source = %result.source, restore_ms = ?result.restore_ms, "PITR drill passed");
    } else {
        tracing::error!(target: "dbward::summary", backup = %result.backup_id, source = %result.source, reason = result.error.as_deref().unwrap_or(""), "PITR drill FAILED");
    }
    Ok(result)
}
