-- dbward catalog, version 4: the agents (dbward state directories, one per host or daemon)
-- that share this catalog, the leases by which one of them owns a job, the fires a fleet of
-- daemons has claimed, the address each source name stands for, and which agent recorded
-- each run, backup and alert. Times are RFC 3339 UTC text with milliseconds, as elsewhere.

CREATE TABLE agents (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    labels       TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

CREATE TABLE leases (
    job         TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    token       TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE fires (
    kind       TEXT NOT NULL,
    schedule   TEXT NOT NULL,
    target     TEXT NOT NULL,
    fire_at    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (kind, schedule, target, fire_at)
);

CREATE TABLE sources (
    name       TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    host       TEXT NOT NULL,
    first_seen TEXT NOT NULL
);

CREATE INDEX fires_unfinished ON fires (kind, finished_at, agent_id);

ALTER TABLE runs ADD COLUMN agent_id TEXT;
ALTER TABLE backups ADD COLUMN agent_id TEXT;
ALTER TABLE backups ADD COLUMN host TEXT;
ALTER TABLE alert_state ADD COLUMN agent_id TEXT;
