//! The PostgreSQL restore target: restores stream a dump into `pg_restore` (custom format) or
//! `psql` (plain) on a freshly created database; structural verification reads a dump with
//! pg_restore's own reader (custom) or scans the SQL script (plain) without a server.
//!
//! With more than one job ([`PostgresTarget::with_jobs`]) a custom archive is first spooled
//! to a private temporary file (read to its end, so a checksum mismatch or truncation fails
//! the restore before pg_restore starts) and `pg_restore --jobs=N` restores from that file,
//! since parallel restore needs to seek. The file is removed on every path.
//!
//! A dump is checked while it streams: when reading it fails (the engine's reader reports a
//! checksum mismatch or a truncated copy at its end) or it lacks its completion marker, the
//! tool is killed while its input is still open, so it never takes a damaged dump for a whole
//! one. The caller then drops the half-restored database.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use dbward_core::process::{ToolExit, ToolProcess, restore_through};
use dbward_core::restore::{GlobalsReport, RestoreReport, RestoreTarget, Staging};
use dbward_core::stream::{self, Ends, Fed, Rewriting};
use dbward_core::{DatabaseSettings, Engine, Error, Inventory, Manifest, Result, TableRows};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Row, ValueRef};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::conn::{self, Purpose, quote_ident, quote_literal};
use crate::inspect::{CopyCounter, compare_with_manifest, missing_table_data};
use crate::judge::{ENDS_BYTES, check_marker, judge_exit};
use crate::ownership::DropOwnership;
use crate::tool::{self, Need, PgMajor, ToolCandidate, choose_tool};
use crate::{PgFormat, PostgresSettings};

/// What restore tools show as `application_name`.
pub const RESTORE_APPLICATION_NAME: &str = "dbward-restore";

/// Bytes read from a dump at a time.
const CHUNK: usize = 256 * 1024;

/// A PostgreSQL server that dumps are restored into. `Debug` hides the password.
#[derive(Debug)]
pub struct PostgresTarget {
    settings: PostgresSettings,
    spool_dir: PathBuf,
    /// pg_restore's `--jobs` for custom archives; 1 restores from the stream.
    jobs: u32,
    /// One maintenance connection kept between calls: a restore asks for versions, existence
    /// and creation in turn, and each new connection costs a round of TCP and auth.
    idle: tokio::sync::Mutex<Option<PgConnection>>,
    /// Restore without ownership and privileges (drills): see `ownership.rs`.
    for_drills: bool,
}

/// Which client loads a dump, and how new it must be to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RestorePlan {
    format: PgFormat,
    /// `pg_restore` or `psql`.
    program: &'static str,
    /// The major of the pg_dump that wrote the dump.
    major: PgMajor,
    /// `dump written by pg_dump 15.20`, for messages.
    against: String,
}

impl RestorePlan {
    fn need(&self) -> Need<'_> {
        Need {
            program: self.program,
            major: self.major,
            against: &self.against,
            missing_note: Some(&self.against),
        }
    }
}

/// Reads which tool a manifest's dump needs (F15); refuses other engines and formats.
fn restore_plan(manifest: &Manifest) -> Result<RestorePlan> {
    if manifest.engine != Engine::Postgres {
        return Err(Error::Dump(format!(
            "backup {} is a {} dump, not a postgres one",
            manifest.id, manifest.engine
        )));
    }
    let (format, program) = match manifest.dump_format.as_str() {
        "custom" => (PgFormat::Custom, "pg_restore"),
        "plain" => (PgFormat::Plain, "psql"),
        crate::GLOBALS_FORMAT => {
            return Err(Error::Dump(format!(
                "backup {} holds the server-wide objects (roles, tablespaces, database owners) of source {}: apply it with `dbward restore --globals {}`; it is not a database",
                manifest.id, manifest.source, manifest.id
            )));
        }
        crate::BASE_FORMAT => {
            return Err(Error::Dump(format!(
                "backup {} is a base backup of a whole cluster: restore it with `dbward restore --source {} --database '*' --to-directory DIR`, or drill it with `dbward verify --pitr --source {}`; it cannot be loaded into a database",
                manifest.id, manifest.source, manifest.source
            )));
        }
        other => {
            return Err(Error::Dump(format!(
                "backup {} has postgres dump format {other:?}, which this dbward cannot restore; upgrade dbward",
                manifest.id
            )));
        }
    };
    let major = PgMajor::parse(&manifest.dump_tool_version).ok_or_else(|| {
        Error::Dump(format!(
            "backup {}: the manifest's dump_tool_version {:?} is not a PostgreSQL version",
            manifest.id, manifest.dump_tool_version
        ))
    })?;
    Ok(RestorePlan {
        format,
        program,
        major,
        against: format!(
            "dump written by {} {}",
            manifest.dump_tool, manifest.dump_tool_version
        ),
    })
}

