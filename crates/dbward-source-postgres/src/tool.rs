//! Choosing the PostgreSQL client binaries (F15). A dump made by a tool older than the server
//! is refused by pg_dump itself, and one made by a much newer tool may not restore on the old
//! target, so dbward takes the oldest installed pg_dump that still understands the server.
//! Restores take the oldest pg_restore (custom format) or psql (plain) that is at least as
//! new as the pg_dump that wrote the dump. Both search the same places.

use std::fmt;
use std::path::{Path, PathBuf};

use dbward_core::Error;
use dbward_core::process::{find_program, run_for_output};

/// Where Debian and Ubuntu install one directory per PostgreSQL major version.
const DEBIAN_LIB_DIR: &str = "/usr/lib/postgresql";

/// A PostgreSQL major version as `major * 100 + minor-major`: 15 is 1500, 9.6 is 906. Before
/// version 10 the major version had two parts, and 9.5 cannot dump a 9.6 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgMajor(u32);

impl PgMajor {
    /// From `server_version_num` (`150020`, `90605`).
    pub fn from_version_num(num: u32) -> Self {
        if num >= 100_000 {
            PgMajor(num / 10_000 * 100)
        } else {
            PgMajor(num / 100)
        }
    }

    /// From a version string (`15.19`, `9.6.0`, `17beta1`); `None` when it holds no number.
    pub fn parse(version: &str) -> Option<Self> {
        let mut parts = version.split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let first = parts.next()??;
        if first >= 10 {
            Some(PgMajor(first * 100))
        } else {
            let second = parts.next().flatten().unwrap_or(0);
            Some(PgMajor(first * 100 + second))
        }
    }

    /// The number Debian uses in package names (`postgresql-client-15`).
    pub fn package_suffix(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PgMajor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000 {
            write!(f, "{}", self.0 / 100)
        } else {
            write!(f, "{}.{}", self.0 / 100, self.0 % 100)
        }
    }
}

/// One client tool found on this machine, with the version it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCandidate {
    pub path: PathBuf,
    /// As printed by `--version`: `15.19`.
    pub version: String,
    pub major: PgMajor,
}

/// Extracts the version from `pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)`.
pub fn parse_tool_version(output: &str) -> Option<(String, PgMajor)> {
    let line = output.lines().next()?;
    let token = line
        .split_whitespace()
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))?;
    Some((token.to_string(), PgMajor::parse(token)?))
}

/// What a tool must be to do the job: which program, at least which major, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need<'a> {
    /// `pg_dump`, `pg_restore`, `psql`.
    pub program: &'a str,
    /// The lowest acceptable major version.
    pub major: PgMajor,
    /// The version the tool must understand, for messages: the server's (`15.2`) for
    /// pg_dump, the dump's for a restore (`dump written by pg_dump 17.2`).
    pub against: &'a str,
    /// Added to the install hint when no tool at all is found (the restore names the dump).
    pub missing_note: Option<&'a str>,
}

impl<'a> Need<'a> {
    /// pg_dump against a server of `server` major, which names itself `server_version`.
    pub fn pg_dump(server: PgMajor, server_version: &'a str) -> Self {
        Need {
            program: "pg_dump",
            major: server,
            against: server_version,
            missing_note: None,
        }
    }
}

fn install_hint(major: PgMajor) -> String {
    format!(
        "install postgresql-client-{} or set tool_dir",
        major.package_suffix()
    )
}

/// Picks the lowest-major candidate that is at least the needed major (the same major when
/// installed); among equal majors the first found wins, so `tool_dir` and the versioned
/// directories beat whatever `PATH` happens to hold.
pub fn choose_tool(
    candidates: &[ToolCandidate],
    need: &Need<'_>,
    searched: &str,
) -> Result<ToolCandidate, Error> {
    let best = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.major >= need.major)
        .min_by_key(|(i, c)| (c.major, *i))
        .map(|(_, c)| c.clone());
    if let Some(best) = best {
        return Ok(best);
    }
    match candidates.iter().max_by_key(|c| c.major) {
        None => Err(Error::ToolMissing {
            tool: need.program.into(),
            searched: searched.into(),
            hint: match need.missing_note {
                Some(note) => format!("{} ({note})", install_hint(need.major)),
                None => install_hint(need.major),
            },
        }),
        Some(newest) => Err(Error::ToolTooOld {
            tool: format!("{} ({})", need.program, newest.path.display()),
            tool_version: newest.version.clone(),
            server_version: need.against.into(),
            hint: install_hint(need.major),
        }),
    }
}

/// Every copy of `program` worth asking for its version, and a description of where dbward
/// looked.
pub fn candidate_paths(program: &str, tool_dir: Option<&Path>) -> (Vec<PathBuf>, String) {
    if let Some(dir) = tool_dir {
        let found = find_program(program, &[dir.to_path_buf()]);
        return (found.into_iter().collect(), dir.display().to_string());
    }
    let mut versioned: Vec<(PgMajor, PathBuf)> = std::fs::read_dir(DEBIAN_LIB_DIR)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major = PgMajor::parse(entry.file_name().to_str()?)?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versioned.sort();
    let mut found: Vec<PathBuf> = versioned
        .into_iter()
        .filter_map(|(_, bin)| find_program(program, &[bin]))
        .collect();
    if let Some(on_path) = find_program(program, &[]) {
        found.push(on_path);
    }
    (found, format!("{DEBIAN_LIB_DIR}/*/bin and PATH"))
}

