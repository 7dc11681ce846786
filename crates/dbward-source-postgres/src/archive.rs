//! A streaming reader of pg_dump's custom-format archive, as dbward writes it
//! (`--format=custom --compress=0` to a pipe), that counts the rows of every `TABLE DATA`
//! entry while the dump flows past, without holding it: memory is bounded by the table of
//! contents (a few names per data entry), whatever the size of the data.
//!
//! # Layout read (`pg_backup_archiver.c` `WriteHead`/`WriteToc`, `pg_backup_custom.c`)
//!
//! Scalars: a *byte*; an *int* is a sign byte (0 positive, anything else negative) followed
//! by `intSize` bytes of magnitude, least significant first; a *string* is an int length
//! followed by that many bytes, a negative length meaning NULL (pg_dump writes -1); an
//! *offset* is a flag byte (1 not set, 2 set, 3 no data) followed by `offSize` bytes.
//!
//! 1. Header: `PGDMP`, version major, minor and revision bytes, `intSize`, `offSize`, the
//!    format byte (1 = custom). Then the compression: before 1.15 an int (the zlib level,
//!    0 = none), from 1.15 on a byte (the algorithm, 0 = none). Then seven ints (the
//!    creation time's `struct tm`: sec, min, hour, mday, mon, year, isdst) and three strings
//!    (database name, server version, pg_dump version).
//! 2. Table of contents: an int count, then per entry: int dumpId (> 0), int hadDumper,
//!    strings tableoid and oid, tag, desc, int section, strings defn, dropStmt, copyStmt,
//!    namespace, tablespace, tableam, from 1.16 on an int relkind, then strings owner and
//!    withOids (`"false"`), the dependency list as strings terminated by a NULL string
//!    (not an empty one), and the data offset.
//! 3. Data: one block per entry that had a dumper, in any order. A block is a type byte
//!    and an int dumpId; `BLK_DATA` (1) then holds chunks, each an int length > 0 and that
//!    many bytes, ended by a length of 0; `BLK_BLOBS` (3) holds, per large object, an int
//!    oid (0 ends the block) followed by chunks as above. The archive ends after the last
//!    block; pg_dump writing to a pipe cannot go back to fill in the offsets.
//!
//! Supported: archive versions 1.12 to 1.16, any revision, i.e. pg_dump 11 to 17 (and 18,
//! which still writes 1.16), with `intSize` 1 to 8 and `offSize` 1 to 16; uncompressed data
//! only (a level of 0 before 1.15, algorithm `none` after). Anything else is refused with a
//! message naming the version or compression found, because rows cannot be counted in it.
//!
//! # Rows
//!
//! A `TABLE DATA` entry's chunks hold `COPY ... TO stdout` text: one row per line, where a
//! newline inside a value is written as the two characters `\n`, so every newline byte ends
//! a row. Recent pg_dump releases (e.g. 15.20) also write the end-of-data line `\.` into the
//! data, followed by blank lines; that line can never be a row (a backslash in a value is
//! written doubled), so it and whatever blank lines follow it are not counted. A row that is
//! an empty line (one empty text column) counts. Data that does not end with a newline is
//! refused: a row was cut.

use std::collections::HashMap;

/// The archive versions this reader understands (major, minor).
pub const OLDEST_VERSION: (u8, u8) = (1, 12);
pub const NEWEST_VERSION: (u8, u8) = (1, 16);

const MAGIC: &[u8] = b"PGDMP";
/// Magic, three version bytes, intSize, offSize, format.
const PROLOGUE_LEN: usize = 11;
/// `archCustom`.
const CUSTOM_FORMAT: u8 = 1;
const BLK_DATA: u8 = 1;
const BLK_BLOBS: u8 = 3;
/// Longest prefix kept of a name, a desc or a COPY statement (a COPY statement names every
/// column; only its start, the table, is needed).
const KEEP_LIMIT: usize = 4096;

/// One `TABLE DATA` entry of an archive and the rows its data holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableData {
    /// The entry's namespace (the table's schema) as stored, unquoted.
    pub schema: String,
    /// The entry's tag (the table's name) as stored, unquoted.
    pub table: String,
    /// The start of the entry's COPY statement (`COPY public."order" (id) FROM stdin;`).
    pub copy_stmt: String,
    pub rows: u64,
}

/// What a complete archive held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// (major, minor, revision).
    pub version: (u8, u8, u8),
    /// Every `TABLE DATA` entry, in table-of-contents order.
    pub tables: Vec<TableData>,
    /// Data blocks of large objects (`BLOBS` entries).
    pub large_object_blocks: usize,
}

