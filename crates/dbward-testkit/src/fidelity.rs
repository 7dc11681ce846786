//! The fidelity compare tool: fingerprints a database (schema from catalog queries, and per
//! table an ordered digest of every row at full text precision) so that a restored copy can
//! be proven identical to its source, and lists the differences between two fingerprints.
//! Object names are compared, never OIDs (large objects keep theirs and are compared by OID).

use std::collections::BTreeMap;

use crate::{MariaServer, PgServer};

/// A database on one of the test servers.
#[derive(Clone, Copy)]
pub enum Database<'a> {
    Pg(&'a PgServer, &'a str),
    Maria(&'a MariaServer, &'a str),
}

/// What a database holds, by section (`columns`, `table shop.items`, …): text to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub BTreeMap<String, String>);

impl std::fmt::Debug for Database<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Pg(_, db) => write!(f, "postgres:{db}"),
            Database::Maria(_, db) => write!(f, "mariadb:{db}"),
        }
    }
}

impl Database<'_> {
    fn sql(&self, sql: &str) -> String {
        match self {
            Database::Pg(server, db) => server.sql(db, sql),
            Database::Maria(server, db) => server.sql(db, sql),
        }
    }
}

/// Fingerprints `database`.
pub fn fingerprint(database: Database<'_>) -> Fingerprint {
    match database {
        Database::Pg(..) => pg_fingerprint(database),
        Database::Maria(_, name) => maria_fingerprint(database, name),
    }
}

/// Every section that differs between `source` and `copy`, with both texts (cut to 2,000
/// characters each); empty when they are identical.
pub fn differences(source: &Fingerprint, copy: &Fingerprint) -> Vec<String> {
    let cut = |text: Option<&String>| match text {
        None => "(absent)".to_string(),
        Some(t) if t.chars().count() > 2000 => t.chars().take(2000).collect::<String>() + "…",
        Some(t) => t.clone(),
    };
    let mut keys: Vec<&String> = source.0.keys().chain(copy.0.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| source.0.get(*k) != copy.0.get(*k))
        .map(|k| {
            format!(
                "{k}:\n  source: {}\n  copy:   {}",
                cut(source.0.get(k)),
                cut(copy.0.get(k))
            )
        })
        .collect()
}

const PG_USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

