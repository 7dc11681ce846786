#!/usr/bin/env bash
# Benchmark (not a test, not run by scripts/test.sh): times `dbward backup` against plain pg_dump / mariadb-dump pipelines, interleaved, and reports medians and ratios.
#
# Usage: bash scripts/bench.sh [options]      (see --help)
#
# What it does:
#   1. installs what it needs from Debian when missing (GNU time, zstd, gzip, python3, psql,
#      pgbench, mariadb client);
#   2. builds (once) and afterwards reuses a PostgreSQL database `dbward_bench` (pgbench -i -s
#      SCALE plus bench_text: ROWS rows of random tokens, numbers, timestamps and repeated
#      words) and a MariaDB database `dbward_bench` of the same shape and similar size
#      (batched INSERT ... SELECT from the SEQUENCE engine); `--rebuild` builds them again;
#   3. builds dbward in release mode and writes a throw-away config (fs destination, zstd 3);
#   4. runs every case once untimed (warm caches, catalog created, plain dump size measured),
#      then ROUNDS interleaved rounds (A B C ... A B C ...) of every case;
#   5. prints a table (medians) and the ratios dbward / baseline, and writes it to
#      $BENCH_OUT (default ${CARGO_TARGET_DIR:-target}/bench/report.txt).
#
# How things are measured (scripts/bench/measure.py):
#   wall      GNU time %e of the whole command (dbward, or `bash -c 'pg_dump | zstd > f'`).
#   MB/s      size of the *plain* dump (pg_dump > stdout / mariadb-dump, measured once in the
#             warm-up) / wall; MB = 10^6 bytes. The same basis for every case of an engine.
#   RSS       dbward: VmHWM of the dbward process alone (the kernel's per-process peak RSS),
#             sampled from /proc every BENCH_SAMPLE_INTERVAL seconds; it is monotone, so only
#             growth in the last interval before exit could be missed. GNU time's %M is NOT
#             dbward's own peak: wait4() reports the max over the process and every child it
#             waited for (pg_dump); it is shown as well. Baselines: the sum of every pipeline
#             process's own peak (an upper bound of what the pipeline held at once).
#   CPU       per process (utime+stime from /proc/<pid>/stat at the last sample), and the
#             total from GNU time (%U+%S).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/scripts/bench
generator=1 # bump when the generated data changes: existing bench databases are rebuilt

