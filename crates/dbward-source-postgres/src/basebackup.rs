//! A physical base backup of a whole cluster (`pitr = true`): `pg_basebackup` writes one tar
//! archive to stdout, which flows through the same gated pipeline as a dump. WAL is not in
//! the archive (`--wal-method=none`): the server's `archive_command` (`dbward wal push`)
//! stores it, and the server does not end the backup before the last segment it needs was
//! archived, so a committed base backup is always recoverable from the archive.
//!
//! The gate: pg_basebackup's exit and stderr, the tar end-of-archive marker, `backup_label`
//! at the head of the archive (start LSN, timeline) and the `backup_manifest` pg_basebackup
//! injects at its end (the WAL range's end), recorded in the manifest's `base_backup`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dbward_core::manifest::BaseBackup;
use dbward_core::process::ToolProcess;
use dbward_core::secret::SecretFile;
use dbward_core::source::{CheckLine, Dump, DumpCompletion, DumpInfo, DumpReport};
use dbward_core::stream::{Ends, TapReader};
use dbward_core::wal::Lsn;
use dbward_core::{Error, Result};

use crate::PostgresSettings;
use crate::conn::{self, Purpose};
use crate::tool::{Need, find_tool};

/// The manifest's `dump_format` of a base backup.
pub const BASE_FORMAT: &str = "base";

/// How much of the archive's head and tail is kept for the gate: `backup_label` is the first
/// member, and a tar archive ends with two zero blocks.
const ENDS_BYTES: usize = 64 * 1024;

/// A tar block.
const BLOCK: usize = 512;

/// pg_basebackup's arguments; nothing secret. `--wal-method=none`: a tar stream on stdout
/// cannot carry streamed WAL, and fetched WAL would need `wal_keep_size` to keep it while
/// the backup runs; the archive has every segment anyway. `--checkpoint=fast`: a scheduled
/// backup starts now rather than after the next spread checkpoint.
fn basebackup_args(settings: &PostgresSettings) -> Vec<String> {
    let mut args: Vec<String> = [
        "--format=tar",
        "--pgdata=-",
        "--wal-method=none",
        "--checkpoint=fast",
        "--label=dbward",
    ]
    .map(String::from)
    .into();
    args.extend(
        conn::tool_connection_args(settings, "")
            .into_iter()
            .filter(|a| !a.starts_with("--dbname")),
    );
    args
}

/// What the server must be set up with for point-in-time recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArchiveSetup {
    wal_level: String,
    archive_mode: String,
    archive_command: String,
    in_recovery: bool,
    wal_segment_bytes: u64,
}

/// Refuses a server whose WAL would not reach the archive; a warning when the archive
/// command is not dbward's.
fn judge_setup(setup: &ArchiveSetup) -> std::result::Result<Option<String>, String> {
    let fix = "set wal_level = replica, archive_mode = on and archive_command = 'dbward --config … wal push %p' on the server (restart it), or remove pitr = true";
    if setup.wal_level == "minimal" {
        return Err(format!(
            "pitr = true needs wal_level = replica (the server has minimal); {fix}"
        ));
    }
    let archiving = match setup.archive_mode.as_str() {
        "off" => false,
        "on" => !setup.in_recovery,
        _ => true, // always
    };
    if !archiving {
        return Err(format!(
            "pitr = true needs WAL archiving, and the server has archive_mode = {}{}; {fix}",
            setup.archive_mode,
            if setup.in_recovery {
                " on a standby (a standby archives only with archive_mode = always)"
            } else {
                ""
            }
        ));
    }
    if setup.archive_command.trim().is_empty() {
        return Err(format!(
            "pitr = true needs an archive_command, and the server has none; {fix}"
        ));
    }
    Ok((!setup.archive_command.contains("wal push")).then(|| {
        format!(
            "the server's archive_command ({:?}) is not `dbward … wal push %p`: restores fetch WAL with dbward and find only what it stored",
            setup.archive_command
        )
    }))
}

