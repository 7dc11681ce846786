-- dbward catalog, version 3: what each alert channel was last told, so that alerts fire on
-- changes (a new or worse problem, a resolved one) and repeat only after `repeat`.

CREATE TABLE alert_state (
    channel   TEXT NOT NULL,
    problem   TEXT NOT NULL,
    severity  TEXT NOT NULL,
    last_sent TEXT NOT NULL,
    PRIMARY KEY (channel, problem)
);
