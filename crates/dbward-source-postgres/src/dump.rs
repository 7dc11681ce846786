//! One pg_dump run: an exported snapshot that pg_dump imports and that the row counts read,
//! the child started with its password only in its environment, and the completion that
//! judges exit status, stderr, completion marker and counts.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dbward_core::process::ToolProcess;
use dbward_core::source::{Dump, DumpCompletion, DumpInfo, DumpReport};
use dbward_core::stream::{Ends, TapReader};
use dbward_core::{Error, Result, TableRows};
use sqlx::PgConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::conn::{self, Purpose};
use crate::judge::{ENDS_BYTES, check_marker, judge_exit};
use crate::tool::{Need, find_tool};
use crate::{PgFormat, PostgresSettings};

/// What pg_dump shows as `application_name`, so that its sessions can be found on the server.
pub const DUMP_APPLICATION_NAME: &str = "dbward";

/// What the snapshot-holding task found.
struct Counted {
    tables: Vec<TableRows>,
    has_large_objects: bool,
}

/// Builds pg_dump's arguments; nothing secret goes here, so they are also the recorded options.
fn dump_args(settings: &PostgresSettings, database: &str, snapshot: &str) -> Vec<String> {
    let mut args = match settings.format {
        PgFormat::Custom => vec!["--format=custom".to_string(), "--compress=0".to_string()],
        PgFormat::Plain => vec!["--format=plain".to_string()],
    };
    args.extend(conn::tool_connection_args(settings, database));
    args.push(format!("--snapshot={snapshot}"));
    args.extend(
        settings
            .exclude_tables
            .iter()
            .map(|t| format!("--exclude-table={t}")),
    );
    args
}

fn sql_error(context: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |e| conn::query_error(context, e)
}

/// Opens the snapshot, starts pg_dump on it and starts counting rows in it.
pub async fn start(settings: &PostgresSettings, database: &str) -> Result<Dump> {
    let mut session = conn::connect(settings, database, Purpose::Dump).await?;
    let (server_version, server_major) = conn::server_version(&mut session).await?;
    let need = Need::pg_dump(server_major, &server_version);
    let tool = find_tool(settings.tool_dir.as_deref(), &need).await?;

    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut session)
        .await
        .map_err(sql_error("cannot open the snapshot transaction"))?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_catalog.pg_export_snapshot()")
        .fetch_one(&mut session)
        .await
        .map_err(sql_error("cannot export a snapshot"))?;
    // pg_dump's session imports this snapshot and so shares its xmin: that is how abort finds
    // the session to end when pg_dump dies waiting for a lock.
    let (backend_pid, snapshot_xmin): (i32, Option<String>) = sqlx::query_as(
        "SELECT pid, backend_xmin::text FROM pg_catalog.pg_stat_activity
          WHERE pid = pg_catalog.pg_backend_pid()",
    )
    .fetch_one(&mut session)
    .await
    .map_err(sql_error("cannot read the snapshot session's identity"))?;
    let (excluded, unmatched) =
        conn::excluded_tables(&mut session, &settings.exclude_tables).await?;
    let replica = conn::replica_state(&mut session).await?;

    let args = dump_args(settings, database, &snapshot);
    let mut command = conn::tool_command(settings, &tool.path, DUMP_APPLICATION_NAME);
    command.args(&args);
    tracing::debug!(tool = %tool.path.display(), ?args, "starting pg_dump");
    let (process, stdout) = ToolProcess::spawn("pg_dump", command)?;

    let (release, released) = oneshot::channel();
    let counter = tokio::spawn(hold_snapshot(
        session,
        excluded.clone(),
        replica.in_recovery,
        released,
    ));

    let ends = Arc::new(Mutex::new(Ends::new(ENDS_BYTES)));
    let tap_ends = Arc::clone(&ends);
    let output = TapReader::new(stdout, move |chunk: &[u8]| {
        if let Ok(mut ends) = tap_ends.lock() {
            ends.push(chunk);
        }
    });

    let mut warnings: Vec<String> = unmatched
        .iter()
        .map(|p| format!("exclude_tables pattern {p:?} matches no table"))
        .collect();
    warnings.extend(replica.warning);
    let info = DumpInfo {
        server_version,
        tool: "pg_dump".into(),
        tool_version: tool.version.clone(),
        format: settings.format.as_str().into(),
        extension: settings.format.extension(),
        options: args,
    };
    let completion = PgDumpCompletion {
        settings: settings.clone(),
        format: settings.format,
        process,
        ends,
        counter,
        release,
        cleanup: Cleanup {
            database: database.to_string(),
            backend_pid,
            snapshot_xmin,
        },
        excluded_tables: excluded.into_iter().collect(),
        replica_lag_seconds: replica.lag_seconds,
        warnings,
    };
    Ok(Dump {
        info,
        output: Box::pin(output),
        completion: Box::new(completion),
    })
}

/// Counts rows inside the exported snapshot, then keeps the transaction open until told to
/// let go: the snapshot can only be imported while its exporting transaction lives, and
/// pg_dump may import it after the counting is done.
async fn hold_snapshot(
    mut session: PgConnection,
    excluded: BTreeSet<String>,
    in_recovery: bool,
    released: oneshot::Receiver<()>,
) -> Result<Counted> {
    let counted = count_in_snapshot(&mut session, &excluded, in_recovery).await;
    // A dropped sender (abort, or a completion dropped unused) ends the hold as well.
    let _ = released.await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut session).await;
    conn::close(session).await;
    counted
}

