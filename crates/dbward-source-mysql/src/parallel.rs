//! `restore --jobs N` for MySQL/MariaDB SQL dumps. The verified stream is copied whole to a
//! private (0600) spool file while [`crate::split`] notes where the schema, each table's rows
//! and the rest lie, so that a damaged or truncated copy fails before any client starts.
//! Then one client loads the header and every table structure in dump order; up to N
//! clients load the tables' rows at once (the largest tables first, each client several
//! tables in turn), each repeating the header's session settings (character set, time zone,
//! `UNIQUE_CHECKS=0`, `FOREIGN_KEY_CHECKS=0`, SQL mode); a last client loads triggers,
//! events, routines and views in dump order. The spool file is removed on every path, and a
//! failing phase stops the clients still running (the caller drops the database).

use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use dbward_core::process::ToolProcess;
use dbward_core::stream::Ends;
use dbward_core::{Error, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::MysqlSettings;
use crate::dump::{COMPLETION_MARKER, has_completion_marker, judge_exit};
use crate::split::{Plan, Splitter, TableRows};
use crate::tool::Flavor;

/// Bytes kept from the end of the stream: the trailer is one short line.
const TAIL_KEEP: usize = 4096;

/// Bytes moved per read.
const CHUNK: usize = 256 * 1024;

/// How to start one client on the database being restored.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub settings: MysqlSettings,
    pub name: &'static str,
    pub path: PathBuf,
    pub flavor: Flavor,
    pub args: Vec<String>,
    pub database: String,
}

/// Restores `dump` with up to `jobs` clients at once; the clients' warnings.
pub(crate) async fn restore(
    client: Client,
    dump: Pin<Box<dyn AsyncRead + Send>>,
    jobs: u32,
    spool_dir: &Path,
) -> Result<Vec<String>> {
    let (spool, plan) = spool(spool_dir, dump).await?;
    let shares = share_out(&plan.tables, jobs);
    tracing::info!(
        "restoring {} in three phases: the schema on one client, the rows of {} tables on {} clients, then triggers, events, routines and views on one client",
        client.database,
        plan.tables.len(),
        shares.len()
    );
    let file: Arc<Path> = Arc::from(spool.to_path_buf());
    let client = Arc::new(client);
    let mut warnings = client
        .load(Vec::new(), plan.schema.clone(), file.clone())
        .await
        .map_err(|e| phase_failed("loading the schema (tables, sequences)", e))?;

    let mut running = tokio::task::JoinSet::new();
    for tables in shares {
        let (client, file, session) = (client.clone(), file.clone(), plan.session.clone());
        running.spawn(async move {
            let ranges = tables.iter().map(|t| t.range.clone()).collect();
            client
                .load(session, ranges, file)
                .await
                .map_err(|e| phase_failed(&rows_of(&tables), e))
        });
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(more)) => warnings.extend(more),
            Ok(Err(e)) => {
                // Dropping the set stops the other clients (their process groups are killed).
                running.abort_all();
                return Err(e);
            }
            Err(e) => {
                running.abort_all();
                return Err(Error::Dump(format!("a restore job failed: {e}")));
            }
        }
    }

    warnings.extend(
        client
            .load(plan.session.clone(), plan.post.clone(), file)
            .await
            .map_err(|e| phase_failed("loading triggers, events, routines and views", e))?,
    );
    // Removed only now: every client has read its part.
    drop(spool);
    Ok(warnings)
}

fn phase_failed(what: &str, error: Error) -> Error {
    Error::Dump(format!("{what}: {error}"))
}

/// `the rows of `a`, `b` and 3 more tables`.
fn rows_of(tables: &[TableRows]) -> String {
    let names: Vec<&str> = tables.iter().take(3).map(|t| t.table.as_str()).collect();
    let more = tables.len().saturating_sub(names.len());
    if more > 0 {
        format!(
            "loading the rows of {} and {more} more tables",
            names.join(", ")
        )
    } else {
        format!("loading the rows of {}", names.join(", "))
    }
}

/// Deals the tables to at most `jobs` clients, the largest first, each to the client with
/// the fewest bytes so far; clients without tables are left out.
fn share_out(tables: &[TableRows], jobs: u32) -> Vec<Vec<TableRows>> {
    let mut by_size: Vec<&TableRows> = tables.iter().collect();
    by_size.sort_by_key(|t| std::cmp::Reverse(t.range.end - t.range.start));
    let clients = (jobs.max(1) as usize).min(tables.len());
    let mut shares: Vec<(u64, Vec<TableRows>)> = vec![(0, Vec::new()); clients];
    for table in by_size {
        let lightest = shares
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("at least one client when there are tables");
        lightest.0 += table.range.end - table.range.start;
        lightest.1.push(table.clone());
    }
    shares.into_iter().map(|(_, tables)| tables).collect()
}

