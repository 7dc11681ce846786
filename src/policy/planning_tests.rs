//! Table and property tests of backup planning.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn source(name: &str, databases: &[&str], exclude: &[&str]) -> SourceConfig {
    SourceConfig {
        name: name.into(),
        engine: dbward_core::Engine::Sqlite,
        databases: databases.iter().map(|d| d.to_string()).collect(),
        exclude_databases: exclude.iter().map(|d| d.to_string()).collect(),
        exclude_tables: Vec::new(),
        max_replica_lag: None,
        connection: crate::config::Connection::File {
            path: format!("/srv/{name}").into(),
        },
        agents: Vec::new(),
        pitr: false,
        pitr_settings: Default::default(),
        globals: None,
    }
}

fn schedule(name: &str, sources: &[&str], verify: Option<VerifyLevel>) -> ScheduleConfig {
    ScheduleConfig {
        name: name.into(),
        cron: None,
        timezone: chrono_tz::UTC,
        sources: sources.iter().map(|s| s.to_string()).collect(),
        destinations: vec!["local".into(), "offsite".into()],
        compression: Compression::Zstd { level: 3 },
        min_dump_bytes: 1,
        min_copies: None,
        retention: None,
        rpo: None,
        rto: None,
        drill: None,
        verify,
        asserts: Vec::new(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn listed(
    entries: &[(&str, Result<&[&str], &str>)],
) -> BTreeMap<String, Result<Vec<String>, String>> {
    entries
        .iter()
        .map(|(name, found)| {
            let found = found.map(strings).map_err(str::to_string);
            (name.to_string(), found)
        })
        .collect()
}

fn jobs(plan: &Plan) -> Vec<String> {
    plan.jobs
        .iter()
        .map(|j| {
            format!(
                "{}:{}/{}",
                j.schedule.as_deref().unwrap_or("-"),
                j.source,
                j.database
            )
        })
        .collect()
}

#[test]
fn plans_by_table() {
    let sources = [
        source("pg", &["*"], &["template*"]),
        source("my", &["shop", "crm"], &[]),
    ];
    let find = |name: &str| sources.iter().find(|s| s.name == name);
    let nightly = schedule("nightly", &["pg", "my"], None);
    let hourly = schedule("hourly", &["pg"], Some(VerifyLevel::Drill));
    let both = [&hourly, &nightly];
    let only_nightly = [&nightly];
    let pg_ok: Result<&[&str], &str> = Ok(&["app", "crm", "template1"]);
    let my_ok: Result<&[&str], &str> = Ok(&["crm", "shop", "other"]);
    let down: Result<&[&str], &str> = Err("connection refused");

    // (schedules, --source, --database, listed) → jobs, unlisted, warnings
    type Case<'a> = (
        &'a [&'a ScheduleConfig],
        &'a [&'a str],
        &'a [&'a str],
        Vec<(&'a str, Result<&'a [&'a str], &'a str>)>,
        &'a [&'a str],
        &'a [&'a str],
        &'a [&'a str],
    );
    let cases: Vec<Case> = vec![
        (
            &both,
            &[],
            &[],
            vec![("pg", pg_ok), ("my", my_ok)],
            &[
                "hourly:pg/app",
                "hourly:pg/crm",
                "nightly:my/crm",
                "nightly:my/shop",
            ],
            &[],
            &[],
        ),
        (
            &both,
            &["my"],
            &[],
            vec![("my", my_ok)],
            &["nightly:my/crm", "nightly:my/shop"],
            &[],
            &[],
        ),
        (
            &both,
            &[],
            &["crm"],
            vec![("pg", pg_ok), ("my", my_ok)],
            &["hourly:pg/crm", "nightly:my/crm"],
            &[],
            &[],
        ),
        (
            &both,
            &[],
            &[],
            vec![("pg", down), ("my", my_ok)],
            &["nightly:my/crm", "nightly:my/shop"],
            &[
                "hourly:pg/*:connection refused",
                "nightly:pg/*:connection refused",
            ],
            &[],
        ),
        (
            &only_nightly,
            &[],
            &["shop", "nope*"],
            vec![("pg", pg_ok), ("my", down)],
            &["nightly:pg/shop"],
            &[
                "nightly:my/shop:connection refused",
                "nightly:my/*:connection refused",
            ],
            &["source pg: pattern \"nope*\" matches no database"],
        ),
        (
            &only_nightly,
            &["pg"],
            &["nope*"],
            vec![("pg", pg_ok)],
            &[],
            &[],
            &[
                "source pg: pattern \"nope*\" matches no database",
                "nothing was selected to back up",
            ],
        ),
    ];
    for (schedules, only_sources, only_databases, found, want_jobs, want_unlisted, want_warnings) in
        cases
    {
        let (only_sources, only_databases) = (strings(only_sources), strings(only_databases));
        let filters = Filters {
            sources: &only_sources,
            databases: &only_databases,
            agent_labels: None,
        };
        let plan = plan(schedules, find, &filters, &listed(&found));
        let context = format!("{only_sources:?} {only_databases:?} {found:?}");
        assert_eq!(jobs(&plan), want_jobs, "{context}");
        let unlisted: Vec<String> = plan
            .unlisted
            .iter()
            .map(|u| format!("{}:{}/{}:{}", u.schedule, u.source, u.database, u.reason))
            .collect();
        assert_eq!(unlisted, want_unlisted, "{context}");
        assert_eq!(plan.warnings, want_warnings, "{context}");
    }
}

