//! The actions the dashboard and the HTTP API offer an operator: back up a database now,
//! drill its newest good backup now, verify one backup, acknowledge a lost copy. [`admit`]
//! is the one way in for every front end: it checks the actor's role and the target, records
//! the action in the audit log (who, what, when), and either does it at once (acknowledge)
//! or hands back the [`Job`] to run, which [`carry_out`] runs like the CLI's own command (the
//! engine's run futures are not `Send`, so the front end decides where it runs).

use std::sync::Arc;

use super::Context;
use super::backup::{self, BackupRequest};
use super::observe::Quiet;
use super::verify::{self, Selection};
use crate::catalog::{ActorKind, CopyStatus, Role};
use crate::config::VerifyLevel;

/// Who asks for an action.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub kind: ActorKind,
    pub name: &'a str,
    pub role: Role,
}

/// One action on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Back up one database now.
    Backup { source: String, database: String },
    /// Restore-drill the newest good backup of one database now.
    Drill { source: String, database: String },
    /// Verify one backup at `level`.
    Verify {
        backup_id: String,
        level: VerifyLevel,
    },
    /// Accept that a copy `audit` found gone is lost: it stops counting as a problem.
    Acknowledge {
        backup_id: String,
        destination: String,
    },
}

impl Action {
    /// What the audit log says was done.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Backup { .. } => "backup",
            Action::Drill { .. } => "drill",
            Action::Verify { level, .. } => match level {
                VerifyLevel::Checksum => "verify checksum",
                VerifyLevel::Structural => "verify structural",
                VerifyLevel::Drill => "verify drill",
            },
            Action::Acknowledge { .. } => "acknowledge lost copy",
        }
    }

    /// What it was done to, as the audit log says it.
    pub fn target(&self) -> String {
        match self {
            Action::Backup { source, database } | Action::Drill { source, database } => {
                format!("{source}/{database}")
            }
            Action::Verify { backup_id, .. } => backup_id.clone(),
            Action::Acknowledge {
                backup_id,
                destination,
            } => format!("{backup_id} on {destination}"),
        }
    }
}

/// Why an action was not admitted. Each renders as a sentence naming the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{actor} is a viewer: `{verb}` needs the operator role")]
    Forbidden { actor: String, verb: &'static str },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

/// Work an admitted action left to run, recorded in the catalog like the CLI's.
#[derive(Debug, Clone)]
pub enum Job {
    Backup(BackupRequest),
    Verify {
        /// The source of the backup verified: the job slot it takes under daemon limits.
        source: String,
        selection: Selection,
        level: VerifyLevel,
    },
}

/// What [`admit`] did: the action is done, or its job is to be run by [`carry_out`].
#[derive(Debug)]
pub enum Admitted {
    Done,
    Run(Job),
}

/// A database name an action may take: not empty, and no glob characters (a request's
/// databases are patterns; a name from the web must select exactly itself).
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['*', '?', '[', ']', '{', '}', '\\', '!'])
}

