//! Which databases a run backs up: a source's `databases` globs minus `exclude_databases`,
//! narrowed by `--database`. Pure, so that every rule is tested by table.

use globset::{Glob, GlobMatcher};

/// The outcome of selecting databases on one source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub databases: Vec<String>,
    /// Patterns (config or `--database`) that matched nothing; reported as warnings.
    pub unmatched: Vec<String>,
}

fn matcher(pattern: &str) -> GlobMatcher {
    // Patterns were validated with the config; a literal match is the safe fallback.
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .unwrap_or_else(|_| {
            Glob::new(&globset::escape(pattern))
                .expect("escaped")
                .compile_matcher()
        })
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// Selects from `available` (the server's databases, sorted). Names given on the command line
/// that are not globs are kept even when absent, so that the dump reports them as missing
/// rather than the run silently doing nothing.
pub fn select(
    available: &[String],
    include: &[String],
    exclude: &[String],
    requested: &[String],
) -> Selection {
    let include_m: Vec<_> = include.iter().map(|p| matcher(p)).collect();
    let exclude_m: Vec<_> = exclude.iter().map(|p| matcher(p)).collect();
    let mut selection = Selection::default();
    for (pattern, m) in include.iter().zip(&include_m) {
        if !available.iter().any(|db| m.is_match(db)) && is_glob(pattern) {
            selection.unmatched.push(pattern.clone());
        }
    }
    let configured: Vec<String> = available
        .iter()
        .filter(|db| include_m.iter().any(|m| m.is_match(db.as_str())))
        .filter(|db| !exclude_m.iter().any(|m| m.is_match(db.as_str())))
        .cloned()
        .collect();
    // Configured names that are not globs but absent: the database was expected.
    let missing_literals = include
        .iter()
        .filter(|p| !is_glob(p) && !available.contains(p))
        .cloned();
    let configured: Vec<String> = configured.into_iter().chain(missing_literals).collect();
    if requested.is_empty() {
        selection.databases = configured;
    } else {
        for request in requested {
            let m = matcher(request);
            let hits: Vec<_> = configured
                .iter()
                .filter(|db| m.is_match(db.as_str()))
                .cloned()
                .collect();
            if hits.is_empty() {
                if is_glob(request) {
                    selection.unmatched.push(request.clone());
                } else {
                    selection.databases.push(request.clone());
                }
            }
            for hit in hits {
                if !selection.databases.contains(&hit) {
                    selection.databases.push(hit);
                }
            }
        }
    }
    selection.databases.sort();
    selection.databases.dedup();
    selection
}

/// The databases a run expected from a source it could not list: the literal names requested
/// (or configured, without a request), or `*` standing for "whatever the globs would match".
pub fn expected_without_discovery(include: &[String], requested: &[String]) -> Vec<String> {
    let patterns = if requested.is_empty() {
        include
    } else {
        requested
    };
    let mut names: Vec<String> = patterns.iter().filter(|p| !is_glob(p)).cloned().collect();
    if names.len() < patterns.len() {
        names.push("*".into());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selection_by_table() {
        let available = v(&["app", "app_test", "crm", "scratch_1", "scratch_2"]);
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            // include, exclude, requested, expected databases, expected unmatched
            (
                &["*"],
                &[],
                &[],
                &["app", "app_test", "crm", "scratch_1", "scratch_2"],
                &[],
            ),
            (
                &["*"],
                &["scratch_*"],
                &[],
                &["app", "app_test", "crm"],
                &[],
            ),
            (&["app*"], &["*_test"], &[], &["app"], &[]),
            (&["crm", "billing_*"], &[], &[], &["crm"], &["billing_*"]),
            (&["crm", "billing"], &[], &[], &["billing", "crm"], &[]),
            (&["*"], &[], &["crm"], &["crm"], &[]),
            (&["*"], &[], &["gone"], &["gone"], &[]),
            (&["*"], &[], &["x_*"], &[], &["x_*"]),
            (&["*"], &["scratch_*"], &["scratch_1"], &["scratch_1"], &[]),
        ];
        for (include, exclude, requested, want, unmatched) in cases {
            let got = select(&available, &v(include), &v(exclude), &v(requested));
            assert_eq!(
                got.databases,
                v(want),
                "{include:?} - {exclude:?} / {requested:?}"
            );
            assert_eq!(
                got.unmatched,
                v(unmatched),
                "{include:?} - {exclude:?} / {requested:?}"
            );
        }
    }

    #[test]
    fn expected_databases_of_an_unreachable_source() {
        assert_eq!(
            expected_without_discovery(&v(&["shop", "crm"]), &[]),
            v(&["shop", "crm"])
        );
        assert_eq!(
            expected_without_discovery(&v(&["shop", "app_*"]), &[]),
            v(&["shop", "*"])
        );
        assert_eq!(
            expected_without_discovery(&v(&["*"]), &v(&["crm"])),
            v(&["crm"])
        );
    }
}
