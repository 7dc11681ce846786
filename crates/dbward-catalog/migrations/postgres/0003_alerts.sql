-- dbward catalog on PostgreSQL, version 3: what each alert channel was last told, so that
-- alerts fire on changes (a new or worse problem, a resolved one) and repeat only after
-- `repeat`.

CREATE TABLE alert_state (
    channel   TEXT COLLATE "C" NOT NULL,
    problem   TEXT COLLATE "C" NOT NULL,
    severity  TEXT NOT NULL,
    last_sent TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (channel, problem)
);
