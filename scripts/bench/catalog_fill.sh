# The catalog filler shared by scripts/bench-catalog.sh and scripts/bench-web.sh (sourced,
# not run): a throw-away config of many sources and schedules, and a SQLite or PostgreSQL
# catalog filled with the history scripts/bench/catalog_fill_{sqlite,pg}.sql write, then
# summarised by dbward itself (the health summary chore of `open`).
#
# The sourcing script sets: dbward (the binary), tmp (a scratch directory), here
# (scripts/bench), sources, per_source, per_db, pruned (their meaning as in
# bench-catalog.sh's --help), rows (sources x per_source x per_db); for PostgreSQL also
# pg_cli (psql with its connection) and pg_db; and defines step, note and record (one JSON
# result line). It calls write_config FILE CATALOG, then fill_sqlite CFG or fill_pg CFG.

# write_config FILE CATALOG: CATALOG is `sqlite` (a file under the state_dir) or `postgres`.
write_config() {
  local s k
  {
    printf 'state_dir = "%s"\n\n' "$tmp/state-$2"
    [[ $2 != postgres ]] || printf '[catalog]\nurl = { env = "BENCH_CATALOG_URL" }\n\n'
    printf '[[destination]]\nname = "local"\ntype = "fs"\npath = "%s"\n\n' "$tmp/backups"
    printf '[[destination]]\nname = "offsite"\ntype = "s3"\nbucket = "bench"\nendpoint = "http://127.0.0.1:9"\n\n'
    for ((s = 0; s < sources; s++)); do
      printf '[[source]]\nname = "src%03d"\nengine = "postgres"\nhost = "db-%03d.invalid"\nuser = "backup"\n\n' "$s" "$s"
    done
    for ((k = 0; k * 10 < sources; k++)); do
      printf '[[schedule]]\nname = "nightly-%02d"\nsources = [' "$k"
      for ((s = k * 10; s < sources && s < k * 10 + 10; s++)); do
        printf '%s"src%03d"' "$([[ $s == $((k * 10)) ]] || echo ', ')" "$s"
      done
      printf ']\ndestinations = ["local", "offsite"]\ncron = "0 2 * * *"\nrpo = "26h"\ndrill = "0 4 * * 0"\nrto = "2h"\n\n'
    done
  } >"$1"
}

# The newest backups start just after the latest 02:00 UTC (the schedules' last fire), so
# that a healthy database is OK now.
now=$(date -u +%s)
anchor=$(date -u -d "$(date -u +%Y-%m-%d) 02:00:00" +%s)
((anchor <= now)) || anchor=$((anchor - 86400))

# summarise CATALOG CFG: one dbward command does the chore the fill asked for (the health
# summary of every database, computed from the whole history); its time is reported.
summarise() {
  local t0 t1
  t0=$(date +%s%N)
  "$dbward" --config "$2" -q list --limit 1 >/dev/null
  t1=$(date +%s%N)
  note "$1: health summary of every database computed in $(((t1 - t0) / 1000000)) ms"
  record "$(printf '{"kind": "summary", "catalog": "%s", "ms": %d}' "$1" $(((t1 - t0) / 1000000)))"
}
fill_sqlite() {
  local cfg=$1 db=$tmp/state-sqlite/catalog.db t0=$SECONDS
  step "SQLite: creating the catalog and filling it ($rows backups)"
  "$dbward" --config "$cfg" -q list --limit 1 >/dev/null
  # temp_store first: changing it drops the temporary tables made before.
  { printf 'PRAGMA temp_store = MEMORY;\nCREATE TEMP TABLE p AS SELECT %d AS sources, %d AS per_source, %d AS per_db, %d AS pruned_pct, %d AS anchor;\n' \
      "$sources" "$per_source" "$per_db" "$pruned" "$anchor"
    cat "$here/catalog_fill_sqlite.sql"; } | sqlite3 "$db" >/dev/null
  # Schema 5 on: verifications carry their backup's source and database (as dbward records
  # them), which the fill, written for every schema version, leaves out.
  if [[ $(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('verifications') WHERE name = 'source'") == 1 ]]; then
    sqlite3 "$db" "PRAGMA synchronous = OFF; UPDATE verifications SET source = (SELECT b.source FROM backups b WHERE b.id = backup_id), database_name = (SELECT b.database_name FROM backups b WHERE b.id = backup_id)"
  fi
  # Schema 7 on: dbward keeps a health summary per database as it writes; rows written
  # behind its back need it recomputed, which the next open does when asked (a chore).
  if [[ -n $(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE name = 'catalog_chores'") ]]; then
    sqlite3 "$db" "INSERT OR IGNORE INTO catalog_chores (name) VALUES ('health_summary')"
    summarise sqlite "$cfg"
  fi
  local secs=$((SECONDS - t0)) size
  size=$(du -sb "$tmp/state-sqlite" | cut -f1)
  note "filled in $secs s; $((size / 1048576)) MiB on disk"
  record "$(printf '{"kind": "fill", "catalog": "sqlite", "seconds": %d, "bytes": %d, "counts": "%s"}' "$secs" "$size" \
    "$(sqlite3 "$db" "SELECT (SELECT count(*) FROM backups) || ' backups, ' || (SELECT count(*) FROM copies) || ' copies, ' || (SELECT count(*) FROM verifications) || ' verifications'")")"
}
fill_pg() {
  local cfg=$1 t0=$SECONDS
  step "PostgreSQL: creating the catalog $pg_db and filling it ($rows backups)"
  "${pg_cli[@]}" -d postgres -c "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db" 2>&1 | { grep -v NOTICE || true; } >&2
  "$dbward" --config "$cfg" -q list --limit 1 >/dev/null
  "${pg_cli[@]}" -d "$pg_db" -v sources="$sources" -v per_source="$per_source" -v per_db="$per_db" \
    -v pruned_pct="$pruned" -v anchor="$anchor" -f "$here/catalog_fill_pg.sql" >/dev/null
  if [[ $("${pg_cli[@]}" -d "$pg_db" -Atc "SELECT count(*) FROM information_schema.columns WHERE table_name = 'verifications' AND column_name = 'source'") == 1 ]]; then
    "${pg_cli[@]}" -d "$pg_db" -c "UPDATE verifications v SET source = b.source, database_name = b.database_name FROM backups b WHERE b.id = v.backup_id" -c "VACUUM ANALYZE verifications" >/dev/null
  fi
  if [[ -n $("${pg_cli[@]}" -d "$pg_db" -Atc "SELECT to_regclass('catalog_chores')") ]]; then
    "${pg_cli[@]}" -d "$pg_db" -c "INSERT INTO catalog_chores (name) VALUES ('health_summary') ON CONFLICT DO NOTHING" >/dev/null
    summarise postgres "$cfg"
    "${pg_cli[@]}" -d "$pg_db" -c "VACUUM ANALYZE health_summary" >/dev/null
  fi
  local secs=$((SECONDS - t0)) size
  size=$("${pg_cli[@]}" -d "$pg_db" -Atc 'SELECT pg_database_size(current_database())')
  note "filled in $secs s; $((size / 1048576)) MiB on disk"
  record "$(printf '{"kind": "fill", "catalog": "postgres", "seconds": %d, "bytes": %d, "counts": "%s"}' "$secs" "$size" \
    "$("${pg_cli[@]}" -d "$pg_db" -Atc "SELECT (SELECT count(*) FROM backups) || ' backups, ' || (SELECT count(*) FROM copies) || ' copies, ' || (SELECT count(*) FROM verifications) || ' verifications'")")"
}
