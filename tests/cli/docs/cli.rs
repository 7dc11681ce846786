//! docs/cli.md (and README.md) against clap's command tree: every command and long flag is
//! documented, and every `dbward …` usage in the docs names real commands and flags.

use std::collections::BTreeSet;

use clap::CommandFactory;

use super::markdown::{code_spans, first_cells, sections, split};
use super::{read, report};

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

    // Parser → overviews: every command is a row of cli.md's command table and of README.md's.
    let overview: Vec<String> = sections
        .iter()
        .flat_map(|(_, _, body)| first_cells(body, "command"))
        .flat_map(|cell| code_spans(&cell))
        .collect();
    let (readme, _) = split(&read("README.md"));
    let readme_spans = code_spans(&readme);
    for (words, _) in &all {
        let name = words.join(" ");
        let starts = |span: &String, start: &str| {
            span.strip_prefix(start)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        };
        if !overview.iter().any(|span| starts(span, &name)) {
            problems.push(format!(
                "docs/cli.md's command table has no row for `{name}`"
            ));
        }
        if words.len() == 1
            && !readme_spans
                .iter()
                .any(|s| starts(s, &format!("dbward {name}")))
        {
            problems.push(format!(
                "README.md does not show `dbward {name}` (add it to \"What works today\")"
            ));
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
