//! The dump tool: which program (`mariadb-dump` or `mysqldump`), where it is, which version
//! and flavour it is, and whether it can dump a given server (F15). The compatibility rule is
//! a pure function so that every pairing is covered by a table-driven test.

use std::path::{Path, PathBuf};

use dbward_core::process::{find_program, run_for_output};
use dbward_core::{Engine, Error, Result};

/// Who built a client or server: the two diverged after MySQL 5.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Mysql,
    Mariadb,
}

/// A parsed server or tool version; `text` is what the program printed (`10.11.19-MariaDB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub flavor: Flavor,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub text: String,
}

impl Version {
    pub(crate) fn parse_numbers(text: &str, flavor: Flavor) -> Option<Version> {
        let numeric: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(Version {
            flavor,
            major,
            minor,
            patch,
            text: text.to_string(),
        })
    }

    fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

/// Parses `SELECT VERSION()`: `8.0.36`, `10.11.19-MariaDB-0+deb12u1`, and the replication
/// disguise `5.5.5-10.6.1-MariaDB` some proxies still show.
pub fn parse_server_version(text: &str) -> Option<Version> {
    let text = text.trim();
    if text.contains("MariaDB") {
        let real = text.strip_prefix("5.5.5-").unwrap_or(text);
        Version::parse_numbers(real, Flavor::Mariadb)
    } else {
        Version::parse_numbers(text, Flavor::Mysql)
    }
}

/// Parses `--version` output of the dump tools:
/// `mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)`,
/// `mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)`,
/// `mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)`,
/// `mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)`.
pub fn parse_tool_version(output: &str) -> Option<Version> {
    let line = output.lines().find(|l| !l.trim().is_empty())?;
    let word_after = |marker: &str| {
        line.split_once(marker).map(|(_, rest)| {
            rest.trim_start()
                .split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    // The distribution version matters, not the client protocol version (`Ver 10.19`).
    let text = word_after(" from ")
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .or_else(|| word_after(" Distrib "))
        .or_else(|| word_after(" Ver "))?;
    let flavor = if text.contains("MariaDB") || line.contains("MariaDB") {
        Flavor::Mariadb
    } else {
        Flavor::Mysql
    };
    Version::parse_numbers(&text, flavor)
}

/// What the tool needs to dump this server: arguments it must be given and warnings for the
/// manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compat {
    pub extra_args: Vec<String>,
    pub warnings: Vec<String>,
}

/// The option that keeps the history rows of system-versioned tables (MariaDB 10.11+).
pub const DUMP_HISTORY: &str = "--dump-history";

/// Decides whether `tool` (named `tool_name`) can dump `server`.
pub fn compatibility(tool_name: &str, tool: &Version, server: &Version) -> Result<Compat> {
    let mut compat = Compat::default();
    let server_is_mysql8 = server.flavor == Flavor::Mysql && server.major >= 8;
    match tool.flavor {
        Flavor::Mysql => {
            if server_is_mysql8 && tool.major < server.major {
                return Err(Error::ToolTooOld {
                    tool: tool_name.to_string(),
                    tool_version: tool.text.clone(),
                    server_version: server.text.clone(),
                    hint: format!(
                        "install MySQL's mysqldump {}.x (mysql-client) or set tool_dir to where it is",
                        server.major
                    ),
                });
            }
            // Before 8 the rule is looser (5.6's tool reads 5.7), but worth a warning.
            if server.flavor == Flavor::Mysql
                && !server_is_mysql8
                && (tool.major, tool.minor) < (server.major, server.minor)
            {
                compat.warnings.push(format!(
                    "{tool_name} {} is older than the server ({}); install a matching mysqldump",
                    tool.text, server.text
                ));
            }
            if tool.major >= 8 && !server_is_mysql8 {
                // mysqldump 8 queries information_schema.COLUMN_STATISTICS, which MariaDB and
                // MySQL 5.7 lack; without this it fails after connecting.
                compat.extra_args.push("--column-statistics=0".into());
            }
            if tool.at_least(5, 6) {
                // A GTID_PURGED line makes the dump unrestorable into most other servers.
                compat.extra_args.push("--set-gtid-purged=OFF".into());
            }
            if server.flavor == Flavor::Mariadb {
                compat.warnings.push(format!(
                    "MySQL's {tool_name} {} dumps a MariaDB server ({}); MariaDB-only features may be lost; install mariadb-client",
                    tool.text, server.text
                ));
            }
        }
        Flavor::Mariadb => {
            if server.flavor == Flavor::Mariadb && tool.at_least(10, 11) && server.at_least(10, 11)
            {
                // Without it the history of system-versioned tables is silently left out;
                // loading it needs `system_versioning_insert_history`, also new in 10.11.
                compat.extra_args.push(DUMP_HISTORY.into());
            }
            if server_is_mysql8 {
                compat.warnings.push(format!(
                    "MariaDB's {tool_name} {} dumps a MySQL {} server; it works, but MySQL-only features may not round-trip; install MySQL's mysqldump {}.x for exact dumps",
                    tool.text, server.text, server.major
                ));
            }
        }
    }
    Ok(compat)
}

/// A dump tool found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpTool {
    /// `mariadb-dump` or `mysqldump`.
    pub name: &'static str,
    pub path: PathBuf,
    pub version: Version,
}

/// Programs to try, preferred first: each engine's own tool, the other as a fallback.
pub fn candidates(engine: Engine) -> [&'static str; 2] {
    match engine {
        Engine::Mysql => ["mysqldump", "mariadb-dump"],
        _ => ["mariadb-dump", "mysqldump"],
    }
}

/// Finds the installed dump tools, in preference order; `ToolMissing` when there is none.
pub fn locate(engine: Engine, tool_dir: Option<&Path>) -> Result<Vec<(&'static str, PathBuf)>> {
    locate_programs(candidates(engine), engine, tool_dir)
}

/// The command-line clients (`mariadb`, `mysql`) restores feed, preferred first: the one of
/// the flavour that wrote the dump, since each reads its own dialect of client commands
/// (MariaDB's dumps start with a `/*M!999999\- ... */` line MySQL's client rejects).
pub fn client_candidates(flavor: Flavor) -> [&'static str; 2] {
    match flavor {
        Flavor::Mysql => ["mysql", "mariadb"],
        Flavor::Mariadb => ["mariadb", "mysql"],
    }
}

/// Finds the installed command-line client; `ToolMissing` (with where it looked and how to
/// install one) when there is none.
pub fn locate_client(
    flavor: Flavor,
    engine: Engine,
    tool_dir: Option<&Path>,
) -> Result<(&'static str, PathBuf)> {
    let found = locate_programs(client_candidates(flavor), engine, tool_dir)?;
    Ok(found.into_iter().next().expect("locate_programs found one"))
}

/// The first installed of `programs` (in `tool_dir`, else on `PATH`); `ToolMissing` when
/// none is.
pub fn locate_named(
    programs: [&'static str; 2],
    engine: Engine,
    tool_dir: Option<&Path>,
) -> Result<(&'static str, PathBuf)> {
    let found = locate_programs(programs, engine, tool_dir)?;
    Ok(found.into_iter().next().expect("locate_programs found one"))
}

/// The installed `programs` (in `tool_dir`, else on `PATH`), in the given order.
fn locate_programs(
    programs: [&'static str; 2],
    engine: Engine,
    tool_dir: Option<&Path>,
) -> Result<Vec<(&'static str, PathBuf)>> {
    let dirs: Vec<PathBuf> = tool_dir.map(Path::to_path_buf).into_iter().collect();
    let found: Vec<_> = programs
        .into_iter()
        .filter_map(|name| find_program(name, &dirs).map(|path| (name, path)))
        .collect();
    if found.is_empty() {
        let [first, second] = programs;
        let searched = match tool_dir {
            Some(dir) => format!("tool_dir {}", dir.display()),
            None => format!(
                "PATH {}",
                std::env::var("PATH").unwrap_or_else(|_| "(unset)".into())
            ),
        };
        // Each package ships both the dump tool and the client.
        let hint = match engine {
            Engine::Mysql => "apt-get install mysql-client (or mariadb-client) or set tool_dir",
            _ => "apt-get install mariadb-client or set tool_dir",
        };
        return Err(Error::ToolMissing {
            tool: format!("{first} (or {second})"),
            searched,
            hint: hint.into(),
        });
    }
    Ok(found)
}

/// Runs `path --version` and parses it.
pub async fn probe(name: &'static str, path: &Path) -> Result<DumpTool> {
    let out = run_for_output(path, ["--version"]).await?;
    let version = parse_tool_version(&out).ok_or_else(|| {
        Error::Dump(format!(
            "cannot read the version of {} from {:?}",
            path.display(),
            out.trim()
        ))
    })?;
    Ok(DumpTool {
        name,
        path: path.to_path_buf(),
        version,
    })
}

/// Picks the first installed candidate that can dump `server`; when none can, the preferred
/// one's reason.
pub async fn choose(
    engine: Engine,
    tool_dir: Option<&Path>,
    server: &Version,
) -> Result<(DumpTool, Compat)> {
    let mut first_err = None;
    for (name, path) in locate(engine, tool_dir)? {
        let attempt = match probe(name, &path).await {
            Ok(tool) => compatibility(name, &tool.version, server).map(|c| (tool, c)),
            Err(e) => Err(e),
        };
        match attempt {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| Error::Dump("no usable dump tool".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str, flavor: Flavor) -> Version {
        Version::parse_numbers(text, flavor).unwrap()
    }

    /// What `parse_tool_version` finds in `out`: `<flavor> <major>.<minor>.<patch> <text>`.
    fn parsed(out: &str) -> String {
        let got = parse_tool_version(out).unwrap_or_else(|| panic!("no version in {out:?}"));
        let (major, minor, patch) = (got.major, got.minor, got.patch);
        format!("{:?} {major}.{minor}.{patch} {}", got.flavor, got.text)
    }

    #[test]
    fn tool_versions_parse() {
        let deb = "for debian-linux-gnu (x86_64)";
        let cases = [
            (
                format!("mariadb-dump from 11.4.2-MariaDB, client 10.19 {deb}"),
                "Mariadb 11.4.2 11.4.2-MariaDB",
            ),
            (
                format!("mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, {deb}"),
                "Mariadb 10.11.19 10.11.19-MariaDB",
            ),
            (
                format!("mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, {deb}\n"),
                "Mariadb 10.11.19 10.11.19-MariaDB",
            ),
            (
                "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)".into(),
                "Mysql 8.0.36 8.0.36",
            ),
            (
                "mysqldump  Ver 8.0.36 for Linux".into(),
                "Mysql 8.0.36 8.0.36",
            ),
            (
                "mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)".into(),
                "Mysql 5.7.44 5.7.44",
            ),
        ];
        for (out, want) in cases {
            assert_eq!(parsed(&out), want, "{out:?}");
        }
        assert_eq!(parse_tool_version("garbage"), None);
    }

    #[test]
    fn server_versions_parse() {
        let s = parse_server_version("10.11.19-MariaDB-0+deb12u1").unwrap();
        assert_eq!((s.flavor, s.major, s.minor), (Flavor::Mariadb, 10, 11));
        let s = parse_server_version("5.5.5-10.6.1-MariaDB").unwrap();
        assert_eq!((s.flavor, s.major, s.minor), (Flavor::Mariadb, 10, 6));
        let s = parse_server_version("8.4.0").unwrap();
        assert_eq!((s.flavor, s.major, s.minor), (Flavor::Mysql, 8, 4));
    }

    #[derive(Debug)]
    enum Want {
        Ok {
            warns: bool,
            args: &'static [&'static str],
        },
        TooOld,
    }

    #[test]
    fn compatibility_table() {
        use Flavor::{Mariadb as Ma, Mysql as My};
        const GTID: &[&str] = &["--set-gtid-purged=OFF"];
        const HISTORY: &[&str] = &[DUMP_HISTORY];
        const NO_STATS: &[&str] = &["--column-statistics=0", "--set-gtid-purged=OFF"];
        let ok = |warns, args| Want::Ok { warns, args };
        let cases: &[(&str, Flavor, &str, Flavor, Want)] = &[
            // MySQL's tool against MySQL 8+: same major or newer works, older is too old.
            ("8.0.36", My, "8.0.36", My, ok(false, GTID)),
            ("8.4.0", My, "8.0.36", My, ok(false, GTID)),
            ("8.0.36", My, "8.4.0", My, ok(false, GTID)),
            ("5.7.44", My, "8.0.36", My, Want::TooOld),
            ("8.0.36", My, "9.1.0", My, Want::TooOld),
            // MariaDB's tool against MySQL 8: works, with a warning.
            ("10.11.19-MariaDB", Ma, "8.0.36", My, ok(true, &[])),
            ("11.4.2-MariaDB", Ma, "9.1.0", My, ok(true, &[])),
            // MariaDB's tool against MariaDB or MySQL 5.7: fine.
            // From 10.11 on both sides, with the history of system-versioned tables.
            (
                "10.11.19-MariaDB",
                Ma,
                "11.4.2-MariaDB",
                Ma,
                ok(false, HISTORY),
            ),
            (
                "11.4.2-MariaDB",
                Ma,
                "10.11.19-MariaDB",
                Ma,
                ok(false, HISTORY),
            ),
            ("10.6.4-MariaDB", Ma, "10.11.19-MariaDB", Ma, ok(false, &[])),
            ("11.4.2-MariaDB", Ma, "10.6.1-MariaDB", Ma, ok(false, &[])),
            ("10.11.19-MariaDB", Ma, "5.7.44", My, ok(false, &[])),
            // MySQL 8's tool against servers without COLUMN_STATISTICS.
            ("8.0.36", My, "10.11.19-MariaDB", Ma, ok(true, NO_STATS)),
            ("8.0.36", My, "5.7.44", My, ok(false, NO_STATS)),
            // An old MySQL tool against an old MySQL server: works, but warns.
            ("5.6.51", My, "5.7.44", My, ok(true, GTID)),
        ];
        for (tool, tf, server, sf, want) in cases {
            let got = compatibility("mysqldump", &v(tool, *tf), &v(server, *sf));
            match (want, got) {
                (Want::Ok { warns, args }, Ok(c)) => {
                    assert_eq!(!c.warnings.is_empty(), *warns, "{tool} vs {server}: {c:?}");
                    assert_eq!(c.extra_args, *args, "{tool} vs {server}");
                }
                (
                    Want::TooOld,
                    Err(Error::ToolTooOld {
                        tool_version,
                        server_version,
                        ..
                    }),
                ) => {
                    assert_eq!(
                        (tool_version.as_str(), server_version.as_str()),
                        (*tool, *server)
                    );
                }
                (want, got) => panic!("{tool} vs {server}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn too_old_message_names_both_versions() {
        let err = compatibility(
            "mysqldump",
            &v("5.7.44", Flavor::Mysql),
            &v("8.0.36", Flavor::Mysql),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("5.7.44") && err.contains("8.0.36") && err.contains("mysqldump"),
            "{err}"
        );
    }

    #[test]
    fn empty_tool_dir_has_no_client_either() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate_client(Flavor::Mariadb, Engine::Mariadb, Some(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::ToolMissing { .. }), "{text}");
        assert!(text.starts_with("mariadb (or mysql) not found"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(
            text.contains("apt-get install mariadb-client or set tool_dir"),
            "{text}"
        );
        assert_eq!(client_candidates(Flavor::Mysql), ["mysql", "mariadb"]);
    }

    #[test]
    fn empty_tool_dir_is_tool_missing_with_where_and_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate(Engine::Mariadb, Some(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::ToolMissing { .. }), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(
            text.contains("apt-get install mariadb-client or set tool_dir"),
            "{text}"
        );
    }
}
