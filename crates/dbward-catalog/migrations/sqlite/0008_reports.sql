-- dbward catalog, version 8: what the web dashboard shows beyond the history. The newest
-- failed delivery of each problem to each alert channel (forgotten once one succeeds), and
-- the newest `dbward audit` of each destination. Times are RFC 3339 UTC text with
-- milliseconds, as elsewhere.

CREATE TABLE alert_failures (
    channel TEXT NOT NULL,
    problem TEXT NOT NULL,
    at      TEXT NOT NULL,
    error   TEXT NOT NULL,
    PRIMARY KEY (channel, problem)
);

CREATE TABLE destination_audits (
    destination TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    objects     BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    backups     BIGINT NOT NULL,
    missing     BIGINT NOT NULL,
    problems    BIGINT NOT NULL,
    error       TEXT
);
