//! The PITR drill's markers (`pitr_drill_marker = true`): rows dbward writes into a table of
//! its own on the source, `dbward_pitr_drill.markers`, one just before the drill's target
//! time and one just after it, then a WAL switch so both reach the archive; and the lookup
//! of which of them a recovered copy holds. A copy recovered exactly to the target holds
//! the first and not the second.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dbward_core::Error;
use sqlx::Row;

use crate::PostgresSettings;
use crate::conn::{Purpose, connect, query_error};

/// The schema and table dbward owns on a source whose drills write markers.
pub const MARKER_TABLE: &str = "dbward_pitr_drill.markers";

/// Two markers around a target time, and the WAL file that holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    /// Committed before `target`: a recovery to `target` must hold it.
    pub before: String,
    /// The server's clock after `before` committed.
    pub target: DateTime<Utc>,
    /// Committed after `target`: a recovery to `target` must not hold it.
    pub after: String,
    /// The segment `pg_switch_wal` closed: once it is archived, both markers are.
    pub segment: String,
}

/// Writes the two markers (ids chosen by the caller) and switches WAL segments.
pub async fn write_markers(
    settings: &PostgresSettings,
    before: &str,
    after: &str,
) -> Result<Markers, Error> {
    let database = settings.maintenance_database.as_str();
    let mut conn = connect(settings, database, Purpose::Maintenance).await?;
    let fail = |what: &str| {
        let what = format!(
            "PITR drill marker: {what} (the user needs the right to create schema dbward_pitr_drill, or set pitr_drill_marker = false)"
        );
        move |e| query_error(&what, e)
    };
    for statement in [
        "CREATE SCHEMA IF NOT EXISTS dbward_pitr_drill",
        "CREATE TABLE IF NOT EXISTS dbward_pitr_drill.markers (id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .map_err(fail("creating dbward_pitr_drill.markers"))?;
    }
    let insert = "INSERT INTO dbward_pitr_drill.markers (id) VALUES ($1)";
    sqlx::query(insert)
        .bind(before)
        .execute(&mut conn)
        .await
        .map_err(fail("writing the marker"))?;
    let now: String = sqlx::query(
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS now",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(fail("reading the server's clock"))?
    .try_get("now")
    .map_err(fail("reading the server's clock"))?;
    let target: DateTime<Utc> = now
        .parse()
        .map_err(|e| Error::Query(format!("the server's clock {now:?}: {e}")))?;
    // The second marker must commit strictly after the target, whatever the clock's grain.
    tokio::time::sleep(Duration::from_millis(20)).await;
    sqlx::query(insert)
        .bind(after)
        .execute(&mut conn)
        .await
        .map_err(fail("writing the marker"))?;
    let segment: String = sqlx::query("SELECT pg_walfile_name(pg_switch_wal()) AS segment")
        .fetch_one(&mut conn)
        .await
        .map_err(fail("switching WAL segments (pg_switch_wal)"))?
        .try_get("segment")
        .map_err(fail("switching WAL segments"))?;
    Ok(Markers {
        before: before.to_string(),
        target,
        after: after.to_string(),
        segment,
    })
}

/// Waits until the server reports `segment` (or a later one) archived, or `timeout` passes.
pub async fn wait_archived(
    settings: &PostgresSettings,
    segment: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let mut conn = connect(
        settings,
        &settings.maintenance_database,
        Purpose::Maintenance,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let row = sqlx::query(
            "SELECT coalesce(last_archived_wal, '') AS archived, coalesce(last_failed_wal, '') AS failed FROM pg_stat_archiver",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| query_error("reading pg_stat_archiver", e))?;
        let archived: String = row.try_get("archived").unwrap_or_default();
        if archived.as_str() >= segment {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let failed: String = row.try_get("failed").unwrap_or_default();
            return Err(Error::Dump(format!(
                "the server did not archive {segment} within {}s (last archived {archived:?}, last failed {failed:?}); check its archive_command",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Which of `ids` the table of markers holds on the server `settings` reaches (a recovered
/// copy: no table at all means none).
pub async fn markers_present(
    settings: &PostgresSettings,
    ids: &[String],
) -> Result<Vec<String>, Error> {
    let mut conn = connect(
        settings,
        &settings.maintenance_database,
        Purpose::Maintenance,
    )
    .await?;
    let exists: bool =
        sqlx::query("SELECT to_regclass('dbward_pitr_drill.markers') IS NOT NULL AS t")
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get("t"))
            .map_err(|e| query_error("looking for dbward_pitr_drill.markers", e))?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows =
        sqlx::query("SELECT id FROM dbward_pitr_drill.markers WHERE id = ANY($1) ORDER BY id")
            .bind(ids)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| query_error("reading dbward_pitr_drill.markers", e))?;
    rows.iter()
        .map(|r| {
            r.try_get("id")
                .map_err(|e| query_error("reading a marker", e))
        })
        .collect()
}