fn pg_fingerprint(db: Database<'_>) -> Fingerprint {
    let u = PG_USER_SCHEMA;
    let rel = "JOIN pg_namespace n ON n.oid = c.relnamespace";
    let sections: Vec<(&str, String)> = vec![
        ("schemas", format!("SELECT n.nspname || ' ' || n.nspowner::regrole || ' ' || coalesce(n.nspacl::text, '') FROM pg_namespace n WHERE {u} ORDER BY 1")),
        ("relations", format!(
            "SELECT format('%I.%I', n.nspname, c.relname) || ' ' || c.relkind::text || c.relpersistence::text || ' rls=' || c.relrowsecurity::text || c.relforcerowsecurity::text \
             || ' owner=' || c.relowner::regrole || ' acl=' || coalesce(c.relacl::text, '') || ' options=' || coalesce(c.reloptions::text, '') \
             || ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '') || ' key=' || coalesce(pg_get_partkeydef(c.oid), '') \
             || ' populated=' || c.relispopulated::text || ' replident=' || c.relreplident::text FROM pg_class c {rel} WHERE {u} ORDER BY 1")),
        ("columns", format!(
            "SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) || ' #' || a.attnum || ' ' || format_type(a.atttypid, a.atttypmod) \
             || ' notnull=' || a.attnotnull::text || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text \
             || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' collation=' || coalesce(co.collname, '') \
             || ' acl=' || coalesce(a.attacl::text, '') || ' storage=' || a.attstorage::text || ' stats=' || a.attstattarget \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid {rel} \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100 \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND {u} ORDER BY 1")),
        ("inherits", format!("SELECT i.inhrelid::regclass || ' < ' || i.inhparent::regclass || ' #' || i.inhseqno FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid {rel} WHERE {u} ORDER BY 1")),
        ("constraints", format!(
            "SELECT k.conname || ' on ' || k.conrelid::regclass || '/' || k.contypid::regtype || ': ' || pg_get_constraintdef(k.oid) \
             || ' deferrable=' || k.condeferrable::text || k.condeferred::text || ' valid=' || k.convalidated::text \
             FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE {u} ORDER BY 1")),
        ("indexes", format!("SELECT pg_get_indexdef(i.indexrelid) || ' clustered=' || i.indisclustered::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid {rel} WHERE {u} ORDER BY 1")),
        ("views", format!("SELECT format('%I.%I', n.nspname, c.relname) || ': ' || pg_get_viewdef(c.oid) FROM pg_class c {rel} WHERE c.relkind::text IN ('v', 'm') AND {u} ORDER BY 1")),
        ("routines", format!(
            "SELECT CASE WHEN p.prokind = 'a' THEN p.oid::regprocedure || ' aggregate ' || a.aggtransfn::regproc || ' ' || coalesce(a.agginitval, '') \
             ELSE pg_get_functiondef(p.oid) END || ' owner=' || p.proowner::regrole || ' acl=' || coalesce(p.proacl::text, '') \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid WHERE {u} ORDER BY 1")),
        ("triggers", format!("SELECT pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid {rel} WHERE NOT t.tgisinternal AND {u} ORDER BY 1")),
        ("event_triggers", "SELECT evtname || ' ' || evtevent || ' ' || evtenabled::text || ' ' || coalesce(evttags::text, '') || ' ' || evtfoid::regproc FROM pg_event_trigger ORDER BY 1".into()),
        ("rules", format!("SELECT pg_get_ruledef(r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class {rel} WHERE r.rulename <> '_RETURN' AND {u} ORDER BY 1")),
        ("policies", "SELECT p.polname || ' on ' || p.polrelid::regclass || ' ' || p.polcmd::text || ' permissive=' || p.polpermissive::text || ' roles=' || p.polroles::regrole[]::text \
             || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') FROM pg_policy p ORDER BY 1".into()),
        ("types", format!(
            "SELECT t.oid::regtype || ' ' || t.typtype::text || ' base=' || t.typbasetype::regtype || ' notnull=' || t.typnotnull::text || ' acl=' || coalesce(t.typacl::text, '') \
             || ' labels=' || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') \
             || ' range=' || coalesce((SELECT r.rngsubtype::regtype::text FROM pg_range r WHERE r.rngtypid = t.oid), '') \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {u} AND t.typtype IN ('d', 'e', 'r', 'm', 'c') ORDER BY 1")),
        ("sequences", "SELECT format('%I.%I', schemaname, sequencename) || ' ' || data_type || ' ' || start_value || ' ' || min_value || ' ' || max_value || ' ' || increment_by \
             || ' ' || cycle::text || ' ' || cache_size || ' last=' || coalesce(last_value::text, 'none') FROM pg_sequences ORDER BY 1".into()),
        ("comments", "SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description FROM pg_description d \
             WHERE d.classoid <> 'pg_catalog.pg_proc'::regclass OR d.objoid >= 16384 ORDER BY 1".into()),
        ("collations", format!("SELECT co.collname || ' ' || co.collprovider::text || ' ' || coalesce(co.colliculocale, co.collcollate, '') FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE {u} ORDER BY 1")),
        ("extensions", "SELECT extname || ' ' || extversion || ' ' || extnamespace::regnamespace FROM pg_extension ORDER BY 1".into()),
        ("large_objects", "SELECT m.oid::text || ' ' || m.lomowner::regrole || ' ' || coalesce(m.lomacl::text, '') || ' ' || md5(lo_get(m.oid)) FROM pg_largeobject_metadata m ORDER BY 1".into()),
        ("publications", "SELECT p.pubname || ' all=' || p.puballtables::text || ' ' || p.pubinsert::text || p.pubupdate::text || p.pubdelete::text || p.pubtruncate::text \
             || ' tables=' || coalesce((SELECT string_agg(format('%I.%I', t.schemaname, t.tablename), ',' ORDER BY 1) FROM pg_publication_tables t WHERE t.pubname = p.pubname), '') \
             FROM pg_publication p ORDER BY 1".into()),
        ("default_privileges", "SELECT d.defaclrole::regrole || ' ' || coalesce(d.defaclnamespace::regnamespace::text, '') || ' ' || d.defaclobjtype::text || ' ' || d.defaclacl::text FROM pg_default_acl d ORDER BY 1".into()),
    ];
    let mut out = BTreeMap::new();
    for (name, sql) in sections {
        out.insert(name.to_string(), db.sql(&sql));
    }
    // Data: every table and populated materialized view (partitioned parents hold none),
    // each row's text form at full precision, in a fixed order.
    let tables = db.sql(&format!(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c {rel} \
         WHERE (c.relkind::text = 'r' OR (c.relkind::text = 'm' AND c.relispopulated)) AND {u} ORDER BY 1"
    ));
    for table in tables.lines().filter(|l| !l.is_empty()) {
        let digest = db.sql(&format!(
            "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM ONLY {table} t"
        ));
        out.insert(format!("table {table}"), digest);
    }
    Fingerprint(out)
}

