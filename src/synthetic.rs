//! The synthetic engine (`engine = "synthetic"`, built only with `--features simulation`):
//! a source without a server whose databases `db0000`, `db0001`, … dump generated SQL text
//! of a configured size, so that a fleet of daemons can be exercised at scale
//! (`scripts/fleet-sim.sh`). Its dumps pass the gate honestly: the completion judges that
//! the generator reached its completion marker and reports the rows it wrote; its restore
//! target reads a dump back, checks the marker and the row count, and keeps the restored
//! table counts in memory for drills.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use dbward_core::restore::{RestoreReport, RestoreTarget, Staging};
use dbward_core::source::{CheckLine, Dump, DumpCompletion, DumpInfo, DumpReport, Source};
use dbward_core::{Engine, Error, Inventory, Manifest, ObjectKind, Result, TableRows};
use tokio::io::{AsyncBufReadExt, AsyncRead, ReadBuf};

/// The one table of every synthetic database.
const TABLE: &str = "items";
const HEADER: &str = "-- dbward synthetic dump";
const MARKER: &str = "-- dbward synthetic dump complete:";
/// The generator refills its buffer in chunks of about this size.
const CHUNK: usize = 64 << 10;

/// How a synthetic source is configured.
#[derive(Debug, Clone)]
pub struct SyntheticSettings {
    pub name: String,
    /// How many databases it lists.
    pub databases: u32,
    /// The size of each dump, within one row.
    pub dump_bytes: u64,
    /// How long each dump waits before its first byte, like a dump tool starting.
    pub dump_delay: Duration,
}

/// The database names a source with `count` databases lists, sorted.
pub fn database_names(count: u32) -> Vec<String> {
    (0..count).map(|i| format!("db{i:04}")).collect()
}

/// A source whose dumps are generated.
#[derive(Debug)]
pub struct SyntheticSource {
    settings: SyntheticSettings,
}

impl SyntheticSource {
    pub fn new(settings: SyntheticSettings) -> Self {
        SyntheticSource { settings }
    }
}

#[async_trait]
impl Source for SyntheticSource {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn engine(&self) -> Engine {
        Engine::Synthetic
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        Ok(database_names(self.settings.databases))
    }

    async fn check(&self) -> Vec<CheckLine> {
        let s = &self.settings;
        vec![CheckLine::warning(
            "synthetic",
            format!(
                "{} generated databases of {} bytes each: for simulations only, nothing real is backed up",
                s.databases, s.dump_bytes
            ),
        )]
    }

    async fn dump(&self, database: &str) -> Result<Dump> {
        if !database_names(self.settings.databases)
            .iter()
            .any(|d| d == database)
        {
            return Err(Error::DatabaseMissing {
                source_name: self.settings.name.clone(),
                database: database.to_string(),
            });
        }
        tokio::time::sleep(self.settings.dump_delay).await;
        let written = Arc::new(Mutex::new(None));
        let generator = Generator::new(
            &format!("{}/{database}", self.settings.name),
            self.settings.dump_bytes,
            written.clone(),
        );
        Ok(Dump {
            info: DumpInfo {
                server_version: "synthetic".into(),
                tool: "dbward-synthetic".into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                format: "sql".into(),
                extension: "sql",
                options: vec![format!("dump_bytes={}", self.settings.dump_bytes)],
                database_settings: None,
            },
            output: Box::pin(generator),
            completion: Box::new(GeneratedCompletion { written }),
        })
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        if !database_names(self.settings.databases)
            .iter()
            .any(|d| d == database)
        {
            return Err(Error::DatabaseMissing {
                source_name: self.settings.name.clone(),
                database: database.to_string(),
            });
        }
        Ok(tables_inventory(1))
    }
}

/// A synthetic database holds tables and nothing else.
fn tables_inventory(tables: usize) -> Inventory {
    let mut inventory = Inventory::default();
    inventory.set(ObjectKind::Tables, tables as u64);
    inventory
}

/// Streams a dump: a header, one `INSERT` per row with a payload drawn from a generator
/// seeded by the database's name (the same database always dumps the same bytes), and the
/// completion marker with the row count.
struct Generator {
    rng: u64,
    target: u64,
    emitted: u64,
    rows: u64,
    buf: Vec<u8>,
    pos: usize,
    header: Option<String>,
    /// Set to the row count once the marker is written.
    written: Arc<Mutex<Option<u64>>>,
    done: bool,
}

impl Generator {
    fn new(what: &str, target: u64, written: Arc<Mutex<Option<u64>>>) -> Self {
        // FNV-1a of the name seeds the payloads.
        let seed = what.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Generator {
            rng: seed,
            target,
            emitted: 0,
            rows: 0,
            buf: Vec::with_capacity(CHUNK + 256),
            pos: 0,
            header: Some(format!(
                "{HEADER} of {what}\nCREATE TABLE {TABLE} (id bigint PRIMARY KEY, payload text);\n"
            )),
            written,
            done: false,
        }
    }

