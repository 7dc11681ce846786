-- dbward catalog, version 9: the WAL files `dbward wal push` archived for each pitr source,
-- one row per destination that holds one, so `status` can tell the newest archived segment
-- and its age and find gaps, and `prune` knows what it may delete. `name` is the WAL file's
-- own name (segment, .history, .backup, .partial); `timeline` is read from it; `bytes` and
-- `sha256` are the file as PostgreSQL wrote it. Times are RFC 3339 UTC text with
-- milliseconds, as elsewhere. Retention deletes the rows of the files it removes.

CREATE TABLE wal_files (
    source      TEXT NOT NULL,
    name        TEXT NOT NULL,
    destination TEXT NOT NULL,
    timeline    BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    archived_at TEXT NOT NULL,
    host        TEXT NOT NULL,
    PRIMARY KEY (source, name, destination)
);

CREATE INDEX wal_files_by_time ON wal_files (source, archived_at);
