//! The MySQL/MariaDB restore target: loads a dump with the command-line client (`mariadb` or
//! `mysql`) fed through a pipe, the password in the same 0600 option file the dump tool gets.
//! The client never sees a clean end of input after bad data: a read error from the artifact,
//! or a stream without the completion trailer, kills it (and its process group) first.

use std::path::PathBuf;
use std::pin::Pin;

use async_trait::async_trait;
use dbward_core::process::{ToolExit, ToolProcess, restore_through};
use dbward_core::restore::{RestoreReport, RestoreTarget, Staging};
use dbward_core::stream::{Ends, Rewriting};
use dbward_core::{DatabaseSettings, Engine, Error, Inventory, Manifest, Result, TableRows};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Connection, Row};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::ChildStdin;

use crate::conn::{
    is_plain_name, list_tables, lossy, query_error, quote_ident, schema_charset, server_version,
};
use crate::dump::{COMPLETION_MARKER, StreamState, has_completion_marker, judge_exit};
use crate::events::DisableEvents;
use crate::inventory::{SYSTEM_VERSIONED, all_versions};
use crate::tool::{self, Flavor, Version, parse_server_version};
use crate::{MysqlSettings, dump_args};

/// Bytes kept from the end of a stream being restored: the trailer is one short line.
const TAIL_KEEP: usize = 4096;

/// Bytes moved per read from the artifact into the client.
const CHUNK: usize = 256 * 1024;

/// The client's own limit on one statement; the server's `max_allowed_packet` still applies.
const CLIENT_MAX_PACKET: &str = "--max-allowed-packet=1073741824";

/// A MySQL or MariaDB server that dumps are restored into.
#[derive(Debug, Clone)]
pub struct MysqlTarget {
    settings: MysqlSettings,
    /// Restore events disabled (drills): see `events.rs`.
    disable_events: bool,
    /// `restore --jobs N`: clients loading rows at once, and where the dump is spooled;
    /// `None` restores from the stream with one client.
    parallel: Option<(u32, PathBuf)>,
}

impl MysqlTarget {
    pub fn new(settings: MysqlSettings) -> Self {
        MysqlTarget {
            settings,
            disable_events: false,
            parallel: None,
        }
    }

    /// Restores with up to `jobs` clients at once (see `parallel.rs`) when `jobs` is more
    /// than 1: the dump is first spooled whole to a private file in `spool_dir`.
    pub fn with_jobs(mut self, jobs: u32, spool_dir: PathBuf) -> Self {
        self.parallel = (jobs > 1).then_some((jobs, spool_dir));
        self
    }

    /// How many clients a restore runs at once.
    pub fn jobs(&self) -> u32 {
        self.parallel.as_ref().map_or(1, |(jobs, _)| *jobs)
    }

    /// For drills: every event is restored disabled, so that none runs in a scratch database
    /// (with `event_scheduler = ON` an event may write to other databases by name).
    pub fn for_drills(mut self) -> Self {
        self.disable_events = true;
        self
    }

    pub fn settings(&self) -> &MysqlSettings {
        &self.settings
    }

    /// The target server's version.
    async fn server(&self) -> Result<Version> {
        let mut conn = self.settings.connect(None).await?;
        let text = server_version(&mut conn).await;
        let _ = conn.close().await;
        let text = text?;
        parse_server_version(&text).ok_or_else(|| {
            Error::Dump(format!(
                "cannot read the version {text:?} of {}",
                self.settings.target()
            ))
        })
    }

    /// Runs statements that return nothing, on a connection without a default database.
    async fn execute(&self, what: &str, sql: String) -> Result<()> {
        let mut conn = self.settings.connect(None).await?;
        let done = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
        let _ = conn.close().await;
        done.map(drop).map_err(|e| query_error(what, &e))
    }

