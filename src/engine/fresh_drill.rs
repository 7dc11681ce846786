//! The fresh-server drill (`verify --level drill --fresh-server --source S`, F23): proves
//! that a lost machine can be rebuilt from the backups alone. It starts an empty private
//! server of the source's engine (PostgreSQL, or MariaDB for mysql and mariadb sources),
//! applies the newest backup of the source's server-wide objects, restores the newest good
//! backup of every database the source selects (PostgreSQL: ownership kept, a missing role
//! fails the restore), compares each with its manifest, applies the server-wide objects
//! again for the databases' owners and settings (PostgreSQL: MariaDB databases have no
//! owner), and removes the server. The time from the
//! first byte to the last restored database is the source's measured RTO, recorded on every
//! backup the rebuild used.

use std::time::Instant;

use dbward_core::Engine;
use dbward_core::manifest::GLOBALS;
use dbward_core::restore::{GlobalsReport, RestoreTarget};

use super::artifact::{CopyOutcome, read_first_good_copy};
use super::fresh_server::{FRESH_SUPERUSER, FreshServer};
use super::keys::Keyring;
use super::locate::{BackupRef, Located, locate};
use super::observe::Observer;
use super::restore::{Placement, restore_located};
use super::verify::{Check, VerifyResult, compare_counts, compare_inventory};
use super::{Context, UsageError};
use crate::config::VerifyLevel;
use crate::registry;

/// Runs one fresh-server drill of `source_name`; one result per backup it used, the globals
/// backup's first (it also carries the checks of the rebuild as a whole).
pub async fn run(
    ctx: &Context,
    source_name: &str,
    identity: Option<&std::path::Path>,
    progress: &dyn Observer,
) -> anyhow::Result<Vec<VerifyResult>> {
    let config = ctx.config.source(source_name).ok_or_else(|| {
        UsageError(format!(
            "no [[source]] named {source_name:?} in {}",
            ctx.config.file.display()
        ))
    })?;
    let rebuildable = matches!(
        config.engine,
        Engine::Postgres | Engine::Mysql | Engine::Mariadb
    );
    if !rebuildable || config.globals.is_none() {
        return Err(UsageError(format!(
            "--fresh-server rebuilds a server from its backups: source {source_name} needs engine = \"postgres\", \"mysql\" or \"mariadb\" and globals = true (without the roles or users no lost server can be rebuilt)"
        ))
        .into());
    }
    let globals = locate(
        ctx,
        &BackupRef::Latest {
            source: source_name.into(),
            database: GLOBALS.into(),
        },
        None,
        false,
    )
    .await?;
    let expected = expected_databases(ctx, source_name, &globals).await?;
    let mut keyring = None;
    let needs_key = globals.manifest.encryption.is_some()
        || expected
            .iter()
            .any(|(_, l)| l.as_ref().is_some_and(|l| l.manifest.encryption.is_some()));
    if needs_key {
        keyring = super::keys::keyring(ctx, identity)?;
    }
    let major = leading_number(&globals.manifest.server_version).ok_or_else(|| {
        anyhow::anyhow!(
            "backup {}: server_version {:?} names no major version",
            globals.manifest.id,
            globals.manifest.server_version
        )
    })?;
    let tool_dir = match &config.connection {
        crate::config::Connection::Server { tool_dir, .. } => tool_dir.clone(),
        _ => None,
    };
    let started = Instant::now();
    let server = FreshServer::start(
        config.engine,
        tool_dir.as_deref(),
        major,
        globals.manifest.database_settings.as_ref(),
    )
    .await?;
    let initialised = server
        .locale()
        .map(|l| format!("initialised with {l}; "))
        .unwrap_or_default();
    let target = registry::fresh_server_target(
        config,
        &ctx.scratch,
        server.port(),
        FRESH_SUPERUSER,
        server.password().clone(),
    );
    let owners_after = config.engine == Engine::Postgres;
    let rebuilt = tokio::select! {
        rebuilt = rebuild(target.as_ref(), &globals, &expected, keyring.as_ref(), owners_after, progress, started) => rebuilt,
        signal = super::restore::interrupted() => Err(anyhow::anyhow!("interrupted ({signal})")),
    };
    server.stop().await;
    let mut results = rebuilt?;
    if let Some(first) = results.first_mut() {
        first.checks.push(Check {
            name: "fresh server".into(),
            ok: true,
            detail: format!("{initialised}stopped and removed"),
        });
    }
    for result in &mut results {
        result.duration_ms = started.elapsed().as_millis() as u64;
        result.error = result
            .checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail));
        result.ok = result.error.is_none();
    }
    Ok(results)
}

/// Every database the source selects among those its server held at the globals backup
/// (PostgreSQL's maintenance database aside), each with its newest good backup when there
/// is one.
async fn expected_databases(
    ctx: &Context,
    source_name: &str,
    globals: &Located,
) -> anyhow::Result<Vec<(String, Option<Located>)>> {
    let config = ctx
        .config
        .source(source_name)
        .expect("checked by the caller");
    let maintenance = match &config.connection {
        crate::config::Connection::Server {
            maintenance_database,
            ..
        } if config.engine == Engine::Postgres => Some(
            maintenance_database
                .clone()
                .unwrap_or_else(|| "postgres".into()),
        ),
        _ => None,
    };
    let on_server: Vec<String> = globals
        .manifest
        .globals
        .as_ref()
        .map(|g| g.databases.iter().map(|d| d.database.clone()).collect())
        .unwrap_or_default();
    let on_server: Vec<String> = on_server
        .into_iter()
        .filter(|d| maintenance.as_ref() != Some(d))
        .collect();
    let selected = crate::policy::select::select(
        &on_server,
        &config.databases,
        &config.exclude_databases,
        &[],
    )
    .databases;
    let mut expected = Vec::new();
    for database in selected {
        let backup = BackupRef::Latest {
            source: source_name.into(),
            database: database.clone(),
        };
        let located = locate(ctx, &backup, None, false).await.ok();
        expected.push((database, located));
    }
    Ok(expected)
}