async fn archive_setup(conn: &mut sqlx::PgConnection) -> Result<ArchiveSetup> {
    let row: (String, String, String, bool, i64) = sqlx::query_as(
        "SELECT current_setting('wal_level'), current_setting('archive_mode'),
                current_setting('archive_command'), pg_catalog.pg_is_in_recovery(),
                (SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| conn::query_error("cannot read the server's WAL archiving settings", e))?;
    Ok(ArchiveSetup {
        wal_level: row.0,
        archive_mode: row.1,
        archive_command: row.2,
        in_recovery: row.3,
        wal_segment_bytes: u64::try_from(row.4).unwrap_or(16 << 20),
    })
}

/// `check` of a `pitr = true` source: archiving, the replication privilege, pg_basebackup.
pub async fn check_lines(
    settings: &PostgresSettings,
    conn: &mut sqlx::PgConnection,
    server: &Result<(String, crate::PgMajor)>,
) -> Vec<CheckLine> {
    let mut lines = Vec::with_capacity(3);
    lines.push(match archive_setup(conn).await {
        Ok(setup) => match judge_setup(&setup) {
            Ok(None) => CheckLine::ok(
                "archiving",
                format!(
                    "wal_level = {}, archive_mode = {}, archive_command = {:?}",
                    setup.wal_level, setup.archive_mode, setup.archive_command
                ),
            ),
            Ok(Some(warning)) => CheckLine::warning("archiving", warning),
            Err(e) => CheckLine::failed("archiving", e),
        },
        Err(e) => CheckLine::failed("archiving", e.to_string()),
    });
    let replication: std::result::Result<bool, sqlx::Error> = sqlx::query_scalar(
        "SELECT rolreplication OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await;
    let user = &settings.user;
    lines.push(match replication {
        Ok(true) => CheckLine::ok("privileges", format!("{user} may take base backups (REPLICATION)")),
        Ok(false) => CheckLine::failed(
            "privileges",
            format!("{user} has no REPLICATION attribute, which pg_basebackup needs: ALTER ROLE {user} REPLICATION (and a replication line in pg_hba.conf)"),
        ),
        Err(e) => CheckLine::failed(
            "privileges",
            format!("cannot read the role's attributes: {}", conn::describe(&e)),
        ),
    });
    lines.push(match server {
        Ok((version, major)) => {
            let need = Need {
                program: "pg_basebackup",
                ..Need::pg_dump(*major, version)
            };
            match find_tool(settings.tool_dir.as_deref(), &need).await {
                Ok(found) => CheckLine::ok(
                    "pg_basebackup",
                    format!(
                        "{} {} (compatible with server major {major})",
                        found.path.display(),
                        found.version
                    ),
                ),
                Err(e) => CheckLine::failed("pg_basebackup", e.to_string()),
            }
        }
        Err(_) => CheckLine::failed(
            "pg_basebackup",
            "not checked: the server version is unknown",
        ),
    });
    lines
}

/// Checks the server's archiving, then starts pg_basebackup.
pub async fn start(settings: &PostgresSettings) -> Result<Dump> {
    let db = &settings.maintenance_database;
    let mut session = conn::connect(settings, db, Purpose::Maintenance).await?;
    let versions = conn::server_version(&mut session).await;
    let setup = archive_setup(&mut session).await;
    conn::close(session).await;
    let (server_version, server_major) = versions?;
    let setup = setup?;
    let warning = judge_setup(&setup).map_err(Error::Dump)?;
    let need = Need {
        program: "pg_basebackup",
        ..Need::pg_dump(server_major, &server_version)
    };
    let tool = find_tool(settings.tool_dir.as_deref(), &need).await?;
    let args = basebackup_args(settings);
    let (mut command, passfile) =
        conn::tool_command(settings, &tool.path, crate::dump::DUMP_APPLICATION_NAME)?;
    command.args(&args);
    tracing::debug!(tool = %tool.path.display(), ?args, "starting pg_basebackup");
    let (process, stdout) = ToolProcess::spawn("pg_basebackup", command)?;
    let ends = Arc::new(Mutex::new(Ends::new(ENDS_BYTES)));
    let tap = Arc::clone(&ends);
    let output = TapReader::new(stdout, move |chunk: &[u8]| {
        if let Ok(mut ends) = tap.lock() {
            ends.push(chunk);
        }
    });
    Ok(Dump {
        info: DumpInfo {
            server_version,
            tool: "pg_basebackup".into(),
            tool_version: tool.version,
            format: BASE_FORMAT.into(),
            extension: "tar",
            options: args,
            database_settings: None,
        },
        output: Box::pin(output),
        completion: Box::new(BaseBackupCompletion {
            process,
            _passfile: passfile,
            ends,
            wal_segment_bytes: setup.wal_segment_bytes,
            warnings: warning.into_iter().collect(),
        }),
    })
}

struct BaseBackupCompletion {
    process: ToolProcess,
    _passfile: Option<SecretFile>,
    ends: Arc<Mutex<Ends>>,
    wal_segment_bytes: u64,
    warnings: Vec<String>,
}

#[async_trait]
impl DumpCompletion for BaseBackupCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let this = *self;
        let exit = this.process.wait().await?;
        let stderr: Vec<&str> = exit.stderr_lines().collect();
        if !exit.status.success() {
            let said: Vec<&str> = stderr
                .iter()
                .copied()
                .filter(|l| l.contains("error") || l.contains("FATAL"))
                .collect();
            let said = if said.is_empty() { &stderr } else { &said };
            return Err(Error::Dump(format!(
                "{}: {}",
                exit.describe(),
                said.join(" / ")
            )));
        }
        let ends = this
            .ends
            .lock()
            .map_err(|_| Error::Dump("the base backup inspector panicked".into()))?
            .clone();
        let base_backup = judge_archive(&ends, this.wal_segment_bytes)
            .map_err(|e| Error::Dump(format!("pg_basebackup output: {e}")))?;
        let mut warnings = this.warnings;
        warnings.extend(
            stderr
                .iter()
                .filter(|l| l.contains("warning") || l.contains("WARNING"))
                .map(|l| l.to_string()),
        );
        Ok(DumpReport {
            warnings,
            base_backup: Some(base_backup),
            binlog_position: None,
            ..DumpReport::default()
        })
    }

    async fn abort(self: Box<Self>) {
        self.process.kill().await;
    }
}

