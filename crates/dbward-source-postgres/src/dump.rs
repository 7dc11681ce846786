//! One pg_dump run, judged by the backup gate (docs/cli.md) as its bytes stream past.
//!
//! dbward opens a repeatable-read transaction and exports its snapshot; pg_dump imports it
//! (`--snapshot`), so the table listing dbward reads in that snapshot before starting
//! pg_dump names exactly the tables whose rows pg_dump writes. No table is read twice: the
//! row counts come from pg_dump's own output, read through a [`TapReader`] while the dump
//! streams to its destinations (custom format: [`ArchiveReader`]; plain: [`CopyCounter`]),
//! so they are the counts of what the artifact holds. At the end the completion checks exit
//! status, stderr, the format's completion (a complete, well-formed archive; the plain
//! trailer), and that every listed table has its data in the dump.
//!
//! No table lock is taken by dbward: the listing reads only the catalog in the snapshot
//! pg_dump shares, and pg_dump takes its own `ACCESS SHARE` locks on what it dumps (a table
//! dropped in between makes pg_dump fail, which fails the backup). The earlier share locks
//! only existed so that `count(*)` agreed with pg_dump's copy.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dbward_core::process::ToolProcess;
use dbward_core::secret::SecretFile;
use dbward_core::source::{Dump, DumpCompletion, DumpInfo, DumpReport};
use dbward_core::stream::{Ends, TapReader};
use dbward_core::{Error, FidelityLoss, Result, TableRows};
use sqlx::PgConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::archive::ArchiveReader;
use crate::conn::{self, ListedTable, Purpose, quote_ident};
use crate::inspect::{CopyCounter, copy_table, split_table_name};
use crate::judge::{ENDS_BYTES, check_marker, judge_exit};
use crate::tool::{Need, PgMajor, find_tool};
use crate::{PgFormat, PostgresSettings};

/// What pg_dump shows as `application_name`, so that its sessions can be found on the server.
pub const DUMP_APPLICATION_NAME: &str = "dbward";

/// How long releasing the snapshot session may take before it is given up.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Reads pg_dump's output as it streams past: the row counts and the completion marker.
#[derive(Debug)]
enum Inspector {
    Custom(Box<ArchiveReader>),
    Plain { ends: Ends, copies: CopyCounter },
}

/// The data of one table found in a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    /// Schema and table unquoted, when known.
    raw: Option<(String, String)>,
    /// The name as pg_dump wrote it in the COPY statement.
    written: String,
    rows: u64,
}

impl Inspector {
    fn new(format: PgFormat) -> Self {
        match format {
            PgFormat::Custom => Inspector::Custom(Box::default()),
            PgFormat::Plain => Inspector::Plain {
                ends: Ends::new(ENDS_BYTES),
                copies: CopyCounter::default(),
            },
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        match self {
            Inspector::Custom(reader) => reader.push(chunk),
            Inspector::Plain { ends, copies } => {
                ends.push(chunk);
                copies.push(chunk);
            }
        }
    }

    /// Checks that the output is complete and returns the data it holds.
    fn finish(self) -> std::result::Result<Vec<Found>, String> {
        match self {
            Inspector::Custom(reader) => {
                let archive = reader
                    .finish()
                    .map_err(|e| format!("pg_dump output: {e}"))?;
                Ok(archive
                    .tables
                    .into_iter()
                    .map(|t| {
                        let written = copy_table(t.copy_stmt.trim_end())
                            .map(str::to_string)
                            .unwrap_or_else(|| {
                                format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))
                            });
                        Found {
                            raw: Some((t.schema, t.table)),
                            written,
                            rows: t.rows,
                        }
                    })
                    .collect())
            }
            Inspector::Plain { ends, copies } => {
                check_marker(PgFormat::Plain, &ends, true)?;
                let counts = copies
                    .finish()
                    .map_err(|e| format!("pg_dump output: {e}"))?;
                Ok(counts
                    .into_iter()
                    .map(|t| Found {
                        raw: split_table_name(&t.table),
                        written: t.table,
                        rows: t.rows,
                    })
                    .collect())
            }
        }
    }
}