/// Where in the archive the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Prologue,
    Compression,
    Created(u8),
    HeaderText(u8),
    TocCount,
    DumpId,
    HadDumper,
    TableOid,
    Oid,
    Tag,
    Desc,
    Section,
    Defn,
    DropStmt,
    CopyStmt,
    Namespace,
    Tablespace,
    TableAm,
    RelKind,
    Owner,
    WithOids,
    Dependency,
    DataOffset,
    BlockType,
    BlockId,
    LargeObjectOid,
    ChunkLen,
    ChunkBody,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Prologue | Step::Compression | Step::Created(_) | Step::HeaderText(_) => {
                "the archive header"
            }
            Step::TocCount
            | Step::DumpId
            | Step::HadDumper
            | Step::TableOid
            | Step::Oid
            | Step::Tag
            | Step::Desc
            | Step::Section
            | Step::Defn
            | Step::DropStmt
            | Step::CopyStmt
            | Step::Namespace
            | Step::Tablespace
            | Step::TableAm
            | Step::RelKind
            | Step::Owner
            | Step::WithOids
            | Step::Dependency
            | Step::DataOffset => "the table of contents",
            Step::BlockType => "a data block header",
            Step::BlockId | Step::LargeObjectOid | Step::ChunkLen | Step::ChunkBody => {
                "a data block"
            }
        }
    }

    /// Whether the string read at this step is kept (for entries that had a dumper).
    fn keeps_text(self) -> bool {
        matches!(
            self,
            Step::Tag | Step::Desc | Step::CopyStmt | Step::Namespace
        )
    }
}

/// What kind of data an entry's block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    LargeObjects,
    Other,
}

/// A table-of-contents entry that had a dumper, so a data block follows for it.
#[derive(Debug, Default)]
struct Entry {
    dump_id: i64,
    tag: String,
    desc: String,
    copy_stmt: String,
    namespace: String,
    seen: bool,
    lines: Lines,
}

impl Entry {
    fn kind(&self) -> Kind {
        match self.desc.as_str() {
            "TABLE DATA" => Kind::Table,
            "BLOBS" => Kind::LargeObjects,
            _ => Kind::Other,
        }
    }

    fn describe(&self) -> String {
        match self.kind() {
            Kind::Table => format!("TABLE DATA {}.{}", self.namespace, self.tag),
            _ => format!("{} (entry {})", self.desc, self.dump_id),
        }
    }
}

/// Row counting over a block's bytes: every newline, plus what is needed to recognise an
/// end-of-data line `\.` followed only by blank lines at the very end.
#[derive(Debug, Default, Clone)]
struct Lines {
    newlines: u64,
    bytes: u64,
    /// Newline bytes that end the data so far, one after another.
    trailing: u64,
    /// Up to three bytes just before those newlines (fewer only at the start of the data).
    before: [u8; 3],
    before_len: u8,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        self.bytes += chunk.len() as u64;
        self.newlines += count_newlines(chunk);
        let Some(last) = chunk.iter().rposition(|&b| b != b'\n') else {
            self.trailing += chunk.len() as u64;
            return;
        };
        // The three bytes ending at `last`, taking the missing ones from the data before
        // this chunk (its `before` bytes, then its trailing newlines).
        let mut window = [0u8; 3];
        let from_chunk = (last + 1).min(3);
        let need = 3 - from_chunk;
        let mut prior = [0u8; 6];
        let mut prior_len = 0;
        for &b in &self.before[..usize::from(self.before_len)] {
            prior[prior_len] = b;
            prior_len += 1;
        }
        for _ in 0..self.trailing.min(3) {
            prior[prior_len] = b'\n';
            prior_len += 1;
        }
        let borrowed = need.min(prior_len);
        let mut len = 0;
        for &b in &prior[prior_len - borrowed..prior_len] {
            window[len] = b;
            len += 1;
        }
        for &b in &chunk[last + 1 - from_chunk..=last] {
            window[len] = b;
            len += 1;
        }
        self.before = window;
        self.before_len = len as u8;
        self.trailing = (chunk.len() - 1 - last) as u64;
    }

    /// The rows, or `None` when the data ends inside a row.
    fn rows(&self) -> Option<u64> {
        if self.bytes > 0 && self.trailing == 0 {
            return None;
        }
        let before = &self.before[..usize::from(self.before_len)];
        let end_marker = self.trailing > 0
            && before.ends_with(b"\\.")
            && (before.len() == 2 || before[0] == b'\n');
        Some(if end_marker {
            // The marker's own newline and the blank lines after it.
            self.newlines - self.trailing
        } else {
            self.newlines
        })
    }
}

/// Newline bytes in `bytes`, counted in blocks the compiler vectorises.
fn count_newlines(bytes: &[u8]) -> u64 {
    let mut total = 0u64;
    // Byte-wide lane counters cannot overflow within 255 bytes.
    for block in bytes.chunks(255) {
        let n: u8 = block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
        total += u64::from(n);
    }
    total
}

/// Reads a custom-format archive pushed in slices of any size; see the module doc.
#[derive(Debug)]
pub struct ArchiveReader {
    step: Step,
    /// Bytes of a scalar that began in an earlier slice.
    pending: Vec<u8>,
    /// Bytes of the current string body (or chunk) still to come.
    body_left: u64,
    /// Whether the current string's length was read and its body is being read.
    in_body: bool,
    /// The kept prefix of the current string.
    text: Vec<u8>,
    /// Bytes read so far, for messages.
    offset: u64,
    version: (u8, u8, u8),
    int_size: usize,
    off_size: usize,
    toc_left: i64,
    toc_total: i64,
    /// The entry being read from the table of contents.
    entry: Entry,
    entry_has_data: bool,
    entries: Vec<Entry>,
    by_id: HashMap<i64, usize>,
    /// The entry whose block is being read, and the block's type.
    block: Option<(usize, u8)>,
    /// The type of the block whose entry id is being read.
    block_type: u8,
    blocks_left: usize,
    error: Option<String>,
}