async fn count_in_snapshot(
    session: &mut PgConnection,
    excluded: &BTreeSet<String>,
    in_recovery: bool,
) -> Result<Counted> {
    let tables: Vec<String> = conn::data_tables(session, in_recovery)
        .await?
        .into_iter()
        .filter(|t| !excluded.contains(t))
        .collect();
    conn::lock_tables(session, &tables).await?;
    let tables = conn::count_rows(session, &tables).await?;
    let has_large_objects = conn::has_large_objects(session).await?;
    Ok(Counted {
        tables,
        has_large_objects,
    })
}

struct PgDumpCompletion {
    settings: PostgresSettings,
    format: PgFormat,
    process: ToolProcess,
    ends: Arc<Mutex<Ends>>,
    counter: JoinHandle<Result<Counted>>,
    release: oneshot::Sender<()>,
    cleanup: Cleanup,
    excluded_tables: Vec<String>,
    replica_lag_seconds: Option<f64>,
    warnings: Vec<String>,
}

/// What identifies this dump's server sessions, to end them when the dump is given up.
struct Cleanup {
    database: String,
    /// The snapshot session, which may be waiting on a lock to count a table.
    backend_pid: i32,
    snapshot_xmin: Option<String>,
}

impl Cleanup {
    /// Ends the snapshot session (unless it already finished counting) and, after a kill,
    /// pg_dump's session. A backend waiting for a lock only notices that its client is gone
    /// when it next writes, and keeps its place in the lock queue until then.
    async fn run(
        self,
        settings: &PostgresSettings,
        counter: JoinHandle<Result<Counted>>,
        release: oneshot::Sender<()>,
        dump_killed: bool,
    ) {
        let counting = !counter.is_finished();
        if counting {
            counter.abort();
        } else {
            drop(release);
        }
        let _ = counter.await;
        if !counting && !dump_killed {
            return;
        }
        let maintenance = &settings.maintenance_database;
        let Ok(mut admin) = conn::connect(settings, maintenance, Purpose::Maintenance).await else {
            return;
        };
        let ended = sqlx::query(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
              WHERE (pid = $1 AND $2)
                 OR ($3 AND application_name = $4 AND datname = $5
                     AND backend_xmin::text = $6)",
        )
        .bind(self.backend_pid)
        .bind(counting)
        .bind(dump_killed)
        .bind(DUMP_APPLICATION_NAME)
        .bind(&self.database)
        .bind(&self.snapshot_xmin)
        .execute(&mut admin)
        .await;
        if let Err(e) = ended {
            tracing::warn!(error = %conn::describe(&e), "cannot end the dump's server sessions");
        }
        conn::close(admin).await;
    }
}

#[async_trait]
impl DumpCompletion for PgDumpCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let this = *self;
        let exit = match this.process.wait().await {
            Ok(exit) => exit,
            Err(e) => {
                this.cleanup
                    .run(&this.settings, this.counter, this.release, false)
                    .await;
                return Err(e);
            }
        };
        let tool_warnings = match judge_exit(
            "pg_dump",
            &exit.describe(),
            exit.status.success(),
            &exit.stderr,
        ) {
            Ok(warnings) => warnings,
            Err(reason) => {
                this.cleanup
                    .run(&this.settings, this.counter, this.release, false)
                    .await;
                return Err(Error::Dump(reason));
            }
        };
        let _ = this.release.send(());
        let counted = match this.counter.await {
            Ok(counted) => counted?,
            Err(e) => return Err(Error::Dump(format!("row counting task failed: {e}"))),
        };
        let expect_data = !counted.tables.is_empty() || counted.has_large_objects;
        {
            let ends = this
                .ends
                .lock()
                .map_err(|_| Error::Dump("the dump output inspector panicked".into()))?;
            check_marker(this.format, &ends, expect_data).map_err(Error::Dump)?;
        }
        let mut warnings = this.warnings;
        warnings.extend(tool_warnings);
        Ok(DumpReport {
            tables: counted.tables,
            warnings,
            excluded_tables: this.excluded_tables,
            replica_lag_seconds: this.replica_lag_seconds,
        })
    }

    async fn abort(self: Box<Self>) {
        let this = *self;
        this.process.kill().await;
        this.cleanup
            .run(&this.settings, this.counter, this.release, true)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(format: PgFormat) -> PostgresSettings {
        PostgresSettings {
            name: "pg".into(),
            host: "db.example".into(),
            port: 5433,
            user: "backup".into(),
            password: Some("hunter2-secret".to_string().into()),
            maintenance_database: "postgres".into(),
            format,
            tool_dir: None,
            exclude_tables: vec!["audit.*".into()],
            connect_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn arguments_hold_every_option_and_no_secret() {
        let args = dump_args(&settings(PgFormat::Custom), "shop", "00000003-1");
        assert_eq!(
            args,
            [
                "--format=custom",
                "--compress=0",
                "--no-password",
                "--host=db.example",
                "--port=5433",
                "--username=backup",
                "--dbname=shop",
                "--snapshot=00000003-1",
                "--exclude-table=audit.*",
            ]
        );
        let plain = dump_args(&settings(PgFormat::Plain), "shop", "s");
        assert_eq!(plain[0], "--format=plain");
        assert!(!plain.iter().any(|a| a.starts_with("--compress")));
        assert!(!format!("{args:?}{plain:?}").contains("hunter2"));
        assert!(!format!("{:?}", settings(PgFormat::Plain)).contains("hunter2"));
    }
}
