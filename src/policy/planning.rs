//! Backup planning: which schedule × source × database a run backs up, decided from the
//! schedules chosen, the command's filters and what each source listed. Pure: the engine
//! lists the sources, this decides, the engine runs the jobs and records the failures.

use dbward_core::manifest::GLOBALS;
use std::collections::BTreeMap;

use super::select::{expected_without_discovery, select};
use crate::config::{Compression, ScheduleConfig, SourceConfig, VerifyLevel};

/// One database to back up, with its schedule's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub schedule: Option<String>,
    pub source: String,
    pub database: String,
    pub destinations: Vec<String>,
    pub compression: Compression,
    pub min_dump_bytes: u64,
    pub min_copies: usize,
    pub verify: Option<VerifyLevel>,
}

/// A database a run expected from a source it could not list: recorded as a failed backup,
/// so that it shows in `list`, alerts and the exit code, not only in a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlisted {
    pub schedule: String,
    pub source: String,
    /// A literal name, or `*` standing for whatever the globs would have matched.
    pub database: String,
    pub reason: String,
}

/// What a run does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub jobs: Vec<Job>,
    pub unlisted: Vec<Unlisted>,
    /// Patterns that matched nothing, and "nothing was selected".
    pub warnings: Vec<String>,
    /// Databases in several schedules, backed up once with the first one's settings.
    pub notes: Vec<String>,
}

/// What the command asked for beyond the schedule.
#[derive(Debug, Clone, Default)]
pub struct Filters<'a> {
    pub sources: &'a [String],
    pub databases: &'a [String],
    /// A daemon's labels: only the sources it serves (their `agents`). `None`: every source.
    pub agent_labels: Option<&'a [String]>,
}

/// The sources `schedules` would list under `filters`, each once, in order.
pub fn sources_to_list<'s, 'c>(
    schedules: &[&'s ScheduleConfig],
    source_config: impl Fn(&str) -> Option<&'c SourceConfig>,
    filters: &Filters,
) -> Vec<&'s str> {
    let mut names: Vec<&str> = Vec::new();
    for schedule in schedules {
        for source in &schedule.sources {
            let asked = filters.sources.is_empty() || filters.sources.contains(source);
            let served = match filters.agent_labels {
                None => true,
                Some(labels) => source_config(source).is_some_and(|s| s.served_by(labels)),
            };
            if asked && served && !names.contains(&source.as_str()) {
                names.push(source);
            }
        }
    }
    names
}

/// Plans a run. `listed` holds, per source of [`sources_to_list`], its databases or why they
/// could not be listed (a source missing there is not this run's); `source_config` finds a
/// source's config by name.
pub fn plan<'a>(
    schedules: &[&ScheduleConfig],
    source_config: impl Fn(&str) -> Option<&'a SourceConfig>,
    filters: &Filters,
    listed: &BTreeMap<String, Result<Vec<String>, String>>,
) -> Plan {
    let mut plan = Plan::default();
    for schedule in schedules {
        for source_name in &schedule.sources {
            let (Some(config), Some(found)) = (source_config(source_name), listed.get(source_name))
            else {
                continue;
            };
            let available = match found {
                Ok(list) => list,
                Err(reason) => {
                    let expected = expected_without_discovery(&config.databases, filters.databases);
                    plan.unlisted
                        .extend(expected.into_iter().map(|database| Unlisted {
                            schedule: schedule.name.clone(),
                            source: source_name.clone(),
                            database,
                            reason: reason.clone(),
                        }));
                    continue;
                }
            };
            // `--database '*globals*'` names the server-wide objects, never a glob of databases.
            let globals_asked =
                filters.databases.is_empty() || filters.databases.iter().any(|d| d == GLOBALS);
            let requested: Vec<String> = filters
                .databases
                .iter()
                .filter(|d| *d != GLOBALS)
                .cloned()
                .collect();
            let selection = if requested.is_empty() && !filters.databases.is_empty() {
                Default::default()
            } else {
                select(
                    available,
                    &config.databases,
                    &config.exclude_databases,
                    &requested,
                )
            };
            for pattern in selection.unmatched {
                plan.warnings.push(format!(
                    "source {source_name}: pattern {pattern:?} matches no database"
                ));
            }
            let mut databases = selection.databases;
            // A real database with the reserved name would pass for the server-wide objects
            // (and they for it): it fails visibly instead of being skipped.
            if let Some(at) = databases.iter().position(|d| d == GLOBALS) {
                databases.remove(at);
                plan.unlisted.push(Unlisted {
                    schedule: schedule.name.clone(),
                    source: source_name.clone(),
                    database: GLOBALS.to_string(),
                    reason: format!(
                        "a database named {GLOBALS:?} cannot be backed up: the name is reserved for the server-wide objects (globals = true); rename the database"
                    ),
                });
            }
            // The server-wide objects come first: a rebuild restores them before any database.
            if config.globals.is_some() && globals_asked {
                databases.insert(0, GLOBALS.to_string());
            }
            for database in databases {
                let earlier = plan
                    .jobs
                    .iter()
                    .find(|j| j.source == *source_name && j.database == database);
                if let Some(earlier) = earlier {
                    // Two schedules cover it: one run backs it up once, not twice racing.
                    let first = earlier.schedule.as_deref().unwrap_or("-");
                    plan.notes.push(format!(
                        "{source_name}/{database} is in schedules {first} and {}; backing it up once, with {first}'s settings",
                        schedule.name
                    ));
                    continue;
                }
                plan.jobs.push(Job {
                    schedule: Some(schedule.name.clone()),
                    source: source_name.clone(),
                    database,
                    destinations: schedule.destinations.clone(),
                    compression: schedule.compression,
                    min_dump_bytes: schedule.min_dump_bytes,
                    min_copies: schedule.min_copies.unwrap_or(schedule.destinations.len()),
                    verify: schedule.verify,
                });
            }
        }
    }
    if plan.jobs.is_empty() && plan.unlisted.is_empty() {
        plan.warnings.push("nothing was selected to back up".into());
    }
    plan
}

#[cfg(test)]
#[path = "planning_tests.rs"]
mod tests;