    async fn create_with(
        &self,
        database: &str,
        charset: &str,
        collation: Option<&str>,
    ) -> Result<()> {
        let mut sql = format!(
            "CREATE DATABASE {} CHARACTER SET {charset}",
            quote_ident(database)
        );
        if let Some(collation) = collation {
            sql.push_str(" COLLATE ");
            sql.push_str(collation);
        }
        self.execute(&format!("cannot create database {database}"), sql)
            .await
    }

    /// The default character set and collation of an existing database.
    async fn charset_of(&self, database: &str) -> Result<Option<(String, String)>> {
        let mut conn = self.settings.connect(None).await?;
        let charset = schema_charset(&mut conn, database).await;
        let _ = conn.close().await;
        charset
    }

    /// Creates `database` with the source's character set and collation (from the manifest),
    /// falling back to the character set alone, then to utf8mb4, when the target lacks them
    /// (a MySQL 8 collation on MariaDB); each fallback is a warning.
    async fn create_like_source(
        &self,
        database: &str,
        manifest: &Manifest,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let source = manifest
            .database_settings
            .as_ref()
            .filter(|s| is_plain_name(&s.encoding));
        let Some(source) = source else {
            return self.create_with(database, "utf8mb4", None).await;
        };
        let collation = source.collation.as_deref().filter(|c| is_plain_name(c));
        let mut attempts = vec![(source.encoding.as_str(), collation)];
        if collation.is_some() {
            attempts.push((source.encoding.as_str(), None));
        }
        attempts.push(("utf8mb4", None));
        let mut failures = Vec::new();
        for (charset, collation) in attempts {
            match self.create_with(database, charset, collation).await {
                Ok(()) if failures.is_empty() => return Ok(()),
                Ok(()) => {
                    warnings.push(format!(
                        "created {database} with CHARACTER SET {charset}{}: the source's {} is not available here ({})",
                        collation.map(|c| format!(" COLLATE {c}")).unwrap_or_default(),
                        describe_settings(source),
                        failures.join("; ")
                    ));
                    return Ok(());
                }
                // A name clash is no character-set problem: no fallback would help.
                Err(e) if e.to_string().contains("database exists") => return Err(e),
                Err(e) => failures.push(e.to_string()),
            }
        }
        Err(Error::Query(failures.join("; ")))
    }

    /// `Error::NameTaken` when `error` says `database` exists (error 1007).
    fn taken_or(&self, database: &str, error: Error) -> Error {
        error.taken_if("database exists", &self.settings.name, database)
    }

    /// The client to load a dump written by `flavor`'s tool; `ToolMissing` when none is installed.
    fn client(&self, flavor: Flavor) -> Result<(&'static str, PathBuf)> {
        let s = &self.settings;
        tool::locate_client(flavor, s.engine, s.tool_dir.as_deref())
    }

    /// Starts `client` on `database` and streams `dump` into it; see [`feed_client`].
    async fn load_into<R: AsyncRead + Unpin>(
        &self,
        database: &str,
        (name, path): (&'static str, PathBuf),
        dump: R,
    ) -> Result<Vec<String>> {
        let s = &self.settings;
        let args = client_args(s, name);
        // The client's own flavour decides its TLS options (`mysql` may be either).
        let flavor = tool::probe(name, &path).await?.version.flavor;
        let secret = s.option_file()?;
        let command = s.tool_command(&path, flavor, secret.as_ref(), &args, database);
        let (client, stdin) = ToolProcess::spawn_fed(name, command)?;
        let result = feed_client(name, client, stdin, dump).await;
        // Only now: a client reconnecting after a lost connection reads the file again.
        drop(secret);
        result
    }
}

/// What the client is given besides the option file and the database: the dump's bytes
/// verbatim (`--binary-mode` keeps `\0` and `\r\n` in blobs), utf8mb4 like the dump tool, no
/// client-side size limit, and the same connection arguments as the dump tool.
fn client_args(settings: &MysqlSettings, client: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--binary-mode".into(),
        "--batch".into(),
        "--default-character-set=utf8mb4".into(),
        CLIENT_MAX_PACKET.into(),
    ];
    if client == "mariadb" {
        // No `\!`, `source` or `tee` from a dump; `loose-` because older clients lack it.
        args.push("--loose-sandbox".into());
    }
    args.extend(settings.connection_args());
    args
}

