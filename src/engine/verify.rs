//! The verify use case, at three levels: `checksum` reads every copy back and compares size
//! and sha256 with the manifest; `structural` decompresses a copy and reads it with the
//! engine's own reader; `drill` restores it into a scratch database, compares every table's
//! row count and the object inventory with the manifest, runs the schedule's assertions,
//! and always drops the scratch database. Each result is recorded in the catalog.

use std::time::Instant;

use chrono::Utc;
use dbward_core::restore::RestoreTarget;
use dbward_core::{Inventory, TableRows};
use serde::Serialize;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::backup::read_back_sha256;
use super::journal::{Journal, Kind};
use super::keys::Keyring;
use super::locate::{BackupRef, Located, locate};
use super::observe::Observer;
use super::restore::{Placement, restore_located};
use super::{Context, UsageError};
use crate::catalog::{BackupRecord, NewVerification};
use crate::config::{Assertion, VerifyLevel};
use crate::registry;

/// Prefix of every drill's scratch database; leftovers with it are removed by the next drill.
pub const DRILL_PREFIX: &str = "dbward_drill_";

/// Which backups to verify.
#[derive(Debug, Clone)]
pub enum Selection {
    One(String),
    /// The newest good backup of each matching database.
    Latest {
        source: Option<String>,
        databases: Vec<String>,
    },
    /// A fresh-server drill of one source (`--fresh-server`, drill level only): its newest
    /// globals and database backups restored onto an empty private server.
    FreshServer {
        source: String,
    },
}

/// One check inside a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of verifying one backup.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyResult {
    pub backup_id: String,
    pub source: String,
    pub database: String,
    pub level: VerifyLevel,
    pub ok: bool,
    pub duration_ms: u64,
    /// Drill only: how long the restore took (the measured RTO).
    pub restore_ms: Option<u64>,
    pub checks: Vec<Check>,
    pub error: Option<String>,
}

impl VerifyResult {
    /// A verification of one backup at `level` that has not passed (yet): no checks, no time.
    pub fn pending(backup_id: &str, source: &str, database: &str, level: VerifyLevel) -> Self {
        VerifyResult {
            backup_id: backup_id.to_owned(),
            source: source.to_owned(),
            database: database.to_owned(),
            level,
            ok: false,
            duration_ms: 0,
            restore_ms: None,
            checks: Vec::new(),
            error: None,
        }
    }

    /// A verification of `backup` that could not start, for `reason`.
    pub fn not_started(backup: &BackupRecord, level: VerifyLevel, reason: String) -> Self {
        VerifyResult {
            error: Some(reason),
            ..VerifyResult::pending(&backup.id, &backup.source, &backup.database, level)
        }
    }
}

/// [`run`], then tells the alerts what changed: the use case front ends call.
pub async fn run_and_alert(
    ctx: &Context,
    selection: &Selection,
    level: VerifyLevel,
    identity: Option<&std::path::Path>,
    progress: &dyn Observer,
) -> anyhow::Result<(Vec<VerifyResult>, super::alerts::AlertReport)> {
    let results = run(ctx, selection, level, identity, progress).await?;
    let alerts = super::alerts::after_recorded_work(ctx).await;
    Ok((results, alerts))
}

/// Verifies every selected backup at `level`; failures are results, not errors.
pub async fn run(
    ctx: &Context,
    selection: &Selection,
    level: VerifyLevel,
    identity: Option<&std::path::Path>,
    progress: &dyn Observer,
) -> anyhow::Result<Vec<VerifyResult>> {
    // Loaded at the first encrypted backup: unencrypted ones never need it.
    let mut keyring = None;
    let refs = match selection {
        Selection::FreshServer { source } => {
            if level != VerifyLevel::Drill {
                return Err(
                    UsageError("--fresh-server is a drill: use --level drill".into()).into(),
                );
            }
            let results = super::fresh_drill::run(ctx, source, identity, progress).await?;
            for result in &results {
                record(ctx, level, result).await?;
            }
            return Ok(results);
        }
        Selection::One(id) => vec![BackupRef::Id(id.clone())],
        Selection::Latest { source, databases } => {
            let pairs = ctx.catalog.databases_with_good_backups().await?;
            let refs: Vec<_> = pairs
                .into_iter()
                .filter(|(s, _)| source.as_ref().is_none_or(|want| want == s))
                .filter(|(_, d)| databases.is_empty() || databases.contains(d))
                .map(|(source, database)| BackupRef::Latest { source, database })
                .collect();
            if refs.is_empty() {
                return Err(UsageError(
                    "no good backup in the catalog matches the selection (see `dbward list`)"
                        .into(),
                )
                .into());
            }
            refs
        }
    };
    let mut results = Vec::new();
    for backup in refs {
        let located = locate(ctx, &backup, None, false).await?;
        if keyring.is_none()
            && located.manifest.encryption.is_some()
            && level != VerifyLevel::Checksum
        {
            keyring = super::keys::keyring(ctx, identity)?;
        }
        let result = verify_one(ctx, &located, level, keyring.as_ref(), progress).await;
        record(ctx, level, &result).await?;
        results.push(result);
    }
    Ok(results)
}