/// The gate of a finished base backup: a complete tar archive that starts with
/// `backup_label` and ends with the `backup_manifest` (which holds the end point).
fn judge_archive(ends: &Ends, wal_segment_bytes: u64) -> std::result::Result<BaseBackup, String> {
    let tail = ends.tail();
    if ends.total() < (2 * BLOCK) as u64
        || !ends.total().is_multiple_of(BLOCK as u64)
        || tail[tail.len() - 2 * BLOCK..].iter().any(|b| *b != 0)
    {
        return Err(format!(
            "the tar archive ({} bytes) does not end with the end-of-archive blocks (truncated?)",
            ends.total()
        ));
    }
    let label = tar_member(ends.head(), "backup_label")
        .ok_or("the archive does not start with backup_label")?;
    let label = String::from_utf8_lossy(label);
    let (start_lsn, start_wal_file, timeline) = parse_backup_label(&label)?;
    let stop_lsn = wal_end(&String::from_utf8_lossy(&tail)).ok_or(
        "the archive does not end with a backup_manifest holding its WAL-Ranges (pg_basebackup 13 or later writes it)",
    )?;
    if stop_lsn < start_lsn {
        return Err(format!(
            "the end point {stop_lsn} is before the start point {start_lsn}"
        ));
    }
    Ok(BaseBackup {
        start_lsn: start_lsn.to_string(),
        stop_lsn: stop_lsn.to_string(),
        timeline,
        start_wal_file,
        wal_segment_bytes,
    })
}

