//! docs/config.md against the config parser: every toml example loads, and the keys each
//! table, engine and destination type accepts are the keys the docs name, both ways.

use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use dbward::config::Config;

use super::markdown::{first_cells, sections, split};
use super::{read, report};

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
/// example needs neither the environment nor the files it names. `key` is the secret's key,
/// `table` the key of the table it is in (`catalog` for `[catalog] url`).
fn replace_secrets(
    value: &mut toml::Value,
    key: &str,
    table_key: &str,
    dir: &Path,
    count: &mut usize,
) {
    match value {
        toml::Value::Table(table) => {
            let secret = table.len() == 1
                && ["env", "file"]
                    .iter()
                    .any(|k| matches!(table.get(*k), Some(toml::Value::String(_))));
            if secret {
                *count += 1;
                let path = dir.join(format!("secret-{count}"));
                let content = if (table_key, key) == ("catalog", "url") {
                    "postgres://dbward:docs-test@db.example.com/dbward"
                } else if key == "url" {
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
                replace_secrets(v, k, key, dir, count);
            }
        }
        toml::Value::Array(items) => {
            for v in items {
                replace_secrets(v, key, table_key, dir, count);
            }
        }
        _ => {}
    }
}

/// Loads one example as `dbward` would; `Err` says why it does not load.
pub(super) fn load_example(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut value: toml::Value =
        toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    replace_secrets(&mut value, "", "", dir.path(), &mut 0);
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

/// Whether `[[table]]` (whose keys are `keys`) with `discriminator = variant` takes `key`:
/// `Some(false)` when the parser says the key is not used there, or does not know it;
/// `Some(true)` when a value of a plausible type gets past the key checks; `None` when no
/// plausible value has the key's type (a nested table with required keys), so it cannot tell.
fn variant_takes(
    keys: &[String],
    (table, discriminator, variant): (&str, &str, &str),
    key: &str,
) -> Option<bool> {
    if !keys.iter().any(|k| k == key) {
        return Some(false);
    }
    let mut typed = false;
    for value in [
        "\"x\"",
        "1",
        "true",
        "[\"x\"]",
        "{ env = \"DBWARD_DOCS_UNSET\" }",
        "{}",
    ] {
        let text = format!(
            "[[{table}]]\nname = \"d\"\n{discriminator} = \"{variant}\"\n{key} = {value}\n"
        );
        match Config::parse(Path::new("/nonexistent/dbward.toml"), &text) {
            Err(e) if e.to_string().contains(&format!("key `{key}`: not used by")) => {
                return Some(false);
            }
            Err(e) if e.to_string().contains("TOML parse error") => {}
            _ => typed = true,
        }
    }
    typed.then_some(true)
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
                let takes =
                    variant_takes(keys, (table, discriminator, &variant), key) == Some(true);
                if takes && !common.contains(key) && !documents(body, key) {
                    problems.push(format!(
                        "docs/config.md `### {heading}` does not document key `{key}`, which {discriminator} {variant:?} accepts"
                    ));
                }
            }
            for cell in first_cells(body, "key") {
                for key in cell.split('`').skip(1).step_by(2) {
                    if variant_takes(keys, (table, discriminator, &variant), key) == Some(false) {
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
