-- dbward catalog on PostgreSQL, version 9: the table of migrations/sqlite/0009_wal_files.sql
-- (see there for what it serves).

CREATE TABLE wal_files (
    source      TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    destination TEXT COLLATE "C" NOT NULL,
    timeline    BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    archived_at TEXT COLLATE "C" NOT NULL,
    host        TEXT NOT NULL,
    PRIMARY KEY (source, name, destination)
);

CREATE INDEX wal_files_by_time ON wal_files (source, archived_at);
