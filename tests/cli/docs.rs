//! The documentation is the user's contract, and these tests keep it true to the code: every
//! config example in docs/config.md and README.md loads through the real config loader; every
//! key the parser accepts is documented in docs/config.md and every documented key is
//! accepted; every command and long flag is in docs/cli.md and every one documented exists;
//! every test docs/failure-modes.md cites exists; and no file cites a failure mode id that
//! docs/failure-modes.md does not define, or a document outside the repo. The conventions are
//! stated in an HTML comment at the top of docs/config.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::CommandFactory;
use dbward::config::Config;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Fails with every problem on its own line, so one run says everything that is out of step.
fn report(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what} ({} problems):\n  - {}\n",
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---------------------------------------------------------------- markdown

/// A fenced code block: its language, the line of its fence (1-based), the `docs-test:`
/// marker of the HTML comment right before it, and its text.
struct Block {
    lang: String,
    line: usize,
    marker: Option<String>,
    text: String,
}

/// Splits markdown into its prose (code blocks blanked out, so line numbers stay) and its
/// fenced code blocks.
fn split(md: &str) -> (String, Vec<Block>) {
    let mut prose = String::new();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    let mut last_text = "";
    for (i, line) in md.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open.as_mut() {
            Some(_) if fence => blocks.extend(open.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            None if fence => {
                let marker = last_text
                    .split_once("docs-test:")
                    .map(|(_, rest)| rest.trim().trim_end_matches("-->").trim().to_string());
                open = Some(Block {
                    lang: line.trim_start().trim_start_matches('`').trim().to_string(),
                    line: i + 1,
                    marker,
                    text: String::new(),
                });
            }
            None => prose.push_str(line),
        }
        prose.push('\n');
        if !line.trim().is_empty() {
            last_text = line;
        }
    }
    (prose, blocks)
}

/// The inline code spans of `prose` (CommonMark: a run of N backticks up to the next run of
/// exactly N), with line breaks inside a span read as spaces.
fn code_spans(prose: &str) -> Vec<String> {
    let bytes = prose.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|&&b| b == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let start = i + n;
        let mut j = start;
        let mut end = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    end = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match end {
            Some(end) => {
                spans.push(prose[start..end].replace('\n', " ").trim().to_string());
                i = end + n;
            }
            None => i = start,
        }
    }
    spans
}

/// Sections by heading: (level, heading text, body up to the next heading of the same or a
/// higher level, subsections and code blocks included).
fn sections(md: &str) -> Vec<(usize, String, String)> {
    let lines: Vec<&str> = md.lines().collect();
    let level = |line: &str| {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        (hashes > 0 && line[hashes..].starts_with(' ')).then_some(hashes)
    };
    // A `#` line inside a code block is a comment, not a heading.
    let mut in_code = false;
    let heading: Vec<Option<usize>> = lines
        .iter()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code { None } else { level(line) }
        })
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(n) = heading[i] else { continue };
        let end = heading[i + 1..]
            .iter()
            .position(|l| l.is_some_and(|m| m <= n))
            .map_or(lines.len(), |p| i + 1 + p);
        out.push((n, line[n..].trim().to_string(), lines[i..end].join("\n")));
    }
    out
}

/// Rows of the tables whose header's first cell is `header`: the first cell of each row.
fn first_cells(section: &str, header: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut inside = false;
    for line in section.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            inside = false;
            continue;
        }
        let first = line[1..].split(" | ").next().unwrap_or("").trim();
        if first.starts_with("---") {
            continue;
        }
        if !inside {
            inside = first == header;
            continue;
        }
        cells.push(first.to_string());
    }
    cells
}

// ---------------------------------------------------------------- config examples