fn maria_fingerprint(db: Database<'_>, name: &str) -> Fingerprint {
    let schema = name.replace('\'', "''");
    let mut out = BTreeMap::new();
    let sections: Vec<(&str, String)> = vec![
        (
            "tables",
            format!(
                "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{schema}' ORDER BY 1"
            ),
        ),
        (
            "columns",
            format!(
                "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{schema}' ORDER BY 1, 3"
            ),
        ),
        (
            "routines",
            format!(
                "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{schema}' ORDER BY 1, 2"
            ),
        ),
        (
            "parameters",
            format!(
                "SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = '{schema}' ORDER BY 1, 2"
            ),
        ),
        (
            "triggers",
            format!(
                "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_ORDER, ACTION_TIMING, ACTION_STATEMENT, SQL_MODE, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{schema}' ORDER BY 1"
            ),
        ),
        (
            "events",
            format!(
                "SELECT EVENT_NAME, DEFINER, TIME_ZONE, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, STARTS, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{schema}' ORDER BY 1"
            ),
        ),
        (
            "views",
            format!(
                "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, ALGORITHM, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{schema}' ORDER BY 1"
            ),
        ),
        (
            "constraints",
            format!(
                "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{schema}' ORDER BY 1, 2"
            ),
        ),
        (
            "keys",
            format!(
                "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE, COLLATION, SUB_PART, INDEX_COMMENT FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{schema}' ORDER BY 1, 2, 3"
            ),
        ),
        (
            "foreign_keys",
            format!(
                "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{schema}' ORDER BY 1"
            ),
        ),
    ];
    for (section, sql) in sections {
        out.insert(section.to_string(), db.sql(&sql));
    }
    let tables = db.sql(&format!(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{schema}' AND TABLE_TYPE <> 'VIEW' ORDER BY 1"
    ));
    for line in tables.lines().filter(|l| !l.is_empty()) {
        let (table, kind) = line.split_once('\t').unwrap_or((line, ""));
        let quoted = format!("`{}`", table.replace('`', "``"));
        // SHOW CREATE holds what information_schema does not: periods, AUTO_INCREMENT,
        // engine options, WITHOUT OVERLAPS.
        let show = if kind == "SEQUENCE" {
            "SEQUENCE"
        } else {
            "TABLE"
        };
        out.insert(
            format!("create {table}"),
            db.sql(&format!("SHOW CREATE {show} {quoted}")),
        );
        let digest = if kind == "SEQUENCE" {
            db.sql(&format!("SELECT * FROM {quoted}"))
        } else {
            maria_table_digest(db, &schema, table, &quoted, kind == "SYSTEM VERSIONED")
        };
        out.insert(format!("table {table}"), digest);
    }
    // Views name their tables with the database's own name, which the copy does not share.
    let own = format!("`{}`.", name.replace('`', "``"));
    for text in out.values_mut() {
        *text = text.replace(&own, "`<database>`.");
    }
    Fingerprint(out)
}

/// `count md5` over every row (history rows too), each column as text (binary, bit and
/// spatial columns in hex; NULL told from the text `NULL`), rows in a fixed order.
fn maria_table_digest(
    db: Database<'_>,
    schema: &str,
    table: &str,
    quoted: &str,
    versioned: bool,
) -> String {
    let columns = db.sql(&format!(
        "SELECT COLUMN_NAME, DATA_TYPE, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME = '{}' ORDER BY ORDINAL_POSITION",
        table.replace('\'', "''")
    ));
    let mut exprs = Vec::new();
    let mut explicit_period = false;
    for line in columns.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.split('\t');
        let (name, data_type) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let column = format!("`{}`", name.replace('`', "``"));
        explicit_period |=
            data_type.starts_with("timestamp") && line.contains("STORED GENERATED") && versioned;
        let binary = [
            "binary",
            "varbinary",
            "tinyblob",
            "blob",
            "mediumblob",
            "longblob",
            "bit",
            "geometry",
            "point",
            "linestring",
            "polygon",
            "multipoint",
            "multilinestring",
            "multipolygon",
            "geometrycollection",
        ];
        let text = if binary.contains(&data_type) {
            format!("HEX({column})")
        } else {
            column
        };
        exprs.push(format!("IFNULL(CONCAT('v', {text}), 'NULL')"));
    }
    if versioned && !explicit_period {
        exprs.push("CONCAT(ROW_START, ' ', ROW_END)".into());
    }
    let all = if versioned {
        " FOR SYSTEM_TIME ALL"
    } else {
        ""
    };
    db.sql(&format!(
        "SET SESSION group_concat_max_len = 1073741824; \
         SELECT COUNT(*), IFNULL(MD5(GROUP_CONCAT(r ORDER BY r SEPARATOR 0x1e)), '') FROM \
         (SELECT CONCAT_WS(0x1f, {}) AS r FROM {quoted}{all}) x",
        exprs.join(", ")
    ))
}
