//! What the docs refer to exists: the tests docs/failure-modes.md cites, the failure mode ids
//! cited anywhere in the repository, the files and headings links lead to, and the fields of
//! the manifest.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::markdown::{anchors, code_spans, first_cells, sections, split};
use super::{read, repo, report};

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

#[test]
fn every_link_between_the_docs_reaches_a_file_and_heading() {
    let files = [
        "README.md",
        "ARCHITECTURE.md",
        "docs/cli.md",
        "docs/config.md",
        "docs/storage-format.md",
        "docs/failure-modes.md",
        "docs/metrics.md",
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