    /// splitmix64: cheap, and enough to keep the payloads from compressing to nothing.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Refills the buffer with the next chunk; the last one ends with the marker.
    fn fill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if let Some(header) = self.header.take() {
            self.buf.extend_from_slice(header.as_bytes());
        }
        let footer_room = (MARKER.len() + TABLE.len() + 32) as u64;
        while self.buf.len() < CHUNK
            && self.emitted + self.buf.len() as u64 + footer_room < self.target
        {
            self.rows += 1;
            let (a, b, c) = (self.next(), self.next(), self.next());
            // Writing into a Vec cannot fail.
            let _ = writeln!(
                self.buf,
                "INSERT INTO {TABLE} VALUES ({}, '{a:016x}{b:016x}{c:016x}');",
                self.rows
            );
        }
        if self.buf.len() < CHUNK {
            let _ = writeln!(self.buf, "{MARKER} {TABLE} {} rows", self.rows);
            *self.written.lock().expect("not poisoned") = Some(self.rows);
            self.done = true;
        }
        self.emitted += self.buf.len() as u64;
    }
}

impl AsyncRead for Generator {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.pos == this.buf.len() {
            if this.done {
                return Poll::Ready(Ok(()));
            }
            this.fill();
        }
        let n = out.remaining().min(this.buf.len() - this.pos);
        out.put_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// Judges a generated dump: it passes only when the generator wrote its marker, that is
/// when the whole dump was read.
struct GeneratedCompletion {
    written: Arc<Mutex<Option<u64>>>,
}

#[async_trait]
impl DumpCompletion for GeneratedCompletion {
    async fn finish(self: Box<Self>) -> Result<DumpReport> {
        let rows = self.written.lock().expect("not poisoned").take();
        let rows = rows.ok_or_else(|| {
            Error::Dump("synthetic dump ended before its completion marker".into())
        })?;
        Ok(DumpReport {
            tables: vec![TableRows {
                table: TABLE.into(),
                rows,
            }],
            ..DumpReport::default()
        })
    }

    async fn abort(self: Box<Self>) {}
}

/// Reads a synthetic dump to its end: its row count, checked against its marker.
async fn read_dump(dump: Pin<Box<dyn AsyncRead + Send>>) -> Result<Vec<TableRows>> {
    let mut lines = tokio::io::BufReader::new(dump).lines();
    let broken = |why: &str| Error::Dump(format!("not a complete synthetic dump: {why}"));
    let read = |e: std::io::Error| Error::Dump(format!("cannot read the dump: {e}"));
    let first = lines.next_line().await.map_err(read)?;
    if !first.is_some_and(|l| l.starts_with(HEADER)) {
        return Err(broken("no header"));
    }
    let insert = format!("INSERT INTO {TABLE} ");
    let mut rows = 0u64;
    let mut marked = None;
    while let Some(line) = lines.next_line().await.map_err(read)? {
        if marked.is_some() {
            return Err(broken("text after the completion marker"));
        }
        if line.starts_with(&insert) {
            rows += 1;
        } else if let Some(rest) = line.strip_prefix(MARKER) {
            marked = rest
                .trim()
                .strip_prefix(TABLE)
                .and_then(|r| r.trim().strip_suffix(" rows"))
                .and_then(|n| n.parse::<u64>().ok());
            if marked.is_none() {
                return Err(broken("unreadable completion marker"));
            }
        }
    }
    match marked {
        Some(n) if n == rows => Ok(vec![TableRows {
            table: TABLE.into(),
            rows,
        }]),
        Some(n) => Err(broken(&format!(
            "the marker says {n} rows, the dump has {rows}"
        ))),
        None => Err(broken("no completion marker")),
    }
}

/// Where synthetic dumps restore: nowhere real. A restored database is its table counts,
/// kept in this target's memory, so that a drill can compare them with the manifest.
#[derive(Debug)]
pub struct SyntheticTarget {
    name: String,
    databases: Mutex<BTreeMap<String, Vec<TableRows>>>,
}

impl SyntheticTarget {
    pub fn new(name: String) -> Self {
        SyntheticTarget {
            name,
            databases: Mutex::new(BTreeMap::new()),
        }
    }

    fn databases(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<TableRows>>> {
        self.databases.lock().expect("not poisoned")
    }

    fn taken(&self, database: &str) -> Error {
        Error::NameTaken {
            target: format!("synthetic:{}", self.name),
            database: database.to_string(),
        }
    }
}

#[async_trait]
impl RestoreTarget for SyntheticTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn engine(&self) -> Engine {
        Engine::Synthetic
    }