/// Refuses a target server older than the one the dump was taken from: a dump may use
/// syntax and features the older server lacks.
fn check_server(
    manifest: &Manifest,
    target: &str,
    target_version: &str,
    target_major: PgMajor,
) -> Result<()> {
    let dumped = PgMajor::parse(&manifest.server_version).ok_or_else(|| {
        Error::Dump(format!(
            "backup {}: the manifest's server_version {:?} is not a PostgreSQL version",
            manifest.id, manifest.server_version
        ))
    })?;
    if target_major < dumped {
        return Err(Error::Dump(format!(
            "backup {} was taken from PostgreSQL {}, but the target {target} runs PostgreSQL {target_version}, which is older and may not load it; restore into a server of version {dumped} or newer",
            manifest.id, manifest.server_version
        )));
    }
    Ok(())
}

/// The whole compatibility decision (F15) over what is installed and what the target runs.
fn decide(
    manifest: &Manifest,
    candidates: &[ToolCandidate],
    searched: &str,
    target: &str,
    target_server: (&str, PgMajor),
) -> Result<ToolCandidate> {
    let plan = restore_plan(manifest)?;
    let tool = choose_tool(candidates, &plan.need(), searched)?;
    check_server(manifest, target, target_server.0, target_server.1)?;
    Ok(tool)
}

/// Where a restore tool reads the dump from.
enum Input {
    Stream(Pin<Box<dyn AsyncRead + Send>>),
    /// A private copy, removed when dropped.
    Spooled(tempfile::TempPath),
}

/// A message as one line; the words (and the server's double spaces) stay as they were.
fn one_line(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

/// Feeds `dump` to a started tool and judges the outcome. The tool sees the end of its input
/// only after the whole dump was read without error and ends with its completion marker;
/// otherwise it is killed first.
async fn feed(
    program: &str,
    tool: ToolProcess,
    stdin: tokio::process::ChildStdin,
    mut dump: Pin<Box<dyn AsyncRead + Send>>,
    format: PgFormat,
    expect_data: bool,
) -> Result<Vec<String>> {
    let complete = |ends: &Ends| check_marker(format, ends, expect_data);
    let judge = |exit: &ToolExit| {
        judge_exit(
            program,
            &exit.describe(),
            exit.status.success(),
            &exit.stderr,
        )
        .map_err(one_line)
    };
    restore_through(tool, stdin, &mut dump, ENDS_BYTES, complete, judge).await
}

/// Reads a tool's stdout to its end (pg_restore prints nothing when it writes to a
/// database) and judges its exit.
async fn drain_and_judge(
    program: &str,
    process: ToolProcess,
    mut stdout: tokio::process::ChildStdout,
) -> Result<Vec<String>> {
    let mut buf = vec![0u8; 8192];
    loop {
        match stdout.read(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                process.kill().await;
                return Err(Error::Dump(format!("cannot read {program}'s output: {e}")));
            }
        }
    }
    let exit = process.wait().await?;
    judge_exit(
        program,
        &exit.describe(),
        exit.status.success(),
        &exit.stderr,
    )
    .map_err(|reason| Error::Dump(one_line(reason)))
}

/// The first column of a row as text (simple-protocol rows arrive as text); NULL as `NULL`.
fn first_column_text(row: &PgRow) -> Result<String> {
    let value = row
        .try_get_raw(0)
        .map_err(|e| Error::Query(format!("the query returned no column: {e}")))?;
    if value.is_null() {
        return Ok("NULL".into());
    }
    value
        .as_str()
        .map(str::to_string)
        .map_err(|e| Error::Query(format!("cannot read the query's value as text: {e}")))
}

impl PostgresTarget {
    /// `Error::NameTaken` when `error` says `database` exists (SQLSTATE 42P04).
    fn taken_or(&self, database: &str, error: Error) -> Error {
        error.taken_if("already exists", &self.settings.name, database)
    }