/// Structural check of a stored base backup (`verify --level structural`): the whole tar
/// archive walked (every header's checksum, every member complete, the end blocks), with
/// `backup_label`, `global/pg_control` and `backup_manifest` in it, and the label's start
/// point and timeline those of the manifest.
pub async fn inspect(
    manifest: &dbward_core::Manifest,
    mut dump: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
) -> Result<Vec<String>> {
    use tokio::io::AsyncReadExt;
    let wanted = ["backup_label", "global/pg_control", "backup_manifest"];
    let mut walker = crate::tar::TarWalker::new(&wanted, &["backup_label"]);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = dump
            .read(&mut buf)
            .await
            .map_err(|e| Error::Dump(format!("reading the base backup failed: {e}")))?;
        if n == 0 {
            break;
        }
        walker.push(&buf[..n]);
    }
    let summary = walker
        .finish()
        .map_err(|e| Error::Dump(format!("base backup archive: {e}")))?;
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !summary.found.iter().any(|f| f == w))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Dump(format!(
            "the base backup archive has no {}",
            missing.join(", ")
        )));
    }
    let label = String::from_utf8_lossy(&summary.kept["backup_label"]).into_owned();
    let (start, file, timeline) = parse_backup_label(&label).map_err(Error::Dump)?;
    if let Some(recorded) = &manifest.base_backup
        && (recorded.start_lsn != start.to_string() || recorded.timeline != timeline)
    {
        return Err(Error::Dump(format!(
            "the archive's backup_label starts at {start} on timeline {timeline}; the manifest says {} on timeline {}",
            recorded.start_lsn, recorded.timeline
        )));
    }
    Ok(vec![format!(
        "base backup archive of {} bytes: {} members, each header's checksum right and the end-of-archive blocks present; backup_label (start {start}, WAL file {file}, timeline {timeline}), global/pg_control and backup_manifest present",
        summary.bytes, summary.members
    )])
}

/// The end of the WAL range in the `backup_manifest` pg_basebackup appends to a tar archive
/// it writes to stdout: `"WAL-Ranges": [ { "Timeline": 1, "Start-LSN": …, "End-LSN": "0/2000100" } ]`.
fn wal_end(tail: &str) -> Option<Lsn> {
    let ranges = &tail[tail.rfind("\"WAL-Ranges\"")?..];
    let key = "\"End-LSN\":";
    let value = &ranges[ranges.rfind(key)? + key.len()..];
    let value = value.trim_start().strip_prefix('"')?;
    Lsn::parse(&value[..value.find('"')?]).ok()
}

/// The content of the member `name` among the archive's first members (as far as `head`
/// reaches), or `None`.
fn tar_member<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut at = 0;
    while at + BLOCK <= head.len() {
        let header = &head[at..at + BLOCK];
        if header.iter().all(|b| *b == 0) {
            return None;
        }
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let size = u64::from_str_radix(size_field.trim_matches(['\0', ' ']), 8).ok()?;
        let size = usize::try_from(size).ok()?;
        let content = at + BLOCK;
        if &header[..end] == name.as_bytes() {
            return head.get(content..content.checked_add(size)?);
        }
        at = content + size.div_ceil(BLOCK) * BLOCK;
    }
    None
}

