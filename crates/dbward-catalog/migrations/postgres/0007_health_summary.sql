-- dbward catalog on PostgreSQL, version 7: the table of migrations/sqlite/0007_health_summary.sql
-- (see there for what it serves).
CREATE TABLE health_summary (
    source          TEXT COLLATE "C" NOT NULL,
    database_name   TEXT COLLATE "C" NOT NULL,
    newest          TEXT COLLATE "C",
    cutoff          TEXT COLLATE "C",
    ended           TEXT COLLATE "C",
    usable          TEXT COLLATE "C",
    succeeded       TEXT COLLATE "C",
    sizes           TEXT,
    usable_excludes BIGINT NOT NULL DEFAULT 0,
    drill_failed    TEXT COLLATE "C",
    drill_passed    TEXT COLLATE "C",
    key_passed      TEXT COLLATE "C",
    PRIMARY KEY (source, database_name)
);
CREATE TABLE catalog_chores (name TEXT PRIMARY KEY);
INSERT INTO catalog_chores (name) VALUES ('health_summary');
