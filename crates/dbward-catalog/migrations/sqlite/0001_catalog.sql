-- dbward catalog, version 1. Portable SQL: the same schema serves SQLite and PostgreSQL.
-- Timestamps are RFC 3339 UTC text with milliseconds, so that text order is time order.

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    schedule    TEXT,
    host        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL
);

CREATE TABLE backups (
    id            TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs(id),
    schedule      TEXT,
    source        TEXT NOT NULL,
    engine        TEXT NOT NULL,
    database_name TEXT NOT NULL,
    status        TEXT NOT NULL,
    error         TEXT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    dump_bytes    BIGINT,
    stored_bytes  BIGINT,
    sha256        TEXT,
    compression   TEXT,
    manifest      TEXT,
    pruned_at     TEXT,
    prune_reason  TEXT
);

CREATE INDEX backups_by_database ON backups (source, database_name, started_at);
CREATE INDEX backups_by_start ON backups (started_at);

CREATE TABLE copies (
    backup_id   TEXT NOT NULL REFERENCES backups(id),
    destination TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      TEXT NOT NULL,
    size        BIGINT,
    error       TEXT,
    PRIMARY KEY (backup_id, destination)
);

CREATE TABLE warnings (
    backup_id TEXT NOT NULL REFERENCES backups(id),
    position  INTEGER NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (backup_id, position)
);

CREATE TABLE verifications (
    id          TEXT PRIMARY KEY,
    backup_id   TEXT NOT NULL REFERENCES backups(id),
    level       TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    at          TEXT NOT NULL,
    duration_ms BIGINT,
    details     TEXT
);

CREATE INDEX verifications_by_backup ON verifications (backup_id, at);
