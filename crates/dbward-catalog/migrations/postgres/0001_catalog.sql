-- dbward catalog on PostgreSQL, version 1: the tables, columns and value encodings of the
-- SQLite catalog (migrations/sqlite), so that one set of queries serves both and
-- `catalog migrate` copies rows as they are. Timestamps are RFC 3339 UTC text with
-- milliseconds (fixed width), and every text column compares bytewise (COLLATE "C"), so text
-- order is time order, as in SQLite, whatever the database's locale. Integers are BIGINT.

CREATE TABLE runs (
    id          TEXT COLLATE "C" PRIMARY KEY,
    schedule    TEXT COLLATE "C",
    host        TEXT NOT NULL,
    started_at  TEXT COLLATE "C" NOT NULL,
    finished_at TEXT COLLATE "C",
    status      TEXT NOT NULL
);

CREATE TABLE backups (
    id            TEXT COLLATE "C" PRIMARY KEY,
    run_id        TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
    schedule      TEXT COLLATE "C",
    source        TEXT COLLATE "C" NOT NULL,
    engine        TEXT NOT NULL,
    database_name TEXT COLLATE "C" NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    started_at    TEXT COLLATE "C" NOT NULL,
    finished_at   TEXT COLLATE "C",
    dump_bytes    BIGINT,
    stored_bytes  BIGINT,
    sha256        TEXT,
    compression   TEXT,
    manifest      TEXT,
    pruned_at     TEXT COLLATE "C",
    prune_reason  TEXT
);

CREATE INDEX backups_by_database ON backups (source, database_name, started_at);
CREATE INDEX backups_by_start ON backups (started_at);

CREATE TABLE copies (
    backup_id   TEXT COLLATE "C" NOT NULL REFERENCES backups(id),
    destination TEXT COLLATE "C" NOT NULL,
    path        TEXT COLLATE "C" NOT NULL,
    status      TEXT NOT NULL,
    size        BIGINT,
    error       TEXT,
    PRIMARY KEY (backup_id, destination)
);

CREATE TABLE warnings (
    backup_id TEXT COLLATE "C" NOT NULL REFERENCES backups(id),
    position  BIGINT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (backup_id, position)
);

CREATE TABLE verifications (
    id          TEXT COLLATE "C" PRIMARY KEY,
    backup_id   TEXT COLLATE "C" NOT NULL REFERENCES backups(id),
    level       TEXT NOT NULL,
    ok          BIGINT NOT NULL,
    at          TEXT COLLATE "C" NOT NULL,
    duration_ms BIGINT,
    details     TEXT
);

CREATE INDEX verifications_by_backup ON verifications (backup_id, at);