/// The manifest's tables from what the dump holds: every expected table (listed in the
/// snapshot, not an extension member, not excluded) must have its data there, counted under
/// the server's own `quote_ident` name; data of tables the listing does not know is kept
/// under the name pg_dump wrote; extension members' data is not counted (see `ListedTable`).
fn manifest_tables(
    listing: &[ListedTable],
    excluded: &BTreeSet<String>,
    found: Vec<Found>,
) -> std::result::Result<Vec<TableRows>, String> {
    let by_raw: HashMap<(&str, &str), &ListedTable> = listing
        .iter()
        .map(|t| ((t.schema.as_str(), t.name.as_str()), t))
        .collect();
    let mut counted: HashMap<&str, u64> = HashMap::new();
    let mut unknown: Vec<TableRows> = Vec::new();
    for f in &found {
        let listed = f
            .raw
            .as_ref()
            .and_then(|(s, t)| by_raw.get(&(s.as_str(), t.as_str())));
        match listed {
            Some(t) if t.extension_member => {}
            Some(t) => *counted.entry(t.qualified.as_str()).or_default() += f.rows,
            None => match unknown.iter_mut().find(|u| u.table == f.written) {
                Some(u) => u.rows += f.rows,
                None => unknown.push(TableRows {
                    table: f.written.clone(),
                    rows: f.rows,
                }),
            },
        }
    }
    let expected = listing
        .iter()
        .filter(|t| !t.extension_member && !excluded.contains(&t.qualified));
    let missing: Vec<&str> = expected
        .clone()
        .filter(|t| !counted.contains_key(t.qualified.as_str()))
        .map(|t| t.qualified.as_str())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).copied().collect();
        let more = missing.len() - shown.len();
        return Err(format!(
            "pg_dump output holds no data for {} of the tables it was expected to dump: {}{}",
            missing.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    // Expected tables in listing order, then anything else the dump holds.
    let mut tables: Vec<TableRows> = listing
        .iter()
        .filter(|t| counted.contains_key(t.qualified.as_str()))
        .map(|t| TableRows {
            table: t.qualified.clone(),
            rows: counted[t.qualified.as_str()],
        })
        .collect();
    tables.extend(unknown);
    Ok(tables)
}

/// Opens the snapshot, lists the tables in it and starts pg_dump on it.
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
    let snapshot_xmin: Option<String> = sqlx::query_scalar(
        "SELECT backend_xmin::text FROM pg_catalog.pg_stat_activity
          WHERE pid = pg_catalog.pg_backend_pid()",
    )
    .fetch_one(&mut session)
    .await
    .map_err(sql_error("cannot read the snapshot session's identity"))?;
    let (excluded, unmatched) =
        conn::excluded_tables(&mut session, &settings.exclude_tables).await?;
    let (excluded_with_data, unreadable) = conn::tables_with_data(&mut session, &excluded).await;
    let replica = conn::replica_state(&mut session).await?;
    let database_settings = conn::database_settings(&mut session).await?;
    let fidelity = subscriptions_not_kept(&mut session, server_major).await?;
    // In the snapshot pg_dump imports: exactly the tables whose rows it will write.
    let listing = conn::table_listing(&mut session, replica.in_recovery).await?;

    let args = dump_args(settings, database, &snapshot);
    let (mut command, passfile) = conn::tool_command(settings, &tool.path, DUMP_APPLICATION_NAME)?;
    command.args(&args);
    tracing::debug!(tool = %tool.path.display(), ?args, "starting pg_dump");
    let (process, stdout) = ToolProcess::spawn("pg_dump", command)?;

    let (release, released) = oneshot::channel();
    let hold = tokio::spawn(hold_snapshot(session, released));

    let inspector = Arc::new(Mutex::new(Inspector::new(settings.format)));
    let tap = Arc::clone(&inspector);
    let output = TapReader::new(stdout, move |chunk: &[u8]| {
        if let Ok(mut inspector) = tap.lock() {
            inspector.push(chunk);
        }
    });

    let mut warnings: Vec<String> = unmatched
        .iter()
        .map(|p| format!("exclude_tables pattern {p:?} matches no table"))
        .collect();
    warnings.extend(replica.warning);
    warnings.extend(unreadable);
    let info = DumpInfo {
        server_version,
        tool: "pg_dump".into(),
        tool_version: tool.version.clone(),
        format: settings.format.as_str().into(),
        extension: settings.format.extension(),
        options: args,
        database_settings: Some(database_settings),
    };
    let completion = PgDumpCompletion {
        settings: settings.clone(),
        process,
        _passfile: passfile,
        inspector,
        listing,
        snapshot: Snapshot {
            hold,
            release,
            database: database.to_string(),
            xmin: snapshot_xmin,
        },
        excluded_tables: excluded,
        excluded_with_data,
        replica_lag_seconds: replica.lag_seconds,
        warnings,
        fidelity,
    };
    Ok(Dump {
        info,
        output: Box::pin(output),
        completion: Box::new(completion),
    })
}