usage() {
  cat <<EOF
Usage: bash scripts/bench.sh [options]

Benchmarks \`dbward backup\` (zstd level 3, fs destination) against:
  PostgreSQL: pg_dump > /dev/null, pg_dump -Fc > file, pg_dump | gzip > file,
              pg_dump | zstd -T0 -3 > file
  MariaDB:    mariadb-dump > /dev/null, mariadb-dump | gzip > file,
              mariadb-dump | zstd -T0 -3 > file
(baselines use the dump options dbward uses; the report prints every command line).

Options:
  --rebuild          drop and regenerate the bench databases even if they fit
  --rounds N         interleaved rounds (default \$BENCH_ROUNDS or 3); the median is reported
  --scale N          pgbench scale (default \$BENCH_PG_SCALE or 50; ~9.5 MB of plain dump per unit)
  --rows N           rows of bench_text (default \$BENCH_ROWS or 3000000; ~130 MB per million)
  --only ENGINE      postgres or mariadb (default \$BENCH_ENGINES or both)
  --rss-x4           also measure dbward's peak RSS on a database 4x as large (built on
                     first use as dbward_bench_x4; same as BENCH_RSS_SCALE_FACTOR=4)
  --no-build         use the existing release binary (or \$BENCH_DBWARD) without cargo
  -h, --help         this text

Environment:
  BENCH_PG_HOST/PORT/USER/PASSWORD        default 127.0.0.1 / 5432 / postgres / (none)
  BENCH_MARIADB_HOST/PORT/USER/PASSWORD   default 127.0.0.1 / 3306 / root / (none)
  BENCH_DB                     bench database name (default dbward_bench)
  BENCH_RSS_SCALE_FACTOR=F     the --rss-x4 run at F times the size (default off)
  BENCH_OUT                    report file (default \${CARGO_TARGET_DIR:-target}/bench/report.txt)
  BENCH_DBWARD                 a dbward binary to use instead of building one
  BENCH_SAMPLE_INTERVAL        /proc sampling interval in seconds (default 0.05)
  BENCH_KEEP_TMP=1             keep the temporary directory (config, catalog, outputs)

On 2 cores, --scale 20 --rows 1000000 (~320 MB of plain dump per engine) builds both databases
in ~25 s once and then takes ~4 minutes for 3 rounds; --rss-x4 adds ~70 s of building (once)
and ~1.5 minutes. Not part of scripts/test.sh.
EOF
}

# --- settings ---------------------------------------------------------------------------
rebuild=
build=1
rounds=${BENCH_ROUNDS:-3}
scale=${BENCH_PG_SCALE:-50}
rows=${BENCH_ROWS:-3000000}
engines=${BENCH_ENGINES:-postgres,mariadb}
rss_factor=${BENCH_RSS_SCALE_FACTOR:-}
while (($#)); do
  case $1 in
    --rebuild) rebuild=1 ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --scale) scale=${2:?--scale needs a number}; shift ;;
    --rows) rows=${2:?--rows needs a number}; shift ;;
    --only) engines=${2:?--only needs postgres or mariadb}; shift ;;
    --rss-x4) rss_factor=${rss_factor:-4} ;;
    --no-build) build= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$rounds" "$scale" "$rows" ${rss_factor:+"$rss_factor"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
do_pg=; do_mdb=
case ,$engines, in *,postgres,* | *,pg,*) do_pg=1 ;; esac
case ,$engines, in *,mariadb,* | *,mysql,*) do_mdb=1 ;; esac
[[ -n $do_pg$do_mdb ]] || { echo "--only/BENCH_ENGINES: expected postgres and/or mariadb" >&2; exit 2; }
[[ ${rss_factor:-1} -gt 1 ]] || rss_factor=

db=${BENCH_DB:-dbward_bench}
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB: letters, digits and _ only" >&2; exit 2; }
pg_host=${BENCH_PG_HOST:-127.0.0.1}
pg_port=${BENCH_PG_PORT:-5432}
pg_user=${BENCH_PG_USER:-postgres}
mdb_host=${BENCH_MARIADB_HOST:-127.0.0.1}
mdb_port=${BENCH_MARIADB_PORT:-3306}
mdb_user=${BENCH_MARIADB_USER:-root}
# Passwords reach the tools through their environment only (never argv).
if [[ -n ${BENCH_PG_PASSWORD:-} ]]; then export PGPASSWORD=$BENCH_PG_PASSWORD; else unset PGPASSWORD; fi
if [[ -n ${BENCH_MARIADB_PASSWORD:-} ]]; then export MYSQL_PWD=$BENCH_MARIADB_PASSWORD; else unset MYSQL_PWD; fi
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${BENCH_OUT:-$target_dir/bench/report.txt}
interval=${BENCH_SAMPLE_INTERVAL:-0.05}

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -----------------------------------------------------------------
find_pgbench() {
  # /usr/bin/pgbench is Debian's pg_wrapper link, present even when no pgbench is installed.
  local found
  found=$(compgen -G '/usr/lib/postgresql/*/bin/pgbench' | sort -V | tail -n1) || true
  [[ -n $found ]] || found=$(command -v pgbench 2>/dev/null) || true
  printf '%s' "$found"
}
install_packages() {
  (($#)) || return 0
  step "installing $*"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: $*"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}
missing=()
[[ -x /usr/bin/time ]] || missing+=(time)
command -v zstd >/dev/null || missing+=(zstd)
command -v gzip >/dev/null || missing+=(gzip)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
if [[ -n $do_pg ]]; then
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v pg_dump >/dev/null || missing+=(postgresql-client)
  # pgbench ships with postgresql-client on newer Debian, with the server package before.
  [[ -n $(find_pgbench) ]] || missing+=(postgresql-client)
fi
if [[ -n $do_mdb ]]; then
  command -v mariadb >/dev/null || missing+=(mariadb-client)
  command -v mariadb-dump >/dev/null || missing+=(mariadb-client)
fi
mapfile -t missing < <(printf '%s\n' ${missing[@]+"${missing[@]}"} | sort -u | grep .)
install_packages ${missing[@]+"${missing[@]}"}
if [[ -n $do_pg && -z $(find_pgbench) ]]; then install_packages postgresql-contrib; fi
if [[ -n $do_pg ]]; then
  pgbench=$(find_pgbench)
  [[ -n $pgbench ]] || die "pgbench not found even after installing postgresql-client and postgresql-contrib"
fi

# --- 2. servers -------------------------------------------------------------------------
pg_cli=(psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user")
mdb_cli=(mariadb --protocol=TCP -h "$mdb_host" -P "$mdb_port" -u "$mdb_user")
if [[ -n $do_pg ]]; then
  pg_server_num=$("${pg_cli[@]}" -d postgres -Atc 'SHOW server_version_num' 2>&1) ||
    die "cannot reach PostgreSQL at $pg_user@$pg_host:$pg_port (set BENCH_PG_*): $pg_server_num"
  pg_major=$((pg_server_num / 10000))
  # The pg_dump dbward would pick: the newest installed whose major is at least the server's.
  pg_dump=
  for cand in $(compgen -G '/usr/lib/postgresql/*/bin/pg_dump' | sort -V); do
    m=${cand#/usr/lib/postgresql/}; m=${m%%/*}
    ((m >= pg_major)) && pg_dump=$cand
  done
  pg_dump=${pg_dump:-$(command -v pg_dump)}
fi
if [[ -n $do_mdb ]]; then
  mdb_version=$("${mdb_cli[@]}" -N -B -e 'SELECT VERSION()' 2>&1) ||
    die "cannot reach MariaDB at $mdb_user@$mdb_host:$mdb_port (set BENCH_MARIADB_*): $mdb_version"
  mdb_dump=$(command -v mariadb-dump)
fi

# --- 3. the bench databases -------------------------------------------------------------
# pg_ready DB SCALE ROWS: the database exists and bench_meta (written last) matches.
pg_ready() {
  local got
  got=$("${pg_cli[@]}" -d "$1" -Atc "SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM bench_meta" 2>/dev/null) || return 1
  [[ $got == "generator=$generator,rows=$3,scale=$2" ]]
}
pg_build() { # DB SCALE ROWS
  local t0=$SECONDS
  step "PostgreSQL: building $1 (pgbench -i -s $2, bench_text $3 rows)"
  "${pg_cli[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  "$pgbench" -h "$pg_host" -p "$pg_port" -U "$pg_user" -i -q -s "$2" "$1" 2>&1 | tail -n1 >&2
  "${pg_cli[@]}" -d "$1" -v rows="$3" -v scale="$2" -v generator="$generator" -f "$here/pg_fill.sql" 2>&1 |
    { grep -v NOTICE || true; } >&2
  note "built in $((SECONDS - t0)) s; $("${pg_cli[@]}" -d "$1" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))") on disk"
}
mdb_ready() {
  local got
  got=$("${mdb_cli[@]}" -N -B -D "$1" -e "SELECT GROUP_CONCAT(CONCAT(k, '=', v) ORDER BY k) FROM bench_meta" 2>/dev/null) || return 1
  [[ $got == "generator=$generator,rows=$3,scale=$2" ]]
}
mdb_build() { # DB SCALE ROWS
  local t0=$SECONDS
  step "MariaDB: building $1 ($(($2 * 100000)) pgbench-shaped accounts, bench_text $3 rows)"
  "${mdb_cli[@]}" -e "DROP DATABASE IF EXISTS \`$1\`; CREATE DATABASE \`$1\`"
  { printf "SET @scale = %d, @rows = %d, @generator = '%s';\n" "$2" "$3" "$generator"; cat "$here/mariadb_fill.sql"; } |
    "${mdb_cli[@]}" -D "$1" >/dev/null
  note "built in $((SECONDS - t0)) s; $("${mdb_cli[@]}" -N -B -e "SELECT CONCAT(ROUND(SUM(data_length + index_length) / 1e6), ' MB') FROM information_schema.TABLES WHERE table_schema = '$1'") on disk"
}
ensure_dbs() { # DB SCALE ROWS
  if [[ -n $do_pg ]]; then
    if [[ -z $rebuild ]] && pg_ready "$@"; then note "PostgreSQL: reusing $1 (scale $2, $3 rows)"; else pg_build "$@"; fi
  fi
  if [[ -n $do_mdb ]]; then
    if [[ -z $rebuild ]] && mdb_ready "$@"; then note "MariaDB: reusing $1 (scale $2, $3 rows)"; else mdb_build "$@"; fi
  fi
}
step "bench databases"
ensure_dbs "$db" "$scale" "$rows"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbward-bench.XXXXXX")
cleanup() {
  if [[ -n ${BENCH_KEEP_TMP:-} ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/state" "$tmp/dest" "$tmp/out" "$tmp/run"
results=$tmp/results.jsonl
: >"$results"

# --- 4. dbward --------------------------------------------------------------------------
if [[ -n ${BENCH_DBWARD:-} ]]; then
  dbward=$BENCH_DBWARD
else
  dbward=$target_dir/release/dbward
  if [[ -n $build ]]; then
    step "cargo build --release -p dbward"
    (cd "$repo" && cargo build --release -p dbward)
  fi
fi
[[ -x $dbward ]] || die "no dbward binary at $dbward (build it, or set BENCH_DBWARD)"
# A private copy: a rebuild in a shared target directory must not swap it mid-benchmark.
cp "$dbward" "$tmp/dbward"
note "using a copy of $dbward ($("$dbward" --version))"
dbward=$tmp/dbward


# write_config DB: one source, schedule and destination per engine, all on the bench database.
write_config() {
  local cfg=$tmp/dbward-$1.toml
  {
    printf '# Generated by scripts/bench.sh for one benchmark run; removed afterwards.\n'
    printf 'state_dir = "%s"\n\n' "$tmp/state"
    printf '[[destination]]\nname = "bench"\ntype = "fs"\npath = "%s"\n\n' "$tmp/dest"
    if [[ -n $do_pg ]]; then
      printf '[[source]]\nname = "bench-pg"\nengine = "postgres"\nhost = "%s"\nport = %d\nuser = "%s"\ndatabases = ["%s"]\n' \
        "$pg_host" "$pg_port" "$pg_user" "$1"
      [[ -z ${BENCH_PG_PASSWORD:-} ]] || printf 'password = { env = "BENCH_PG_PASSWORD" }\n'
      printf '\n[[schedule]]\nname = "bench-pg"\nsources = ["bench-pg"]\ndestinations = ["bench"]\ncompression = "zstd"\ncompression_level = 3\nmin_dump_bytes = 1024\n\n'
    fi
    if [[ -n $do_mdb ]]; then
      printf '[[source]]\nname = "bench-mariadb"\nengine = "mariadb"\nhost = "%s"\nport = %d\nuser = "%s"\ndatabases = ["%s"]\n' \
        "$mdb_host" "$mdb_port" "$mdb_user" "$1"
      [[ -z ${BENCH_MARIADB_PASSWORD:-} ]] || printf 'password = { env = "BENCH_MARIADB_PASSWORD" }\n'
      printf '\n[[schedule]]\nname = "bench-mariadb"\nsources = ["bench-mariadb"]\ndestinations = ["bench"]\ncompression = "zstd"\ncompression_level = 3\nmin_dump_bytes = 1024\n\n'
    fi
  } >"$cfg"
  printf '%s' "$cfg"
}

# --- 5. the cases -----------------------------------------------------------------------
# Each case is a shell command line run by `bash -c` (pipefail on, so a failing dump fails the
# case). $OUT is its output file; `-` means it writes nothing that is kept. Arrays indexed alike.
q() { printf '%q' "$1"; }
case_engine=(); case_id=(); case_cmd=(); case_out=()
add_case() { case_engine+=("$1"); case_id+=("$2"); case_out+=("$3"); case_cmd+=("$4"); }
define_cases() { # DB
  case_engine=(); case_id=(); case_cmd=(); case_out=()
  local cfg; cfg=$(write_config "$1")
  if [[ -n $do_pg ]]; then
    local pgd
    pgd="$(q "$pg_dump") --no-password --host=$(q "$pg_host") --port=$pg_port --username=$(q "$pg_user") --dbname=$1"
    add_case postgres dbward dbward "$(q "$dbward") --config $(q "$cfg") --json -q backup --schedule bench-pg"
    add_case postgres plain_null - "$pgd > /dev/null"
    add_case postgres custom_file custom.dump "$pgd --format=custom > \"\$OUT\""
    add_case postgres gzip_file plain.sql.gz "$pgd | gzip > \"\$OUT\""
    add_case postgres zstd_file plain.sql.zst "$pgd | zstd -q -T0 -3 > \"\$OUT\""
  fi
  if [[ -n $do_mdb ]]; then
    # dbward's mariadb-dump options (crates/dbward-source-mysql/src/lib.rs `dump_options`).
    local mdd
    mdd="$(q "$mdb_dump") --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --skip-dump-date --no-tablespaces --protocol=TCP --host=$(q "$mdb_host") --port=$mdb_port --user=$(q "$mdb_user") $1"
    add_case mariadb dbward dbward "$(q "$dbward") --config $(q "$cfg") --json -q backup --schedule bench-mariadb"
    add_case mariadb plain_null - "$mdd > /dev/null"
    add_case mariadb gzip_file plain.sql.gz "$mdd | gzip > \"\$OUT\""
    add_case mariadb zstd_file plain.sql.zst "$mdd | zstd -q -T0 -3 > \"\$OUT\""
  fi
}

# run_case INDEX ROUND KIND: runs one case under measure.py, appends a JSON line to $results.
run_case() {
  local i=$1 round=$2 kind=$3 engine=${case_engine[$1]} id=${case_id[$1]}
  local o=${case_out[$1]} m=$tmp/run/measure.json stdout=$tmp/run/stdout
  local outfile=/dev/null
  [[ $o == - || $o == dbward ]] || outfile=$tmp/out/$o
  rm -rf "$tmp/dest"/* "$tmp/out"/*
  local status=0
  OUT=$outfile /usr/bin/python3 "$here/measure.py" --interval "$interval" --out "$m" -- \
    bash -o pipefail -c "${case_cmd[$i]}" >"$stdout" 2>"$tmp/run/stderr" || status=$?
  local out_bytes=null dump_bytes=null
  if [[ $o == dbward ]]; then
    # The dbward summary: status, dump and stored bytes; its stderr on failure.
    local summary verdict reason
    summary=$(/usr/bin/python3 "$here/runinfo.py" dbward-summary "$stdout") || summary="failed null null cannot read dbward's --json output: $(head -c 300 "$stdout")"
    read -r verdict dump_bytes out_bytes reason <<<"$summary"
    if [[ $status -ne 0 || $verdict != ok ]]; then
      echo "dbward backup ($engine) failed (exit $status): $reason" >&2
      sed 's/^/    /' "$tmp/run/stderr" >&2
      return 1
    fi
  else
    if ((status != 0)); then
      echo "$engine $id failed (exit $status): ${case_cmd[$i]}" >&2
      sed 's/^/    /' "$tmp/run/stderr" >&2
      return 1
    fi
    [[ $outfile == /dev/null ]] || out_bytes=$(stat -c %s "$outfile")
  fi
  /usr/bin/python3 "$here/runinfo.py" record "$m" "$engine" "$id" "$round" "$kind" "$out_bytes" "$dump_bytes" "${case_cmd[$i]}" >>"$results"
  note "$(printf '%-8s %-12s round %-2s %s' "$engine" "$id" "$round" "$(/usr/bin/python3 "$here/runinfo.py" line "$m")")"
}

# plain_size ENGINE DB: bytes of the plain dump (the MB/s basis), also warming the caches.
plain_size() {
  local bytes
  if [[ $1 == postgres ]]; then
    bytes=$("$pg_dump" --no-password --host="$pg_host" --port="$pg_port" --username="$pg_user" --dbname="$2" | wc -c)
  else
    bytes=$("$mdb_dump" --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --skip-dump-date --no-tablespaces --protocol=TCP --host="$mdb_host" --port="$mdb_port" --user="$mdb_user" "$2" | wc -c)
  fi
  printf '{"kind": "plain_size", "engine": "%s", "database": "%s", "bytes": %d}\n' "$1" "$2" "$bytes" >>"$results"
  note "$1: plain dump of $2 is $bytes bytes"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
busy=$(awk -v l="${load_before%% *}" 'BEGIN { print (l > 0.5) ? 1 : 0 }')
((busy == 0)) || note "warning: load average is $load_before before starting; other work on this machine will skew the timings"
define_cases "$db"
step "warm-up: plain dump sizes, then every case once (untimed)"
[[ -z $do_pg ]] || plain_size postgres "$db"
[[ -z $do_mdb ]] || plain_size mariadb "$db"
for i in "${!case_id[@]}"; do run_case "$i" 0 warmup; done

for ((r = 1; r <= rounds; r++)); do
  step "round $r of $rounds"
  for i in "${!case_id[@]}"; do run_case "$i" "$r" timed; done
done

# --- 6. dbward's peak RSS at F times the size (on request) -------------------------------
if [[ -n $rss_factor ]]; then
  big=${db}_x$rss_factor
  step "peak RSS at ${rss_factor}x: database $big"
  ensure_dbs "$big" $((scale * rss_factor)) $((rows * rss_factor))
  define_cases "$big"
  [[ -z $do_pg ]] || plain_size postgres "$big"
  [[ -z $do_mdb ]] || plain_size mariadb "$big"
  for ((r = 1; r <= rounds; r++)); do
    for i in "${!case_id[@]}"; do
      [[ ${case_id[$i]} == dbward ]] || continue
      run_case "$i" "$r" "x$rss_factor"
    done
  done
fi

# --- 7. report --------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
# The raw runs next to the report: `python3 scripts/bench/report.py FILE` prints it again.
cp "$results" "${out%.txt}.jsonl"
{
  printf 'dbward benchmark, %s, host %s (%s cores), dbward %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" "$(nproc)" "$("$dbward" --version | awk '{print $2}')"
  printf 'load average (1/5/15 min): %s before, %s after\n' "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'databases: %s (pgbench scale %s + bench_text %s rows); %s interleaved rounds after one untimed warm-up\n' "$db" "$scale" "$rows" "$rounds"
  [[ -z $do_pg ]] || printf 'PostgreSQL %s, %s\n' "$("${pg_cli[@]}" -d postgres -Atc 'SHOW server_version')" "$("$pg_dump" --version)"
  [[ -z $do_mdb ]] || printf 'MariaDB %s, %s\n' "$mdb_version" "$("$mdb_dump" --version)"
  /usr/bin/python3 "$here/report.py" "$results"
} >"$out"
cat "$out"
note "report written to $out"
