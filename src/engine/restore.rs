//! The restore use case: find the backup and a readable copy, check that the target can read
//! the dump (F15), refuse to touch an existing database without `--force`, stream the copy —
//! checksum-verified and decompressed — into a new database, and drop that database again
//! when anything fails, so a half-restored database never looks like a good one. With
//! `--force` the dump is restored beside the existing database and swapped in only when
//! complete.

use std::time::Instant;

use dbward_core::restore::{RestoreTarget, Staging};
use serde::Serialize;

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::journal::{Claim, Cleanup, EntryState, Journal, Kind, cleanup_for};
use super::locate::{BackupRef, Located, locate};
use super::observe::Observer;
use super::{Context, UsageError};
use crate::registry;

/// What `dbward restore` was asked to do.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub backup: BackupRef,
    pub to_source: Option<String>,
    pub to_database: Option<String>,
    pub from: Option<String>,
    pub force: bool,
    pub identity: Option<std::path::PathBuf>,
    /// Parallel jobs for PostgreSQL custom-format dumps (spooled, then `pg_restore --jobs`)
    /// and MySQL/MariaDB SQL dumps (spooled, then each table's rows on its own connection);
    /// other dumps restore from the stream.
    pub jobs: Option<u32>,
    /// `--allow-unsigned`: accept an unsigned manifest read with `from` (with a warning).
    pub allow_unsigned: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub backup_id: String,
    pub source: String,
    pub database: String,
    pub target_source: String,
    pub target_database: String,
    /// The destination whose copy was restored.
    pub copy: String,
    /// True when an existing database was replaced (`--force`).
    pub replaced: bool,
    pub duration_ms: u64,
    /// Tables and rows the restored dump holds (the manifest's exact counts).
    pub tables: usize,
    pub rows: u64,
    pub warnings: Vec<String>,
}

/// Restores one backup.
pub async fn run(
    ctx: &Context,
    request: &RestoreRequest,
    progress: &dyn Observer,
) -> anyhow::Result<RestoreSummary> {
    let located = locate(
        ctx,
        &request.backup,
        request.from.as_deref(),
        request.allow_unsigned,
    )
    .await?;
    let manifest = &located.manifest;
    let target_source = request
        .to_source
        .clone()
        .unwrap_or_else(|| manifest.source.clone());
    let source_config = ctx.config.source(&target_source).ok_or_else(|| {
        UsageError(format!(
            "no [[source]] named {target_source:?} to restore into (choose one with --to-source)"
        ))
    })?;
    let target = registry::restore_target_with_jobs(source_config, &ctx.scratch, request.jobs);
    let database = request
        .to_database
        .clone()
        .unwrap_or_else(|| manifest.database.clone());
    let keyring = match located.manifest.encryption {
        Some(_) => super::keys::keyring(ctx, request.identity.as_deref())?,
        None => None,
    };
    clean_interrupted(ctx).await;
    let journal = Journal::new(&ctx.config.state_dir);
    let started = Instant::now();
    let mut outcome = restore_located(
        target.as_ref(),
        &located,
        Placement::Named {
            database: &database,
            force: request.force,
            journal: Some(&journal),
        },
        keyring.as_ref(),
        progress,
    )
    .await?;
    let parallel_capable = match manifest.engine {
        dbward_core::Engine::Postgres => manifest.dump_format == "custom",
        engine => is_mysql_family(engine) && manifest.dump_format == "sql",
    };
    if request.jobs.is_some_and(|jobs| jobs > 1) && !parallel_capable {
        outcome.warnings.push(format!(
            "--jobs applies to PostgreSQL custom-format and MySQL/MariaDB dumps only; this {} {} dump was restored from the stream",
            manifest.engine, manifest.dump_format
        ));
    }
    // The tool loaded the whole dump or the restore failed, so the artifact's exact counts are
    // what was restored; recounting every table would cost a full scan (a drill does that).
    Ok(RestoreSummary {
        backup_id: manifest.id.clone(),
        source: manifest.source.clone(),
        database: manifest.database.clone(),
        target_source,
        target_database: database,
        copy: outcome.copy,
        replaced: outcome.replaced,
        duration_ms: started.elapsed().as_millis() as u64,
        tables: manifest.tables.len(),
        rows: manifest.total_rows(),
        warnings: outcome.warnings,
    })
}

/// How loading a located backup went.
#[derive(Debug)]
pub struct Loaded {
    pub copy: String,
    pub replaced: bool,
    pub warnings: Vec<String>,
}

/// Where a restore puts the backup.
#[derive(Debug, Clone, Copy)]
pub enum Placement<'a> {
    /// Under `database`, which must not exist unless `force`; the journal records what the
    /// restore creates so that a killed run's leftovers are removed by the next one.
    Named {
        database: &'a str,
        force: bool,
        journal: Option<&'a Journal>,
    },
    /// Into a scratch database the caller owns and drops (drills).
    Scratch(&'a str),
}

/// Prefix of the temporary databases restores load into before renaming them into place.
pub const RESTORE_PREFIX: &str = "dbward_restore_";

