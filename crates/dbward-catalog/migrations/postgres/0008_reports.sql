-- dbward catalog on PostgreSQL, version 8: the tables of migrations/sqlite/0008_reports.sql
-- (see there for what they serve).

CREATE TABLE alert_failures (
    channel TEXT COLLATE "C" NOT NULL,
    problem TEXT COLLATE "C" NOT NULL,
    at      TEXT COLLATE "C" NOT NULL,
    error   TEXT NOT NULL,
    PRIMARY KEY (channel, problem)
);

CREATE TABLE destination_audits (
    destination TEXT COLLATE "C" PRIMARY KEY,
    at          TEXT COLLATE "C" NOT NULL,
    objects     BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    backups     BIGINT NOT NULL,
    missing     BIGINT NOT NULL,
    problems    BIGINT NOT NULL,
    error       TEXT
);
