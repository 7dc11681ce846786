-- Benchmark data for scripts/bench-catalog.sh: fills a migrated, empty PostgreSQL catalog
-- (the schema of crates/dbward-catalog/migrations/postgres) with the same history as
-- catalog_fill_sqlite.sql (see there for its shape), row for row.
-- psql -v sources=S -v per_source=P -v per_db=B -v pruned_pct=X -v anchor=EPOCH -f catalog_fill_pg.sql
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
BEGIN;

-- The SQLite file's printf and strftime, so that both files read alike.
CREATE FUNCTION pg_temp.ts(t bigint) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT to_char(to_timestamp(t) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE FUNCTION pg_temp.hex64(a bigint, b bigint, c bigint, d bigint) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT lpad(to_hex(a), 16, '0') || lpad(to_hex(b), 16, '0') || lpad(to_hex(c), 16, '0') || lpad(to_hex(d), 16, '0') $$;
CREATE FUNCTION pg_temp.pad(x bigint, width int) RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT lpad(x::text, width, '0') $$;

CREATE TEMP TABLE p AS
SELECT :sources::bigint AS sources, :per_source::bigint AS per_source, :per_db::bigint AS per_db,
       :pruned_pct::bigint AS pruned_pct, :anchor::bigint AS anchor;

CREATE TEMP TABLE dbs AS
SELECT i AS d,
       'src' || pg_temp.pad(i / per_source, 3) AS source,
       'db' || pg_temp.pad(i % per_source, 3) AS db,
       'nightly-' || pg_temp.pad(i / per_source / 10, 2) AS schedule,
       ((i * 131) % 1000 + 1) * 1048576 AS base,
       (i / per_source) % 10 <> 0 AS encrypted
  FROM p, generate_series(0::bigint, p.sources * p.per_source - 1) AS i;
CREATE TEMP TABLE db_tables AS
SELECT d,
       (SELECT string_agg('    {' || chr(10) || '      "table": "public.table_' || pg_temp.pad(t, 2) || '",' || chr(10) ||
                          '      "rows": ' || ((d * 7919 + t * 104729) % 1000000) || chr(10) || '    }',
                          ',' || chr(10) ORDER BY t)
          FROM generate_series(0::bigint, 4 + (d * 7) % 36) AS t) AS tables,
       (SELECT string_agg('    "' || pg_temp.hex64(d * 31 + c, d * 37 + c, d * 41 + c, d * 43 + c) || '"',
                          ',' || chr(10) ORDER BY c)
          FROM generate_series(0::bigint, d % 8) AS c) AS chunks
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
       pg_temp.ts(t0) AS started_at,
       k < per_db * pruned_pct / 100 AS pruned
  FROM (SELECT dbs.*, k, per_db, pruned_pct,
               '01' || pg_temp.pad(k, 3) || pg_temp.pad(d, 5) || 'BENCHBENCHBENCHB' AS id,
               anchor - (per_db - 1 - k) * 86400 + d % 300 + (k * 37) % 120 AS t0,
               (d * 7919 + k * 104729 + 13) % 1000 AS h
          FROM p, generate_series(0::bigint, p.per_db - 1) AS k, dbs) AS b;
CREATE TEMP TABLE gg AS
SELECT g.*,
       CASE status
           WHEN 'running' THEN NULL
           WHEN 'skipped' THEN started_at
           ELSE pg_temp.ts(t0 + 30 + dump_bytes / 10000000)
       END AS finished_at,
       source || '/' || db || '/' || id || '.dump.zst' || CASE WHEN encrypted THEN '.age' ELSE '' END AS path
  FROM g;

INSERT INTO runs (id, schedule, host, started_at, finished_at, status)
SELECT DISTINCT 'run-' || schedule || '-' || pg_temp.pad(k, 4), schedule, 'bench-host',
       pg_temp.ts(anchor - (gg.per_db - 1 - k) * 86400),
       pg_temp.ts(anchor - (gg.per_db - 1 - k) * 86400 + 3600),
       'succeeded'
  FROM gg, p;

INSERT INTO schedules (name, first_seen)
SELECT DISTINCT schedule, pg_temp.ts(anchor - per_db * 86400)
  FROM dbs, p;

INSERT INTO backups (id, run_id, schedule, source, engine, database_name, status, error,
                     started_at, finished_at, dump_bytes, stored_bytes, sha256, compression,
                     manifest, pruned_at, prune_reason)
SELECT id, 'run-' || schedule || '-' || pg_temp.pad(k, 4), schedule, source, 'postgres', db, status,
       CASE status
           WHEN 'failed' THEN 'pg_dump exited 1: pg_dump: error: connection to server lost'
           WHEN 'degraded' THEN 'some copies failed: offsite: upload failed: timed out'
       END,
       started_at, finished_at,
       CASE WHEN status IN ('succeeded', 'degraded') THEN dump_bytes END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN dump_bytes / 4 END,
       CASE WHEN status IN ('succeeded', 'degraded')
            THEN pg_temp.hex64(d * 7 + k, d * 11 + k, d * 13 + k, d * 17 + k) END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN 'zstd' END,
       CASE WHEN status IN ('succeeded', 'degraded') THEN
           '{' || chr(10) ||
           '  "format_version": 3,' || chr(10) ||
           '  "id": "' || id || '",' || chr(10) ||
           '  "source": "' || source || '",' || chr(10) ||
           '  "engine": "postgres",' || chr(10) ||
           '  "database": "' || db || '",' || chr(10) ||
           '  "artifact": "' || id || '.dump.zst' || CASE WHEN encrypted THEN '.age' ELSE '' END || '",' || chr(10) ||
           '  "server_version": "15.20",' || chr(10) ||
           '  "dump_tool": "pg_dump",' || chr(10) ||
           '  "dump_tool_version": "15.20",' || chr(10) ||
           '  "dump_format": "custom",' || chr(10) ||
           '  "host": "bench-host",' || chr(10) ||
           '  "started_at": "' || started_at || '",' || chr(10) ||
           '  "finished_at": "' || finished_at || '",' || chr(10) ||
           '  "options": [' || chr(10) ||
           '    "--format=custom",' || chr(10) ||
           '    "--compress=0",' || chr(10) ||
           '    "--no-password",' || chr(10) ||
           '    "--host=10.0.0.' || (d % 250) || '",' || chr(10) ||
           '    "--port=5432",' || chr(10) ||
           '    "--username=backup",' || chr(10) ||
           '    "--dbname=' || db || '",' || chr(10) ||
           '    "--snapshot=00000003-0000001E-1"' || chr(10) ||
           '  ],' || chr(10) ||
           CASE WHEN d % 10 = 7
                THEN '  "excluded_tables": [' || chr(10) || '    "audit.log"' || chr(10) || '  ],' || chr(10)
                ELSE '  "excluded_tables": [],' || chr(10) END ||
           CASE WHEN d % 50 = 7
                THEN '  "excluded_with_data": [' || chr(10) || '    "audit.log"' || chr(10) || '  ],' || chr(10)
                ELSE '' END ||
           '  "tables": [' || chr(10) || tables || chr(10) || '  ],' || chr(10) ||
           '  "dump_bytes": ' || dump_bytes || ',' || chr(10) ||
           '  "stored_bytes": ' || (dump_bytes / 4) || ',' || chr(10) ||
           '  "sha256": "' || pg_temp.hex64(d * 7 + k, d * 11 + k, d * 13 + k, d * 17 + k) || '",' || chr(10) ||
           '  "compression": "zstd",' || chr(10) ||
           CASE WHEN encrypted
                THEN '  "encryption": "age-x25519",' || chr(10) ||
                     '  "encryption_recipients": [' || chr(10) || '    "sha256:4c9dbfb853dece7a"' || chr(10) || '  ],' || chr(10)
                ELSE '  "encryption": null,' || chr(10) || '  "encryption_recipients": [],' || chr(10) END ||
           '  "replica_lag_seconds": null,' || chr(10) ||
           '  "database_settings": {' || chr(10) ||
           '    "encoding": "UTF8",' || chr(10) ||
           '    "collation": "en_US.UTF-8",' || chr(10) ||
           '    "ctype": "en_US.UTF-8"' || chr(10) ||
           '  },' || chr(10) ||
           '  "warnings": [],' || chr(10) ||
           '  "chunk_size": 67108864,' || chr(10) ||
           '  "chunks": [' || chr(10) || chunks || chr(10) || '  ],' || chr(10) ||
           '  "signature": {' || chr(10) ||
           '    "key": "dbward-ed25519:bfe6d2079e5f1fdc0fafbc3bfacbe9a3860c453edd7eacff97d6ccdfc3797dc5",' || chr(10) ||
           '    "value": "' || pg_temp.hex64(d, k, d * k, d + k) || pg_temp.hex64(k, d, d + k, d * k) || '"' || chr(10) ||
           '  }' || chr(10) ||
           '}' || chr(10)
       END,
       CASE WHEN pruned THEN pg_temp.ts(t0 + 40 * 86400) END,
       CASE WHEN pruned THEN 'not kept by: daily 30' END
  FROM gg JOIN db_tables USING (d)
 ORDER BY id;

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

INSERT INTO verifications (id, backup_id, level, ok, at, duration_ms, details, restore_ms)
SELECT '01V' || pg_temp.pad(k, 3) || pg_temp.pad(d, 5) || 'CBENCHBENCHBENC', id, 'checksum', (h % 100 <> 42)::int,
       pg_temp.ts(t0 + 7200), 1200 + h,
       '{"copies":[{"destination":"local","ok":true},{"destination":"offsite","ok":true}]}', NULL::bigint
  FROM gg WHERE status IN ('succeeded', 'degraded') AND (d + k) % 4 = 0
UNION ALL
SELECT '01V' || pg_temp.pad(k, 3) || pg_temp.pad(d, 5) || 'DBENCHBENCHBENC', id, 'drill', (h % 50 <> 1)::int,
       pg_temp.ts(t0 + 10800), 60000 + h * 10,
       '{"restore_ms":' || (20000 + dump_bytes / 100000) || ',"tables_checked":' || (5 + (d * 7) % 36) || ',"asserts":[]}',
       20000 + dump_bytes / 100000
  FROM gg WHERE status = 'succeeded' AND (d + k) % 7 = 6
UNION ALL
SELECT '01V' || pg_temp.pad(k, 3) || pg_temp.pad(d, 5) || 'KBENCHBENCHBENC', id, 'key', 1,
       pg_temp.ts(t0 + 14400), 300, '{}', NULL
  FROM gg WHERE status = 'succeeded' AND encrypted AND (d + k) % 30 = 29
 ORDER BY 1;

COMMIT;
-- What autovacuum would have done by the time a catalog grew this large: statistics for the
-- planner, and the visibility map that index-only scans rely on.
VACUUM ANALYZE;