/// Copies `dump` to a new private file in `dir` (removed when the returned path is dropped),
/// splitting it on the way; fails on a read error or a missing completion trailer.
async fn spool(
    dir: &Path,
    mut dump: Pin<Box<dyn AsyncRead + Send>>,
) -> Result<(tempfile::TempPath, Plan)> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::io("cannot create", dir, e))?;
    let spool = tempfile::Builder::new()
        .prefix(".dbward-restore-")
        .suffix(".sql")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create a spool file in", dir, e))?;
    let (file, path) = spool.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut splitter = Splitter::default();
    let mut ends = Ends::new(TAIL_KEEP);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match dump.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                return Err(Error::Dump(format!(
                    "reading the dump failed after {} bytes: {e}; no client was started",
                    ends.total()
                )));
            }
        };
        splitter.feed(&buf[..n]);
        ends.push(&buf[..n]);
        file.write_all(&buf[..n])
            .await
            .map_err(|e| Error::io("cannot write", path.to_path_buf(), e))?;
    }
    file.flush()
        .await
        .map_err(|e| Error::io("cannot write", path.to_path_buf(), e))?;
    drop(file);
    if !has_completion_marker(&ends.tail()) {
        return Err(Error::Dump(format!(
            "the dump is incomplete: completion marker \"{COMPLETION_MARKER}\" missing at its end ({} bytes read); no client was started",
            ends.total()
        )));
    }
    Ok((path, splitter.finish()))
}

/// How copying a client's part went.
enum Poured {
    Complete,
    ReadFailed(std::io::Error),
    ClientGone(std::io::Error),
}

impl Client {
    /// Starts a client and feeds it `prefix`, then `ranges` of `file`; its warnings, or why
    /// it failed. A client that cannot read all of its part is killed before it sees an end.
    async fn load(
        &self,
        prefix: Vec<u8>,
        ranges: Vec<Range<u64>>,
        file: Arc<Path>,
    ) -> Result<Vec<String>> {
        let secret = self.settings.option_file()?;
        let command = self.settings.tool_command(
            &self.path,
            self.flavor,
            secret.as_ref(),
            &self.args,
            &self.database,
        );
        let (process, mut stdin) = ToolProcess::spawn_fed(self.name, command)?;
        let poured = pour(&mut stdin, &prefix, &ranges, &file).await;
        if let Poured::ReadFailed(e) = poured {
            process.kill().await;
            drop(stdin);
            return Err(Error::Dump(format!(
                "reading the spool file {} failed: {e}; {} was stopped before the end of its input",
                file.display(),
                self.name
            )));
        }
        drop(stdin);
        let exit = process.wait().await?;
        // Only now: a client reconnecting after a lost connection reads the file again.
        drop(secret);
        let warnings = judge_exit(self.name, &exit).map_err(|f| Error::Dump(f.reason))?;
        if let Poured::ClientGone(e) = poured {
            return Err(Error::Dump(format!(
                "{} before reading all of its part of the dump: {e}",
                exit.describe()
            )));
        }
        Ok(warnings
            .into_iter()
            .filter(|w| !w.contains("unknown option '--loose-"))
            .collect())
    }
}

async fn pour(
    stdin: &mut tokio::process::ChildStdin,
    prefix: &[u8],
    ranges: &[Range<u64>],
    file: &Path,
) -> Poured {
    if let Err(e) = stdin.write_all(prefix).await {
        return Poured::ClientGone(e);
    }
    let mut spool = match tokio::fs::File::open(file).await {
        Ok(spool) => spool,
        Err(e) => return Poured::ReadFailed(e),
    };
    let mut buf = vec![0u8; CHUNK];
    for range in ranges {
        if let Err(e) = spool.seek(std::io::SeekFrom::Start(range.start)).await {
            return Poured::ReadFailed(e);
        }
        let mut left = range.end - range.start;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = match spool.read(&mut buf[..want]).await {
                Ok(0) => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file is shorter than what was written to it",
                    );
                    return Poured::ReadFailed(e);
                }
                Ok(n) => n,
                Err(e) => return Poured::ReadFailed(e),
            };
            if let Err(e) = stdin.write_all(&buf[..n]).await {
                return Poured::ClientGone(e);
            }
            left -= n as u64;
        }
    }
    Poured::Complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, bytes: u64) -> TableRows {
        TableRows {
            table: name.into(),
            range: 0..bytes,
        }
    }

    #[test]
    fn tables_are_dealt_largest_first_to_the_lightest_client() {
        let tables = [
            table("a", 10),
            table("b", 100),
            table("c", 60),
            table("d", 50),
        ];
        let shares = share_out(&tables, 2);
        let names: Vec<Vec<&str>> = shares
            .iter()
            .map(|s| s.iter().map(|t| t.table.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["b", "a"], vec!["c", "d"]]);
        assert_eq!(share_out(&tables, 8).len(), 4, "no idle clients");
        assert!(share_out(&[], 4).is_empty());
        assert_eq!(share_out(&tables, 0).len(), 1);
    }
}