/// Copies `dump` into the client's stdin (its stderr and stdout are read meanwhile by the
/// client's own tasks) and judges how it ended. The client gets its end of input only when
/// the dump ended cleanly with the completion trailer; otherwise it is killed first, so that
/// it can never take a truncated dump for a whole one.
async fn feed_client<R: AsyncRead + Unpin>(
    name: &str,
    client: ToolProcess,
    stdin: ChildStdin,
    mut dump: R,
) -> Result<Vec<String>> {
    let complete = |ends: &Ends| {
        if has_completion_marker(&ends.tail()) {
            Ok(())
        } else {
            Err(format!(
                "the dump is incomplete: completion marker \"{COMPLETION_MARKER}\" missing at its end ({} bytes read)",
                ends.total()
            ))
        }
    };
    let judge = |exit: &ToolExit| judge_exit(name, exit).map_err(|failed| failed.reason);
    let warnings = restore_through(client, stdin, &mut dump, TAIL_KEEP, complete, judge).await?;
    Ok(warnings
        .into_iter()
        .filter(|w| !w.contains("unknown option '--loose-"))
        .collect())
}

/// The longest database name MySQL and MariaDB accept, in characters.
const NAME_LIMIT: usize = 64;

/// Refuses a name the server would not keep exactly as given: empty, over 64 characters,
/// with a NUL or trailing space, or — when the server folds names to lower case
/// (`lower_case_table_names` 1 or 2) — with capitals, since `Shop` would then meet `shop`.
fn check_name(database: &str, folds_case: bool) -> std::result::Result<(), String> {
    if database.is_empty() || database.contains('\0') {
        return Err("it is empty or holds a NUL byte".into());
    }
    let chars = database.chars().count();
    if chars > NAME_LIMIT {
        return Err(format!(
            "it is {chars} characters; MySQL and MariaDB accept at most {NAME_LIMIT}: choose a shorter name"
        ));
    }
    if database.ends_with(' ') {
        return Err("it ends with a space, which MySQL and MariaDB refuse".into());
    }
    if folds_case && database.to_lowercase() != database {
        return Err(format!(
            "it has capitals, and this server folds database names to lower case (lower_case_table_names): it would be {:?}, which may be another database; choose a lowercase name",
            database.to_lowercase()
        ));
    }
    Ok(())
}

/// Names of character sets and collations, safe to put in SQL text.
fn describe_settings(s: &DatabaseSettings) -> String {
    match &s.collation {
        Some(c) => format!("CHARACTER SET {} COLLATE {c}", s.encoding),
        None => format!("CHARACTER SET {}", s.encoding),
    }
}

/// `MySQL 8.0.36` / `MariaDB 10.11.19`.
fn label(v: &Version) -> String {
    match v.flavor {
        Flavor::Mysql => format!("MySQL {}", v.text),
        Flavor::Mariadb => format!("MariaDB {}.{}.{}", v.major, v.minor, v.patch),
    }
}

/// The release series that decides what a server can read: MySQL's major since 8
/// (8.0 reads dumps from 8.4, which MySQL supports as a logical downgrade between LTS
/// releases), MariaDB's `major.minor` (each of 10.6, 10.11, 11.4 is a major release).
fn series(v: &Version) -> (u32, u32) {
    match v.flavor {
        Flavor::Mysql => (v.major, 0),
        Flavor::Mariadb => (v.major, v.minor),
    }
}