/// Checks `action` for `actor`, records it in the audit log, and does it or returns its job.
pub async fn admit(ctx: &Context, actor: Actor<'_>, action: &Action) -> Result<Admitted, Refusal> {
    if actor.role != Role::Operator {
        return Err(Refusal::Forbidden {
            actor: actor.name.to_string(),
            verb: action.verb(),
        });
    }
    // What the audit log names: a backup by its whole id, however the caller abbreviated it.
    let mut target = action.target();
    let admitted = match action {
        Action::Backup { source, database } => {
            configured_database(ctx, source, database)?;
            Admitted::Run(Job::Backup(BackupRequest {
                sources: vec![source.clone()],
                databases: vec![database.clone()],
                ..BackupRequest::default()
            }))
        }
        Action::Drill { source, database } => {
            configured_database(ctx, source, database)?;
            if ctx
                .catalog
                .latest_good(source, database)
                .await
                .map_err(anyhow::Error::from)?
                .is_none()
            {
                return Err(Refusal::NotFound(format!(
                    "{source}/{database} has no good backup to drill yet; back it up first"
                )));
            }
            Admitted::Run(Job::Verify {
                source: source.clone(),
                selection: Selection::Latest {
                    source: Some(source.clone()),
                    databases: vec![database.clone()],
                },
                level: VerifyLevel::Drill,
            })
        }
        Action::Verify { backup_id, level } => {
            let Some((backup, _)) = ctx
                .catalog
                .get(backup_id)
                .await
                .map_err(anyhow::Error::from)?
            else {
                return Err(Refusal::NotFound(format!(
                    "no backup with id {backup_id:?}"
                )));
            };
            if !backup
                .copies
                .iter()
                .any(|c| c.status == CopyStatus::Committed)
            {
                return Err(Refusal::Conflict(format!(
                    "backup {} has no committed copy to verify",
                    backup.id
                )));
            }
            target = backup.id.clone();
            Admitted::Run(Job::Verify {
                source: backup.source,
                selection: Selection::One(backup.id),
                level: *level,
            })
        }
        Action::Acknowledge {
            backup_id,
            destination,
        } => {
            let id = acknowledge(ctx, backup_id, destination).await?;
            target = format!("{id} on {destination}");
            Admitted::Done
        }
    };
    super::access::record(ctx, actor.kind, actor.name, action.verb(), &target).await?;
    tracing::info!(
        "{} ({}) asked to {} {target}",
        actor.name,
        actor.kind,
        action.verb(),
    );
    Ok(admitted)
}

fn configured_database(ctx: &Context, source: &str, database: &str) -> Result<(), Refusal> {
    if ctx.config.source(source).is_none() {
        return Err(Refusal::NotFound(format!(
            "no [[source]] named {source:?} in the config"
        )));
    }
    if !plain_name(database) {
        return Err(Refusal::Invalid(format!(
            "database {database:?}: expected a database name, not a pattern"
        )));
    }
    Ok(())
}

/// Marks the missing copy of `backup_id` on `destination` acknowledged; returns the
/// backup's whole id.
async fn acknowledge(ctx: &Context, backup_id: &str, destination: &str) -> Result<String, Refusal> {
    let Some((backup, _)) = ctx
        .catalog
        .get(backup_id)
        .await
        .map_err(anyhow::Error::from)?
    else {
        return Err(Refusal::NotFound(format!(
            "no backup with id {backup_id:?}"
        )));
    };
    let Some(copy) = backup.copies.iter().find(|c| c.destination == destination) else {
        return Err(Refusal::NotFound(format!(
            "backup {} has no copy on {destination:?}",
            backup.id
        )));
    };
    if copy.status != CopyStatus::Missing {
        return Err(Refusal::Conflict(format!(
            "the copy of backup {} on {destination} is {}, not missing: only a copy `dbward \
             audit` found gone can be acknowledged",
            backup.id, copy.status
        )));
    }
    ctx.catalog
        .set_copy_status(&backup.id, destination, CopyStatus::Acknowledged)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(backup.id)
}

/// Runs an admitted job to its end, recorded in the catalog and told to the alerts like the
/// CLI's `backup` or `verify`; returns one line per outcome for the log.
pub async fn carry_out(ctx: Arc<Context>, job: &Job) -> anyhow::Result<Vec<String>> {
    match job {
        Job::Backup(request) => {
            let (report, _) = backup::run_and_alert(ctx, request, &Quiet).await?;
            Ok(report
                .backups
                .iter()
                .map(|b| format!("backup of {}/{}: {}", b.source, b.database, b.status))
                .collect())
        }
        Job::Verify {
            selection, level, ..
        } => {
            let (results, _) = verify::run_and_alert(&ctx, selection, *level, None, &Quiet).await?;
            Ok(results
                .iter()
                .map(|r| {
                    format!(
                        "{} of {} ({}/{}): {}",
                        level.as_str(),
                        r.backup_id,
                        r.source,
                        r.database,
                        if r.ok { "passed" } else { "FAILED" }
                    )
                })
                .collect())
        }
    }
}
