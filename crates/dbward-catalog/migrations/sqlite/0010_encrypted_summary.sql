-- dbward catalog, version 10: whether the newest usable backup of each database is encrypted
-- (its manifest's `encryption`), kept in `health_summary` beside `usable_excludes`, so that
-- `status` and the dashboard's overview say whether its copies are encrypted without reading
-- a manifest per database. The next `open` recomputes every summary once (a chore).
ALTER TABLE health_summary ADD COLUMN usable_encrypted INTEGER NOT NULL DEFAULT 0;
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
