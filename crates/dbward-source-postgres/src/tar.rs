//! A streaming walk over a tar archive (ustar, with GNU and pax extension headers) that
//! proves its structure without holding it: every header's checksum, every member's content
//! present, the end-of-archive blocks, and the content of a few small members worth reading
//! (`backup_label`). Pure: fed chunk by chunk.

use std::collections::BTreeMap;

const BLOCK: usize = 512;

/// Members whose content is kept (small text files), by name, up to this size.
const KEEP_BYTES: u64 = 64 * 1024;

/// What a complete archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarSummary {
    pub members: u64,
    pub bytes: u64,
    /// The wanted names the archive holds, in archive order.
    pub found: Vec<String>,
    /// The content of the kept members.
    pub kept: BTreeMap<String, Vec<u8>>,
}

/// Walks a tar archive fed in chunks.
#[derive(Debug)]
pub struct TarWalker {
    /// Names to look for; their presence is reported in `found`.
    wanted: Vec<String>,
    /// Names whose content to keep.
    keep: Vec<String>,
    header: Vec<u8>,
    /// Content bytes (with padding) left of the current member.
    skip: u64,
    /// The member whose content is being kept, and its size.
    keeping: Option<(String, u64)>,
    summary: TarSummary,
    zero_blocks: u8,
    error: Option<String>,
}

impl TarWalker {
    pub fn new(wanted: &[&str], keep: &[&str]) -> Self {
        TarWalker {
            wanted: wanted.iter().map(|s| s.to_string()).collect(),
            keep: keep.iter().map(|s| s.to_string()).collect(),
            header: Vec::with_capacity(BLOCK),
            skip: 0,
            keeping: None,
            summary: TarSummary {
                members: 0,
                bytes: 0,
                found: Vec::new(),
                kept: BTreeMap::new(),
            },
            zero_blocks: 0,
            error: None,
        }
    }

    pub fn push(&mut self, mut chunk: &[u8]) {
        self.summary.bytes += chunk.len() as u64;
        while !chunk.is_empty() && self.error.is_none() {
            if self.skip > 0 {
                let take = (self.skip.min(chunk.len() as u64)) as usize;
                if let Some((name, size)) = &self.keeping {
                    let content = self.summary.kept.entry(name.clone()).or_default();
                    let room = (*size as usize).saturating_sub(content.len());
                    content.extend_from_slice(&chunk[..take.min(room)]);
                }
                self.skip -= take as u64;
                chunk = &chunk[take..];
                if self.skip == 0 {
                    self.keeping = None;
                }
                continue;
            }
            let take = (BLOCK - self.header.len()).min(chunk.len());
            self.header.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.header.len() == BLOCK {
                let header = std::mem::take(&mut self.header);
                self.header_block(&header);
            }
        }
    }

    fn header_block(&mut self, header: &[u8]) {
        if self.zero_blocks >= 2 {
            if header.iter().any(|b| *b != 0) {
                self.error = Some("data after the end-of-archive blocks".into());
            }
            return;
        }
        if header.iter().all(|b| *b == 0) {
            self.zero_blocks += 1;
            return;
        }
        if self.zero_blocks > 0 {
            self.error = Some(format!(
                "a lone zero block before member {}",
                self.summary.members + 1
            ));
            return;
        }
        let stored = octal(&header[148..156]);
        let computed: u64 = header
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if stored != Some(computed) {
            self.error = Some(format!(
                "the header of member {} has a wrong checksum (damaged, or not a tar archive)",
                self.summary.members + 1
            ));
            return;
        }
        let Some(size) = size_field(&header[124..136]) else {
            self.error = Some(format!(
                "member {} has an unreadable size",
                self.summary.members + 1
            ));
            return;
        };
        self.summary.members += 1;
        let end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..end]).into_owned();
        if self.wanted.contains(&name) {
            self.summary.found.push(name.clone());
        }
        if self.keep.contains(&name) && size <= KEEP_BYTES {
            self.keeping = Some((name, size));
        }
        self.skip = size.div_ceil(BLOCK as u64) * BLOCK as u64;
    }

    /// The summary of a complete archive, or what is wrong with it.
    pub fn finish(self) -> Result<TarSummary, String> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.skip > 0 || !self.header.is_empty() {
            return Err(format!(
                "the archive ends inside member {} (truncated)",
                self.summary.members
            ));
        }
        if self.zero_blocks < 2 {
            return Err("the archive has no end-of-archive blocks (truncated)".into());
        }
        Ok(self.summary)
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(['\0', ' ']);
    u64::from_str_radix(text, 8).ok()
}

/// A size: octal, or GNU base-256 (first byte 0x80) for members over 8 GiB.
fn size_field(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let tail = &field[field.len() - 8..];
        return Some(u64::from_be_bytes(tail.try_into().ok()?));
    }
    octal(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar archive made by the system's tar, the reference.
    fn reference_archive() -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("backup_label"), "START TIMELINE: 1\n").unwrap();
        std::fs::create_dir(dir.path().join("global")).unwrap();
        std::fs::write(dir.path().join("global/pg_control"), vec![7u8; 8192]).unwrap();
        std::fs::write(dir.path().join("big"), vec![1u8; 3000]).unwrap();
        let out = std::process::Command::new("tar")
            .args(["--create", "--format=ustar", "--file=-", "-C"])
            .arg(dir.path())
            .args(["backup_label", "global/pg_control", "big"])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    fn walk(bytes: &[u8], piece: usize) -> Result<TarSummary, String> {
        let mut walker = TarWalker::new(&["backup_label", "global/pg_control"], &["backup_label"]);
        for chunk in bytes.chunks(piece) {
            walker.push(chunk);
        }
        walker.finish()
    }

    #[test]
    fn a_tar_archive_is_walked_in_any_pieces() {
        let bytes = reference_archive();
        for piece in [1, 511, 512, 4096, bytes.len()] {
            let summary = walk(&bytes, piece).unwrap();
            assert_eq!(summary.members, 3, "{piece}");
            assert_eq!(summary.found, ["backup_label", "global/pg_control"]);
            assert_eq!(summary.kept["backup_label"], b"START TIMELINE: 1\n");
        }
    }

    #[test]
    fn damage_and_truncation_are_found() {
        let bytes = reference_archive();
        let mut damaged = bytes.clone();
        damaged[1024 + 10] ^= 1; // the second member's header (backup_label has one block)
        let err = walk(&damaged, 4096).unwrap_err();
        assert!(err.contains("wrong checksum"), "{err}");
        let err = walk(&bytes[..2048], 4096).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        let end = bytes.len() - bytes.iter().rev().take_while(|b| **b == 0).count();
        let cut = end.div_ceil(512) * 512;
        let err = walk(&bytes[..cut], 4096).unwrap_err();
        assert!(err.contains("end-of-archive"), "{err}");
    }
}