impl Default for ArchiveReader {
    fn default() -> Self {
        ArchiveReader {
            step: Step::Prologue,
            pending: Vec::with_capacity(16),
            body_left: 0,
            in_body: false,
            text: Vec::new(),
            offset: 0,
            version: (0, 0, 0),
            int_size: 0,
            off_size: 0,
            toc_left: 0,
            toc_total: 0,
            entry: Entry::default(),
            entry_has_data: false,
            entries: Vec::new(),
            by_id: HashMap::new(),
            block: None,
            block_type: 0,
            blocks_left: 0,
            error: None,
        }
    }
}

impl ArchiveReader {
    /// Reads the next slice of the archive. After the first problem the rest is ignored
    /// and `finish` reports it.
    pub fn push(&mut self, mut input: &[u8]) {
        while !input.is_empty() && self.error.is_none() {
            let used = match self.advance(input) {
                Ok(used) => used,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            };
            self.offset += used as u64;
            input = &input[used..];
        }
    }

    /// The archive's tables and their rows, or why the archive is not complete and sound.
    pub fn finish(self) -> Result<Archive, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let at_boundary = self.step == Step::BlockType && self.pending.is_empty();
        if !at_boundary {
            let where_ = match self.block {
                Some((i, _)) => format!("the data of {}", self.entries[i].describe()),
                None if self.step.describe() == "the table of contents" => format!(
                    "the table of contents (entry {} of {})",
                    self.toc_total - self.toc_left + 1,
                    self.toc_total
                ),
                None => self.step.describe().to_string(),
            };
            return Err(format!(
                "the archive is truncated: it ends inside {where_} after {} bytes",
                self.offset
            ));
        }
        if self.blocks_left > 0 {
            let missing: Vec<String> = self
                .entries
                .iter()
                .filter(|e| !e.seen)
                .take(3)
                .map(Entry::describe)
                .collect();
            let more = self.blocks_left.saturating_sub(missing.len());
            return Err(format!(
                "the archive is truncated: it ends after {} bytes without the data of {}{}",
                self.offset,
                missing.join(", "),
                if more > 0 {
                    format!(" and {more} more entries")
                } else {
                    String::new()
                }
            ));
        }
        let large_object_blocks = self
            .entries
            .iter()
            .filter(|e| e.kind() == Kind::LargeObjects)
            .count();
        let mut tables = Vec::new();
        for e in self.entries {
            if e.kind() != Kind::Table {
                continue;
            }
            let rows = e.lines.rows().ok_or_else(|| {
                format!("the data of {} does not end with a whole row", e.describe())
            })?;
            tables.push(TableData {
                schema: e.namespace,
                table: e.tag,
                copy_stmt: e.copy_stmt,
                rows,
            });
        }
        Ok(Archive {
            version: self.version,
            tables,
            large_object_blocks,
        })
    }

    fn fail<T>(&self, what: impl std::fmt::Display) -> Result<T, String> {
        Err(format!("{what} (at byte {} of the archive)", self.offset))
    }

    /// Collects `n` bytes of a scalar; `Ok(None)` when the input ran out first (everything
    /// was consumed into `pending`).
    fn gather<'a>(&'a mut self, input: &'a [u8], n: usize, used: &mut usize) -> Option<&'a [u8]> {
        if self.pending.is_empty() && input.len() >= n {
            *used = n;
            return Some(&input[..n]);
        }
        let take = (n - self.pending.len()).min(input.len());
        self.pending.extend_from_slice(&input[..take]);
        *used = take;
        if self.pending.len() == n {
            Some(&self.pending)
        } else {
            None
        }
    }

    fn int_value(bytes: &[u8]) -> i64 {
        let magnitude = bytes[1..]
            .iter()
            .rev()
            .fold(0u64, |v, &b| (v << 8) | u64::from(b));
        let magnitude = magnitude as i64;
        if bytes[0] != 0 {
            magnitude.wrapping_neg()
        } else {
            magnitude
        }
    }

    /// Reads an int at the current step; `Ok(None)` when more input is needed.
    fn read_int(&mut self, input: &[u8], used: &mut usize) -> Option<i64> {
        let n = 1 + self.int_size;
        let value = self.gather(input, n, used).map(Self::int_value);
        if value.is_some() {
            self.pending.clear();
        }
        value
    }

    /// Consumes some of `input`; returns how many bytes.
    fn advance(&mut self, input: &[u8]) -> Result<usize, String> {
        let mut used = 0;
        match self.step {
            Step::Prologue => {
                let Some(bytes) = self.gather(input, PROLOGUE_LEN, &mut used) else {
                    // Refuse error text or another format as soon as it shows.
                    let seen = &self.pending[..self.pending.len().min(MAGIC.len())];
                    if !MAGIC.starts_with(seen) {
                        return self.fail(
                            "pg_dump output does not start with the custom format's PGDMP header",
                        );
                    }
                    return Ok(used);
                };
                let p: [u8; PROLOGUE_LEN] = bytes.try_into().expect("prologue length");
                self.pending.clear();
                self.prologue(p)?;
                self.step = Step::Compression;
            }
            Step::Compression => {
                if self.version.1 >= 15 {
                    let b = input[0];
                    used = 1;
                    if b != 0 {
                        return self.fail(format!(
                            "the archive is compressed (algorithm {b}); dbward dumps with --compress=0 and cannot count rows in compressed data"
                        ));
                    }
                } else {
                    let Some(level) = self.read_int(input, &mut used) else {
                        return Ok(used);
                    };
                    if level != 0 {
                        return self.fail(format!(
                            "the archive is compressed (level {level}); dbward dumps with --compress=0 and cannot count rows in compressed data"
                        ));
                    }
                }
                self.step = Step::Created(0);
            }
            Step::Created(i) => {
                if self.read_int(input, &mut used).is_some() {
                    self.step = if i < 6 {
                        Step::Created(i + 1)
                    } else {
                        Step::HeaderText(0)
                    };
                }
            }
            Step::BlockType => {
                let b = input[0];
                used = 1;
                if b != BLK_DATA && b != BLK_BLOBS {
                    return self.fail(format!(
                        "unexpected data block type {b} (expected {BLK_DATA} or {BLK_BLOBS})"
                    ));
                }
                self.block_type = b;
                self.step = Step::BlockId;
            }
            Step::ChunkBody => {
                let n = (self.body_left.min(input.len() as u64)) as usize;
                let (index, _) = self.block.expect("inside a block");
                let entry = &mut self.entries[index];
                if entry.kind() == Kind::Table {
                    entry.lines.push(&input[..n]);
                }
                used = n;
                self.body_left -= n as u64;
                if self.body_left == 0 {
                    self.step = Step::ChunkLen;
                }
            }
            Step::DataOffset => {
                let n = 1 + self.off_size;
                let Some(bytes) = self.gather(input, n, &mut used) else {
                    return Ok(used);
                };
                let flag = bytes[0];
                self.pending.clear();
                if !(1..=3).contains(&flag) {
                    return self.fail(format!("unexpected data offset flag {flag}"));
                }
                self.end_entry()?;
            }
            step if is_string(step) => return self.advance_string(input),
            _ => {
                let Some(value) = self.read_int(input, &mut used) else {
                    return Ok(used);
                };
                self.int_read(value)?;
            }
        }
        Ok(used)
    }

    fn prologue(&mut self, p: [u8; PROLOGUE_LEN]) -> Result<(), String> {
        if &p[..5] != MAGIC {
            return self
                .fail("pg_dump output does not start with the custom format's PGDMP header");
        }
        self.version = (p[5], p[6], p[7]);
        let (major, minor) = (p[5], p[6]);
        if (major, minor) < OLDEST_VERSION || (major, minor) > NEWEST_VERSION {
            return self.fail(format!(
                "archive version {major}.{minor}.{} is not one dbward can read ({}.{} to {}.{}, pg_dump 11 to 18)",
                p[7], OLDEST_VERSION.0, OLDEST_VERSION.1, NEWEST_VERSION.0, NEWEST_VERSION.1
            ));
        }
        if p[10] != CUSTOM_FORMAT {
            return self.fail(format!(
                "pg_dump output is archive format {}, not custom ({CUSTOM_FORMAT})",
                p[10]
            ));
        }
        if !(1..=8).contains(&p[8]) {
            return self.fail(format!("unsupported int size {} in the header", p[8]));
        }
        if !(1..=16).contains(&p[9]) {
            return self.fail(format!("unsupported offset size {} in the header", p[9]));
        }
        self.int_size = usize::from(p[8]);
        self.off_size = usize::from(p[9]);
        Ok(())
    }

    /// Acts on an int read at the current step.
    fn int_read(&mut self, value: i64) -> Result<(), String> {
        match self.step {
            Step::TocCount => {
                if value < 0 {
                    return self.fail(format!("negative table of contents count {value}"));
                }
                self.toc_left = value;
                self.toc_total = value;
                self.step = if value == 0 {
                    Step::BlockType
                } else {
                    Step::DumpId
                };
            }
            Step::DumpId => {
                if value <= 0 {
                    return self.fail(format!(
                        "table of contents entry id {value} out of range; the archive is corrupt"
                    ));
                }
                self.entry = Entry {
                    dump_id: value,
                    ..Entry::default()
                };
                self.step = Step::HadDumper;
            }
            Step::HadDumper => {
                self.entry_has_data = value != 0;
                self.step = Step::TableOid;
            }
            Step::Section => self.step = Step::Defn,
            Step::RelKind => self.step = Step::Owner,
            Step::BlockId => {
                let kind = self.block_type;
                let Some(&index) = self.by_id.get(&value) else {
                    return self.fail(format!(
                        "data block for entry {value}, which the table of contents does not list with data"
                    ));
                };
                let entry = &self.entries[index];
                if entry.seen {
                    let what = entry.describe();
                    return self.fail(format!("a second data block for {what}"));
                }
                if (entry.kind() == Kind::LargeObjects) != (kind == BLK_BLOBS) {
                    let what = entry.describe();
                    return self.fail(format!("data block of type {kind} for {what}"));
                }
                self.entries[index].seen = true;
                self.blocks_left -= 1;
                self.block = Some((index, kind));
                self.step = if kind == BLK_BLOBS {
                    Step::LargeObjectOid
                } else {
                    Step::ChunkLen
                };
            }
            Step::LargeObjectOid => {
                if value == 0 {
                    self.end_block();
                } else {
                    self.step = Step::ChunkLen;
                }
            }
            Step::ChunkLen => {
                if value < 0 {
                    return self.fail(format!("negative data chunk length {value}"));
                }
                if value > 0 {
                    self.body_left = value as u64;
                    self.step = Step::ChunkBody;
                } else if self.block.is_some_and(|(_, kind)| kind == BLK_BLOBS) {
                    self.step = Step::LargeObjectOid;
                } else {
                    self.end_block();
                }
            }
            other => unreachable!("no int is read at {other:?}"),
        }
        Ok(())
    }

    fn end_block(&mut self) {
        self.block = None;
        self.step = Step::BlockType;
    }

    /// Reads (part of) a string: its length, then its body, keeping what the step needs.
    fn advance_string(&mut self, input: &[u8]) -> Result<usize, String> {
        let mut used = 0;
        if !self.in_body {
            let Some(len) = self.read_int(input, &mut used) else {
                return Ok(used);
            };
            self.text.clear();
            if len < 0 {
                self.string_read(None)?;
                return Ok(used);
            }
            self.in_body = true;
            self.body_left = len as u64;
        }
        let n = (self.body_left.min((input.len() - used) as u64)) as usize;
        if self.entry_has_data && self.step.keeps_text() {
            let room = KEEP_LIMIT.saturating_sub(self.text.len());
            self.text
                .extend_from_slice(&input[used..used + n.min(room)]);
        }
        used += n;
        self.body_left -= n as u64;
        if self.body_left == 0 {
            self.in_body = false;
            let text = String::from_utf8_lossy(&self.text).into_owned();
            self.string_read(Some(text))?;
        }
        Ok(used)
    }

    /// Acts on a string read at the current step (`None` = NULL).
    fn string_read(&mut self, text: Option<String>) -> Result<(), String> {
        self.step = match self.step {
            Step::HeaderText(i) if i < 2 => Step::HeaderText(i + 1),
            Step::HeaderText(_) => Step::TocCount,
            Step::TableOid => Step::Oid,
            Step::Oid => Step::Tag,
            Step::Tag => {
                self.entry.tag = text.unwrap_or_default();
                Step::Desc
            }
            Step::Desc => {
                self.entry.desc = text.unwrap_or_default();
                Step::Section
            }
            Step::Defn => Step::DropStmt,
            Step::DropStmt => Step::CopyStmt,
            Step::CopyStmt => {
                self.entry.copy_stmt = text.unwrap_or_default();
                Step::Namespace
            }
            Step::Namespace => {
                self.entry.namespace = text.unwrap_or_default();
                Step::Tablespace
            }
            Step::Tablespace if self.version.1 >= 14 => Step::TableAm,
            Step::Tablespace => Step::Owner,
            Step::TableAm if self.version.1 >= 16 => Step::RelKind,
            Step::TableAm => Step::Owner,
            Step::Owner => Step::WithOids,
            Step::WithOids => Step::Dependency,
            // Only a NULL ends the list (pg_restore reads an empty string as an entry).
            Step::Dependency if text.is_some() => Step::Dependency,
            Step::Dependency => Step::DataOffset,
            other => unreachable!("no string is read at {other:?}"),
        };
        Ok(())
    }

    fn end_entry(&mut self) -> Result<(), String> {
        let entry = std::mem::take(&mut self.entry);
        if self.entry_has_data {
            if self.by_id.contains_key(&entry.dump_id) {
                return self.fail(format!(
                    "two table of contents entries with data have id {}",
                    entry.dump_id
                ));
            }
            self.by_id.insert(entry.dump_id, self.entries.len());
            self.entries.push(entry);
            self.blocks_left += 1;
        }
        self.toc_left -= 1;
        self.step = if self.toc_left == 0 {
            Step::BlockType
        } else {
            Step::DumpId
        };
        Ok(())
    }
}

