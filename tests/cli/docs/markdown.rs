//! Just enough markdown for the docs tests: prose and fenced blocks, inline code spans,
//! sections by heading, the first column of tables, and GitHub's heading anchors.

use std::collections::BTreeSet;

/// A fenced code block: its language, the line of its fence (1-based), the `docs-test:`
/// marker of the HTML comment right before it, and its text.
pub struct Block {
    pub lang: String,
    pub line: usize,
    pub marker: Option<String>,
    pub text: String,
}

/// Splits markdown into its prose (code blocks blanked out, so line numbers stay) and its
/// fenced code blocks.
pub fn split(md: &str) -> (String, Vec<Block>) {
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
pub fn code_spans(prose: &str) -> Vec<String> {
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
pub fn sections(md: &str) -> Vec<(usize, String, String)> {
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
pub fn first_cells(section: &str, header: &str) -> Vec<String> {
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

/// The anchors of a markdown file: GitHub's slug of every heading (lower case, punctuation
/// dropped, spaces as `-`, `-1`, `-2` … for repeats), and every `<a id="…">`.
pub fn anchors(md: &str) -> BTreeSet<String> {
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