async fn rebuild(
    target: &dyn RestoreTarget,
    globals: &Located,
    expected: &[(String, Option<Located>)],
    keyring: Option<&Keyring>,
    owners_after: bool,
    progress: &dyn Observer,
    started: Instant,
) -> anyhow::Result<Vec<VerifyResult>> {
    let mut whole = result_for(globals);
    let roles = apply_globals(target, globals, keyring, progress).await;
    whole.checks.push(globals_check("roles", &roles, |r| {
        format!("created {} roles, kept {}", r.created.len(), r.kept.len())
    }));
    if expected.is_empty() {
        // Nothing to rebuild proves nothing; a MariaDB globals backup of dbward before the
        // fresh-server drill also lacks the list.
        whole.checks.push(Check {
            name: "databases".into(),
            ok: false,
            detail: format!(
                "the globals backup {} lists no database this source selects: check databases = [...], or run `dbward backup --source {}` for a globals backup that lists them",
                globals.manifest.id, globals.manifest.source
            ),
        });
    }
    let mut results = Vec::new();
    for (database, located) in expected {
        let Some(located) = located else {
            whole.checks.push(Check {
                name: format!("database {database}"),
                ok: false,
                detail: format!(
                    "the source selects it (server as at globals backup {}) but it has no good backup: a rebuild would lack it",
                    globals.manifest.id
                ),
            });
            continue;
        };
        let mut result = result_for(located);
        result.checks = restore_and_compare(target, located, database, keyring, progress).await;
        let ok = result.checks.iter().all(|c| c.ok);
        whole.checks.push(Check {
            name: format!("database {database}"),
            ok,
            detail: if ok {
                format!("restored from backup {}", located.manifest.id)
            } else {
                format!("backup {} did not come back whole", located.manifest.id)
            },
        });
        results.push(result);
    }
    if owners_after {
        let owners = apply_globals(target, globals, keyring, progress).await;
        whole.checks.push(globals_check(
            "database owners and settings",
            &owners,
            |r| format!("applied to {} databases", r.databases.len()),
        ));
    }
    let rto = started.elapsed().as_millis() as u64;
    whole.checks.push(Check {
        name: "rebuild".into(),
        ok: true,
        detail: format!(
            "{} databases in {:.1}s (measured RTO)",
            results.len(),
            rto as f64 / 1000.0
        ),
    });
    results.insert(0, whole);
    for result in &mut results {
        result.restore_ms = Some(rto);
    }
    Ok(results)
}

fn result_for(located: &Located) -> VerifyResult {
    let m = &located.manifest;
    VerifyResult::pending(&m.id, &m.source, &m.database, VerifyLevel::Drill)
}

async fn apply_globals(
    target: &dyn RestoreTarget,
    globals: &Located,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
) -> Result<GlobalsReport, String> {
    let manifest = &globals.manifest;
    match read_first_good_copy(globals, keyring, progress, "rebuild", async |dump| {
        target.apply_globals(manifest, dump, false).await
    })
    .await
    {
        CopyOutcome::Read { value, .. } => Ok(value),
        CopyOutcome::Failed { copy, error, .. } => Err(format!("from {copy}: {error}")),
        CopyOutcome::Unreadable { skipped } => {
            Err(format!("no copy could be read: {}", skipped.join("; ")))
        }
    }
}

fn globals_check(
    name: &str,
    applied: &Result<GlobalsReport, String>,
    describe: impl Fn(&GlobalsReport) -> String,
) -> Check {
    match applied {
        Ok(report) if report.failed.is_empty() => Check {
            name: name.into(),
            ok: true,
            detail: describe(report),
        },
        Ok(report) => Check {
            name: name.into(),
            ok: false,
            detail: format!("refused: {}", report.failed.join("; ")),
        },
        Err(e) => Check {
            name: name.into(),
            ok: false,
            detail: e.clone(),
        },
    }
}

/// Restores `located` under its own name (ownership kept) and compares it with its manifest.
async fn restore_and_compare(
    target: &dyn RestoreTarget,
    located: &Located,
    database: &str,
    keyring: Option<&Keyring>,
    progress: &dyn Observer,
) -> Vec<Check> {
    let placement = Placement::Named {
        database,
        force: false,
        journal: None,
    };
    let loaded = match restore_located(target, located, placement, keyring, progress).await {
        Ok(loaded) => loaded,
        Err(e) => {
            return vec![Check {
                name: "restore".into(),
                ok: false,
                detail: format!("{e:#}"),
            }];
        }
    };
    let mut checks = vec![Check {
        name: "restore".into(),
        ok: true,
        detail: format!("{database} from {}", loaded.copy),
    }];
    match target.count_rows(database).await {
        Ok(restored) => checks.extend(compare_counts(&located.manifest.tables, &restored)),
        Err(e) => checks.push(Check {
            name: "row counts".into(),
            ok: false,
            detail: e.to_string(),
        }),
    }
    if let Some(recorded) = &located.manifest.inventory {
        checks.push(match target.inventory(database).await {
            Ok(restored) => compare_inventory(recorded, &restored),
            Err(e) => Check {
                name: "inventory".into(),
                ok: false,
                detail: e.to_string(),
            },
        });
    }
    checks
}

/// `15` of `15.4 (Debian 15.4-1)`.
fn leading_number(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