    /// A target on the server `settings` describes; `spool_dir` holds temporary copies of
    /// dumps being inspected.
    pub fn new(settings: PostgresSettings, spool_dir: PathBuf) -> Self {
        PostgresTarget {
            settings,
            spool_dir,
            jobs: 1,
            idle: tokio::sync::Mutex::new(None),
            for_drills: false,
        }
    }

    /// For drills: restores leave out ownership and privileges (`--no-owner
    /// --no-privileges`, or the same statements dropped from a plain script), so that a drill
    /// server needs none of the source's roles.
    pub fn for_drills(mut self) -> Self {
        self.for_drills = true;
        self
    }

    /// Restores custom archives with `pg_restore --jobs=N` from a spooled copy when `jobs`
    /// is more than 1; plain dumps always restore from the stream.
    pub fn with_jobs(mut self, jobs: u32) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    pub fn jobs(&self) -> u32 {
        self.jobs
    }

    /// Copies `dump` to a new private (0600) file in the spool directory, returning its path
    /// (the file is removed when the path is dropped: on success, on error and when the
    /// caller gives up) and the dump's ends. A read error fails with the reason.
    async fn spool(
        &self,
        prefix: &str,
        mut dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<(tempfile::TempPath, Ends)> {
        tokio::fs::create_dir_all(&self.spool_dir)
            .await
            .map_err(|e| Error::io("cannot create", &self.spool_dir, e))?;
        let spool = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".dump")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(&self.spool_dir)
            .map_err(|e| Error::io("cannot create a spool file in", &self.spool_dir, e))?;
        let (file, path) = spool.into_parts();
        let mut file = tokio::fs::File::from_std(file);
        let mut ends = Ends::new(ENDS_BYTES);
        match stream::feed(&mut dump, &mut file, &mut ends).await {
            Fed::Complete => {}
            Fed::ReadFailed(e) => {
                return Err(Error::Dump(format!(
                    "reading the dump failed after {} bytes: {}",
                    ends.total(),
                    one_line(e)
                )));
            }
            Fed::ToolGone(e) => return Err(Error::io("cannot write", path.to_path_buf(), e)),
        }
        file.flush()
            .await
            .map_err(|e| Error::io("cannot write", path.to_path_buf(), e))?;
        drop(file);
        Ok((path, ends))
    }

    /// Keeps a maintenance connection for the next call (closes a second one).
    async fn release(&self, conn: PgConnection) {
        let mut idle = self.idle.lock().await;
        match *idle {
            None => *idle = Some(conn),
            Some(_) => conn::close(conn).await,
        }
    }

    pub fn settings(&self) -> &PostgresSettings {
        &self.settings
    }

    async fn maintenance(&self) -> Result<PgConnection> {
        if let Some(conn) = self.idle.lock().await.take() {
            return Ok(conn);
        }
        conn::connect(
            &self.settings,
            &self.settings.maintenance_database,
            Purpose::Maintenance,
        )
        .await
    }

    /// The client that reads this manifest's dump.
    async fn restore_tool(&self, manifest: &Manifest) -> Result<(RestorePlan, ToolCandidate)> {
        let plan = restore_plan(manifest)?;
        let found = tool::find_tool(self.settings.tool_dir.as_deref(), &plan.need()).await?;
        Ok((plan, found))
    }