fn series_label(v: &Version) -> String {
    match v.flavor {
        Flavor::Mysql => format!("MySQL {}.x", v.major),
        Flavor::Mariadb => format!("MariaDB {}.{}", v.major, v.minor),
    }
}

/// Whether a server `target` can load a dump taken from server `dump` (F15). Refused:
/// a dump from MySQL 8 or newer into MariaDB older than 11.4 (MySQL 8's default
/// `utf8mb4_0900_*` collations are unknown there), and a dump from a newer release series of
/// the same flavour than the target. Everything else is allowed: older into newer, MySQL 5.x
/// into MariaDB, MariaDB into MySQL (MariaDB-only features then fail with the server's own
/// error during the restore).
pub fn restore_compatibility(dump: &Version, target: &Version) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::Dump(format!(
            "a dump from {} cannot be restored into {}: {why}",
            label(dump),
            label(target)
        )))
    };
    match (dump.flavor, target.flavor) {
        (Flavor::Mysql, Flavor::Mariadb)
            if dump.major >= 8 && (target.major, target.minor) < (11, 4) =>
        {
            refuse(format!(
                "MySQL {}'s utf8mb4_0900 collations are unknown to MariaDB before 11.4; restore into MySQL {}.x or newer, or upgrade the target to MariaDB 11.4 or newer",
                dump.major, dump.major
            ))
        }
        (d, t) if d == t && series(dump) > series(target) => refuse(format!(
            "it comes from a newer release series than the target; restore into {} or newer, or upgrade the target server",
            series_label(dump)
        )),
        _ => Ok(()),
    }
}

/// The flavour whose dump tool wrote the dump, which decides the client preferred to load it.
fn dump_flavor(manifest: &Manifest) -> Flavor {
    let made_by_mariadb =
        manifest.dump_tool_version.contains("MariaDB") || manifest.dump_tool == "mariadb-dump";
    if made_by_mariadb {
        Flavor::Mariadb
    } else {
        Flavor::Mysql
    }
}

fn is_mysql_family(engine: Engine) -> bool {
    matches!(engine, Engine::Mysql | Engine::Mariadb)
}

/// Compares what a dump stream holds (`found`: table → rows) with its manifest; the notes
/// for the record, or every difference in one line.
fn compare_with_manifest(
    manifest: &Manifest,
    found: &std::collections::BTreeMap<String, u64>,
) -> Result<String> {
    let mut problems = Vec::new();
    for t in &manifest.tables {
        match found.get(&t.table) {
            None => problems.push(format!(
                "table `{}` listed in the manifest ({} rows) is absent from the dump",
                t.table, t.rows
            )),
            Some(&rows) if rows != t.rows => problems.push(format!(
                "table `{}` holds {rows} rows in the dump, the manifest says {}",
                t.table, t.rows
            )),
            Some(_) => {}
        }
    }
    for (table, rows) in found {
        if !manifest.tables.iter().any(|t| &t.table == table) {
            problems.push(format!(
                "table `{table}` ({rows} rows) is in the dump but not in the manifest"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Dump(format!(
            "the dump does not match the manifest of backup {}: {}",
            manifest.id,
            problems.join("; ")
        )));
    }
    Ok(format!(
        "{} tables, {} rows as in the manifest",
        manifest.tables.len(),
        manifest.total_rows()
    ))
}

async fn first_value(conn: &mut MySqlConnection, sql: &str) -> Result<String> {
    let row: Option<MySqlRow> = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| query_error(&format!("query {sql:?} failed"), &e))?;
    let row = row.ok_or_else(|| Error::Query(format!("query {sql:?} returned no row")))?;
    if row.columns().is_empty() {
        return Err(Error::Query(format!("query {sql:?} returned no column")));
    }
    // The text protocol sends every value as text, whatever the column type says.
    let value: Option<Vec<u8>> = row
        .try_get_unchecked(0)
        .map_err(|e| query_error(&format!("query {sql:?}: cannot read its value"), &e))?;
    Ok(value.map_or_else(|| "NULL".to_string(), lossy))
}

/// Exact row counts of every base table; a system-versioned table counts its history rows
/// too, as the dump's row counter does when the dump holds them (`--dump-history`).
async fn count_tables(conn: &mut MySqlConnection, database: &str) -> Result<Vec<TableRows>> {
    let mut tables = list_tables(conn, database).await?;
    tables.sort();
    let mut out = Vec::with_capacity(tables.len());
    for (table, kind) in tables {
        let rows = match kind.as_str() {
            SYSTEM_VERSIONED => all_versions(conn, database, &table).await?,
            "BASE TABLE" => {
                let sql = format!(
                    "SELECT COUNT(*) FROM {}.{}",
                    quote_ident(database),
                    quote_ident(&table)
                );
                let rows: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| query_error(&format!("cannot count the rows of `{table}`"), &e))?;
                rows.max(0) as u64
            }
            _ => continue,
        };
        out.push(TableRows { table, rows });
    }
    Ok(out)
}