/// The subscriptions of the database when the dump runs without superuser rights: pg_dump
/// leaves every subscription out then (it only says so, without names), so each is a loss
/// the backup names (F23). `pg_subscription` (PostgreSQL 10+) lets every role read the names.
async fn subscriptions_not_kept(
    session: &mut PgConnection,
    server_major: PgMajor,
) -> Result<Vec<FidelityLoss>> {
    if server_major < PgMajor::from_version_num(100_000) {
        return Ok(Vec::new());
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT s.subname::text FROM pg_catalog.pg_subscription s
           JOIN pg_catalog.pg_database d ON d.oid = s.subdbid
          WHERE d.datname = pg_catalog.current_database()
            AND pg_catalog.current_setting('is_superuser') <> 'on'
          ORDER BY 1",
    )
    .fetch_all(&mut *session)
    .await
    .map_err(sql_error("cannot list the database's subscriptions"))?;
    Ok(names
        .into_iter()
        .map(|name| FidelityLoss {
            object: format!("subscription {}", quote_ident(&name)),
            reason: "not in this backup: pg_dump dumps subscriptions only for a superuser; back up as a superuser to keep it, or recreate it by hand after a restore".into(),
        })
        .collect())
}

/// Keeps the snapshot's transaction open until told to let go: the snapshot can only be
/// imported while its exporting transaction lives, and pg_dump imports it when it starts.
async fn hold_snapshot(mut session: PgConnection, released: oneshot::Receiver<()>) {
    // A dropped sender (abort, or a completion dropped unused) ends the hold as well.
    let _ = released.await;
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut session).await;
    conn::close(session).await;
}

struct PgDumpCompletion {
    settings: PostgresSettings,
    process: ToolProcess,
    /// pg_dump's password file, removed when the completion is done with pg_dump.
    _passfile: Option<SecretFile>,
    inspector: Arc<Mutex<Inspector>>,
    /// The tables of the snapshot, listed before pg_dump started.
    listing: Vec<ListedTable>,
    snapshot: Snapshot,
    excluded_tables: BTreeSet<String>,
    excluded_with_data: Vec<String>,
    replica_lag_seconds: Option<f64>,
    warnings: Vec<String>,
    fidelity: Vec<FidelityLoss>,
}

/// The snapshot-holding session, and what identifies pg_dump's session on the server.
struct Snapshot {
    hold: JoinHandle<()>,
    release: oneshot::Sender<()>,
    database: String,
    xmin: Option<String>,
}

impl Snapshot {
    /// Ends the snapshot transaction and, after pg_dump was killed, pg_dump's session: a
    /// backend waiting for a lock only notices that its client is gone when it next writes,
    /// and keeps its place in the lock queue until then.
    async fn release(self, settings: &PostgresSettings, dump_killed: bool) {
        let _ = self.release.send(());
        let mut hold = self.hold;
        if tokio::time::timeout(RELEASE_TIMEOUT, &mut hold)
            .await
            .is_err()
        {
            hold.abort();
        }
        if !dump_killed {
            return;
        }
        let maintenance = &settings.maintenance_database;
        let Ok(mut admin) = conn::connect(settings, maintenance, Purpose::Maintenance).await else {
            return;
        };
        let ended = sqlx::query(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
              WHERE application_name = $1 AND datname = $2 AND backend_xmin::text = $3",
        )
        .bind(DUMP_APPLICATION_NAME)
        .bind(&self.database)
        .bind(&self.xmin)
        .execute(&mut admin)
        .await;
        if let Err(e) = ended {
            tracing::warn!(error = %conn::describe(&e), "cannot end the dump's server session");
        }
        conn::close(admin).await;
    }
}

