-- dbward catalog on PostgreSQL, version 11: the columns of migrations/sqlite/0011_summary_proofs.sql
-- (see there for what they serve), and the chore that fills the summary's. dbward writes
-- details as compact JSON, so the restore time of earlier verifications is read from the text.
ALTER TABLE verifications ADD COLUMN restore_ms BIGINT;
UPDATE verifications
   SET restore_ms = CAST(substring(details FROM '"restore_ms":([0-9]{1,18})[,}]') AS BIGINT)
 WHERE details LIKE '%"restore_ms":%';
ALTER TABLE health_summary ADD COLUMN drill_failed_at TEXT COLLATE "C";
ALTER TABLE health_summary ADD COLUMN drill_failed_backup TEXT COLLATE "C";
ALTER TABLE health_summary ADD COLUMN drill_failed_restore_ms BIGINT;
ALTER TABLE health_summary ADD COLUMN drill_passed_at TEXT COLLATE "C";
ALTER TABLE health_summary ADD COLUMN drill_passed_backup TEXT COLLATE "C";
ALTER TABLE health_summary ADD COLUMN drill_passed_restore_ms BIGINT;
ALTER TABLE health_summary ADD COLUMN key_passed_at TEXT COLLATE "C";
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
