//! `dbward restore`: one backup into a database; refuses to replace one without `--force`.

use super::{Globals, output};
use crate::engine::UsageError;
use crate::engine::locate::BackupRef;
use crate::engine::restore::{self, RestoreRequest};
use crate::progress::Progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup's id (a unique prefix is enough); or use --latest.
    id: Option<String>,
    /// The newest good backup of --source/--database.
    #[arg(long, requires_all = ["source", "database"], conflicts_with = "id")]
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
    /// Restore with N parallel jobs: PostgreSQL custom-format dumps only (spooled to a
    /// temporary file in the state directory, then `pg_restore --jobs=N`); others restore
    /// from the stream.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// With --from: accept a manifest that carries no signature (written before dbward
    /// signed manifests), with a warning. A wrong signature or location is still refused.
    #[arg(long, requires = "from")]
    allow_unsigned: bool,
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
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
        println!(
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
