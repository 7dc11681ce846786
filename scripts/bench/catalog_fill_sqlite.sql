-- Benchmark data for scripts/bench-catalog.sh: fills a migrated, empty SQLite catalog (the
-- schema of crates/dbward-catalog/migrations/sqlite) with a history of nightly backups. The
-- script prepends the parameters as a temporary table p(sources, per_source, per_db,
-- pruned_pct, anchor); catalog_fill_pg.sql makes the same rows on PostgreSQL. Every value
-- is derived from the row's numbers (no random()), so both catalogs hold the same history.
--
-- Database d (0 .. sources*per_source-1) is `src<d / per_source>`/`db<d % per_source>`,
-- under schedule `nightly-<source / 10>`; backup k (0 = oldest) of it started k days before
-- the newest, which started just after `anchor` (the latest 02:00 UTC fire). h is a
-- pseudo-random 0..999 per backup that picks its status: 96% succeeded, 1% degraded, 2%
-- failed, 1% skipped; the newest backup of every 1000th database is still running.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;

CREATE TEMP TABLE n AS
WITH RECURSIVE c(i) AS (
    SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < (SELECT max(sources * per_source, per_db, 64) FROM p)
)
SELECT i FROM c;

-- One row per database, with what its manifests repeat: its tables and chunk digests.
CREATE TEMP TABLE dbs AS
SELECT i AS d,
       printf('src%03d', i / per_source) AS source,
       printf('db%03d', i % per_source) AS db,
       printf('nightly-%02d', i / per_source / 10) AS schedule,
       ((i * 131) % 1000 + 1) * 1048576 AS base,
       (i / per_source) % 10 <> 0 AS encrypted
  FROM n, p
 WHERE i < sources * per_source;
CREATE TEMP TABLE db_tables AS
SELECT d,
       (SELECT group_concat(printf('    {%s      "table": "public.table_%02d",%s      "rows": %d%s    }',
                                   char(10), t.i, char(10), (d * 7919 + t.i * 104729) % 1000000, char(10)),
                            ',' || char(10))
          FROM n AS t WHERE t.i < 5 + (d * 7) % 36) AS tables,
       (SELECT group_concat(printf('    "%016x%016x%016x%016x"', d * 31 + c.i, d * 37 + c.i, d * 41 + c.i, d * 43 + c.i),
                            ',' || char(10))
          FROM n AS c WHERE c.i < 1 + d % 8) AS chunks
  FROM dbs;

CREATE TEMP TABLE g AS
SELECT b.*,
       CASE
           WHEN k = per_db - 1 AND d % 1000 = 0 THEN 'running'
           WHEN h < 960 THEN 'succeeded'
           WHEN h < 970 THEN 'degraded'
           WHEN h < 990 THEN 'failed'
           ELSE 'skipped'
       END AS status,
       CASE
           WHEN k = per_db - 1 AND d % 997 = 3 THEN base / 10  -- a sudden shrink: anomaly
           ELSE base + base * (h % 100) / 1000
       END AS dump_bytes,
       strftime('%Y-%m-%dT%H:%M:%fZ', t0, 'unixepoch') AS started_at,
       k < per_db * pruned_pct / 100 AS pruned
  FROM (SELECT dbs.*, k.i AS k, per_db, pruned_pct,
               printf('01%03d%05dBENCHBENCHBENCHB', k.i, d) AS id,
               anchor - (per_db - 1 - k.i) * 86400 + d % 300 + (k.i * 37) % 120 AS t0,
               (d * 7919 + k.i * 104729 + 13) % 1000 AS h
          FROM n AS k, dbs, p
         WHERE k.i < per_db) AS b;
CREATE TEMP TABLE gg AS
SELECT g.*,
       CASE status
           WHEN 'running' THEN NULL
           WHEN 'skipped' THEN started_at
           ELSE strftime('%Y-%m-%dT%H:%M:%fZ', t0 + 30 + dump_bytes / 10000000, 'unixepoch')
       END AS finished_at,
       printf('%s/%s/%s.dump.zst%s', source, db, id, CASE WHEN encrypted THEN '.age' ELSE '' END) AS path
  FROM g;