fn is_string(step: Step) -> bool {
    matches!(
        step,
        Step::HeaderText(_)
            | Step::TableOid
            | Step::Oid
            | Step::Tag
            | Step::Desc
            | Step::Defn
            | Step::DropStmt
            | Step::CopyStmt
            | Step::Namespace
            | Step::Tablespace
            | Step::TableAm
            | Step::Owner
            | Step::WithOids
            | Step::Dependency
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Writes archives the way pg_dump does (`WriteHead`, `WriteToc`, the custom format's
    /// blocks), for any supported version and scalar sizes.
    struct Writer {
        minor: u8,
        int_size: usize,
        out: Vec<u8>,
    }

    impl Writer {
        fn byte(&mut self, b: u8) {
            self.out.push(b);
        }

        fn int(&mut self, v: i64) {
            self.out.push(u8::from(v < 0));
            let mut m = v.unsigned_abs();
            for _ in 0..self.int_size {
                self.out.push(m as u8);
                m >>= 8;
            }
        }

        fn str(&mut self, s: Option<&[u8]>) {
            match s {
                None => self.int(-1),
                Some(s) => {
                    self.int(s.len() as i64);
                    self.out.extend_from_slice(s);
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Gen {
        Table {
            schema: String,
            table: String,
            rows: Vec<Vec<u8>>,
            /// 0: no end-of-data line; n: `\.` and n - 1 blank lines.
            end_lines: usize,
        },
        LargeObjects(Vec<(i64, Vec<u8>)>),
        Schema {
            desc: String,
            defn: Vec<u8>,
        },
    }

    impl Gen {
        fn data(&self) -> Vec<u8> {
            match self {
                Gen::Table {
                    rows, end_lines, ..
                } => {
                    let mut data = Vec::new();
                    for row in rows {
                        data.extend_from_slice(row);
                        data.push(b'\n');
                    }
                    if *end_lines > 0 {
                        data.extend_from_slice(b"\\.\n");
                        data.extend(std::iter::repeat_n(b'\n', end_lines - 1));
                    }
                    data
                }
                _ => Vec::new(),
            }
        }
    }

    /// Writes `data` as chunks cut at `cuts` (positions taken modulo the length).
    fn chunks(w: &mut Writer, data: &[u8], cuts: &[usize]) {
        let mut points: Vec<usize> = cuts
            .iter()
            .map(|c| c % (data.len() + 1))
            .filter(|&c| c > 0 && c < data.len())
            .collect();
        points.sort_unstable();
        points.dedup();
        let mut start = 0;
        for end in points.into_iter().chain([data.len()]) {
            if end > start {
                w.int((end - start) as i64);
                w.out.extend_from_slice(&data[start..end]);
            }
            start = end;
        }
        w.int(0);
    }

    fn archive(
        minor: u8,
        int_size: usize,
        off_size: usize,
        entries: &[Gen],
        order: &[usize],
        cuts: &[usize],
    ) -> Vec<u8> {
        let mut w = Writer {
            minor,
            int_size,
            out: b"PGDMP".to_vec(),
        };
        for b in [1, w.minor, 0, int_size as u8, off_size as u8, CUSTOM_FORMAT] {
            w.byte(b);
        }
        if minor >= 15 {
            w.byte(0);
        } else {
            w.int(0);
        }
        for v in [37, 22, 14, 21, 10, 126, 0] {
            w.int(v);
        }
        w.str(Some(b"shop"));
        w.str(Some(b"15.20"));
        w.str(Some(b"15.20 (Debian 15.20-0+deb12u1)"));
        w.int(entries.len() as i64 + 1);
        // An entry without data first, as pg_dump's ENCODING entry.
        let all = std::iter::once(Gen::Schema {
            desc: "ENCODING".into(),
            defn: b"SET client_encoding = 'UTF8';\n".to_vec(),
        })
        .chain(entries.iter().cloned());
        for (i, e) in all.enumerate() {
            let id = i as i64 + 1;
            w.int(id);
            w.int(i64::from(!matches!(e, Gen::Schema { .. })));
            w.str(Some(b"0"));
            w.str(Some(id.to_string().as_bytes()));
            let (tag, desc, defn, copy, ns): (
                String,
                String,
                Vec<u8>,
                Option<String>,
                Option<String>,
            ) = match &e {
                Gen::Table { schema, table, .. } => (
                    table.clone(),
                    "TABLE DATA".into(),
                    Vec::new(),
                    Some(format!("COPY {schema}.{table} (a) FROM stdin;\n")),
                    Some(schema.clone()),
                ),
                Gen::LargeObjects(_) => ("BLOBS".into(), "BLOBS".into(), Vec::new(), None, None),
                Gen::Schema { desc, defn } => {
                    (desc.clone(), desc.clone(), defn.clone(), None, None)
                }
            };
            w.str(Some(tag.as_bytes()));
            w.str(Some(desc.as_bytes()));
            w.int(if desc == "TABLE DATA" { 3 } else { 2 });
            w.str(Some(&defn));
            w.str(Some(b""));
            w.str(copy.as_deref().map(str::as_bytes));
            w.str(ns.as_deref().map(str::as_bytes));
            w.str(None);
            if minor >= 14 {
                w.str(if i % 2 == 0 { Some(b"heap") } else { None });
            }
            if minor >= 16 {
                w.int(i64::from(b'r'));
            }
            w.str(Some(b"postgres"));
            w.str(Some(b"false"));
            for dep in 1..id.min(4) {
                w.str(Some(dep.to_string().as_bytes()));
            }
            w.str(None);
            w.byte(if matches!(e, Gen::Schema { .. }) {
                3
            } else {
                1
            });
            for _ in 0..off_size {
                w.byte(0);
            }
        }
        // Data blocks, in the given order.
        let mut ids: Vec<usize> = (0..entries.len())
            .filter(|&i| !matches!(entries[i], Gen::Schema { .. }))
            .collect();
        ids.sort_by_key(|&i| order.get(i).copied().unwrap_or(i));
        for i in ids {
            let id = i as i64 + 2;
            match &entries[i] {
                Gen::LargeObjects(objects) => {
                    w.byte(BLK_BLOBS);
                    w.int(id);
                    for (oid, data) in objects {
                        w.int(*oid);
                        chunks(&mut w, data, cuts);
                    }
                    w.int(0);
                }
                table => {
                    w.byte(BLK_DATA);
                    w.int(id);
                    chunks(&mut w, &table.data(), cuts);
                }
            }
        }
        w.out
    }

    fn read(bytes: &[u8], slices: &[usize]) -> Result<Archive, String> {
        let mut reader = ArchiveReader::default();
        let mut rest = bytes;
        let mut sizes = slices.iter().cycle();
        while !rest.is_empty() {
            let n = sizes
                .next()
                .copied()
                .unwrap_or(rest.len())
                .clamp(1, rest.len());
            reader.push(&rest[..n]);
            rest = &rest[n..];
        }
        reader.finish()
    }

    fn counts(archive: &Archive) -> Vec<(String, String, u64)> {
        archive
            .tables
            .iter()
            .map(|t| (t.schema.clone(), t.table.clone(), t.rows))
            .collect()
    }

    fn expected(entries: &[Gen]) -> Vec<(String, String, u64)> {
        entries
            .iter()
            .filter_map(|e| match e {
                Gen::Table {
                    schema,
                    table,
                    rows,
                    ..
                } => Some((schema.clone(), table.clone(), rows.len() as u64)),
                _ => None,
            })
            .collect()
    }

    /// COPY text rows: escaped newlines and backslashes, tabs, NULLs, empty rows.
    fn row() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just(b"a".to_vec()),
            Just("é🦀".as_bytes().to_vec()),
            Just(b"\t".to_vec()),
            Just(b"\\n".to_vec()),
            Just(b"\\r".to_vec()),
            Just(b"\\\\".to_vec()),
            Just(b".".to_vec()),
            Just(b"\\N".to_vec()),
            Just(b"\\\\.".to_vec()),
        ];
        proptest::collection::vec(token, 0..6).prop_map(|t| t.concat())
    }

    fn entry() -> impl Strategy<Value = Gen> {
        let name = "[a-z_\"\\. ]{1,8}";
        prop_oneof![
            4 => (name, name, proptest::collection::vec(row(), 0..12), 0usize..4).prop_map(
                |(schema, table, rows, end_lines)| Gen::Table { schema, table, rows, end_lines }
            ),
            1 => proptest::collection::vec(
                (1i64..100_000, proptest::collection::vec(any::<u8>(), 0..40)),
                0..4
            )
            .prop_map(Gen::LargeObjects),
            2 => ("[A-Z ]{1,12}", proptest::collection::vec(any::<u8>(), 0..60))
                .prop_map(|(desc, defn)| Gen::Schema { desc, defn }),
        ]
    }

    fn layout() -> impl Strategy<Value = (u8, usize, usize)> {
        (
            12u8..=16,
            prop_oneof![Just(4usize), Just(8)],
            prop_oneof![Just(4usize), Just(8)],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn rows_are_counted_exactly_whatever_the_slicing(
            (minor, int_size, off_size) in layout(),
            entries in proptest::collection::vec(entry(), 0..8),
            order in proptest::collection::vec(0usize..100, 8),
            cuts in proptest::collection::vec(0usize..1000, 0..6),
            slices in proptest::collection::vec(1usize..40, 1..8),
        ) {
            let bytes = archive(minor, int_size, off_size, &entries, &order, &cuts);
            let got = read(&bytes, &slices).map_err(TestCaseError::fail)?;
            prop_assert_eq!(got.version, (1, minor, 0));
            prop_assert_eq!(counts(&got), expected(&entries));
            let lo = entries.iter().filter(|e| matches!(e, Gen::LargeObjects(_))).count();
            prop_assert_eq!(got.large_object_blocks, lo);
            // One slice, or one byte at a time: the same.
            prop_assert_eq!(read(&bytes, &[bytes.len()]), Ok(got.clone()));
            prop_assert_eq!(read(&bytes, &[1]), Ok(got));
        }

        #[test]
        fn every_truncation_fails(
            (minor, int_size, off_size) in layout(),
            entries in proptest::collection::vec(entry(), 0..5),
            cuts in proptest::collection::vec(0usize..1000, 0..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = archive(minor, int_size, off_size, &entries, &[], &cuts);
            let cut = cut.index(bytes.len());
            let err = read(&bytes[..cut], &[7]).unwrap_err();
            prop_assert!(err.contains("truncated") || err.contains("PGDMP"), "{}", err);
        }

        #[test]
        fn damaged_archives_never_panic(
            entries in proptest::collection::vec(entry(), 0..5),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = archive(14, 4, 8, &entries, &[], &[]);
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let _ = read(&bytes, &[13]);
        }
    }

    fn one_table(rows: &[&[u8]], end_lines: usize) -> Vec<u8> {
        let t = Gen::Table {
            schema: "public".into(),
            table: "t".into(),
            rows: rows.iter().map(|r| r.to_vec()).collect(),
            end_lines,
        };
        archive(14, 4, 8, &[t], &[], &[])
    }

    #[test]
    fn the_end_of_data_line_and_blank_lines_after_it_are_not_rows() {
        let cases: Vec<(&[&[u8]], usize, u64)> = vec![
            (&[], 0, 0),
            (&[], 1, 0),
            (&[], 3, 0),
            (&[b"1"], 3, 1),
            (&[b""], 0, 1),
            (&[b"", b""], 3, 2),
            (&[b"\\\\."], 3, 1),
            (&[b"x\\\\."], 0, 1),
            (&[b"1", b"\\\\."], 1, 2),
        ];
        for (rows, end_lines, want) in cases {
            for size in [1, 2, 3, 5, 1000] {
                let got = read(&one_table(rows, end_lines), &[size]).unwrap();
                assert_eq!(got.tables[0].rows, want, "{rows:?} {end_lines} by {size}");
            }
        }
    }

    /// A real archive: `pg_dump --format=custom --compress=0` 15.20 of a database with a
    /// table of two rows (one holding an escaped newline), an empty table, a table named
    /// `order` and one large object.
    const PG15_DUMP: &[u8] = include_bytes!("../testdata/pg15-custom-small.dump");

    #[test]
    fn a_real_pg_dump_15_archive_is_read() {
        for size in [1, 3, 64, PG15_DUMP.len()] {
            let got = read(PG15_DUMP, &[size]).unwrap();
            assert_eq!(got.version, (1, 14, 0));
            assert_eq!(got.large_object_blocks, 1);
            let tables: Vec<(&str, &str, u64)> = got
                .tables
                .iter()
                .map(|t| (t.schema.as_str(), t.table.as_str(), t.rows))
                .collect();
            assert_eq!(
                tables,
                [
                    ("public", "e", 0),
                    ("public", "order", 1),
                    ("public", "t", 2)
                ]
            );
            assert!(
                got.tables[1]
                    .copy_stmt
                    .starts_with("COPY public.\"order\" (x) FROM stdin;")
            );
        }
    }

    #[test]
    fn damage_is_named() {
        let bytes = one_table(&[b"1", b"2"], 3);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                b"pg_dump: error: connection failed".to_vec(),
                "does not start with the custom format's PGDMP header",
            ),
            (Vec::new(), "ends inside the archive header after 0 bytes"),
            (
                bytes[..bytes.len() - 1].to_vec(),
                "ends inside the data of TABLE DATA public.t",
            ),
            (bytes[..60].to_vec(), "ends inside the archive header"),
            (
                bytes[..200].to_vec(),
                "ends inside the table of contents (entry 1 of 2)",
            ),
            (
                {
                    let mut b = bytes.clone();
                    b[6] = 17;
                    b
                },
                "archive version 1.17.0 is not one dbward can read",
            ),
            (
                {
                    let mut b = bytes.clone();
                    b[10] = 5;
                    b
                },
                "archive format 5, not custom",
            ),
            (
                {
                    let mut b = bytes.clone();
                    b[12] = 6;
                    b
                },
                "compressed (level 6)",
            ),
        ];
        for (input, want) in cases {
            let err = read(&input, &[4]).unwrap_err();
            assert!(err.contains(want), "{want:?} not in {err:?}");
            assert!(!err.contains('\n'), "{err}");
        }
        // Cut exactly between data blocks: the data of the rest is missing.
        let two = archive(
            15,
            4,
            8,
            &[
                Gen::Table {
                    schema: "s".into(),
                    table: "a".into(),
                    rows: vec![b"1".to_vec()],
                    end_lines: 0,
                },
                Gen::Table {
                    schema: "s".into(),
                    table: "b".into(),
                    rows: vec![],
                    end_lines: 0,
                },
            ],
            &[],
            &[],
        );
        // The last block is a type byte, an id and a zero length: 11 bytes.
        let err = read(&two[..two.len() - 11], &[4]).unwrap_err();
        assert!(err.contains("without the data of TABLE DATA s.b"), "{err}");
        // A block that closes in the middle of a row.
        let t = Gen::Table {
            schema: "s".into(),
            table: "c".into(),
            rows: vec![],
            end_lines: 0,
        };
        let mut w = archive(15, 4, 8, &[t], &[], &[]);
        // Replace the empty block (type, id, 0) by one holding an unterminated row.
        w.truncate(w.len() - 5);
        w.extend_from_slice(&[0, 3, 0, 0, 0]);
        w.extend_from_slice(b"1\t2");
        w.extend_from_slice(&[0, 0, 0, 0, 0]);
        let err = read(&w, &[4]).unwrap_err();
        assert!(err.contains("does not end with a whole row"), "{err}");
    }

    #[test]
    fn newlines_are_counted_in_long_inputs() {
        let mut data = vec![b'x'; 100_000];
        for i in (0..data.len()).step_by(7) {
            data[i] = b'\n';
        }
        let want = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(count_newlines(&data), want);
        assert_eq!(count_newlines(&[b'\n'; 1000]), 1000);
    }

    /// Throughput over a real dump: `DBWARD_ARCHIVE_BENCH=/path/to.dump cargo test --release
    /// -p dbward-source-postgres --lib -- --ignored --nocapture archive_throughput`.
    #[test]
    #[ignore]
    fn archive_throughput() {
        let Ok(path) = std::env::var("DBWARD_ARCHIVE_BENCH") else {
            return;
        };
        let bytes = std::fs::read(&path).unwrap();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let mut reader = ArchiveReader::default();
            for chunk in bytes.chunks(64 * 1024) {
                reader.push(chunk);
            }
            let archive = reader.finish().unwrap();
            let secs = started.elapsed().as_secs_f64();
            let rows: u64 = archive.tables.iter().map(|t| t.rows).sum();
            eprintln!(
                "{} bytes, {} tables, {rows} rows in {secs:.3}s: {:.0} MB/s",
                bytes.len(),
                archive.tables.len(),
                bytes.len() as f64 / secs / 1e6
            );
        }
    }
}