/// Loads `located` on `target`; the shared core of restore and drill. Only what this call
/// created is ever dropped, and a database under its final name is complete: the load goes
/// to a temporary name that is renamed into place when every check passed, or — where the
/// engine cannot rename — is journalled as incomplete until it is.
pub async fn restore_located(
    target: &dyn RestoreTarget,
    located: &Located,
    placement: Placement<'_>,
    keyring: Option<&super::keys::Keyring>,
    progress: &dyn Observer,
) -> anyhow::Result<Loaded> {
    let manifest = &located.manifest;
    if target.engine() != manifest.engine
        && !(is_mysql_family(target.engine()) && is_mysql_family(manifest.engine))
    {
        return Err(UsageError(format!(
            "backup {} is a {} dump; source {} is {}",
            manifest.id,
            manifest.engine,
            target.name(),
            target.engine()
        ))
        .into());
    }
    let (database, force, journal) = match placement {
        Placement::Named {
            database,
            force,
            journal,
        } => (database, force, journal),
        Placement::Scratch(database) => {
            target.check_compatible(manifest).await?;
            return load_copies(target, located, database, None, keyring, progress).await;
        }
    };
    target.check_name(database).await.map_err(refusal)?;
    target.check_compatible(manifest).await?;
    refuse_missing_roles(target, manifest).await?;
    let exists = target.database_exists(database).await?;
    if exists && !force {
        return Err(UsageError(format!(
            "database {database:?} exists on {}; nothing was changed. Restore under another name with --to-database, or replace it with --force",
            target.name()
        ))
        .into());
    }
    let staging = target.staging();
    let direct = !exists && staging != Staging::Rename;
    let load_into = if direct {
        database.to_string()
    } else {
        format!(
            "{RESTORE_PREFIX}{}",
            ulid::Ulid::new().to_string().to_lowercase()
        )
    };
    let journalled = |name: &str, exclusive: bool| -> Option<Claim> {
        if staging == Staging::Atomic && !exclusive {
            return None; // the load itself never leaves a partial database under a name
        }
        let journal = journal?;
        match journal.begin(target.name(), name, exclusive, &manifest.id, Kind::Restore) {
            Ok(claim) => Some(claim),
            Err(e) => {
                tracing::warn!(
                    "cannot record the restore of {name} in the journal ({e}): if dbward is killed now, remove an incomplete {name} by hand"
                );
                None
            }
        }
    };
    let mut claim = journalled(&load_into, !direct);
    let mut loaded = load_copies(
        target,
        located,
        &load_into,
        claim.as_mut(),
        keyring,
        progress,
    )
    .await?;
    if direct {
        return Ok(loaded);
    }
    // The temporary name means nothing to the user: messages name the database.
    for warning in &mut loaded.warnings {
        *warning = warning.replace(&load_into, database);
    }
    // The temporary database is complete: give it its name.
    if let Some(claim) = claim.as_mut() {
        set_state(claim, EntryState::Complete);
    }
    let mut target_claim = if staging == Staging::Journal {
        let mut claim = journalled(database, false);
        if let Some(claim) = claim.as_mut() {
            set_state(claim, EntryState::Incomplete);
        }
        claim
    } else {
        None
    };
    match target.publish(&load_into, database, force).await {
        Ok(()) => {
            if force {
                tracing::warn!(
                    "replaced the existing database {database} on {}",
                    target.name()
                );
            }
            target_claim.take();
            claim.take();
            loaded.replaced = exists;
            Ok(loaded)
        }
        Err(e @ dbward_core::Error::NameTaken { .. }) => {
            target_claim.take();
            let cleanup = match target.drop_database(&load_into).await {
                Ok(()) => "the restored copy was discarded".to_string(),
                Err(drop_err) => {
                    format!("the restored copy {load_into} could not be dropped: {drop_err}")
                }
            };
            claim.take();
            Err(UsageError(format!(
                "{e}: {database:?} appeared on {} while the restore ran, and was left untouched; {cleanup}",
                target.name()
            ))
            .into())
        }
        Err(e) => {
            target_claim.take();
            // The complete copy stays where it is, and its journal entry says so.
            std::mem::forget(claim);
            Err(anyhow::anyhow!(
                "the restored database could not be put in place as {database}: {e}; the complete restore is kept as {load_into} on {}",
                target.name()
            ))
        }
    }
}