/// Sources main-pg, shop-mariadb and app-sqlite, destinations local, offsite and nas, and a
/// last schedule `base`: what a `docs-test: fragment` block is loaded after.
const FRAGMENT_BASE: &str = r#"
[[source]]
name = "main-pg"
engine = "postgres"
[[source]]
name = "shop-mariadb"
engine = "mariadb"
[[source]]
name = "app-sqlite"
engine = "sqlite"
path = "app.db"
[[destination]]
name = "local"
type = "fs"
path = "local"
[[destination]]
name = "offsite"
type = "fs"
path = "offsite"
[[destination]]
name = "nas"
type = "fs"
path = "nas"
[[schedule]]
name = "base"
sources = ["main-pg"]
destinations = ["local"]
"#;

/// Replaces every `{ env = … }` and `{ file = … }` secret by a file in `dir`, so that an
/// example needs neither the environment nor the files it names.
fn replace_secrets(value: &mut toml::Value, key: &str, dir: &Path, count: &mut usize) {
    match value {
        toml::Value::Table(table) => {
            let secret = table.len() == 1
                && ["env", "file"]
                    .iter()
                    .any(|k| matches!(table.get(*k), Some(toml::Value::String(_))));
            if secret {
                *count += 1;
                let path = dir.join(format!("secret-{count}"));
                let content = if key == "url" {
                    "https://hooks.example.com/docs-test"
                } else {
                    "docs-test-secret"
                };
                std::fs::write(&path, content).unwrap();
                table.clear();
                table.insert("file".into(), path.display().to_string().into());
                return;
            }
            for (k, v) in table.iter_mut() {
                replace_secrets(v, k, dir, count);
            }
        }
        toml::Value::Array(items) => {
            for v in items {
                replace_secrets(v, key, dir, count);
            }
        }
        _ => {}
    }
}

/// Loads one example as `dbward` would; `Err` says why it does not load.
fn load_example(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut value: toml::Value =
        toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    replace_secrets(&mut value, "", dir.path(), &mut 0);
    let text = toml::to_string(&value).unwrap();
    Config::parse(&dir.path().join("dbward.toml"), &text)
        .map(drop)
        .map_err(|e| e.to_string().replace('\n', " "))
}

#[test]
fn every_config_example_in_the_docs_loads() {
    let mut problems = Vec::new();
    let mut loaded = 0;
    for file in ["docs/config.md", "README.md"] {
        let (_, blocks) = split(&read(file));
        for block in blocks.iter().filter(|b| b.lang == "toml") {
            let text = match block.marker.as_deref() {
                Some("skip") => continue,
                Some("fragment") => format!("{FRAGMENT_BASE}\n{}", block.text),
                None => block.text.clone(),
                Some(other) => {
                    problems.push(format!(
                        "{file}:{}: unknown marker `docs-test: {other}` (expected fragment or skip)",
                        block.line
                    ));
                    continue;
                }
            };
            loaded += 1;
            if let Err(e) = load_example(&text) {
                problems.push(format!(
                    "{file}:{}: this toml example does not load: {e}",
                    block.line
                ));
            }
        }
    }
    assert!(loaded >= 10, "only {loaded} toml examples found");
    report(
        "config examples in the docs that the config loader refuses",
        &problems,
    );
}

// ---------------------------------------------------------------- config keys

const PROBE: &str = "dbward_docs_probe";

/// How to put one `key = value` into a table of the config file.
type Place = Rc<dyn Fn(&str) -> String>;

/// A table the parser accepts: where it sits (`[[schedule]].retention`) and its keys.
struct Table {
    path: String,
    keys: Vec<String>,
    /// Its top-level key (`schedule`), or `None` for the top level itself.
    top: Option<String>,
    place: Place,
}

/// The keys the parser accepts in the table at `place`, read from its refusal of an unknown
/// key ("unknown field `x`, expected one of `a`, `b`"); `None` if it is no such table.
fn accepted_keys(place: &Place) -> Option<Vec<String>> {
    let text = place(&format!("{PROBE} = 1"));
    let error = Config::parse(Path::new("/nonexistent/dbward.toml"), &text)
        .err()?
        .to_string();
    let rest = error.split(&format!("unknown field `{PROBE}`")).nth(1)?;
    let listed = rest.lines().next()?.split_once("expected")?.1;
    Some(
        listed
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect(),
    )
}