/// Records one verification in the catalog.
pub(super) async fn store(
    ctx: &Context,
    level: VerifyLevel,
    result: &VerifyResult,
) -> anyhow::Result<()> {
    ctx.catalog
        .record_verification(&NewVerification {
            backup_id: &result.backup_id,
            level: level.as_str(),
            ok: result.ok,
            at: Utc::now(),
            duration_ms: result.duration_ms as i64,
            details: &serde_json::to_string(&result)?,
        })
        .await?;
    Ok(())
}

/// Records one verification in the catalog and the summary log.
async fn record(ctx: &Context, level: VerifyLevel, result: &VerifyResult) -> anyhow::Result<()> {
    {
        store(ctx, level, result).await?;
        if result.ok {
            tracing::info!(target: "dbward::summary", backup = %result.backup_id, source = %result.source, database = %result.database, level = level.as_str(), ok = true, duration_ms = result.duration_ms, "verification passed");
        } else {
            tracing::error!(target: "dbward::summary", backup = %result.backup_id, source = %result.source, database = %result.database, level = level.as_str(), ok = false, duration_ms = result.duration_ms, reason = result.error.as_deref().unwrap_or(""), "verification FAILED");
        }
    }
    Ok(())
}

async fn verify_one(
    ctx: &Context,
    located: &Located,
    level: VerifyLevel,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
) -> VerifyResult {
    let started = Instant::now();
    let manifest = &located.manifest;
    let mut restore_ms = None;
    let outcome = match level {
        VerifyLevel::Checksum => Ok(checksum(located).await),
        VerifyLevel::Structural => structural(ctx, located, keyring, progress).await,
        // Server-wide objects are no database to drill into: read and checked structurally
        // (a fresh-server drill applies them).
        VerifyLevel::Drill if manifest.globals.is_some() => {
            structural(ctx, located, keyring, progress).await
        }
        VerifyLevel::Drill => drill(ctx, located, keyring, progress, &mut restore_ms).await,
    };
    let (checks, error) = match outcome {
        Ok(checks) => {
            let error = checks
                .iter()
                .find(|c| !c.ok)
                .map(|c| format!("{}: {}", c.name, c.detail));
            (checks, error)
        }
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    VerifyResult {
        backup_id: manifest.id.clone(),
        source: manifest.source.clone(),
        database: manifest.database.clone(),
        level,
        ok: error.is_none(),
        duration_ms: started.elapsed().as_millis() as u64,
        restore_ms,
        checks,
        error,
    }
}

async fn checksum(located: &Located) -> Vec<Check> {
    let manifest = &located.manifest;
    let mut checks = Vec::new();
    for copy in &located.copies {
        let name = format!("copy on {}", copy.destination.name());
        let check = match copy.destination.size(&copy.key).await {
            Err(e) => Check {
                name,
                ok: false,
                detail: e.to_string(),
            },
            Ok(None) => Check {
                name,
                ok: false,
                detail: format!("{} is missing", copy.key),
            },
            Ok(Some(size)) if size != manifest.stored_bytes => Check {
                name,
                ok: false,
                detail: format!(
                    "{} bytes, the manifest says {}",
                    size, manifest.stored_bytes
                ),
            },
            Ok(Some(_)) => match read_back_sha256(copy.destination.as_ref(), &copy.key).await {
                Ok(digest) if digest == manifest.sha256 => Check {
                    name,
                    ok: true,
                    detail: format!("sha256 {digest}"),
                },
                Ok(digest) => Check {
                    name,
                    ok: false,
                    detail: format!("sha256 is {digest}, the manifest says {}", manifest.sha256),
                },
                Err(e) => Check {
                    name,
                    ok: false,
                    detail: e,
                },
            },
        };
        checks.push(check);
    }
    checks
}

async fn structural(
    ctx: &Context,
    located: &Located,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
) -> anyhow::Result<Vec<Check>> {
    let manifest = &located.manifest;
    let source = ctx.config.source(&manifest.source).ok_or_else(|| {
        anyhow::anyhow!(
            "no [[source]] named {:?} to read its dump format",
            manifest.source
        )
    })?;
    let reader = registry::restore_target(source, &ctx.scratch);
    let check_name = |dest: &str| format!("{} dump on {dest}", manifest.engine);
    let outcome = read_first_good_copy(located, keyring, progress, "verify", async |dump| {
        reader.inspect(manifest, dump).await
    })
    .await;
    Ok(vec![match outcome {
        CopyOutcome::Read {
            copy,
            value: notes,
            skipped,
        } => Check {
            name: check_name(&copy),
            ok: true,
            detail: notes
                .into_iter()
                .chain(skipped.into_iter().map(|s| format!("skipped {s}")))
                .collect::<Vec<_>>()
                .join("; "),
        },
        CopyOutcome::Failed { copy, error, .. } => Check {
            name: check_name(&copy),
            ok: false,
            detail: error.to_string(),
        },
        CopyOutcome::Unreadable { skipped } => Check {
            name: format!("{} dump", manifest.engine),
            ok: false,
            detail: format!("no copy could be read: {}", skipped.join("; ")),
        },
    }])
}

async fn drill(
    ctx: &Context,
    located: &Located,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
    restore_ms: &mut Option<u64>,
) -> anyhow::Result<Vec<Check>> {
    let manifest = &located.manifest;
    let source = ctx.config.source(&manifest.source).ok_or_else(|| {
        anyhow::anyhow!("no [[source]] named {:?} to drill into", manifest.source)
    })?;
    let target = registry::drill_target(source, &ctx.config, &ctx.scratch);
    // One drill at a time per target server; `.drill` cannot collide with a source name
    // (they never start with a dot).
    let _lock = super::lock::try_lock(
        &ctx.config.state_dir,
        ".drill",
        &registry::drill_location(source, &ctx.config),
    )?;
    super::restore::clean_interrupted(ctx).await;
    // A name of this attempt's own, journalled: a killed drill's scratch database is dropped
    // by the next restore or drill, and no other host's live drill is ever touched.
    let scratch = format!(
        "{DRILL_PREFIX}{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let claim = Journal::new(&ctx.config.state_dir)
        .begin(&manifest.source, &scratch, true, &manifest.id, Kind::Drill)
        .map_err(|e| {
            tracing::warn!(
                "cannot record the drill in the restore journal ({e}): if dbward is killed now, drop {scratch} by hand"
            )
        })
        .ok();
    let asserts = assertions_for(ctx, manifest);
    let body = drill_body(
        target.as_ref(),
        located,
        &scratch,
        &asserts,
        keyring,
        progress,
        restore_ms,
    );
    let result = tokio::select! {
        result = body => result,
        signal = super::restore::interrupted() => Err(anyhow::anyhow!("interrupted ({signal})")),
    };
    // Always, also after a failure or Ctrl-C; the name is this drill's alone.
    let dropped = target.drop_database(&scratch).await;
    if dropped.is_err() {
        // Left in the journal, so that the next restore or drill tries again.
        std::mem::forget(claim);
    } else {
        drop(claim);
    }
    let mut checks = result?;
    checks.push(match dropped {
        Ok(()) => Check {
            name: "scratch database".into(),
            ok: true,
            detail: format!("{scratch} dropped"),
        },
        Err(e) => Check {
            name: "scratch database".into(),
            ok: false,
            detail: format!("could not drop {scratch}: {e}"),
        },
    });
    Ok(checks)
}

fn assertions_for(ctx: &Context, manifest: &dbward_core::Manifest) -> Vec<Assertion> {
    ctx.config
        .schedules
        .iter()
        .filter(|s| s.sources.contains(&manifest.source))
        .flat_map(|s| s.asserts.iter())
        .filter(|a| a.database.as_ref().is_none_or(|d| d == &manifest.database))
        .cloned()
        .collect()
}

async fn drill_body(
    target: &dyn RestoreTarget,
    located: &Located,
    scratch: &str,
    asserts: &[Assertion],
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
    restore_ms: &mut Option<u64>,
) -> anyhow::Result<Vec<Check>> {
    let started = Instant::now();
    let loaded = restore_located(
        target,
        located,
        Placement::Scratch(scratch),
        keyring,
        progress,
    )
    .await?;
    *restore_ms = Some(started.elapsed().as_millis() as u64);
    let mut checks = vec![Check {
        name: "restore".into(),
        ok: true,
        detail: format!(
            "from {} into {scratch} in {} ms",
            loaded.copy,
            restore_ms.unwrap_or(0)
        ),
    }];
    // Assertions first: what one changes in the scratch copy, the comparisons below see
    // (docs/config.md; the tests remove an object this way to prove the drill notices).
    for assertion in asserts {
        checks.push(run_assertion(target, scratch, assertion).await);
    }
    let restored = target.count_rows(scratch).await?;
    checks.extend(compare_counts(&located.manifest.tables, &restored));
    if let Some(recorded) = &located.manifest.inventory {
        checks.push(compare_inventory(
            recorded,
            &target.inventory(scratch).await?,
        ));
    }
    Ok(checks)
}

/// One check: the restored copy holds as many objects of each kind, and as many history rows
/// in each system-versioned table, as the source did at backup time; it fails naming every
/// difference.
pub fn compare_inventory(recorded: &Inventory, restored: &Inventory) -> Check {
    let differences = recorded.differences(restored);
    let name = "objects".to_string();
    if differences.is_empty() {
        let kinds: Vec<String> = recorded
            .objects
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let history: u64 = recorded.history.iter().map(|t| t.rows).sum();
        let mut detail = if kinds.is_empty() {
            "no objects".to_string()
        } else {
            kinds.join(", ")
        };
        if !recorded.history.is_empty() {
            detail.push_str(&format!("; {history} history rows"));
        }
        return Check {
            name,
            ok: true,
            detail: format!("as at backup time: {detail}"),
        };
    }
    Check {
        name,
        ok: false,
        detail: differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// One check per table: the restored count must equal the manifest's exactly; tables only on
/// one side fail too.
pub fn compare_counts(expected: &[TableRows], restored: &[TableRows]) -> Vec<Check> {
    let mut checks = Vec::new();
    for table in expected {
        let found = restored.iter().find(|t| t.table == table.table);
        checks.push(match found {
            Some(t) if t.rows == table.rows => Check {
                name: format!("table {}", table.table),
                ok: true,
                detail: format!("{} rows", t.rows),
            },
            Some(t) => Check {
                name: format!("table {}", table.table),
                ok: false,
                detail: format!("restored {} rows, the manifest says {}", t.rows, table.rows),
            },
            None => Check {
                name: format!("table {}", table.table),
                ok: false,
                detail: "missing after restore".into(),
            },
        });
    }
    for extra in restored
        .iter()
        .filter(|t| !expected.iter().any(|e| e.table == t.table))
    {
        checks.push(Check {
            name: format!("table {}", extra.table),
            ok: false,
            detail: format!(
                "restored with {} rows but not listed in the manifest",
                extra.rows
            ),
        });
    }
    checks
}

async fn run_assertion(target: &dyn RestoreTarget, database: &str, assertion: &Assertion) -> Check {
    let name = format!("assert {}", assertion.sql);
    let value = match target.query_scalar(database, &assertion.sql).await {
        Ok(value) => value,
        Err(e) => {
            return Check {
                name,
                ok: false,
                detail: e.to_string(),
            };
        }
    };
    if let Some(min) = assertion.min {
        match value.trim().parse::<f64>() {
            Ok(n) if n >= min => {}
            Ok(_) => {
                return Check {
                    name,
                    ok: false,
                    detail: format!("returned {value}, expected at least {min}"),
                };
            }
            Err(_) => {
                return Check {
                    name,
                    ok: false,
                    detail: format!("returned {value:?}, not a number to compare with min = {min}"),
                };
            }
        }
    }
    if let Some(equals) = &assertion.equals
        && value.trim() != equals
    {
        return Check {
            name,
            ok: false,
            detail: format!("returned {value:?}, expected {equals:?}"),
        };
    }
    Check {
        name,
        ok: true,
        detail: format!("returned {value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(items: &[(&str, u64)]) -> Vec<TableRows> {
        items
            .iter()
            .map(|(t, r)| TableRows {
                table: t.to_string(),
                rows: *r,
            })
            .collect()
    }

    #[test]
    fn counts_are_compared_exactly_table_by_table() {
        type Case<'a> = (&'a [(&'a str, u64)], &'a [(&'a str, u64)], &'a [bool]);
        let cases: &[Case] = &[
            (&[("a", 1), ("b", 0)], &[("a", 1), ("b", 0)], &[true, true]),
            (&[("a", 2)], &[("a", 1)], &[false]),
            (&[("a", 1), ("b", 1)], &[("a", 1)], &[true, false]),
            (&[("a", 1)], &[("a", 1), ("z", 5)], &[true, false]),
        ];
        for (expected, restored, oks) in cases {
            let checks = compare_counts(&rows(expected), &rows(restored));
            assert_eq!(
                checks.iter().map(|c| c.ok).collect::<Vec<_>>(),
                *oks,
                "{checks:?}"
            );
        }
        let mismatch = &compare_counts(
            &rows(&[("public.orders", 10)]),
            &rows(&[("public.orders", 9)]),
        )[0];
        assert_eq!(mismatch.detail, "restored 9 rows, the manifest says 10");
    }
}