    /// Runs `pg_restore <args> <file>` to its end, handing each stdout chunk to `on_output`;
    /// returns its warnings or the one-line reason it failed.
    async fn run_pg_restore(
        &self,
        found: &ToolCandidate,
        args: &[&str],
        file: &Path,
        mut on_output: impl FnMut(&[u8]),
    ) -> Result<Vec<String>> {
        let mut command = tokio::process::Command::new(&found.path);
        command.args(args).arg(file);
        let (process, mut stdout) = ToolProcess::spawn("pg_restore", command)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => on_output(&buf[..n]),
                Err(e) => {
                    process.kill().await;
                    return Err(Error::Dump(format!("cannot read pg_restore's output: {e}")));
                }
            }
        }
        let exit = process.wait().await?;
        judge_exit(
            "pg_restore",
            &exit.describe(),
            exit.status.success(),
            &exit.stderr,
        )
        .map_err(|reason| Error::Dump(one_line(reason)))
    }

    /// Structural check of a plain dump: its trailer, and every COPY block's rows.
    async fn inspect_plain(
        &self,
        manifest: &Manifest,
        mut dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        let mut ends = Ends::new(ENDS_BYTES);
        let mut counter = CopyCounter::default();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = dump.read(&mut buf).await.map_err(|e| {
                Error::Dump(format!(
                    "reading the dump failed after {} bytes: {}",
                    ends.total(),
                    one_line(e)
                ))
            })?;
            if n == 0 {
                break;
            }
            ends.push(&buf[..n]);
            counter.push(&buf[..n]);
        }
        check_marker(PgFormat::Plain, &ends, true).map_err(Error::Dump)?;
        let found = counter.finish().map_err(Error::Dump)?;
        let mut notes = vec![format!(
            "plain dump of {} bytes ends with its completion trailer",
            ends.total()
        )];
        notes.extend(self.compare_notes(manifest, &found)?);
        Ok(notes)
    }

    /// Structural check of a custom archive: spooled to a private file, its table of contents
    /// must list every manifest table's data, and pg_restore must read every data block,
    /// whose rows must match the manifest.
    async fn inspect_custom(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        let (_, found_tool) = self.restore_tool(manifest).await?;
        let (path, ends) = self.spool(".dbward-inspect-", dump).await?;
        check_marker(PgFormat::Custom, &ends, !manifest.tables.is_empty()).map_err(Error::Dump)?;

        let mut list = Vec::new();
        self.run_pg_restore(&found_tool, &["--list"], &path, |c| {
            list.extend_from_slice(c)
        })
        .await?;
        let list = String::from_utf8_lossy(&list);
        let missing = missing_table_data(&manifest.tables, &list);
        if !missing.is_empty() {
            return Err(Error::Dump(format!(
                "the archive has no TABLE DATA entry for {} listed in the manifest",
                missing.join(", ")
            )));
        }
        let mut counter = CopyCounter::default();
        let warnings = self
            .run_pg_restore(&found_tool, &["--data-only", "--file=-"], &path, |c| {
                counter.push(c)
            })
            .await?;
        let found = counter.finish().map_err(Error::Dump)?;
        let mut notes = vec![format!(
            "custom archive of {} bytes read completely by {} {}",
            ends.total(),
            found_tool.path.display(),
            found_tool.version
        )];
        notes.extend(self.compare_notes(manifest, &found)?);
        notes.extend(warnings);
        Ok(notes)
    }

    fn compare_notes(&self, manifest: &Manifest, found: &[TableRows]) -> Result<Vec<String>> {
        let extra = compare_with_manifest(&manifest.tables, found).map_err(Error::Dump)?;
        let mut notes = vec![format!(
            "{} tables hold exactly the rows the manifest lists ({} rows)",
            manifest.tables.len(),
            manifest.total_rows()
        )];
        if !extra.is_empty() {
            let names: Vec<String> = extra
                .iter()
                .map(|t| format!("{} ({} rows)", t.table, t.rows))
                .collect();
            notes.push(format!(
                "the dump also holds data the manifest does not count: {}",
                names.join(", ")
            ));
        }
        Ok(notes)
    }
}

/// The ways to create a restore's database, best first: with the source's encoding and
/// locale; with its encoding and the `C` locale (which takes any encoding); as the server's
/// default. Each is `(statement, what it creates)`. From template0, so that nothing a site
/// added to template1 collides with the dump.
fn create_statements(database: &str, source: Option<&DatabaseSettings>) -> Vec<(String, String)> {
    let plain = format!(
        "CREATE DATABASE {} TEMPLATE template0",
        quote_ident(database)
    );
    let mut out = Vec::new();
    if let Some(s) = source {
        let with = |collate: &str, ctype: &str| {
            (
                format!(
                    "{plain} ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                    quote_literal(&s.encoding),
                    quote_literal(collate),
                    quote_literal(ctype)
                ),
                format!(
                    "ENCODING {} LC_COLLATE {collate} LC_CTYPE {ctype}",
                    s.encoding
                ),
            )
        };
        let collate = s.collation.as_deref().unwrap_or("C");
        let ctype = s.ctype.as_deref().unwrap_or(collate);
        out.push(with(collate, ctype));
        if (collate, ctype) != ("C", "C") {
            out.push(with("C", "C"));
        }
    }
    out.push((plain, "the server's default encoding and locale".into()));
    out
}