/// Every table the parser accepts, found by probing each key of each table found so far as
/// a table and as an array of tables.
fn parser_tables() -> Vec<Table> {
    let root: Place = Rc::new(|kv: &str| format!("{kv}\n"));
    let keys = accepted_keys(&root).expect("the top level refuses unknown keys");
    let mut tables = vec![Table {
        path: "top level".into(),
        keys,
        top: None,
        place: root,
    }];
    let mut i = 0;
    while i < tables.len() {
        let parent = tables[i].place.clone();
        for key in tables[i].keys.clone() {
            let candidates: Vec<(String, Place)> = match &tables[i].top {
                None => vec![
                    (format!("[{key}]"), {
                        let key = key.clone();
                        Rc::new(move |kv: &str| format!("[{key}]\n{kv}\n")) as Place
                    }),
                    (format!("[[{key}]]"), {
                        let key = key.clone();
                        Rc::new(move |kv: &str| format!("[[{key}]]\n{kv}\n")) as Place
                    }),
                ],
                Some(_) => vec![
                    (format!("{}.{key}", tables[i].path), {
                        let (key, parent) = (key.clone(), parent.clone());
                        Rc::new(move |kv: &str| parent(&format!("{key} = {{ {kv} }}"))) as Place
                    }),
                    (format!("{}.{key}[]", tables[i].path), {
                        let (key, parent) = (key.clone(), parent.clone());
                        Rc::new(move |kv: &str| parent(&format!("{key} = [{{ {kv} }}]"))) as Place
                    }),
                ],
            };
            let top = tables[i].top.clone().unwrap_or_else(|| key.clone());
            if let Some((path, place, keys)) = candidates
                .into_iter()
                .find_map(|(path, place)| accepted_keys(&place).map(|k| (path, place, k)))
            {
                tables.push(Table {
                    path,
                    keys,
                    top: Some(top),
                    place,
                });
            }
        }
        i += 1;
    }
    tables
}

/// Whether `section` names `key`: as `` `key` ``, or as `key = …` in an example or span.
fn documents(section: &str, key: &str) -> bool {
    section.contains(&format!("`{key}`"))
        || section.contains(&format!("`{key} ="))
        || section.contains(&format!("{{ {key} ="))
        || section
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{key} =")))
}

