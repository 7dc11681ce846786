-- dbward catalog on PostgreSQL, version 2: when each schedule was first seen, so that
-- `status` owes no backup for cron fires before a schedule existed.

CREATE TABLE schedules (
    name       TEXT COLLATE "C" PRIMARY KEY,
    first_seen TEXT COLLATE "C" NOT NULL
);