/// Refuses a name PostgreSQL would not keep as given: longer than `limit` bytes (the server
/// truncates it silently, so two names would meet), empty, or holding a NUL.
fn check_name(database: &str, limit: usize) -> std::result::Result<(), String> {
    if database.is_empty() || database.contains('\0') {
        return Err("it is empty or holds a NUL byte".into());
    }
    if database.len() > limit {
        let mut kept = limit;
        while !database.is_char_boundary(kept) {
            kept -= 1;
        }
        return Err(format!(
            "it is {} bytes; PostgreSQL keeps only {limit} and would truncate it to {:?}, which may be another database: choose a name of at most {limit} bytes",
            database.len(),
            &database[..kept]
        ));
    }
    Ok(())
}

/// Creates `database` the way the source's was (its manifest's `database_settings`), falling
/// back as [`create_statements`] says when the target lacks the locale; a fallback is a
/// warning, because text then sorts differently.
async fn create_like_source(
    conn: &mut PgConnection,
    database: &str,
    manifest: &Manifest,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let what = format!("cannot create database {database:?}");
    let mut failures = Vec::new();
    for (sql, created) in create_statements(database, manifest.database_settings.as_ref()) {
        match conn::execute(conn, &what, sql).await {
            Ok(()) if failures.is_empty() => return Ok(()),
            Ok(()) => {
                warnings.push(format!(
                    "created {database} with {created}: {} (text may sort differently than on the source)",
                    failures.join("; ")
                ));
                return Ok(());
            }
            // Another name clash is no locale problem: no fallback would help.
            Err(e) if e.to_string().contains("already exists") => return Err(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    Err(Error::Query(failures.join("; ")))
}

#[async_trait]
impl RestoreTarget for PostgresTarget {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn check_compatible(&self, manifest: &Manifest) -> Result<()> {
        // Refuse what no tool could read before looking for tools or the server.
        let plan = restore_plan(manifest)?;
        let (candidates, searched) =
            tool::installed(plan.program, self.settings.tool_dir.as_deref()).await;
        let mut conn = self.maintenance().await?;
        let server = conn::server_version(&mut conn).await;
        self.release(conn).await;
        let (version, major) = server?;
        let target = conn::target(&self.settings, &self.settings.maintenance_database);
        decide(manifest, &candidates, &searched, &target, (&version, major)).map(drop)
    }

    fn staging(&self) -> Staging {
        Staging::Rename
    }

    async fn check_name(&self, database: &str) -> Result<()> {
        let mut conn = self.maintenance().await?;
        let limit = conn::max_identifier_length(&mut conn).await;
        self.release(conn).await;
        check_name(database, limit?).map_err(|reason| Error::InvalidName {
            target: self.settings.name.clone(),
            name: database.to_string(),
            reason,
        })
    }

    async fn database_exists(&self, database: &str) -> Result<bool> {
        let mut conn = self.maintenance().await?;
        let exists = conn::database_exists(&mut conn, database).await;
        self.release(conn).await;
        exists
    }

    async fn create_database(&self, database: &str, manifest: &Manifest) -> Result<Vec<String>> {
        let mut conn = self.maintenance().await?;
        let mut warnings = Vec::new();
        let created = create_like_source(&mut conn, database, manifest, &mut warnings).await;
        self.release(conn).await;
        created.map_err(|e| self.taken_or(database, e))?;
        Ok(warnings)
    }

    async fn load(
        &self,
        database: &str,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport> {
        let (plan, found) = self.restore_tool(manifest).await?;
        let expect_data = !manifest.tables.is_empty();
        let parallel = plan.format == PgFormat::Custom && self.jobs > 1;
        // Read the whole dump before the tool starts: a damaged copy fails here.
        let input = if parallel {
            let (path, ends) = self.spool(".dbward-restore-", dump).await?;
            check_marker(PgFormat::Custom, &ends, expect_data).map_err(Error::Dump)?;
            Input::Spooled(path)
        } else {
            Input::Stream(dump)
        };
        let mut conn = self.maintenance().await?;
        let superuser = conn::is_superuser(&mut conn).await;
        self.release(conn).await;
        let superuser = superuser?;
        let mut warnings = Vec::new();

        let mut args: Vec<String> = match plan.format {
            PgFormat::Custom => vec!["--exit-on-error".into()],
            PgFormat::Plain => ["-X", "-q", "-v", "ON_ERROR_STOP=1"]
                .map(String::from)
                .into(),
        };
        let user = &self.settings.user;
        match (plan.format, superuser, self.for_drills) {
            (_, true, false) => {}
            (PgFormat::Custom, _, true) => {
                args.extend(["--no-owner".into(), "--no-privileges".into()]);
            }
            (PgFormat::Custom, false, false) => {
                args.extend(["--no-owner".into(), "--no-privileges".into()]);
                warnings.push(format!(
                    "restored with --no-owner --no-privileges because {user} is not a superuser: every object belongs to {user} and the dump's grants were not applied"
                ));
            }
            (PgFormat::Plain, _, true) => {}
            (PgFormat::Plain, false, false) => warnings.push(format!(
                "{user} is not a superuser: a plain dump's ownership and privilege statements need one, and psql stops at the first that fails"
            )),
        }
        if parallel {
            args.push(format!("--jobs={}", self.jobs));
        }
        args.extend(conn::tool_connection_args(&self.settings, database));
        // The password file lives until this function returns, after the tool has exited.
        let (mut command, _passfile) =
            conn::tool_command(&self.settings, &found.path, RESTORE_APPLICATION_NAME)?;
        command.args(&args);
        tracing::debug!(tool = %found.path.display(), ?args, "starting the restore");
        match input {
            Input::Stream(dump) => {
                let dump: Pin<Box<dyn AsyncRead + Send>> =
                    if self.for_drills && plan.format == PgFormat::Plain {
                        Box::pin(Rewriting::new(dump, DropOwnership::rewrite()))
                    } else {
                        dump
                    };
                let (process, stdin) = ToolProcess::spawn_fed(plan.program, command)?;
                warnings.extend(
                    feed(plan.program, process, stdin, dump, plan.format, expect_data).await?,
                );
            }
            Input::Spooled(path) => {
                command.arg(&path);
                let (process, stdout) = ToolProcess::spawn(plan.program, command)?;
                warnings.extend(drain_and_judge(plan.program, process, stdout).await?);
                // Removed only now: pg_restore reads the file to its end.
                drop(path);
            }
        }
        Ok(RestoreReport { warnings })
    }

    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()> {
        let mut conn = self.maintenance().await?;
        let published = async {
            if replace {
                conn::drop_database(&mut conn, target).await?;
            }
            conn::terminate_sessions(&mut conn, staged).await?;
            // The rename itself refuses a name that exists: no check-then-act window.
            let sql = format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(staged),
                quote_ident(target)
            );
            conn::execute(
                &mut conn,
                &format!("cannot rename database {staged:?} to {target:?}"),
                sql,
            )
            .await
        }
        .await;
        self.release(conn).await;
        published.map_err(|e| self.taken_or(target, e))
    }

    async fn drop_database(&self, database: &str) -> Result<()> {
        let mut conn = self.maintenance().await?;
        let dropped = conn::drop_database(&mut conn, database).await;
        self.release(conn).await;
        dropped
    }

    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>> {
        let mut conn = conn::connect(&self.settings, database, Purpose::Dump).await?;
        let counted = async {
            // The tables a dump of this database would hold data for, named as the source
            // names them in its manifests.
            let tables = conn::data_tables(&mut conn, false).await?;
            conn::count_rows(&mut conn, &tables).await
        }
        .await;
        conn::close(conn).await;
        counted
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        crate::inventory::take(&self.settings, database).await
    }

    async fn missing_roles(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let wanted = match &manifest.database_settings {
            Some(settings) if !self.for_drills && !settings.roles.is_empty() => &settings.roles,
            _ => return Ok(Vec::new()),
        };
        let mut conn = self.maintenance().await?;
        let missing = crate::globals::missing_roles(&mut conn, manifest, wanted).await;
        self.release(conn).await;
        missing
    }

    async fn apply_globals(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
        overwrite_passwords: bool,
    ) -> Result<GlobalsReport> {
        if manifest.engine != Engine::Postgres || manifest.dump_format != crate::GLOBALS_FORMAT {
            return Err(Error::Dump(format!(
                "backup {} is a {} {} dump of database {:?}, not the server-wide objects of a postgres source",
                manifest.id, manifest.engine, manifest.dump_format, manifest.database
            )));
        }
        // Read whole and checked complete before anything is applied.
        let script = dbward_core::restore::read_globals_script(dump).await?;
        let mut conn = self.maintenance().await?;
        let applied = crate::globals::apply(&mut conn, &script, overwrite_passwords).await;
        self.release(conn).await;
        applied
    }

    async fn query_scalar(&self, database: &str, sql: &str) -> Result<String> {
        let mut conn = conn::connect(&self.settings, database, Purpose::Dump).await?;
        // The simple query protocol returns every value as text, whatever its type.
        let row = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .fetch_optional(&mut conn)
            .await;
        conn::close(conn).await;
        let row = row
            .map_err(|e| conn::query_error(&format!("query {sql:?} failed"), e))?
            .ok_or_else(|| Error::Query(format!("query {sql:?} returned no row")))?;
        first_column_text(&row)
    }

    async fn inspect(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        if manifest.dump_format == crate::BASE_FORMAT {
            return crate::basebackup::inspect(manifest, dump).await;
        }
        if manifest.dump_format == crate::GLOBALS_FORMAT {
            return crate::globals::inspect(manifest, dump).await;
        }
        match restore_plan(manifest)?.format {
            PgFormat::Plain => self.inspect_plain(manifest, dump).await,
            PgFormat::Custom => self.inspect_custom(manifest, dump).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_postgres_would_truncate_are_refused_naming_what_it_would_keep() {
        assert!(check_name(&"a".repeat(63), 63).is_ok());
        let long = format!("{}_restored", "a".repeat(60));
        let err = check_name(&long, 63).unwrap_err();
        assert!(err.contains("69 bytes"), "{err}");
        assert!(err.contains(&format!("{:?}", &long[..63])), "{err}");
        // Cut on a character boundary: "é" is two bytes.
        let err = check_name(&"é".repeat(40), 63).unwrap_err();
        assert!(err.contains(&format!("{:?}", "é".repeat(31))), "{err}");
        assert!(check_name("", 63).is_err());
        assert!(check_name("a\0b", 63).is_err());
    }
    use dbward_core::manifest::MANIFEST_FORMAT_VERSION;

    fn manifest(format: &str, tool_version: &str, server_version: &str) -> Manifest {
        Manifest {
            format_version: MANIFEST_FORMAT_VERSION,
            id: "01JTEST".into(),
            source: "pg".into(),
            engine: Engine::Postgres,
            database: "shop".into(),
            artifact: "x.dump".into(),
            server_version: server_version.into(),
            dump_tool: "pg_dump".into(),
            dump_tool_version: tool_version.into(),
            dump_format: format.into(),
            host: "h".into(),
            started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            finished_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            options: vec![],
            excluded_tables: vec![],
            tables: vec![],
            dump_bytes: 0,
            stored_bytes: 0,
            sha256: String::new(),
            compression: "none".into(),
            compression_level: None,
            encryption: None,
            encryption_recipients: vec![],
            replica_lag_seconds: None,
            warnings: vec![],
            database_settings: None,
            excluded_with_data: vec![],
            chunk_size: None,
            chunks: None,
            fidelity: Vec::new(),
            inventory: None,
            base_backup: None,
            binlog_position: None,
            globals: None,
            signature: None,
        }
    }

    fn cand(path: &str, version: &str) -> ToolCandidate {
        ToolCandidate {
            path: path.into(),
            version: version.into(),
            major: PgMajor::parse(version).unwrap(),
        }
    }

    enum Want {
        Tool(&'static str),
        /// Error text must hold all of these.
        Refused(&'static [&'static str]),
    }

    #[test]
    fn databases_are_created_like_the_source_then_with_the_c_locale_then_plainly() {
        let plain = "CREATE DATABASE \"r\" TEMPLATE template0";
        let latin1 = DatabaseSettings {
            encoding: "LATIN1".into(),
            collation: Some("de_DE.ISO-8859-1".into()),
            ctype: Some("de_DE.ISO-8859-1".into()),
            owner: None,
            roles: Vec::new(),
        };
        let statements: Vec<String> = create_statements("r", Some(&latin1))
            .into_iter()
            .map(|(sql, _)| sql)
            .collect();
        assert_eq!(
            statements,
            [
                format!(
                    "{plain} ENCODING 'LATIN1' LC_COLLATE 'de_DE.ISO-8859-1' LC_CTYPE 'de_DE.ISO-8859-1'"
                ),
                format!("{plain} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"),
                plain.to_string(),
            ]
        );
        let c = DatabaseSettings {
            encoding: "UTF8".into(),
            collation: Some("C".into()),
            ctype: Some("C".into()),
            owner: None,
            roles: Vec::new(),
        };
        assert_eq!(
            create_statements("r", Some(&c)).len(),
            2,
            "no second C attempt"
        );
        assert_eq!(
            create_statements("r", None),
            [(
                plain.to_string(),
                "the server's default encoding and locale".to_string()
            )]
        );
        // A quote in a manifest value stays inside its literal.
        let hostile = DatabaseSettings {
            encoding: "UTF8'; DROP DATABASE x; --".into(),
            collation: None,
            ctype: None,
            owner: None,
            roles: Vec::new(),
        };
        assert!(
            create_statements("r", Some(&hostile))[0]
                .0
                .contains("ENCODING 'UTF8''; DROP DATABASE x; --'")
        );
    }

    /// A custom-format dump by pg_dump `version` of a server of the same version.
    fn custom(version: &str) -> Manifest {
        manifest("custom", version, version)
    }

    #[test]
    fn compatibility_needs_a_new_enough_tool_and_server() {
        use Want::{Refused, Tool};
        const R15: &str = "/pg/15/pg_restore";
        const R17: &str = "/pg/17/pg_restore";
        let both = || vec![cand(R15, "15.20"), cand(R17, "17.6")];
        let cases: Vec<(&str, Manifest, Vec<ToolCandidate>, &str, Want)> = vec![
            ("same versions", custom("15.20"), both(), "15.20", Tool(R15)),
            (
                "older minor tool of the same major reads the dump",
                custom("15.20"),
                vec![cand(R15, "15.4")],
                "15.20",
                Tool(R15),
            ),
            (
                "newer dump needs the newer tool",
                manifest("custom", "17.2", "16.4"),
                both(),
                "17.6",
                Tool(R17),
            ),
            (
                "newer target server is fine",
                custom("15.20"),
                both(),
                "17.6",
                Tool(R15),
            ),
            (
                "plain dumps need psql",
                manifest("plain", "15.20", "15.20"),
                vec![cand("/pg/15/psql", "15.20")],
                "15.20",
                Tool("/pg/15/psql"),
            ),
            (
                "tool too old names both versions and the package",
                custom("17.2"),
                vec![cand(R15, "15.20")],
                "17.6",
                Refused(&[
                    "pg_restore (/pg/15/pg_restore) 15.20",
                    "pg_dump 17.2",
                    "install postgresql-client-17",
                ]),
            ),
            (
                "no tool names the program, where, and the dump",
                manifest("plain", "16.1", "16.1"),
                vec![],
                "16.1",
                Refused(&[
                    "psql not found (looked in /searched)",
                    "install postgresql-client-16",
                    "pg_dump 16.1",
                ]),
            ),
            (
                "older target server is refused",
                custom("17.2"),
                both(),
                "15.20",
                Refused(&[
                    "taken from PostgreSQL 17.2",
                    "runs PostgreSQL 15.20",
                    "a server of version 17 or newer",
                ]),
            ),
            (
                "two-part majors compare as majors",
                custom("9.6.24"),
                vec![cand("/pg/9.5/pg_restore", "9.5.25")],
                "9.6.24",
                Refused(&["9.5.25", "pg_dump 9.6.24", "postgresql-client-9.6"]),
            ),
            (
                "unknown dump format",
                manifest("directory", "15.20", "15.20"),
                both(),
                "15.20",
                Refused(&["\"directory\"", "upgrade dbward"]),
            ),
            (
                "unreadable tool version",
                manifest("custom", "banana", "15.20"),
                both(),
                "15.20",
                Refused(&["dump_tool_version \"banana\""]),
            ),
            (
                "another engine",
                Manifest {
                    engine: Engine::Mysql,
                    ..manifest("sql", "8.0.36", "8.0.36")
                },
                both(),
                "15.20",
                Refused(&["mysql dump, not a postgres one"]),
            ),
        ];
        for (name, manifest, candidates, target_version, want) in cases {
            let target_major = PgMajor::parse(target_version).unwrap();
            let got = decide(
                &manifest,
                &candidates,
                "/searched",
                "postgres://u@h:5432/postgres",
                (target_version, target_major),
            );
            match (want, got) {
                (Want::Tool(path), Ok(tool)) => {
                    assert_eq!(tool.path, PathBuf::from(path), "{name}")
                }
                (Want::Refused(parts), Err(e)) => {
                    let text = e.to_string();
                    for part in parts {
                        assert!(text.contains(part), "{name}: {part:?} not in {text}");
                    }
                    assert!(!text.contains('\n'), "{name}: {text}");
                }
                (_, got) => panic!("{name}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn errors_become_one_line() {
        assert_eq!(one_line("a\n  b  c \n\n"), "a b  c");
    }
}
