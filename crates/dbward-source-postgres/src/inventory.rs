//! The object inventory of a PostgreSQL database, counted from the system catalogs in one
//! query: what the source records in the manifest and what a drill counts in the restored copy.
//! Objects that belong to an extension are left out (they come back with the extension), as
//! are the system schemas.

use dbward_core::{Error, Inventory, ObjectKind};
use sqlx::AssertSqlSafe;

use crate::PostgresSettings;
use crate::conn::{self, Purpose};

/// Namespaces that hold user objects.
const USER_SCHEMA: &str = "nspname NOT IN ('pg_catalog', 'information_schema') \
     AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'";

/// `alias.oid` (a row of `catalog`) is not a member of an extension.
fn not_extension_member(catalog: &str, alias: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.deptype = 'e' \
         AND e.classid = 'pg_catalog.{catalog}'::regclass AND e.objid = {alias}.oid)"
    )
}

/// Relations of the given `relkind`s in user schemas.
fn relations(relkinds: &str) -> String {
    format!(
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ({relkinds}) AND {USER_SCHEMA} AND {}",
        not_extension_member("pg_class", "c")
    )
}

/// One counting subquery per kind.
fn counts() -> Vec<(ObjectKind, String)> {
    let user_relation = |column: &str| {
        format!(
            "{column} IN (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
             ON n.oid = c.relnamespace WHERE {USER_SCHEMA} AND {})",
            not_extension_member("pg_class", "c")
        )
    };
    vec![
        (
            ObjectKind::Schemas,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_namespace n WHERE {USER_SCHEMA} AND {}",
                not_extension_member("pg_namespace", "n")
            ),
        ),
        (ObjectKind::Tables, relations("'r', 'p'")),
        (ObjectKind::Views, relations("'v'")),
        (ObjectKind::MaterializedViews, relations("'m'")),
        (ObjectKind::Sequences, relations("'S'")),
        (ObjectKind::Indexes, relations("'i', 'I'")),
        (
            ObjectKind::Constraints,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_namespace n \
                 ON n.oid = k.connamespace WHERE {USER_SCHEMA} AND {}",
                not_extension_member("pg_constraint", "k")
            ),
        ),
        (
            ObjectKind::Routines,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n \
                 ON n.oid = p.pronamespace WHERE {USER_SCHEMA} AND {}",
                not_extension_member("pg_proc", "p")
            ),
        ),
        (
            ObjectKind::Triggers,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal AND {}",
                user_relation("t.tgrelid")
            ),
        ),
        (
            ObjectKind::EventTriggers,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_event_trigger v WHERE {}",
                not_extension_member("pg_event_trigger", "v")
            ),
        ),
        (
            ObjectKind::Rules,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN' AND {}",
                user_relation("r.ev_class")
            ),
        ),
        (
            ObjectKind::Policies,
            format!(
                "SELECT count(*) FROM pg_catalog.pg_policy p WHERE {}",
                user_relation("p.polrelid")
            ),
        ),
        (
            ObjectKind::Types,
            // Domains, enums, ranges (with their multiranges) and free-standing composite
            // types; a table's row type and array types come with their owners.
            format!(
                "SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n \
                 ON n.oid = t.typnamespace WHERE {USER_SCHEMA} AND {} AND (t.typtype IN ('d', 'e', 'r', 'm') \
                 OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))",
                not_extension_member("pg_type", "t")
            ),
        ),
        (
            ObjectKind::Extensions,
            "SELECT count(*) FROM pg_catalog.pg_extension".to_string(),
        ),
        (
            ObjectKind::LargeObjects,
            "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata".to_string(),
        ),
    ]
}

/// Counts the objects of `database` by kind. PostgreSQL has no system-versioned tables, so
/// the inventory has no history rows.
pub async fn take(settings: &PostgresSettings, database: &str) -> Result<Inventory, Error> {
    let kinds = counts();
    let select = kinds
        .iter()
        .map(|(_, sql)| format!("({sql})::bigint"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut conn = conn::connect(settings, database, Purpose::Dump).await?;
    let row: Result<Vec<i64>, _> =
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT ARRAY[{select}]")))
            .fetch_one(&mut conn)
            .await;
    conn::close(conn).await;
    let counts =
        row.map_err(|e| conn::query_error(&format!("cannot take the inventory of {database}"), e))?;
    let mut inventory = Inventory::default();
    for ((kind, _), count) in kinds.iter().zip(counts) {
        inventory.set(*kind, count.max(0) as u64);
    }
    Ok(inventory)
}
