-- dbward catalog on PostgreSQL, version 12: the column of migrations/sqlite/0012_summary_judged.sql
-- (see there for what it serves), as `json` so that the status read embeds it without parsing
-- it again, and the chore that fills it.
ALTER TABLE health_summary ADD COLUMN judged JSON;
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
