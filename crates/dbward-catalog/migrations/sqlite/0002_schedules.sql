-- dbward catalog, version 2: when each schedule was first seen, so that `status` owes no
-- backup for cron fires before a schedule existed.

CREATE TABLE schedules (
    name       TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL
);
