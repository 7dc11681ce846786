//! The PITR drill of a `pitr = true` MariaDB/MySQL source (`verify --pitr --source S`, and
//! the schedule's drill cadence): with `pitr_drill_marker = true` it writes one marker row
//! into `dbward_pitr_drill_markers` in the drilled database, takes the next moment as the
//! target, writes a second marker a second later (binlog times have whole seconds), closes
//! the binlog file (`FLUSH BINARY LOGS`) and archives it (`binlog push`); without markers
//! the target is the moment the current file was closed. Then it restores the newest good
//! dump that records a binlog position into a scratch database on the source's server
//! (`dbward_pitr_<ulid>`), replaying the archived binlog to the target, checks that the copy
//! holds exactly the first marker, drops the scratch database and records a `drill`
//! verification with the restore's duration (the measured RTO).

use std::time::Instant;

use chrono::{DurationRound, Utc};
use dbward_core::Manifest;
use dbward_source_mysql::binlog as mysql_binlog;

use super::binlog_restore::{self, BinlogRestoreRequest};
use super::observe::Observer;
use super::pitr_drill::finish;
use super::recovery_base::{good_backups, stored_manifest};
use super::verify::{Check, VerifyResult};
use super::wal::LogKind;
use super::{Context, UsageError};
use crate::config::VerifyLevel;

/// Drills `source`; a failed drill is a result, not an error.
pub async fn run(
    ctx: &Context,
    source: &str,
    identity: Option<&std::path::Path>,
    progress: &dyn Observer,
) -> anyhow::Result<VerifyResult> {
    let config = ctx
        .config
        .source(source)
        .filter(|s| s.pitr && LogKind::of(s.engine) == Some(LogKind::Binlog))
        .ok_or_else(|| {
            UsageError(format!(
                "verify --pitr drills a [[source]] with pitr = true, and {source:?} is none"
            ))
        })?;
    let dump = newest_dump(ctx, source).await?;
    let database = dump.database.clone();
    let started = Instant::now();
    let mut result = VerifyResult::pending(&dump.id, source, &database, VerifyLevel::Drill);
    let _lock = super::lock::try_lock(&ctx.config.state_dir, source, "pitr-drill")
        .map_err(|e| UsageError(format!("PITR drill of {source:?} not started: {e}")))?;
    let settings = crate::registry::mysql_settings(config, &config.connection, &ctx.scratch);
    let id = ulid::Ulid::new().to_string().to_lowercase();
    let (before, after) = (format!("{id}-before"), format!("{id}-after"));
    let prepared = async {
        let target = if config.pitr_settings.drill_marker {
            mysql_binlog::write_marker(&settings, &database, &before).await?;
            let target = Utc::now();
            // The next whole second: the log keeps seconds, and events of the target's
            // second are replayed.
            let next = target.duration_trunc(chrono::Duration::seconds(1))?
                + chrono::Duration::milliseconds(1100);
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            mysql_binlog::write_marker(&settings, &database, &after).await?;
            target
        } else {
            Utc::now()
        };
        mysql_binlog::flush(&settings).await?;
        // Files lost before the dump's position do not matter; the restore judges the rest.
        super::binlog::push_waiting(ctx, source, std::time::Duration::from_secs(120)).await?;
        anyhow::Ok(target)
    }
    .await;
    let target = match prepared {
        Ok(target) => target,
        Err(e) => {
            result.error = Some(format!("preparing the drill: {e:#}"));
            return finish(ctx, result, started).await;
        }
    };
    let scratch = format!("dbward_pitr_{id}");
    let request = BinlogRestoreRequest {
        source: source.to_string(),
        database: database.clone(),
        to_database: scratch.clone(),
        target,
        backup_id: Some(dump.id.clone()),
        identity: identity.map(|p| p.to_path_buf()),
    };
    let restore_started = Instant::now();
    let restored = binlog_restore::run(ctx, &request, progress).await;
    let restore_ms = restore_started.elapsed().as_millis() as u64;
    let found = match &restored {
        Ok(_) if config.pitr_settings.drill_marker => Some(
            mysql_binlog::markers_present(&settings, &scratch, &[before.clone(), after.clone()])
                .await,
        ),
        _ => None,
    };
    if let Err(e) = mysql_binlog::drop_database(&settings, &scratch).await {
        tracing::warn!("cannot drop the PITR drill's scratch database {scratch}: {e}");
    }
    match restored {
        Ok(summary) => {
            result.restore_ms = Some(restore_ms);
            result.checks.push(Check {
                name: "recovery".into(),
                ok: true,
                detail: format!(
                    "backup {} restored and the binlog replayed from {} to {} ({} file(s))",
                    summary.backup_id,
                    summary.start,
                    summary.target,
                    summary.binlog_files.len()
                ),
            });
            match found {
                Some(Ok(found)) => {
                    let ok = found == [before.clone()];
                    result.checks.push(Check {
                        name: "markers".into(),
                        ok,
                        detail: if ok {
                            format!("marker {before} written before {} is there, and {after} written after it is not", summary.target)
                        } else {
                            format!(
                                "expected exactly marker {before} (written before {}), found [{}]",
                                summary.target,
                                found.join(", ")
                            )
                        },
                    });
                }
                Some(Err(e)) => result.checks.push(Check {
                    name: "markers".into(),
                    ok: false,
                    detail: format!("reading the markers from the copy: {e}"),
                }),
                None => {}
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

/// The newest good dump of `source` (any database) that records a binlog position.
async fn newest_dump(ctx: &Context, source: &str) -> anyhow::Result<Manifest> {
    for record in good_backups(ctx, source, None).await? {
        let Some(manifest) = stored_manifest(ctx, &record.id).await? else {
            continue;
        };
        if manifest.binlog_position.is_some() {
            return Ok(manifest);
        }
    }
    Err(UsageError(format!(
        "source {source:?} has no good dump with a binlog position to drill; take one with `dbward backup`"
    ))
    .into())
}