/// The section of docs/config.md for the top-level table `top`, or for top-level keys.
fn config_section<'a>(
    sections: &'a [(usize, String, String)],
    top: Option<&str>,
) -> Option<&'a str> {
    sections
        .iter()
        .find(|(level, heading, _)| {
            *level == 2
                && match top {
                    None => heading == "Top-level keys",
                    Some(t) => heading == &format!("`[{t}]`") || heading == &format!("`[[{t}]]`"),
                }
        })
        .map(|(_, _, body)| body.as_str())
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_is_accepted() {
    // Sections with their examples: a key set in a toml example is named there too.
    let sections = sections(&read("docs/config.md"));
    let tables = parser_tables();
    let mut problems = Vec::new();

    // Parser → docs.
    for table in &tables {
        let Some(section) = config_section(&sections, table.top.as_deref()) else {
            problems.push(format!(
                "the parser accepts the table {} but docs/config.md has no section `## `[{top}]`` or `## `[[{top}]]`` for it",
                table.path,
                top = table.top.as_deref().unwrap_or_default()
            ));
            continue;
        };
        for key in &table.keys {
            let is_table = table.top.is_none()
                && tables
                    .iter()
                    .any(|t| t.top.as_deref() == Some(key) && t.path.starts_with('['));
            if is_table {
                continue; // documented by its own section, checked above
            }
            if !documents(section, key) {
                let heading = match &table.top {
                    None => "## Top-level keys".to_string(),
                    Some(top) => format!("the `[{top}]`/`[[{top}]]` section"),
                };
                problems.push(format!(
                    "docs/config.md does not document key `{key}` of {}: name it as `{key}` under {heading} (for example a row in its key table)",
                    table.path
                ));
            }
        }
    }

    // Docs → parser: the first column of every key table.
    for (_, heading, body) in sections.iter().filter(|(level, ..)| *level == 2) {
        let keys = first_cells(body, "key");
        if keys.is_empty() {
            continue;
        }
        let owner: Vec<&Table> = tables
            .iter()
            .filter(|t| config_section(&sections, t.top.as_deref()) == Some(body.as_str()))
            .collect();
        if owner.is_empty() {
            problems.push(format!(
                "docs/config.md `## {heading}` has a key table but the parser has no table there"
            ));
            continue;
        }
        let accepted: BTreeSet<&str> = owner
            .iter()
            .flat_map(|t| t.keys.iter().map(String::as_str))
            .collect();
        for cell in keys {
            for key in cell.split('`').skip(1).step_by(2) {
                if !accepted.contains(key) {
                    problems.push(format!(
                        "docs/config.md `## {heading}` documents key `{key}`, which the parser does not accept there (it accepts: {})",
                        accepted.iter().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    assert!(tables.len() >= 8, "only {} tables found", tables.len());
    report("config keys out of step with docs/config.md", &problems);
}

/// The variants of `[[table]]` by `discriminator` (destination `type`, source `engine`), as
/// the parser lists them when it refuses an unknown one.
fn parser_variants(table: &str, discriminator: &str) -> Vec<String> {
    let text = format!("[[{table}]]\nname = \"d\"\n{discriminator} = \"{PROBE}\"\n");
    let error = Config::parse(Path::new("/nonexistent/dbward.toml"), &text)
        .unwrap_err()
        .to_string();
    let listed = error
        .split_once("expected")
        .unwrap_or_else(|| panic!("{error}"))
        .1;
    listed
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "or")
        .map(String::from)
        .collect()
}

/// Whether `[[table]]` (whose keys are `keys`) with `discriminator = variant` takes `key`: it
/// does unless some value of a plausible type makes the parser say the key is not used there.
fn variant_takes(
    keys: &[String],
    (table, discriminator, variant): (&str, &str, &str),
    key: &str,
) -> bool {
    keys.iter().any(|k| k == key)
        && [
            "\"x\"",
            "1",
            "true",
            "[\"x\"]",
            "{ env = \"DBWARD_DOCS_UNSET\" }",
        ]
        .iter()
        .all(|value| {
            let text = format!(
                "[[{table}]]\nname = \"d\"\n{discriminator} = \"{variant}\"\n{key} = {value}\n"
            );
            Config::parse(Path::new("/nonexistent/dbward.toml"), &text)
                .err()
                .is_none_or(|e| !e.to_string().contains(&format!("key `{key}`: not used by")))
        })
}

#[test]
fn the_keys_of_each_source_engine_and_destination_type_are_documented_in_its_own_section() {
    let sections = sections(&read("docs/config.md"));
    let tables = parser_tables();
    let mut problems = Vec::new();
    for (table, discriminator) in [("source", "engine"), ("destination", "type")] {
        let keys = &tables
            .iter()
            .find(|t| t.path == format!("[[{table}]]"))
            .unwrap_or_else(|| panic!("no [[{table}]] table"))
            .keys;
        let Some(parent) = config_section(&sections, Some(table)) else {
            continue; // reported by the test above
        };
        // Subsections of the table's section (level 3 under it).
        let subsections: Vec<&(usize, String, String)> = sections
            .iter()
            .filter(|(level, _, body)| *level == 3 && parent.contains(body.as_str()))
            .collect();
        let common: BTreeSet<String> = subsections
            .iter()
            .filter(|(_, heading, _)| heading.starts_with("Keys for every"))
            .flat_map(|(_, _, body)| first_cells(body, "key"))
            .flat_map(|cell| {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        for variant in parser_variants(table, discriminator) {
            let wanted = format!("`{discriminator} = \"{variant}\"`");
            let Some((_, heading, body)) = subsections.iter().find(|(_, h, _)| h.contains(&wanted))
            else {
                problems.push(format!(
                    "docs/config.md has no `### {wanted}` section under `[[{table}]]`"
                ));
                continue;
            };
            for key in keys {
                let takes = variant_takes(keys, (table, discriminator, &variant), key);
                if takes && !common.contains(key) && !documents(body, key) {
                    problems.push(format!(
                        "docs/config.md `### {heading}` does not document key `{key}`, which {discriminator} {variant:?} accepts"
                    ));
                }
            }
            for cell in first_cells(body, "key") {
                for key in cell.split('`').skip(1).step_by(2) {
                    if !variant_takes(keys, (table, discriminator, &variant), key) {
                        problems.push(format!(
                            "docs/config.md `### {heading}` documents key `{key}`, which {discriminator} {variant:?} does not accept"
                        ));
                    }
                }
            }
        }
    }
    report(
        "per-engine and per-type keys out of step with docs/config.md",
        &problems,
    );
}

// ---------------------------------------------------------------- commands and flags

/// The long flags of `cmd` itself (not the global ones), without `--help`/`--version`.
fn long_flags(cmd: &clap::Command) -> BTreeSet<String> {
    cmd.get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(|a| a.get_long())
        .filter(|l| !["help", "version"].contains(l))
        .map(String::from)
        .collect()
}

/// Every command with its words: `["backup"]`, `["key", "generate"]`.
fn commands(cmd: &clap::Command, path: &[String], out: &mut Vec<(Vec<String>, clap::Command)>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut words = path.to_vec();
        words.push(sub.get_name().to_string());
        out.push((words.clone(), sub.clone()));
        commands(sub, &words, out);
    }
}

/// Checks one usage text (`restore ID [--force]`, after `dbward `): its command words name a
/// real command, and each `--flag` in it belongs to that command or is global.
fn check_usage(root: &clap::Command, usage: &str, globals: &BTreeSet<String>) -> Vec<String> {
    let mut cmd = root;
    let mut words = Vec::new();
    for token in usage.split_whitespace() {
        if !token.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') || token.starts_with('-') {
            break;
        }
        if !cmd.has_subcommands() {
            break;
        }
        match cmd.find_subcommand(token) {
            Some(sub) => {
                cmd = sub;
                words.push(token);
            }
            None => {
                return vec![format!(
                    "`dbward {usage}`: `{}` is not a command of dbward {}",
                    token,
                    words.join(" ")
                )];
            }
        }
    }
    let flags = long_flags(cmd);
    flags_in(usage)
        .into_iter()
        .filter(|name| {
            !flags.contains(name)
                && !globals.contains(name)
                && !["help", "version"].contains(&name.as_str())
        })
        .map(|name| {
            format!(
                "`dbward {usage}`: `--{name}` is not a flag of `dbward {}`",
                words.join(" ")
            )
        })
        .collect()
}

/// The `--flag` names in `text`.
fn flags_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let name: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        rest = &rest[at + 2 + name.len()..];
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

#[test]
fn every_command_and_flag_is_in_cli_md_and_every_documented_one_exists() {
    let root = <dbward::cli::Cli as CommandFactory>::command();
    let globals: BTreeSet<String> = root
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(String::from)
        .collect();
    let md = read("docs/cli.md");
    let sections = sections(&md);
    let mut problems = Vec::new();

    // Parser → docs: a heading per command, holding every flag of it.
    let global_section = sections
        .iter()
        .find(|(_, heading, _)| heading == "Global options")
        .map(|(_, _, body)| body.as_str())
        .unwrap_or_default();
    for flag in &globals {
        if !mentions_flag(global_section, flag) {
            problems.push(format!(
                "docs/cli.md `## Global options` does not document `--{flag}`"
            ));
        }
    }
    let mut all = Vec::new();
    commands(&root, &[], &mut all);
    for (words, cmd) in &all {
        let name = words.join(" ");
        let section = sections.iter().find(|(_, heading, _)| {
            [format!("`dbward {name}"), format!("`{name}")]
                .iter()
                .any(|start| {
                    heading
                        .split(start.as_str())
                        .nth(1)
                        .is_some_and(|after| after.starts_with(' ') || after.starts_with('`'))
                })
        });
        let Some((_, _, body)) = section else {
            problems.push(format!(
                "docs/cli.md has no heading for `dbward {name}` (for example `## `dbward {name}``)"
            ));
            continue;
        };
        let flags = long_flags(cmd);
        for flag in &flags {
            if !mentions_flag(body, flag) {
                problems.push(format!(
                    "docs/cli.md does not document `dbward {name} --{flag}` in the command's section"
                ));
            }
        }
        // The command's option tables name only its own flags (and global ones).
        for cell in first_cells(body, "option") {
            for flag in flags_in(&cell) {
                if !flags.contains(&flag) && !globals.contains(&flag) {
                    problems.push(format!(
                        "docs/cli.md documents `--{flag}` for `dbward {name}`, which has no such flag"
                    ));
                }
            }
        }
    }

    // Docs → parser: every `dbward …` usage, and the command column of overview tables.
    for file in ["docs/cli.md", "README.md"] {
        let text = read(file);
        let (prose, blocks) = split(&text);
        let mut usages: Vec<String> = code_spans(&prose)
            .into_iter()
            .filter_map(|span| span.strip_prefix("dbward ").map(String::from))
            .collect();
        for block in blocks
            .iter()
            .filter(|b| matches!(b.lang.as_str(), "" | "sh"))
        {
            for line in block.text.lines() {
                let line = line.trim_start().trim_start_matches("$ ");
                let command = line.split(" #").next().unwrap_or_default();
                usages.extend(command.strip_prefix("dbward ").map(String::from));
            }
        }
        for (_, _, body) in sections.iter().filter(|_| file == "docs/cli.md") {
            for cell in first_cells(body, "command") {
                usages.extend(code_spans(&cell));
            }
        }
        for usage in usages {
            problems.extend(
                check_usage(&root, &usage, &globals)
                    .into_iter()
                    .map(|p| format!("{file}: {p}")),
            );
        }
    }
    problems.dedup();
    report("commands and flags out of step with docs/cli.md", &problems);
}

/// Whether `text` names `--flag` (not as the prefix of a longer flag).
fn mentions_flag(text: &str, flag: &str) -> bool {
    let needle = format!("--{flag}");
    text.match_indices(&needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

// ---------------------------------------------------------------- failure modes

/// The ids docs/failure-modes.md defines (`<a id="f15"></a>F15`).
fn defined_ids() -> BTreeSet<String> {
    read("docs/failure-modes.md")
        .split("<a id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_uppercase)
        .collect()
}

#[test]
fn every_test_failure_modes_md_cites_exists() {
    let (prose, _) = split(&read("docs/failure-modes.md"));
    let mut problems = Vec::new();
    let mut cited = 0;
    for span in code_spans(&prose) {
        let Some((path, name)) = span.split_once(".rs::") else {
            continue;
        };
        cited += 1;
        let file = format!("{path}.rs");
        match std::fs::read_to_string(repo().join(&file)) {
            Ok(text) if text.contains(&format!("fn {name}(")) => {}
            Ok(_) => problems.push(format!("`{span}`: {file} has no fn {name}")),
            Err(e) => problems.push(format!("`{span}`: cannot read {file}: {e}")),
        }
    }
    assert!(cited >= 40, "only {cited} tests cited");
    report(
        "tests cited by docs/failure-modes.md that do not exist",
        &problems,
    );
}

/// The repository's own text files (sources, docs, scripts), without build output.
fn repo_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            repo_files(&path, out);
        } else if ["rs", "md", "toml", "sh"]
            .iter()
            .any(|ext| path.extension().is_some_and(|e| e == *ext))
        {
            out.push(path);
        }
    }
}

/// The failure mode ids (`F` and 1 or 2 digits, as a word) in `text`.
fn cited_ids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    (0..bytes.len())
        .filter(|&i| bytes[i] == b'F' && (i == 0 || !word(bytes[i - 1])))
        .filter_map(|i| {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let end = i + 1 + digits;
            ((1..=2).contains(&digits) && (end == bytes.len() || !word(bytes[end])))
                .then(|| text[i..end].to_string())
        })
        .collect()
}

#[test]
fn the_repo_cites_only_failure_modes_it_defines_and_no_outside_document() {
    let defined = defined_ids();
    assert!(
        defined.contains("F18") && defined.contains("R5"),
        "{defined:?}"
    );
    let outside = [
        concat!("DESIGN", ".md"),
        concat!("DESIGN", " §"),
        concat!("../", "shared"),
    ];
    let mut files = Vec::new();
    repo_files(&repo(), &mut files);
    let mut problems = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.strip_prefix(repo()).unwrap().display().to_string();
        for id in cited_ids(&text) {
            if !defined.contains(&id) {
                problems.push(format!(
                    "{shown} cites {id}, which docs/failure-modes.md does not define"
                ));
            }
        }
        for name in outside {
            if text.contains(name) {
                problems.push(format!(
                    "{shown} cites {name}, which is not in this repository; point at docs/ instead"
                ));
            }
        }
    }
    problems.dedup();
    report(
        "citations of things the repository does not define",
        &problems,
    );
}

// ---------------------------------------------------------------- links

/// The anchors of a markdown file: GitHub's slug of every heading (lower case, punctuation
/// dropped, spaces as `-`, `-1`, `-2` … for repeats), and every `<a id="…">`.
fn anchors(md: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (_, heading, _) in sections(md) {
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut n = 0;
        while found.contains(&unique) {
            n += 1;
            unique = format!("{slug}-{n}");
        }
        found.insert(unique);
    }
    found.extend(
        md.split("<a id=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(String::from)),
    );
    found
}

#[test]
fn every_link_between_the_docs_reaches_a_file_and_heading() {
    let files = [
        "README.md",
        "ARCHITECTURE.md",
        "docs/cli.md",
        "docs/config.md",
        "docs/storage-format.md",
        "docs/failure-modes.md",
    ];
    let mut problems = Vec::new();
    for file in files {
        let (prose, _) = split(&read(file));
        let dir = Path::new(file).parent().unwrap();
        for target in prose
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if target.starts_with("http") || target.contains(' ') {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                file.to_string()
            } else {
                dir.join(path).display().to_string()
            };
            let Ok(text) = std::fs::read_to_string(repo().join(&linked)) else {
                problems.push(format!("{file}: link ({target}): no file {linked}"));
                continue;
            };
            if !anchor.is_empty() && !anchors(&text).contains(anchor) {
                problems.push(format!(
                    "{file}: link ({target}): {linked} has no heading or anchor `{anchor}`"
                ));
            }
        }
    }
    report("links in the docs that lead nowhere", &problems);
}

// ---------------------------------------------------------------- the manifest

#[test]
fn the_manifest_example_parses_and_every_field_written_is_documented() {
    use dbward_core::manifest::{MANIFEST_FORMAT_VERSION, Manifest};
    let md = read("docs/storage-format.md");
    let (_, blocks) = split(&md);
    let example = blocks
        .iter()
        .find(|b| b.lang == "json" && b.text.contains("\"format_version\""))
        .expect("docs/storage-format.md has a json example of a manifest");
    let manifest = Manifest::from_json(example.text.as_bytes()).unwrap_or_else(|e| {
        panic!(
            "docs/storage-format.md:{}: the manifest example does not parse: {e}",
            example.line
        )
    });
    let heading = format!("The manifest (`format_version` {MANIFEST_FORMAT_VERSION})");
    let sections = sections(&md);
    let Some((_, _, section)) = sections.iter().find(|(_, h, _)| *h == heading) else {
        panic!("docs/storage-format.md has no heading `## {heading}`");
    };
    let documented: BTreeSet<String> = first_cells(section, "field")
        .iter()
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let written: serde_json::Value = serde_json::from_slice(&manifest.to_json()).unwrap();
    let problems: Vec<String> = written
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| !documented.contains(*key))
        .map(|key| {
            format!(
                "manifests hold `{key}`, which the field table under `## {heading}` does not list"
            )
        })
        .collect();
    report(
        "manifest fields out of step with docs/storage-format.md",
        &problems,
    );
}