#[test]
fn a_database_in_two_schedules_runs_once_with_the_first_ones_settings() {
    let sources = [source("pg", &["*"], &[])];
    let hourly = schedule("hourly", &["pg"], Some(VerifyLevel::Drill));
    let nightly = schedule("nightly", &["pg"], None);
    let plan = plan(
        &[&hourly, &nightly],
        |name| sources.iter().find(|s| s.name == name),
        &Filters::default(),
        &listed(&[("pg", Ok(&["app"]))]),
    );
    assert_eq!(jobs(&plan), ["hourly:pg/app"]);
    assert_eq!(plan.jobs[0].verify, Some(VerifyLevel::Drill));
    assert_eq!(plan.jobs[0].min_copies, 2, "all destinations by default");
    assert_eq!(plan.notes.len(), 1);
    let find = |name: &str| sources.iter().find(|s| s.name == name);
    assert_eq!(
        sources_to_list(&[&hourly, &nightly], find, &Filters::default()),
        ["pg"]
    );
}

#[test]
fn a_daemon_lists_only_the_sources_it_serves() {
    let mut eu = source("eu-db", &["*"], &[]);
    eu.agents = vec!["eu-west".into()];
    let sources = [eu, source("anywhere", &["*"], &[])];
    let find = |name: &str| sources.iter().find(|s| s.name == name);
    let nightly = schedule("nightly", &["eu-db", "anywhere"], None);
    let labels = |l: &[&str]| strings(l);
    let cases: [(Option<Vec<String>>, &[&str]); 4] = [
        (None, &["eu-db", "anywhere"]),
        (Some(labels(&["eu-west"])), &["eu-db", "anywhere"]),
        (Some(labels(&["us-east", "ssd"])), &["anywhere"]),
        (Some(labels(&[])), &["anywhere"]),
    ];
    for (agent_labels, expected) in cases {
        let filters = Filters {
            agent_labels: agent_labels.as_deref(),
            ..Filters::default()
        };
        assert_eq!(
            sources_to_list(&[&nightly], find, &filters),
            expected,
            "{agent_labels:?}"
        );
    }
}

proptest! {
    /// Whatever the sources list: no database is planned twice, every planned database was
    /// listed by its source (no filter names absent ones here), and a source that could not
    /// be listed plans nothing but its unlisted entries.
    #[test]
    fn plans_never_duplicate_and_only_back_up_what_was_listed(
        pg in proptest::collection::vec("[a-c]{1,2}", 0..6),
        my in proptest::option::of(proptest::collection::vec("[a-c]{1,2}", 0..6)),
    ) {
        let sources = [source("pg", &["*"], &[]), source("my", &["*"], &["b*"])];
        let first = schedule("first", &["pg", "my"], None);
        let second = schedule("second", &["my"], None);
        let mut found = BTreeMap::new();
        found.insert("pg".to_string(), Ok(pg.clone()));
        found.insert("my".to_string(), my.clone().ok_or_else(|| "down".to_string()));
        let plan = plan(
            &[&first, &second],
            |name| sources.iter().find(|s| s.name == name),
            &Filters::default(),
            &found,
        );
        let mut seen = std::collections::BTreeSet::new();
        for job in &plan.jobs {
            prop_assert!(seen.insert((job.source.clone(), job.database.clone())));
            let listed = if job.source == "pg" { Some(&pg) } else { my.as_ref() };
            prop_assert!(listed.is_some_and(|l| l.contains(&job.database)));
            prop_assert!(!(job.source == "my" && job.database.starts_with('b')));
        }
        prop_assert_eq!(plan.unlisted.is_empty(), my.is_some());
    }
}

/// `globals = true` adds the source's server-wide objects first, unless `--database` asks
/// for other databases only.
#[test]
fn a_globals_source_backs_up_its_server_wide_objects_first() {
    let mut pg = source("pg", &["*"], &[]);
    pg.globals = Some(crate::config::GlobalsConfig { passwords: true });
    let plain = source("my", &["*"], &[]);
    let sources = [pg, plain];
    let find = |name: &str| sources.iter().find(|s| s.name == name);
    let nightly = schedule("nightly", &["pg", "my"], None);
    let listed = listed(&[("pg", Ok(&["app"])), ("my", Ok(&["shop"]))]);
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &[],
            &["nightly:pg/*globals*", "nightly:pg/app", "nightly:my/shop"],
        ),
        (&["app"], &["nightly:pg/app", "nightly:my/app"]),
        (&["*globals*"], &["nightly:pg/*globals*"]),
    ];
    for (databases, expected) in cases {
        let databases = strings(databases);
        let filters = Filters {
            sources: &[],
            databases: &databases,
            agent_labels: None,
        };
        let plan = plan(&[&nightly], find, &filters, &listed);
        assert_eq!(jobs(&plan), strings(expected), "--database {databases:?}");
    }
}

/// A real database named `*globals*` would be confused with the server-wide objects: it is
/// planned as a visible failure, never backed up under the reserved name.
#[test]
fn a_database_with_the_reserved_globals_name_fails_visibly() {
    let sources = [source("pg", &["*"], &[])];
    let find = |name: &str| sources.iter().find(|s| s.name == name);
    let nightly = schedule("nightly", &["pg"], None);
    let listed = listed(&[("pg", Ok(&["*globals*", "app"]))]);
    let filters = Filters {
        sources: &[],
        databases: &[],
        agent_labels: None,
    };
    let plan = plan(&[&nightly], find, &filters, &listed);
    assert_eq!(jobs(&plan), strings(&["nightly:pg/app"]));
    assert_eq!(plan.unlisted.len(), 1);
    assert!(
        plan.unlisted[0].reason.contains("reserved"),
        "{:?}",
        plan.unlisted
    );
}
