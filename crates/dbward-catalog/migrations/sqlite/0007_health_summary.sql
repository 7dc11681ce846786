-- dbward catalog, version 7: what `status` judges of each database, kept up to date by every
-- write that changes it (src/sql_health.rs), so that `status` reads one row per database
-- instead of walking each database's history (a million backups over ten thousand
-- databases: ~1 s of index walking per `status` before, a row per database now).
-- Backup and verification ids; `newest` is NULL once every backup of the database is pruned.
CREATE TABLE health_summary (
    source          TEXT NOT NULL,
    database_name   TEXT NOT NULL,
    newest          TEXT,
    cutoff          TEXT,
    ended           TEXT,
    usable          TEXT,
    succeeded       TEXT,
    sizes           TEXT,
    usable_excludes INTEGER NOT NULL DEFAULT 0,
    drill_failed    TEXT,
    drill_passed    TEXT,
    key_passed      TEXT,
    PRIMARY KEY (source, database_name)
);
-- Work the next `open` does once, after the migrations: here, filling `health_summary` from
-- the history already recorded.
CREATE TABLE catalog_chores (name TEXT PRIMARY KEY);
INSERT INTO catalog_chores (name) VALUES ('health_summary');