INSERT INTO runs (id, schedule, host, started_at, finished_at, status)
SELECT DISTINCT printf('run-%s-%04d', schedule, k), schedule, 'bench-host',
       strftime('%Y-%m-%dT%H:%M:%fZ', anchor - (gg.per_db - 1 - k) * 86400, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%fZ', anchor - (gg.per_db - 1 - k) * 86400 + 3600, 'unixepoch'),
       'succeeded'
  FROM gg, p;

INSERT INTO schedules (name, first_seen)
SELECT DISTINCT schedule, strftime('%Y-%m-%dT%H:%M:%fZ', anchor - per_db * 86400, 'unixepoch')
  FROM dbs, p;

INSERT INTO backups (id, run_id, schedule, source, engine, database_name, status, error,
                     started_at, finished_at, dump_bytes, stored_bytes, sha256, compression,
                     manifest, pruned_at, prune_reason)
SELECT id, printf('run-%s-%04d', schedule, k), schedule, source, 'postgres', db, status,
       CASE status
           WHEN 'failed' THEN 'pg_dump exited 1: pg_dump: error: connection to server lost'
           WHEN 'degraded' THEN 'some copies failed: offsite: upload failed: timed out'
       END,
       started_at, finished_at,
       CASE WHEN status IN ('succeeded', 'degraded') THEN dump_bytes END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN dump_bytes / 4 END,
       CASE WHEN status IN ('succeeded', 'degraded')
            THEN printf('%016x%016x%016x%016x', d * 7 + k, d * 11 + k, d * 13 + k, d * 17 + k) END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN 'zstd' END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN
           '{' || char(10) ||
           '  "format_version": 3,' || char(10) ||
           '  "id": "' || id || '",' || char(10) ||
           '  "source": "' || source || '",' || char(10) ||
           '  "engine": "postgres",' || char(10) ||
           '  "database": "' || db || '",' || char(10) ||
           '  "artifact": "' || id || '.dump.zst' || CASE WHEN encrypted THEN '.age' ELSE '' END || '",' || char(10) ||
           '  "server_version": "15.20",' || char(10) ||
           '  "dump_tool": "pg_dump",' || char(10) ||
           '  "dump_tool_version": "15.20",' || char(10) ||
           '  "dump_format": "custom",' || char(10) ||
           '  "host": "bench-host",' || char(10) ||
           '  "started_at": "' || started_at || '",' || char(10) ||
           '  "finished_at": "' || finished_at || '",' || char(10) ||
           '  "options": [' || char(10) ||
           '    "--format=custom",' || char(10) ||
           '    "--compress=0",' || char(10) ||
           '    "--no-password",' || char(10) ||
           '    "--host=10.0.0.' || (d % 250) || '",' || char(10) ||
           '    "--port=5432",' || char(10) ||
           '    "--username=backup",' || char(10) ||
           '    "--dbname=' || db || '",' || char(10) ||
           '    "--snapshot=00000003-0000001E-1"' || char(10) ||
           '  ],' || char(10) ||
           CASE WHEN d % 10 = 7
                THEN '  "excluded_tables": [' || char(10) || '    "audit.log"' || char(10) || '  ],' || char(10)
                ELSE '  "excluded_tables": [],' || char(10) END ||
           CASE WHEN d % 50 = 7
                THEN '  "excluded_with_data": [' || char(10) || '    "audit.log"' || char(10) || '  ],' || char(10)
                ELSE '' END ||
           '  "tables": [' || char(10) || tables || char(10) || '  ],' || char(10) ||
           '  "dump_bytes": ' || dump_bytes || ',' || char(10) ||
           '  "stored_bytes": ' || (dump_bytes / 4) || ',' || char(10) ||
           '  "sha256": "' || printf('%016x%016x%016x%016x', d * 7 + k, d * 11 + k, d * 13 + k, d * 17 + k) || '",' || char(10) ||
           '  "compression": "zstd",' || char(10) ||
           CASE WHEN encrypted
                THEN '  "encryption": "age-x25519",' || char(10) ||
                     '  "encryption_recipients": [' || char(10) || '    "sha256:4c9dbfb853dece7a"' || char(10) || '  ],' || char(10)
                ELSE '  "encryption": null,' || char(10) || '  "encryption_recipients": [],' || char(10) END ||
           '  "replica_lag_seconds": null,' || char(10) ||
           '  "database_settings": {' || char(10) ||
           '    "encoding": "UTF8",' || char(10) ||
           '    "collation": "en_US.UTF-8",' || char(10) ||
           '    "ctype": "en_US.UTF-8"' || char(10) ||
           '  },' || char(10) ||
           '  "warnings": [],' || char(10) ||
           '  "chunk_size": 67108864,' || char(10) ||
           '  "chunks": [' || char(10) || chunks || char(10) || '  ],' || char(10) ||
           '  "signature": {' || char(10) ||
           '    "key": "dbward-ed25519:bfe6d2079e5f1fdc0fafbc3bfacbe9a3860c453edd7eacff97d6ccdfc3797dc5",' || char(10) ||
           '    "value": "' || printf('%016x%016x%016x%016x', d, k, d * k, d + k) ||
                              printf('%016x%016x%016x%016x', k, d, d + k, d * k) || '"' || char(10) ||
           '  }' || char(10) ||
           '}' || char(10)
       END,
       CASE WHEN pruned THEN strftime('%Y-%m-%dT%H:%M:%fZ', t0 + 40 * 86400, 'unixepoch') END,
       CASE WHEN pruned THEN 'not kept by: daily 30' END
  FROM gg JOIN db_tables USING (d)
 ORDER BY id;

-- Two destinations: `local` (fs) and `offsite` (s3). A degraded backup's offsite upload
-- failed; one offsite copy in a thousand was found gone by `audit`.
INSERT INTO copies (backup_id, destination, path, status, size, error)
SELECT id, 'local', path, 'committed', dump_bytes / 4, NULL
  FROM gg WHERE status IN ('succeeded', 'degraded')
UNION ALL
SELECT id, 'offsite', path,
       CASE WHEN status = 'degraded' THEN 'failed'
            WHEN (d * 31 + k * 17) % 1000 = 0 THEN 'missing'
            ELSE 'committed' END,
       CASE WHEN status = 'degraded' THEN NULL ELSE dump_bytes / 4 END,
       CASE WHEN status = 'degraded' THEN 'upload failed: timed out' END
  FROM gg WHERE status IN ('succeeded', 'degraded')
 ORDER BY 1, 2;

INSERT INTO warnings (backup_id, position, message)
SELECT id, 0, 'offsite: upload failed: timed out' FROM gg WHERE status = 'degraded';

-- A checksum verification of every fourth good backup (one in a hundred failed), a restore
-- drill of every seventh succeeded one (one in fifty failed), a key drill monthly.
INSERT INTO verifications (id, backup_id, level, ok, at, duration_ms, details, restore_ms)
SELECT printf('01V%03d%05dCBENCHBENCHBENC', k, d), id, 'checksum', h % 100 <> 42,
       strftime('%Y-%m-%dT%H:%M:%fZ', t0 + 7200, 'unixepoch'), 1200 + h,
       '{"copies":[{"destination":"local","ok":true},{"destination":"offsite","ok":true}]}', NULL
  FROM gg WHERE status IN ('succeeded', 'degraded') AND (d + k) % 4 = 0
UNION ALL
SELECT printf('01V%03d%05dDBENCHBENCHBENC', k, d), id, 'drill', h % 50 <> 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', t0 + 10800, 'unixepoch'), 60000 + h * 10,
       printf('{"restore_ms":%d,"tables_checked":%d,"asserts":[]}', 20000 + dump_bytes / 100000, 5 + (d * 7) % 36),
       20000 + dump_bytes / 100000
  FROM gg WHERE status = 'succeeded' AND (d + k) % 7 = 6
UNION ALL
SELECT printf('01V%03d%05dKBENCHBENCHBENC', k, d), id, 'key', 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', t0 + 14400, 'unixepoch'), 300, '{}', NULL
  FROM gg WHERE status = 'succeeded' AND encrypted AND (d + k) % 30 = 29
 ORDER BY 1;

COMMIT;
PRAGMA journal_mode = WAL;