/// Asks each candidate for its version. One that cannot answer is left out, as if absent,
/// and described in the returned notes so that the error says why it was not used.
pub async fn probe_candidates(paths: Vec<PathBuf>) -> (Vec<ToolCandidate>, Vec<String>) {
    let mut found = Vec::with_capacity(paths.len());
    let mut notes = Vec::new();
    for path in paths {
        match run_for_output(&path, ["--version"]).await {
            Ok(text) => match parse_tool_version(&text) {
                Some((version, major)) => found.push(ToolCandidate {
                    path,
                    version,
                    major,
                }),
                None => notes.push(format!(
                    "{} printed no version ({:?})",
                    path.display(),
                    text.trim()
                )),
            },
            Err(e) => notes.push(e.to_string()),
        }
    }
    (found, notes)
}

/// Finds the tool that meets `need`, searching `tool_dir` only when set, otherwise
/// `/usr/lib/postgresql/<N>/bin` then `PATH`.
pub async fn find_tool(tool_dir: Option<&Path>, need: &Need<'_>) -> Result<ToolCandidate, Error> {
    let (candidates, searched) = installed(need.program, tool_dir).await;
    choose_tool(&candidates, need, &searched)
}

/// Every working copy of `program` (see [`find_tool`] for where), and where dbward looked,
/// with the copies that could not tell their version.
pub async fn installed(program: &str, tool_dir: Option<&Path>) -> (Vec<ToolCandidate>, String) {
    let (paths, mut searched) = candidate_paths(program, tool_dir);
    let (candidates, notes) = probe_candidates(paths).await;
    for note in notes {
        searched.push_str("; ");
        searched.push_str(&note);
    }
    (candidates, searched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(path: &str, version: &str) -> ToolCandidate {
        ToolCandidate {
            path: path.into(),
            version: version.into(),
            major: PgMajor::parse(version).unwrap(),
        }
    }

    #[test]
    fn versions_parse_from_tool_output_and_server_numbers() {
        let cases = [
            (
                "pg_dump (PostgreSQL) 15.19 (Debian 15.19-0+deb12u1)",
                "15.19",
                "15",
            ),
            ("pg_dump (PostgreSQL) 9.6.0", "9.6.0", "9.6"),
            ("pg_dump (PostgreSQL) 17beta1", "17beta1", "17"),
            ("pg_dump (PostgreSQL) 10.23\n", "10.23", "10"),
        ];
        for (output, version, major) in cases {
            let (v, m) = parse_tool_version(output).unwrap();
            assert_eq!(
                (v.as_str(), m.to_string().as_str()),
                (version, major),
                "{output}"
            );
        }
        assert_eq!(parse_tool_version("pg_dump (PostgreSQL)"), None);
        assert_eq!(parse_tool_version(""), None);
        assert_eq!(
            PgMajor::from_version_num(150020),
            PgMajor::parse("15.20").unwrap()
        );
        assert_eq!(
            PgMajor::from_version_num(90605),
            PgMajor::parse("9.6.5").unwrap()
        );
        assert!(PgMajor::from_version_num(90500) < PgMajor::from_version_num(90600));
        assert!(PgMajor::from_version_num(90600) < PgMajor::from_version_num(100000));
    }

    enum Want {
        Path(&'static str),
        Missing,
        TooOld(&'static str),
    }

    #[test]
    fn tool_choice_prefers_the_lowest_major_not_older_than_the_server() {
        let cases: Vec<(&str, Vec<ToolCandidate>, u32, Want)> = vec![
            ("nothing installed", vec![], 150000, Want::Missing),
            (
                "same major",
                vec![cand("/a/15", "15.19")],
                150002,
                Want::Path("/a/15"),
            ),
            (
                "same major beats newer",
                vec![
                    cand("/a/17", "17.2"),
                    cand("/a/15", "15.1"),
                    cand("/a/16", "16.4"),
                ],
                150000,
                Want::Path("/a/15"),
            ),
            (
                "newer when same is absent",
                vec![
                    cand("/a/13", "13.0"),
                    cand("/a/17", "17.2"),
                    cand("/a/16", "16.4"),
                ],
                150000,
                Want::Path("/a/16"),
            ),
            (
                "first of equal majors wins",
                vec![cand("/usr/lib/15", "15.19"), cand("/usr/bin", "15.20")],
                150000,
                Want::Path("/usr/lib/15"),
            ),
            (
                "only older",
                vec![cand("/a/13", "13.0"), cand("/a/14", "14.9")],
                150000,
                Want::TooOld("14.9"),
            ),
            (
                "old two-part majors",
                vec![cand("/a/9.5", "9.5.2")],
                90600,
                Want::TooOld("9.5.2"),
            ),
            (
                "ten beats nine",
                vec![cand("/a/10", "10.1")],
                90600,
                Want::Path("/a/10"),
            ),
        ];
        for (name, candidates, server_num, want) in cases {
            let server = PgMajor::from_version_num(server_num);
            let got = choose_tool(&candidates, &Need::pg_dump(server, "15.2"), "/somewhere");
            match (want, got) {
                (Want::Path(p), Ok(c)) => assert_eq!(c.path, PathBuf::from(p), "{name}"),
                (Want::Missing, Err(e @ Error::ToolMissing { .. })) => {
                    let text = e.to_string();
                    assert!(text.contains("/somewhere"), "{name}: {text}");
                    assert!(
                        text.contains(&format!("postgresql-client-{server}")),
                        "{name}: {text}"
                    );
                }
                (Want::TooOld(v), Err(e @ Error::ToolTooOld { .. })) => {
                    let text = e.to_string();
                    assert!(text.contains(v) && text.contains("15.2"), "{name}: {text}");
                }
                (_, got) => panic!("{name}: unexpected {got:?}"),
            }
        }
    }
}