/// Start LSN, start WAL file and timeline from `backup_label`.
fn parse_backup_label(label: &str) -> std::result::Result<(Lsn, String, u32), String> {
    let field = |key: &str| {
        label
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .ok_or_else(|| format!("backup_label has no {key:?} line"))
    };
    // START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
    let location = field("START WAL LOCATION:")?;
    let (lsn, rest) = location.split_once(' ').unwrap_or((location, ""));
    let lsn = Lsn::parse(lsn).map_err(|e| format!("backup_label: {e}"))?;
    let file = rest
        .trim()
        .strip_prefix("(file ")
        .and_then(|f| f.strip_suffix(')'))
        .ok_or_else(|| format!("backup_label: no WAL file in {location:?}"))?;
    dbward_core::wal::WalFileName::parse(file).map_err(|e| format!("backup_label: {e}"))?;
    let timeline = field("START TIMELINE:")?;
    let timeline = timeline
        .parse()
        .map_err(|_| format!("backup_label: START TIMELINE {timeline:?} is not a number"))?;
    Ok((lsn, file.to_string(), timeline))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
        CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\n\
        START TIME: 2026-12-05 12:00:00 UTC\nLABEL: dbward\nSTART TIMELINE: 1\n";

    fn member(name: &str, content: &[u8]) -> Vec<u8> {
        let mut header = vec![0u8; BLOCK];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:011o}\0", content.len());
        header[124..136].copy_from_slice(size.as_bytes());
        let mut out = header;
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        out
    }

    fn archive(members: &[(&str, &[u8])], end: bool) -> Ends {
        let mut bytes: Vec<u8> = members.iter().flat_map(|(n, c)| member(n, c)).collect();
        if end {
            bytes.extend_from_slice(&[0u8; 2 * BLOCK]);
        }
        let mut ends = Ends::new(ENDS_BYTES);
        ends.push(&bytes);
        ends
    }

    const MANIFEST: &str = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [],\n\
        \"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n],\n\
        \"Manifest-Checksum\": \"ab\"}\n";

    #[test]
    fn a_complete_archive_gives_the_wal_range() {
        let ends = archive(
            &[
                ("backup_label", LABEL.as_bytes()),
                ("PG_VERSION", b"15\n"),
                ("backup_manifest", MANIFEST.as_bytes()),
            ],
            true,
        );
        let got = judge_archive(&ends, 16 << 20).unwrap();
        assert_eq!(
            got,
            BaseBackup {
                start_lsn: "0/2000028".into(),
                stop_lsn: "0/2000100".into(),
                timeline: 1,
                start_wal_file: "000000010000000000000002".into(),
                wal_segment_bytes: 16 << 20,
            }
        );
    }

    #[test]
    fn a_truncated_archive_or_a_missing_label_or_end_point_fails_the_gate() {
        let label = ("backup_label", LABEL.as_bytes());
        let manifest = ("backup_manifest", MANIFEST.as_bytes());
        let truncated = archive(&[label, manifest], false);
        let err = judge_archive(&truncated, 16 << 20).unwrap_err();
        assert!(err.contains("end-of-archive"), "{err}");
        let unlabelled = archive(&[("PG_VERSION", b"15\n"), manifest], true);
        let err = judge_archive(&unlabelled, 16 << 20).unwrap_err();
        assert!(err.contains("backup_label"), "{err}");
        let without_manifest = archive(&[label], true);
        let err = judge_archive(&without_manifest, 16 << 20).unwrap_err();
        assert!(err.contains("WAL-Ranges"), "{err}");
    }

    #[test]
    fn the_label_is_found_behind_other_members() {
        let bytes = [member("tablespace_map", b"x"), member("backup_label", b"y")].concat();
        assert_eq!(tar_member(&bytes, "backup_label"), Some(&b"y"[..]));
        assert_eq!(tar_member(&bytes, "global/pg_control"), None);
    }

    fn setup(wal_level: &str, archive_mode: &str, command: &str, standby: bool) -> ArchiveSetup {
        ArchiveSetup {
            wal_level: wal_level.into(),
            archive_mode: archive_mode.into(),
            archive_command: command.into(),
            in_recovery: standby,
            wal_segment_bytes: 16 << 20,
        }
    }

    #[test]
    fn a_server_that_does_not_archive_is_refused_with_the_fix() {
        let push = "dbward --config /etc/dbward.toml wal push %p";
        assert_eq!(judge_setup(&setup("replica", "on", push, false)), Ok(None));
        assert_eq!(
            judge_setup(&setup("logical", "always", push, true)),
            Ok(None)
        );
        for (bad, says) in [
            (setup("minimal", "on", push, false), "wal_level"),
            (setup("replica", "off", push, false), "archive_mode = off"),
            (setup("replica", "on", push, true), "standby"),
            (setup("replica", "on", "", false), "archive_command"),
        ] {
            let err = judge_setup(&bad).unwrap_err();
            assert!(err.contains(says) && err.contains("wal push %p"), "{err}");
        }
        let other = judge_setup(&setup("replica", "on", "cp %p /archive/%f", false));
        assert!(other.unwrap().unwrap().contains("not `dbward"));
    }

    #[test]
    fn arguments_stream_one_tar_without_wal_or_secret() {
        let settings = PostgresSettings {
            name: "pg".into(),
            host: "db.example".into(),
            port: 5433,
            user: "backup".into(),
            password: Some("hunter2-secret".to_string().into()),
            maintenance_database: "postgres".into(),
            format: crate::PgFormat::Custom,
            pitr: true,
            tool_dir: None,
            exclude_tables: vec![],
            connect_timeout: std::time::Duration::from_secs(5),
            tls: Default::default(),
            secret_dir: "/nonexistent".into(),
        };
        let args = basebackup_args(&settings);
        assert_eq!(
            args,
            [
                "--format=tar",
                "--pgdata=-",
                "--wal-method=none",
                "--checkpoint=fast",
                "--label=dbward",
                "--no-password",
                "--host=db.example",
                "--port=5433",
                "--username=backup",
            ]
        );
        assert!(!format!("{args:?}").contains("hunter2"));
    }
}
