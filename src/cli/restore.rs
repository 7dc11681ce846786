//! `dbward restore`: one backup into a database; refuses to replace one without `--force`.
//! With `--to-directory`, a `pitr = true` cluster recovered to a moment; with `--globals`,
//! a source's server-wide objects (roles, tablespaces, database owners) applied to a server.

use super::{Globals, output};
use crate::engine::UsageError;
use crate::engine::locate::BackupRef;
use crate::engine::restore::{self, RestoreRequest};
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup's id (a unique prefix is enough); or use --latest.
    id: Option<String>,
    /// The newest good backup of --source/--database (with --to-directory: recover to the
    /// end of the WAL archive, the default).
    #[arg(long, requires = "source", conflicts_with = "id")]
    latest: bool,
    /// The backup's source, with --latest.
    #[arg(long)]
    source: Option<String>,
    /// The backup's database, with --latest.
    #[arg(long)]
    database: Option<String>,
    /// Restore onto this configured source (default: the backup's own source).
    #[arg(long)]
    to_source: Option<String>,
    /// Restore under this name (default: the backup's database name).
    #[arg(long)]
    to_database: Option<String>,
    /// Read the backup from this destination's manifests, without the catalog.
    #[arg(long, value_name = "DESTINATION")]
    from: Option<String>,
    /// Replace an existing database (restored beside it first, swapped in when complete).
    #[arg(long)]
    force: bool,
    /// age identity file for encrypted backups (default: [encryption] identity).
    #[arg(long, value_name = "FILE")]
    identity: Option<std::path::PathBuf>,
    /// Restore with N parallel jobs (spooled to a temporary file in the state directory
    /// first): PostgreSQL custom-format dumps with `pg_restore --jobs=N`, MySQL/MariaDB dumps
    /// with each table's rows on one of N connections; others restore from the stream.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// With --from: accept a manifest that carries no signature (written before dbward
    /// signed manifests), with a warning. A wrong signature or location is still refused.
    #[arg(long, requires = "from")]
    allow_unsigned: bool,
    /// Point-in-time recovery of a pitr = true source (--database '*'): unpack the base
    /// backup into this new or empty directory and recover the cluster there.
    #[arg(long, value_name = "DIR", requires_all = ["source", "database"],
        conflicts_with_all = ["to_source", "to_database", "force", "jobs", "allow_unsigned"])]
    to_directory: Option<std::path::PathBuf>,
    /// Recover up to this moment ('2026-12-04 10:14:59+00'): with --to-directory a
    /// PostgreSQL cluster; with --source S --database D --to-database D2 a MariaDB/MySQL
    /// database (its dump, then its binlog replayed).
    #[arg(long, value_name = "TIME", requires = "source", conflicts_with_all = ["to_lsn", "latest", "force", "jobs", "globals"])]
    to_time: Option<String>,
    /// With --to-directory: recover up to this WAL location (0/3000028).
    #[arg(
        long,
        value_name = "LSN",
        requires = "to_directory",
        conflicts_with = "latest"
    )]
    to_lsn: Option<String>,
    /// Apply a backup of the server-wide objects (roles, memberships, tablespaces, database
    /// owners and settings; `globals = true`) to the target server: what it lacks is created,
    /// what it has is kept and reported. With --latest, the newest of --source.
    #[arg(long, conflicts_with_all = ["database", "to_database", "force", "jobs", "to_directory"])]
    globals: bool,
    /// With --globals: also set the password of roles the target has already from the
    /// backup's hashes (by default an existing role is never changed).
    #[arg(long, requires = "globals")]
    overwrite_passwords: bool,
    /// With --to-directory: only unpack and write the recovery settings; do not run the
    /// recovery.
    #[arg(long, requires = "to_directory")]
    no_start: bool,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    if args.to_directory.is_some() {
        return to_directory(globals, args).await;
    }
    if args.to_time.is_some() {
        return to_database_at(globals, args).await;
    }
    if args.globals {
        return apply_globals(globals, args).await;
    }
    let backup = match (args.id, args.latest, args.source, args.database) {
        (Some(id), false, _, _) => BackupRef::Id(id),
        (None, true, Some(source), Some(database)) => BackupRef::Latest { source, database },
        _ => {
            return Err(UsageError(
                "name a backup: ID, or --latest --source S --database D".into(),
            )
            .into());
        }
    };
    // Disaster recovery reads the destination's manifests alone, so it must not depend on
    // the catalog or on a writable state directory.
    let (ctx, _log) = match &args.from {
        Some(_) => super::open_for_recovery(globals).await?,
        None => super::open(globals).await?,
    };
    let unrecorded = ctx.catalog_stand_in.as_ref().map(|why| {
        format!("the catalog cannot be used ({why}); this restore is not recorded in it")
    });
    if let Some(warning) = &unrecorded {
        eprintln!("warning: {warning}");
    }
    let request = RestoreRequest {
        backup,
        to_source: args.to_source,
        to_database: args.to_database,
        from: args.from,
        force: args.force,
        identity: args.identity,
        jobs: args.jobs,
        allow_unsigned: args.allow_unsigned,
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let mut summary = restore::run(&ctx, &request, &progress).await?;
    if globals.json {
        summary.warnings.extend(unrecorded);
        output::json(&summary)?;
    } else {
        outln!(
            "restored backup {} ({}/{}) into {}/{}{} from {} in {:.1}s: {} tables, {} rows",
            summary.backup_id,
            summary.source,
            summary.database,
            summary.target_source,
            summary.target_database,
            if summary.replaced {
                ", replacing the existing database"
            } else {
                ""
            },
            summary.copy,
            summary.duration_ms as f64 / 1000.0,
            summary.tables,
            summary.rows
        );
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(0)
}

/// `--globals`: a source's server-wide objects onto a server.
async fn apply_globals(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    use crate::engine::globals::{self, GlobalsRequest};
    let backup = match (args.id, args.latest, args.source) {
        (Some(id), false, _) => BackupRef::Id(id),
        (None, true, Some(source)) => BackupRef::Latest {
            source,
            database: dbward_core::manifest::GLOBALS.to_string(),
        },
        _ => {
            return Err(
                UsageError("name a globals backup: ID, or --latest --source S".into()).into(),
            );
        }
    };
    let (ctx, _log) = match &args.from {
        Some(_) => super::open_for_recovery(globals).await?,
        None => super::open(globals).await?,
    };
    let request = GlobalsRequest {
        backup,
        to_source: args.to_source,
        from: args.from,
        overwrite_passwords: args.overwrite_passwords,
        identity: args.identity,
        allow_unsigned: args.allow_unsigned,
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let summary = globals::run(&ctx, &request, &progress).await?;
    let failed = !summary.report.failed.is_empty();
    if globals.json {
        output::json(&summary)?;
    } else {
        let report = &summary.report;
        outln!(
            "applied the server-wide objects of backup {} ({}) to {} from {} in {:.1}s",
            summary.backup_id,
            summary.source,
            summary.target_source,
            summary.copy,
            summary.duration_ms as f64 / 1000.0
        );
        for role in &report.created {
            outln!("  created role {role}");
        }
        for role in &report.kept {
            outln!("  kept role {role} (exists on the target; not changed)");
        }
        for role in &report.passwords_set {
            outln!("  set the password of role {role} (--overwrite-passwords)");
        }
        for database in &report.databases {
            outln!("  applied the owner and settings of database {database}");
        }
        for skipped in &report.skipped {
            outln!("  skipped: {skipped}");
        }
        for failure in &report.failed {
            eprintln!("error: {failure}");
        }
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// `--to-time` without `--to-directory`: point-in-time restore of a MariaDB/MySQL database.
async fn to_database_at(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    use crate::engine::binlog_restore::{self, BinlogRestoreRequest};
    let (Some(source), Some(database), Some(to_database), Some(time)) =
        (args.source, args.database, args.to_database, args.to_time)
    else {
        return Err(UsageError(
            "--to-time restores a database with --source S --database D --to-database NEW (or a PostgreSQL cluster with --to-directory)".into(),
        )
        .into());
    };
    if args.from.is_some() {
        return Err(UsageError(
            "--from is not used with --to-time --to-database: the restore reads the catalog".into(),
        )
        .into());
    }
    let target = crate::engine::pitr::parse_target_time(&time)?;
    let (ctx, _log) = super::open(globals).await?;
    let request = BinlogRestoreRequest {
        source,
        database,
        to_database,
        target,
        backup_id: args.id,
        identity: args.identity,
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let summary = binlog_restore::run(&ctx, &request, &progress).await?;
    if globals.json {
        output::json(&summary)?;
    } else {
        outln!(
            "restored {}/{} as it was at {} into {}: backup {}, then the binlog from {} ({} file(s)) in {:.1}s",
            summary.source,
            summary.database,
            summary.target,
            summary.target_database,
            summary.backup_id,
            summary.start,
            summary.binlog_files.len(),
            summary.duration_ms as f64 / 1000.0
        );
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(0)
}

/// `--to-directory`: point-in-time recovery of a whole cluster.
async fn to_directory(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    use crate::engine::pitr::{self, PitrRequest};
    use dbward_source_postgres::recover::RecoveryTarget;
    let (Some(source), Some(database), Some(directory)) =
        (args.source, args.database, args.to_directory)
    else {
        return Err(UsageError("--to-directory needs --source S --database '*'".into()).into());
    };
    if database != dbward_core::manifest::WHOLE_CLUSTER {
        return Err(UsageError(format!(
            "--to-directory recovers a whole cluster: use --database '*', not {database:?}"
        ))
        .into());
    }
    let target = match (args.to_time, args.to_lsn) {
        (Some(time), _) => RecoveryTarget::Time(pitr::parse_target_time(&time)?),
        (None, Some(lsn)) => RecoveryTarget::Lsn(
            dbward_core::wal::Lsn::parse(&lsn).map_err(|e| UsageError(format!("--to-lsn: {e}")))?,
        ),
        (None, None) => RecoveryTarget::Latest,
    };
    let (ctx, _log) = match &args.from {
        Some(_) => super::open_for_recovery(globals).await?,
        None => super::open(globals).await?,
    };
    let request = PitrRequest {
        source,
        backup_id: args.id,
        directory,
        target,
        start: !args.no_start,
        identity: args.identity,
        from: args.from,
        probe_markers: None,
    };
    let progress = Progress::new(!globals.json && !globals.quiet);
    let summary = pitr::run(&ctx, &request, &progress).await?;
    if globals.json {
        output::json(&summary)?;
    } else {
        outln!(
            "restored base backup {} of {} into {} from {} in {:.1}s, target {}",
            summary.backup_id,
            summary.source,
            summary.directory.display(),
            summary.copy,
            summary.duration_ms as f64 / 1000.0,
            summary.target
        );
        if summary.recovered {
            outln!(
                "recovered: {}; last transaction at {}; the server was stopped and {} is ready to run",
                summary
                    .stopped
                    .as_deref()
                    .unwrap_or("the end of the archive"),
                summary
                    .last_transaction_at
                    .as_deref()
                    .unwrap_or("(none replayed)"),
                summary.directory.display()
            );
        }
        for warning in &summary.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(0)
}