/// Refuses, before anything is created, a restore whose objects belong to roles the target
/// lacks: the load would stop at the first of them (F23). The message names each role and
/// the command that brings them.
async fn refuse_missing_roles(
    target: &dyn RestoreTarget,
    manifest: &dbward_core::Manifest,
) -> anyhow::Result<()> {
    let missing = target.missing_roles(manifest).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let roles = missing
        .iter()
        .map(|r| format!("role \"{r}\" does not exist"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(anyhow::anyhow!(
        "{roles} on {}: backup {} of {}/{} has objects owned by or granted to it; nothing was changed. Restore the source's roles first (F23): {} (the source needs globals = true), or create the role by hand",
        target.name(),
        manifest.id,
        manifest.source,
        manifest.database,
        super::globals::restore_command(&manifest.source, target.name())
    ))
}

fn set_state(claim: &mut Claim, state: EntryState) {
    if let Err(e) = claim.set(state) {
        tracing::warn!("cannot update the restore journal: {e}");
    }
}

/// A name or existence refusal is the caller's to fix: exit 2.
fn refusal(error: dbward_core::Error) -> anyhow::Error {
    match error {
        dbward_core::Error::InvalidName { .. } | dbward_core::Error::NameTaken { .. } => {
            UsageError(error.to_string()).into()
        }
        other => other.into(),
    }
}

/// Creates `database` and loads the first copy that reads cleanly into it; when a copy turns
/// out damaged, the database is dropped and the next copy loaded from scratch. Only a
/// database this call created is dropped.
async fn load_copies(
    target: &dyn RestoreTarget,
    located: &Located,
    database: &str,
    mut claim: Option<&mut Claim>,
    keyring: Option<&super::keys::Keyring>,
    progress: &dyn Observer,
) -> anyhow::Result<Loaded> {
    let manifest = &located.manifest;
    let outcome = read_first_good_copy(located, keyring, progress, "restore", async |dump| {
        let mut warnings = target
            .create_database(database, manifest)
            .await
            .map_err(LoadError::NotCreated)?;
        if let Some(claim) = claim.as_deref_mut() {
            set_state(claim, EntryState::Incomplete);
        }
        let loaded = tokio::select! {
            loaded = target.load(database, manifest, dump) => loaded,
            signal = interrupted() => Err(dbward_core::Error::Dump(format!("interrupted ({signal})"))),
        };
        match loaded {
            Ok(report) => {
                warnings.extend(report.warnings);
                Ok(warnings)
            }
            Err(e) => {
                let dropped = match target.drop_database(database).await {
                    Ok(()) => "was dropped".to_string(),
                    Err(drop_err) => format!("could not be dropped ({drop_err})"),
                };
                Err(LoadError::Loading(format!(
                    "restore failed: {e}; the database {database:?} it was creating {dropped}"
                )))
            }
        }
    })
    .await;
    match outcome {
        CopyOutcome::Read {
            copy,
            value,
            skipped,
        } => {
            let mut warnings = value;
            warnings.extend(skipped.into_iter().map(|s| format!("skipped {s}")));
            Ok(Loaded {
                copy,
                replaced: false,
                warnings,
            })
        }
        CopyOutcome::Failed {
            error: LoadError::NotCreated(e),
            ..
        } => Err(refusal(e)),
        CopyOutcome::Failed { copy, error, .. } => Err(anyhow::anyhow!(
            "restore of backup {} from {copy} failed: {error}",
            manifest.id
        )),
        CopyOutcome::Unreadable { skipped } => Err(anyhow::anyhow!(
            "no copy of backup {} could be read: {}",
            manifest.id,
            skipped.join("; ")
        )),
    }
}

/// Why loading one copy failed.
#[derive(Debug)]
enum LoadError {
    /// The database could not be created (its name exists, or the server refused); nothing
    /// was created, so nothing is dropped.
    NotCreated(dbward_core::Error),
    Loading(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotCreated(e) => write!(f, "{e}"),
            LoadError::Loading(reason) => f.write_str(reason),
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM), naming the signal.
pub async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "Ctrl-C";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}

/// Drops what killed restores left (journal entries no live process holds) on the targets
/// they name, and reports what it keeps. Failures are warnings: a leftover is no reason to
/// refuse a restore.
pub async fn clean_interrupted(ctx: &Context) {
    let journal = Journal::new(&ctx.config.state_dir);
    for leftover in journal.leftovers() {
        let record = &leftover.record;
        let what = format!(
            "{} on {} (left by an interrupted {} of backup {} at {})",
            record.database,
            record.target,
            match record.kind {
                Kind::Restore => "restore",
                Kind::Drill => "drill",
            },
            record.backup,
            record.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if cleanup_for(record) == Cleanup::Keep {
            tracing::warn!(
                "not dropping {what}: {}; check it and drop or rename it by hand",
                match record.state {
                    EntryState::Complete => "it holds a complete restore",
                    _ => "it may not have been created by dbward",
                }
            );
            leftover.forget();
            continue;
        }
        let Some(source) = ctx.config.source(&record.target) else {
            tracing::warn!(
                "cannot drop {what}: no [[source]] named {:?} is configured any more",
                record.target
            );
            continue;
        };
        let target = match record.kind {
            Kind::Restore => registry::restore_target(source, &ctx.scratch),
            Kind::Drill => registry::drill_target(source, &ctx.config, &ctx.scratch),
        };
        match target.drop_database(&record.database).await {
            Ok(()) => {
                tracing::warn!("dropped {what}");
                leftover.forget();
            }
            Err(e) => tracing::warn!("cannot drop {what}: {e}; the next restore tries again"),
        }
    }
}

fn is_mysql_family(engine: dbward_core::Engine) -> bool {
    matches!(
        engine,
        dbward_core::Engine::Mysql | dbward_core::Engine::Mariadb
    )
}
