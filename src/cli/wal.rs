//! `dbward wal push|fetch`: PostgreSQL's `archive_command` and `restore_command` for a
//! `pitr = true` source. Exit codes are PostgreSQL's contract: `push` exits non-zero on any
//! failure (the server keeps the file and retries); `fetch` exits 1 only when no destination
//! holds the file (the end of the archive), and [`FETCH_ABORT`] when one holds it but it
//! cannot be delivered, or anything else fails, so that recovery stops instead of ending
//! early at a damaged file.

use std::path::PathBuf;

use dbward_source_postgres::recover::{FETCH_FAILED, FETCH_NOT_FOUND};

use super::Globals;
use crate::engine::wal::{self, Fetched, WalArchive};

/// How long `wal push` waits for the catalog to record an archived file.
const CATALOG_RECORD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Above 125: PostgreSQL aborts recovery rather than take the file for missing.
pub const FETCH_ABORT: u8 = 255;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: WalCommand,
}

#[derive(Debug, clap::Subcommand)]
enum WalCommand {
    /// Archive one WAL file on every destination (archive_command = 'dbward --config FILE
    /// wal push %p').
    Push {
        /// The file PostgreSQL hands over (%p).
        path: PathBuf,
        /// The pitr = true source it belongs to (default: the only one).
        #[arg(long)]
        source: Option<String>,
    },
    /// Write an archived WAL file to DEST (restore_command = 'dbward --config FILE wal fetch
    /// %f %p'); exit 1 when it is not archived.
    Fetch {
        /// The WAL file's name (%f).
        name: String,
        /// Where to write it (%p).
        dest: PathBuf,
        /// The pitr = true source it belongs to (default: the only one).
        #[arg(long)]
        source: Option<String>,
    },
}

pub async fn run(globals: &Globals, args: Args) -> anyhow::Result<u8> {
    match args.command {
        WalCommand::Push { path, source } => {
            let (config, _log) = super::load(globals)?;
            config.require_secrets()?;
            let archive = WalArchive::open(&config, source.as_deref())?;
            let pushed = wal::push(&archive, &path).await?;
            // The file is archived: a catalog that is slow or down must not make the server
            // retry it (its pg_wal would fill), so the record is bounded and only warned of.
            let recorded = tokio::time::timeout(CATALOG_RECORD_TIMEOUT, async {
                let catalog = crate::catalog::open(&config).await?;
                wal::record_pushed(catalog.as_ref(), &pushed).await
            })
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {}s",
                    CATALOG_RECORD_TIMEOUT.as_secs()
                ))
            });
            if let Err(e) = recorded {
                tracing::warn!(
                    name = %pushed.name,
                    "archived, but not recorded in the catalog ({e:#}); status may report a WAL gap until `dbward catalog rebuild --from DEST` records it"
                );
            }
            tracing::info!(
                name = %pushed.name,
                stored = ?pushed.stored,
                already = ?pushed.already,
                "archived"
            );
            Ok(0)
        }
        WalCommand::Fetch { name, dest, source } => {
            let fetched = async {
                let (config, log) = super::load(globals)?;
                config.require_secrets()?;
                let keyring = crate::engine::keys::keyring_of(&config, None)?;
                let archive = WalArchive::open(&config, source.as_deref())?;
                let fetched = wal::fetch(&archive, &name, &dest, keyring.as_ref()).await?;
                drop(log);
                anyhow::Ok(fetched)
            }
            .await;
            // These lines reach the server's log, where `restore` reads them.
            Ok(match fetched {
                Ok(Fetched::Written { skipped, .. }) => {
                    for reason in skipped {
                        eprintln!("dbward wal fetch: skipped {reason}");
                    }
                    0
                }
                Ok(Fetched::NotArchived) => {
                    eprintln!("{FETCH_NOT_FOUND}{name}");
                    1
                }
                Ok(Fetched::Failed(reason)) => {
                    eprintln!("{FETCH_FAILED}{reason}");
                    FETCH_ABORT
                }
                Err(e) => {
                    eprintln!("{FETCH_FAILED}{name}: {e:#}");
                    FETCH_ABORT
                }
            })
        }
    }
}
