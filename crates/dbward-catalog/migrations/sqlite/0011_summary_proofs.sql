-- dbward catalog, version 11: the drills each `health_summary` row names, kept in the row
-- itself (when, of which backup, how long the restore took), so that `status` reads one row
-- per database instead of looking three verifications up for each; and each verification's
-- restore time (`restore_ms` of its details) in a column of its own, which the summary copies.
-- The next `open` recomputes every summary once (a chore).
ALTER TABLE verifications ADD COLUMN restore_ms INTEGER;
UPDATE verifications
   SET restore_ms = CASE WHEN json_valid(details) THEN
           CASE WHEN json_type(details, '$.restore_ms') = 'integer'
                 AND json_extract(details, '$.restore_ms') >= 0
                THEN json_extract(details, '$.restore_ms') END END
 WHERE details LIKE '%"restore_ms"%';
ALTER TABLE health_summary ADD COLUMN drill_failed_at TEXT;
ALTER TABLE health_summary ADD COLUMN drill_failed_backup TEXT;
ALTER TABLE health_summary ADD COLUMN drill_failed_restore_ms INTEGER;
ALTER TABLE health_summary ADD COLUMN drill_passed_at TEXT;
ALTER TABLE health_summary ADD COLUMN drill_passed_backup TEXT;
ALTER TABLE health_summary ADD COLUMN drill_passed_restore_ms INTEGER;
ALTER TABLE health_summary ADD COLUMN key_passed_at TEXT;
INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT (name) DO NOTHING;
