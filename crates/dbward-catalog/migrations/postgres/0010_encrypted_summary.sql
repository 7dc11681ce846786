-- dbward catalog on PostgreSQL, version 10: the column of migrations/sqlite/0010_encrypted_summary.sql
-- (see there for what it serves), and the chore that fills it.
ALTER TABLE health_summary ADD COLUMN usable_encrypted BIGINT NOT NULL DEFAULT 0;
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