    fn staging(&self) -> Staging {
        Staging::Rename
    }

    async fn check_name(&self, _database: &str) -> Result<()> {
        Ok(())
    }

    async fn check_compatible(&self, manifest: &Manifest) -> Result<()> {
        if manifest.engine != Engine::Synthetic {
            return Err(Error::Dump(format!(
                "backup {} is a {} dump; target {} restores synthetic dumps",
                manifest.id, manifest.engine, self.name
            )));
        }
        Ok(())
    }

    async fn database_exists(&self, database: &str) -> Result<bool> {
        Ok(self.databases().contains_key(database))
    }

    async fn create_database(&self, database: &str, _manifest: &Manifest) -> Result<Vec<String>> {
        let mut databases = self.databases();
        if databases.contains_key(database) {
            return Err(self.taken(database));
        }
        databases.insert(database.to_string(), Vec::new());
        Ok(Vec::new())
    }

    async fn load(
        &self,
        database: &str,
        _manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<RestoreReport> {
        let tables = read_dump(dump).await?;
        self.databases().insert(database.to_string(), tables);
        Ok(RestoreReport::default())
    }

    async fn publish(&self, staged: &str, target: &str, replace: bool) -> Result<()> {
        let mut databases = self.databases();
        if !replace && databases.contains_key(target) {
            return Err(self.taken(target));
        }
        let tables = databases
            .remove(staged)
            .ok_or_else(|| Error::DatabaseMissing {
                source_name: self.name.clone(),
                database: staged.to_string(),
            })?;
        databases.insert(target.to_string(), tables);
        Ok(())
    }

    async fn drop_database(&self, database: &str) -> Result<()> {
        self.databases().remove(database);
        Ok(())
    }

    async fn count_rows(&self, database: &str) -> Result<Vec<TableRows>> {
        self.databases()
            .get(database)
            .cloned()
            .ok_or_else(|| Error::DatabaseMissing {
                source_name: self.name.clone(),
                database: database.to_string(),
            })
    }

    async fn inventory(&self, database: &str) -> Result<Inventory> {
        Ok(tables_inventory(self.count_rows(database).await?.len()))
    }

    async fn query_scalar(&self, _database: &str, sql: &str) -> Result<String> {
        Err(Error::Query(format!(
            "a synthetic database answers no queries ({sql})"
        )))
    }

    async fn inspect(
        &self,
        manifest: &Manifest,
        dump: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<Vec<String>> {
        let tables = read_dump(dump).await?;
        if tables != manifest.tables {
            return Err(Error::Dump(format!(
                "the dump holds {tables:?}, the manifest says {:?}",
                manifest.tables
            )));
        }
        Ok(vec![format!(
            "synthetic dump complete: {} rows",
            tables[0].rows
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn dump_of(bytes: u64) -> (Vec<u8>, DumpReport) {
        let source = SyntheticSource::new(SyntheticSettings {
            name: "sim".into(),
            databases: 3,
            dump_bytes: bytes,
            dump_delay: Duration::ZERO,
        });
        let mut dump = source.dump("db0002").await.unwrap();
        let mut text = Vec::new();
        dump.output.read_to_end(&mut text).await.unwrap();
        (text, dump.completion.finish().await.unwrap())
    }

    #[tokio::test]
    async fn a_dump_has_the_configured_size_its_rows_and_reads_back() {
        for bytes in [1, 1000, 200_000] {
            let (text, report) = dump_of(bytes).await;
            let len = text.len() as u64;
            assert!(
                len + 200 >= bytes && len <= bytes.max(200) + 200,
                "{bytes}: {len}"
            );
            let read = read_dump(Box::pin(std::io::Cursor::new(text.clone())))
                .await
                .unwrap();
            assert_eq!(read, report.tables);
            assert_eq!(dump_of(bytes).await.0, text, "deterministic");
        }
    }

    #[tokio::test]
    async fn an_unread_dump_or_a_cut_one_fails() {
        let source = SyntheticSource::new(SyntheticSettings {
            name: "sim".into(),
            databases: 1,
            dump_bytes: 500_000,
            dump_delay: Duration::ZERO,
        });
        let mut dump = source.dump("db0000").await.unwrap();
        let mut head = vec![0; 1000];
        dump.output.read_exact(&mut head).await.unwrap();
        assert!(dump.completion.finish().await.is_err());
        let (text, _) = dump_of(10_000).await;
        let cut = text[..text.len() - 10].to_vec();
        assert!(
            read_dump(Box::pin(std::io::Cursor::new(cut)))
                .await
                .is_err()
        );
        assert!(source.dump("db0001").await.is_err(), "only db0000 exists");
    }
}
