-- dbward catalog, version 4: the agents (dbward state directories, one per host or daemon)
-- that share this catalog, the leases by which one of them owns a job, the fires a fleet of
-- daemons has claimed, the address each source name stands for, and which agent recorded
-- each run, backup and alert. Times are RFC 3339 UTC text with milliseconds, as elsewhere.

CREATE TABLE agents (
    id           TEXT COLLATE "C" PRIMARY KEY,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    labels       TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   TEXT COLLATE "C" NOT NULL,
    heartbeat_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE leases (
    job         TEXT COLLATE "C" PRIMARY KEY,
    agent_id    TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    token       TEXT NOT NULL,
    acquired_at TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE fires (
    kind       TEXT COLLATE "C" NOT NULL,
    schedule   TEXT COLLATE "C" NOT NULL,
    target     TEXT COLLATE "C" NOT NULL,
    fire_at    TEXT COLLATE "C" NOT NULL,
    agent_id   TEXT NOT NULL,
    claimed_at TEXT COLLATE "C" NOT NULL,
    finished_at TEXT COLLATE "C",
    PRIMARY KEY (kind, schedule, target, fire_at)
);

CREATE TABLE sources (
    name       TEXT COLLATE "C" PRIMARY KEY,
    address    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    host       TEXT NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL
);

CREATE INDEX fires_unfinished ON fires (kind, finished_at, agent_id);

ALTER TABLE runs ADD COLUMN agent_id TEXT COLLATE "C";
ALTER TABLE backups ADD COLUMN agent_id TEXT COLLATE "C";
ALTER TABLE backups ADD COLUMN host TEXT;
ALTER TABLE alert_state ADD COLUMN agent_id TEXT COLLATE "C";