#[async_trait]
impl RestoreTarget for MysqlTarget {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        self.settings.engine
    }

    async fn check_compatible(&self, manifest: &Manifest) -> Result<()> {
        if manifest.dump_format == crate::globals::GLOBALS_FORMAT {
            return Err(Error::Dump(format!(
                "backup {} holds the server-wide objects (users, roles, grants) of source {}: apply it with `dbward restore --globals {}`; it is not a database",
                manifest.id, manifest.source, manifest.id
            )));
        }
        if !is_mysql_family(manifest.engine) || manifest.dump_format != "sql" {
            return Err(Error::Dump(format!(
                "backup {} is a {} {} dump; target {} restores mysql and mariadb SQL dumps",
                manifest.id, manifest.engine, manifest.dump_format, self.settings.name
            )));
        }
        let dump = parse_server_version(&manifest.server_version).ok_or_else(|| {
            Error::Dump(format!(
                "cannot read the server version {:?} in the manifest of backup {}",
                manifest.server_version, manifest.id
            ))
        })?;
        let target = self.server().await?;
        restore_compatibility(&dump, &target)
    }

    fn staging(&self) -> Staging {
        Staging::Journal
    }

    async fn check_name(&self, database: &str) -> Result<()> {
        let mut conn = self.settings.connect(None).await?;
        let folding = first_value(&mut conn, "SELECT @@lower_case_table_names").await;
        let _ = conn.close().await;
        let folding = folding?;
        check_name(database, folding.trim() != "0").map_err(|reason| Error::InvalidName {
            target: self.settings.name.clone(),
            name: database.to_string(),
            reason,
        })
    }

    async fn database_exists(&self, database: &str) -> Result<bool> {
        let mut conn = self.settings.connect(None).await?;
        // The column's collation is case-insensitive; names are compared exactly below.
        let names: Result<Vec<Vec<u8>>, _> = sqlx::query_scalar(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(database)
        .fetch_all(&mut conn)
        .await;
        let _ = conn.close().await;
        let names = names.map_err(|e| query_error("cannot list databases", &e))?;
        Ok(names.into_iter().any(|n| lossy(n) == database))
    }

    async fn create_database(&self, database: &str, manifest: &Manifest) -> Result<Vec<String>> {
        // A missing client is found before anything exists on the server.
        self.client(dump_flavor(manifest))?;
        let mut warnings = Vec::new();
        self.create_like_source(database, manifest, &mut warnings)
            .await
            .map_err(|e| self.taken_or(database, e))?;
        Ok(warnings)
    }

    async fn load(
        &self,
        database: &str,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport> {
        let client = self.client(dump_flavor(manifest))?;
        let dump: Pin<Box<dyn AsyncRead + Send>> = if self.disable_events {
            Box::pin(Rewriting::new(dump, DisableEvents::rewrite()))
        } else {
            dump
        };
        let warnings = match &self.parallel {
            Some((jobs, spool_dir)) => {
                let (name, path) = client;
                let client = crate::parallel::Client {
                    settings: self.settings.clone(),
                    name,
                    flavor: tool::probe(name, &path).await?.version.flavor,
                    args: client_args(&self.settings, name),
                    path,
                    database: database.to_string(),
                };
                crate::parallel::restore(client, dump, *jobs, spool_dir).await?
            }
            None => self.load_into(database, client, dump).await?,
        };
        Ok(RestoreReport { warnings })
    }

    /// Gives `target` a copy of `staged`. MySQL has no `RENAME DATABASE`, and
    /// `RENAME TABLE` cannot move views or tables with triggers to another database, so this
    /// drops `target` (with `replace`; without, an existing `target` is `NameTaken`), creates it with `staged`'s character set and collation, copies
    /// `staged` into it with the dump tool piped into the client (the options a backup uses,
    /// without exclusions), and drops `staged` once both sides succeeded.
    ///
    /// Cost: the data is loaded twice (once into `staged` by the restore, once more here),
    /// so a forced restore takes about twice as long as a plain one and needs room for two
    /// copies until `staged` is dropped. Between the drop and the end of the copy `target` is
    /// incomplete; when the copy fails it is dropped and `staged` is kept, complete, to
    /// recover from.
    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()> {
        let s = &self.settings;
        if staged == target {
            return Err(Error::Dump(format!("cannot replace {target} with itself")));
        }
        // Everything that can fail without touching data is checked before the drop.
        let server = self.server().await?;
        let (tool, compat) = tool::choose(s.engine, s.tool_dir.as_deref(), &server).await?;
        let client = self.client(tool.version.flavor)?;
        let Some((charset, collation)) = self.charset_of(staged).await? else {
            return Err(Error::DatabaseMissing {
                source_name: s.name.clone(),
                database: staged.to_string(),
            });
        };

        if replace {
            self.drop_database(target).await?;
        }
        self.create_with(target, &charset, Some(&collation))
            .await
            .map_err(|e| self.taken_or(target, e))?;

        let secret = s.option_file()?;
        let args = dump_args(s, &compat);
        let command = s.tool_command(
            &tool.path,
            tool.version.flavor,
            secret.as_ref(),
            &args,
            staged,
        );
        let (dumper, stdout) = ToolProcess::spawn(tool.name, command)?;
        let loaded = self.load_into(target, client, stdout).await;
        let dumped = match &loaded {
            // Its output was read to the end: it has exited or is about to.
            Ok(_) => match dumper.wait().await {
                Ok(exit) => judge_exit(tool.name, &exit).map(drop).map_err(|f| f.reason),
                Err(e) => Err(e.to_string()),
            },
            Err(_) => {
                dumper.kill().await;
                Ok(())
            }
        };
        drop(secret);
        let failure = match (loaded, dumped) {
            (_, Err(reason)) => Some(reason),
            (Err(e), Ok(())) => Some(e.to_string()),
            (Ok(_), Ok(())) => None,
        };
        if let Some(reason) = failure {
            let cleanup = match self.drop_database(target).await {
                Ok(()) => format!("the incomplete {target} was dropped"),
                Err(e) => format!("the incomplete {target} could not be dropped: {e}"),
            };
            return Err(Error::Dump(format!(
                "copying {staged} into {target} failed: {reason}; {cleanup}; the restored copy is kept in {staged}"
            )));
        }
        self.drop_database(staged).await
    }

    async fn drop_database(&self, database: &str) -> Result<()> {
        self.execute(
            &format!("cannot drop database {database}"),
            format!("DROP DATABASE IF EXISTS {}", quote_ident(database)),
        )
        .await
    }

    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>> {
        let mut conn = self.settings.connect(Some(database)).await?;
        let counted = count_tables(&mut conn, database).await;
        let _ = conn.close().await;
        counted
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        crate::inventory::take(&self.settings, database).await
    }

    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String> {
        let mut conn = self.settings.connect(Some(database)).await?;
        let value = first_value(&mut conn, sql).await;
        let _ = conn.close().await;
        value
    }

    async fn apply_globals(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
        overwrite_passwords: bool,
    ) -> Result<dbward_core::restore::GlobalsReport> {
        if !is_mysql_family(manifest.engine)
            || manifest.dump_format != crate::globals::GLOBALS_FORMAT
        {
            return Err(Error::Dump(format!(
                "backup {} is a {} {} dump of database {:?}, not the server-wide objects of a mysql or mariadb source",
                manifest.id, manifest.engine, manifest.dump_format, manifest.database
            )));
        }
        // Read whole and checked complete before anything is applied.
        let script = dbward_core::restore::read_globals_script(dump).await?;
        crate::globals::apply(&self.settings, &script, overwrite_passwords).await
    }

    async fn inspect(
        &self,
        manifest: &Manifest,
        mut dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        if !is_mysql_family(manifest.engine) {
            return Err(Error::Dump(format!(
                "backup {} is a {} dump, not a mysql or mariadb one",
                manifest.id, manifest.engine
            )));
        }
        if manifest.dump_format == crate::globals::GLOBALS_FORMAT {
            let script = dbward_core::restore::read_globals_script(dump).await?;
            let found = crate::globals::created_accounts(&script);
            let expected = manifest.globals.as_ref().map(|g| g.roles.clone());
            if Some(&found) != expected.as_ref() {
                return Err(Error::Dump(format!(
                    "the globals artifact creates {found:?}, the manifest lists {:?}",
                    expected.unwrap_or_default()
                )));
            }
            return Ok(vec![format!(
                "globals: {} accounts, as the manifest lists",
                found.len()
            )]);
        }
        let mut state = StreamState::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            match dump.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => state.feed(&buf[..n]),
                Err(e) => {
                    return Err(Error::Dump(format!(
                        "reading the dump failed after {} bytes: {e}",
                        state.ends.total()
                    )));
                }
            }
        }
        let bytes = state.ends.total();
        if !has_completion_marker(&state.ends.tail()) {
            return Err(Error::Dump(format!(
                "the dump is incomplete: completion marker \"{COMPLETION_MARKER}\" missing at its end ({bytes} bytes read)"
            )));
        }
        let counts = state
            .counter
            .finish()
            .map_err(|e| Error::Dump(format!("the dump is incomplete: {e}")))?;
        let tables = compare_with_manifest(manifest, &counts.rows)?;
        let mut notes = vec![format!("completion marker present; {tables}")];
        if bytes != manifest.dump_bytes {
            notes.push(format!(
                "{bytes} bytes of SQL, the manifest says {}",
                manifest.dump_bytes
            ));
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_server_would_not_keep_are_refused() {
        assert!(check_name("shop", true).is_ok());
        assert!(check_name("Shop", false).is_ok());
        let err = check_name("Shop", true).unwrap_err();
        assert!(err.contains("\"shop\""), "{err}");
        assert!(check_name(&"a".repeat(64), false).is_ok());
        assert!(check_name(&"é".repeat(64), false).is_ok());
        let err = check_name(&"a".repeat(65), false).unwrap_err();
        assert!(err.contains("65 characters"), "{err}");
        assert!(check_name("shop ", false).is_err());
        assert!(check_name("", false).is_err());
        assert!(check_name("a\0b", false).is_err());
    }
    use crate::tool::Version;

    fn v(text: &str) -> Version {
        parse_server_version(text).unwrap()
    }

    #[test]
    fn restore_compatibility_table() {
        // (dump server, target server, allowed)
        let cases: &[(&str, &str, bool)] = &[
            // Same server, older into newer: fine.
            ("10.11.19-MariaDB", "10.11.19-MariaDB-0+deb12u1", true),
            ("10.6.17-MariaDB", "11.4.2-MariaDB", true),
            ("5.7.44", "8.0.36", true),
            ("8.0.36", "8.4.0", true),
            ("8.0.36", "9.1.0", true),
            // MySQL 8.4 into 8.0: a supported logical downgrade between LTS releases.
            ("8.4.0", "8.0.36", true),
            // Newer release series of the same flavour into an older one: refused.
            ("8.0.36", "5.7.44", false),
            ("9.1.0", "8.4.0", false),
            ("11.4.2-MariaDB", "10.11.19-MariaDB", false),
            ("10.11.19-MariaDB", "10.6.17-MariaDB", false),
            ("5.5.5-10.11.19-MariaDB", "10.6.17-MariaDB", false),
            // Patch releases do not matter.
            ("10.11.19-MariaDB", "10.11.2-MariaDB", true),
            ("8.0.36", "8.0.20", true),
            // MySQL 8's collations into MariaDB before 11.4: refused; 11.4 and newer read them.
            ("8.0.36", "10.11.19-MariaDB", false),
            ("8.4.0", "11.2.1-MariaDB", false),
            ("8.0.36", "11.4.2-MariaDB", true),
            ("9.1.0", "11.8.1-MariaDB", true),
            // MySQL 5.x into MariaDB, MariaDB into MySQL: allowed.
            ("5.7.44", "10.6.17-MariaDB", true),
            ("10.11.19-MariaDB", "8.0.36", true),
            ("11.4.2-MariaDB", "5.7.44", true),
        ];
        for (dump, target, allowed) in cases {
            let got = restore_compatibility(&v(dump), &v(target));
            assert_eq!(got.is_ok(), *allowed, "{dump} into {target}: {got:?}");
        }
    }

    #[test]
    fn refusals_name_both_versions_and_what_to_do() {
        let err = restore_compatibility(&v("8.0.36"), &v("10.11.19-MariaDB-0+deb12u1"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "a dump from MySQL 8.0.36 cannot be restored into MariaDB 10.11.19: MySQL 8's utf8mb4_0900 collations are unknown to MariaDB before 11.4; restore into MySQL 8.x or newer, or upgrade the target to MariaDB 11.4 or newer"
        );
        let err = restore_compatibility(&v("11.4.2-MariaDB"), &v("10.11.19-MariaDB"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "a dump from MariaDB 11.4.2 cannot be restored into MariaDB 10.11.19: it comes from a newer release series than the target; restore into MariaDB 11.4 or newer, or upgrade the target server"
        );
        let err = restore_compatibility(&v("9.1.0"), &v("8.4.0"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MySQL 9.1.0")
                && err.contains("MySQL 8.4.0")
                && err.contains("MySQL 9.x or newer"),
            "{err}"
        );
    }

    #[test]
    fn client_args_hold_no_secret_and_read_binary_utf8mb4() {
        let settings = MysqlSettings {
            name: "m".into(),
            engine: Engine::Mariadb,
            host: "db1".into(),
            port: 3307,
            socket: None,
            user: "restore".into(),
            password: Some("hunter2-secret".to_string().into()),
            tool_dir: None,
            exclude_tables: vec![],
            secret_dir: "/nonexistent".into(),
            connect_timeout: std::time::Duration::from_secs(5),
            tls: Default::default(),
        };
        let args = client_args(&settings, "mariadb");
        for want in [
            "--binary-mode",
            "--default-character-set=utf8mb4",
            "--protocol=TCP",
            "--host=db1",
            "--port=3307",
            "--user=restore",
            "--loose-sandbox",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} missing: {args:?}");
        }
        assert!(args.iter().all(|a| !a.contains("hunter2")));
        assert!(
            !client_args(&settings, "mysql")
                .iter()
                .any(|a| a.contains("sandbox"))
        );
    }
}
