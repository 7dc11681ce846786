-- dbward catalog on PostgreSQL, version 5: the indexes and columns of
-- migrations/sqlite/0005_read_indexes.sql (see there for what each serves).
CREATE INDEX backups_live ON backups
    (source, database_name, started_at, id, status, dump_bytes, pruned_at) WHERE pruned_at IS NULL;
CREATE INDEX backups_live_by_start ON backups (started_at, id) WHERE pruned_at IS NULL;
CREATE INDEX backups_by_schedule ON backups (schedule, started_at);
CREATE INDEX copies_missing ON copies (backup_id) WHERE status = 'missing';
ALTER TABLE verifications ADD COLUMN source TEXT COLLATE "C";
ALTER TABLE verifications ADD COLUMN database_name TEXT COLLATE "C";
UPDATE verifications v
   SET source = b.source, database_name = b.database_name
  FROM backups b
 WHERE b.id = v.backup_id;
CREATE INDEX verifications_by_database ON verifications (source, database_name, level, ok, at, id);
