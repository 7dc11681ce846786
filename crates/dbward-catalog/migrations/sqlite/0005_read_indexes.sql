-- dbward catalog, version 5: what `status` and `list` read, found by index whatever the size
-- of the history (scripts/bench-catalog.sh: a million backups over ten thousand databases).
-- Backups not pruned, per database, newest last, with their status and size: the databases,
-- their newest backups of each kind, and the window of history status judges, read from the
-- index alone (`pruned_at` is in it so that SQLite need not read the row, where it lies
-- behind the manifest, to check it).
CREATE INDEX backups_live ON backups
    (source, database_name, started_at, id, status, dump_bytes, pruned_at) WHERE pruned_at IS NULL;
-- `list` (newest first, pruned ones left out).
CREATE INDEX backups_live_by_start ON backups (started_at, id) WHERE pruned_at IS NULL;
-- When each schedule was first seen: its oldest backup.
CREATE INDEX backups_by_schedule ON backups (schedule, started_at);
-- Copies `audit` found gone (rare).
CREATE INDEX copies_missing ON copies (backup_id) WHERE status = 'missing';
-- The newest drill and key drill of each database: verifications carry their backup's source
-- and database (set when recorded; a backup's are fixed), so that no join over every
-- backup of a database is needed.
ALTER TABLE verifications ADD COLUMN source TEXT;
ALTER TABLE verifications ADD COLUMN database_name TEXT;
UPDATE verifications
   SET source = (SELECT b.source FROM backups b WHERE b.id = verifications.backup_id),
       database_name = (SELECT b.database_name FROM backups b WHERE b.id = verifications.backup_id);
CREATE INDEX verifications_by_database ON verifications (source, database_name, level, ok, at, id);