#[async_trait]
impl DumpCompletion for PgDumpCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let this = *self;
        let exit = this.process.wait().await;
        this.snapshot.release(&this.settings, false).await;
        let exit = exit?;
        let tool_warnings = judge_exit(
            "pg_dump",
            &exit.describe(),
            exit.status.success(),
            &exit.stderr,
        )
        .map_err(Error::Dump)?;
        let inspector = {
            let mut guard = this
                .inspector
                .lock()
                .map_err(|_| Error::Dump("the dump output inspector panicked".into()))?;
            std::mem::replace(&mut *guard, Inspector::new(PgFormat::Plain))
        };
        let found = inspector.finish().map_err(Error::Dump)?;
        let tables =
            manifest_tables(&this.listing, &this.excluded_tables, found).map_err(Error::Dump)?;
        let mut warnings = this.warnings;
        warnings.extend(tool_warnings);
        Ok(DumpReport {
            tables,
            warnings,
            fidelity: this.fidelity,
            excluded_tables: this.excluded_tables.into_iter().collect(),
            excluded_with_data: this.excluded_with_data,
            replica_lag_seconds: this.replica_lag_seconds,
            base_backup: None,
            binlog_position: None,
            globals: None,
        })
    }

    async fn abort(self: Box<Self>) {
        let this = *self;
        this.process.kill().await;
        this.snapshot.release(&this.settings, true).await;
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
            pitr: false,
            tool_dir: None,
            exclude_tables: vec!["audit.*".into()],
            connect_timeout: Duration::from_secs(5),
            tls: Default::default(),
            secret_dir: "/nonexistent".into(),
        }
    }

    fn listed(schema: &str, name: &str, qualified: &str, extension_member: bool) -> ListedTable {
        ListedTable {
            schema: schema.into(),
            name: name.into(),
            qualified: qualified.into(),
            extension_member,
        }
    }

    fn found(raw: Option<(&str, &str)>, written: &str, rows: u64) -> Found {
        Found {
            raw: raw.map(|(s, t)| (s.into(), t.into())),
            written: written.into(),
            rows,
        }
    }

    #[test]
    fn dumped_tables_get_the_servers_names_and_every_expected_table_must_be_there() {
        let listing = vec![
            listed(
                "Odd Schema",
                "Mixed Table",
                "\"Odd Schema\".\"Mixed Table\"",
                false,
            ),
            listed("audit", "log", "audit.log", false),
            listed("ext", "config", "ext.config", true),
            listed("ext", "internal", "ext.internal", true),
            listed("public", "empty", "public.empty", false),
            listed("public", "order", "public.\"order\"", false),
        ];
        let excluded: BTreeSet<String> = ["audit.log".to_string()].into();
        let all = vec![
            found(Some(("public", "order")), "public.\"order\"", 7),
            found(Some(("ext", "config")), "ext.config", 3),
            found(
                Some(("Odd Schema", "Mixed Table")),
                "\"Odd Schema\".\"Mixed Table\"",
                2,
            ),
            found(Some(("public", "empty")), "public.empty", 0),
            found(Some(("public", "new")), "public.new", 4),
            found(None, "weird", 1),
        ];
        let got = manifest_tables(&listing, &excluded, all.clone()).unwrap();
        let got: Vec<(&str, u64)> = got.iter().map(|t| (t.table.as_str(), t.rows)).collect();
        assert_eq!(
            got,
            [
                ("\"Odd Schema\".\"Mixed Table\"", 2),
                ("public.empty", 0),
                ("public.\"order\"", 7),
                ("public.new", 4),
                ("weird", 1),
            ]
        );
        // A table of the listing without data fails the dump, naming it.
        let without: Vec<Found> = all
            .into_iter()
            .filter(|f| f.rows != 7 && f.rows != 0)
            .collect();
        let err = manifest_tables(&listing, &excluded, without).unwrap_err();
        assert_eq!(
            err,
            "pg_dump output holds no data for 2 of the tables it was expected to dump: public.empty, public.\"order\""
        );
        // An excluded table that was dumped all the same is reported, not hidden.
        let got = manifest_tables(
            &listing[1..2],
            &excluded,
            vec![found(Some(("audit", "log")), "audit.log", 5)],
        )
        .unwrap();
        assert_eq!(
            got,
            [TableRows {
                table: "audit.log".into(),
                rows: 5
            }]
        );
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
