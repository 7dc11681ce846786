#!/usr/bin/env bash
# Benchmark (not a test, not run by scripts/test.sh): times `dbward backup`, `restore`, `verify --level drill`, fan-out to fs + S3 and encryption against plain-tool pipelines and against each other, interleaved, and reports medians, ratios and the targets they are held to.
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
#   3. builds dbward in release mode (and, for fanout, the S3 test server example) and writes
#      throw-away configs (fs destination, zstd 3; an S3 destination on the example server on
#      loopback; [encryption] to a key from `dbward key generate`);
#   4. for restore/drill: takes one dbward backup per engine (the benchmark's own backup
#      schedule, kept on its own fs destination) whose artifact every restore case reads;
#   5. runs every case once untimed (warm caches, catalog created, plain dump size measured),
#      then ROUNDS interleaved rounds (A B C ... A B C ...) of every case; scratch databases
#      are created (plain baselines) and dropped around each run, untimed;
#   6. prints a table (medians), the ratios dbward / baseline and every target, and writes it to
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
#             total from GNU time (%U+%S). The S3 server is not part of the command: its CPU
#             during the run (delta) and its peak RSS (VmHWM reset before the run) are recorded
#             by --watch and listed as s3_server.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/scripts/bench
generator=1 # bump when the generated data changes: existing bench databases are rebuilt

usage() {
  cat <<EOF
Usage: bash scripts/bench.sh [options]

Suites (each selectable with --only; default all):
  backup      \`dbward backup\` (zstd level 3, fs destination) against
                PostgreSQL: pg_dump > /dev/null, pg_dump -Fc > file, pg_dump | gzip > file,
                            pg_dump | zstd -T0 -3 > file
                MariaDB:    mariadb-dump > /dev/null, mariadb-dump | gzip > file,
                            mariadb-dump | zstd -T0 -3 > file
              Also \`dbward backup\` with compression_level = "auto" against level 3.
              Targets: auto no slower (wall <= 1.00x) and stores <= 1.10x the bytes.
  restore     \`dbward restore ID --to-database S\` against zstd -dc ARTIFACT | pg_restore -d S
              (PostgreSQL) or | mariadb S (MariaDB), on the artifact of the benchmark's own
              dbward backup; the plain case's S is created before the run (untimed), both are
              dropped after it. Targets: wall <= 1.10x, dbward peak RSS <= 64 MiB.
              MariaDB also \`dbward restore ID --jobs N\` (N = --restore-jobs) against the
              one-stream dbward restore. Target: wall <= 1.00x.
  drill       \`dbward verify ID --level drill\` against the plain restore + SELECT count(*) of
              every table + DROP DATABASE. Target: wall <= 1.15x.
  fanout      \`dbward backup\` to fs + S3 (the crate's S3 test server, example s3_server, one
              process on loopback for the whole run) against the same backup to fs alone.
              Targets: wall <= 1.15x, dbward peak RSS <= 96 MiB.
  encryption  \`dbward backup\` with [encryption] recipients = [one key from \`dbward key
              generate\`] against the same backup without. Target: wall <= 1.05x.
(baselines use the dump/load options dbward uses; the report prints every command line).

Options:
  --rebuild          drop and regenerate the bench databases even if they fit
  --rounds N         interleaved rounds (default \$BENCH_ROUNDS or 3); the median is reported
  --scale N          pgbench scale (default \$BENCH_PG_SCALE or 50; ~9.5 MB of plain dump per unit)
  --rows N           rows of bench_text (default \$BENCH_ROWS or 3000000; ~130 MB per million)
  --only LIST        comma-separated suites (backup, restore, drill, fanout, encryption) and/or
                     engines (postgres, mariadb); default \$BENCH_ONLY, else every suite on
                     \$BENCH_ENGINES or both engines. Repeatable: --only restore --only postgres
  --restore-jobs N   --jobs of the MariaDB parallel restore case (default \$BENCH_RESTORE_JOBS or 4)
  --rss-x4           also measure dbward's peak RSS on a database 4x as large (built on
                     first use as dbward_bench_x4; same as BENCH_RSS_SCALE_FACTOR=4)
  --no-build         use the existing release binaries (or \$BENCH_DBWARD, \$BENCH_S3_SERVER)
                     without cargo
  -h, --help         this text

Environment:
  BENCH_PG_HOST/PORT/USER/PASSWORD        default 127.0.0.1 / 5432 / postgres / (none)
  BENCH_MARIADB_HOST/PORT/USER/PASSWORD   default 127.0.0.1 / 3306 / root / (none)
  BENCH_DB                     bench database name (default dbward_bench)
  BENCH_RSS_SCALE_FACTOR=F     the --rss-x4 run at F times the size (default off)
  BENCH_OUT                    report file (default \${CARGO_TARGET_DIR:-target}/bench/report.txt)
  BENCH_DBWARD                 a dbward binary to use instead of building one
  BENCH_S3_SERVER              an s3_server example binary to use instead of building one
  BENCH_SAMPLE_INTERVAL        /proc sampling interval in seconds (default 0.05)
  BENCH_KEEP_TMP=1             keep the temporary directory (config, catalog, outputs)

On 2 cores, --scale 20 --rows 1000000 (~320 MB of plain dump per engine) builds both databases
in ~25 s once; the backup suite then takes ~4 minutes for 3 rounds, and restore and drill
take several times that (every run loads the whole database, MariaDB most slowly); --rss-x4
adds ~70 s of building (once) and ~1.5 minutes. Not part of scripts/test.sh.
EOF
}

# --- settings ---------------------------------------------------------------------------
rebuild=
build=1
rounds=${BENCH_ROUNDS:-3}
scale=${BENCH_PG_SCALE:-50}
rows=${BENCH_ROWS:-3000000}
restore_jobs=${BENCH_RESTORE_JOBS:-4}
engines=
suites=
only=${BENCH_ONLY:-}
rss_factor=${BENCH_RSS_SCALE_FACTOR:-}
while (($#)); do
  case $1 in
    --rebuild) rebuild=1 ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --scale) scale=${2:?--scale needs a number}; shift ;;
    --rows) rows=${2:?--rows needs a number}; shift ;;
    --restore-jobs) restore_jobs=${2:?--restore-jobs needs a number}; shift ;;
    --only) only=$only,${2:?--only needs a suite or engine list}; shift ;;
    --rss-x4) rss_factor=${rss_factor:-4} ;;
    --no-build) build= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$rounds" "$scale" "$rows" "$restore_jobs" ${rss_factor:+"$rss_factor"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
all_suites=backup,restore,drill,fanout,encryption
IFS=, read -ra words <<<"$only"
for w in ${words[@]+"${words[@]}"}; do
  case $w in
    '') ;;
    backup | restore | drill | fanout | encryption) suites=$suites,$w ;;
    postgres | pg | mariadb | mysql) engines=$engines,$w ;;
    all) suites=$all_suites ;;
    *) echo "--only/BENCH_ONLY: unknown '$w' (expected $all_suites, postgres, mariadb)" >&2; exit 2 ;;
  esac
done
engines=${engines:-${BENCH_ENGINES:-postgres,mariadb}}
suites=${suites:-$all_suites}
do_pg=; do_mdb=
case ,$engines, in *,postgres,* | *,pg,*) do_pg=1 ;; esac
case ,$engines, in *,mariadb,* | *,mysql,*) do_mdb=1 ;; esac
[[ -n $do_pg$do_mdb ]] || { echo "--only/BENCH_ENGINES: expected postgres and/or mariadb" >&2; exit 2; }
suite() { [[ ,$suites, == *,$1,* ]]; }
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
  # The restore baseline's pg_restore: the one beside that pg_dump (as new as the dump's).
  pg_restore=$(dirname "$pg_dump")/pg_restore
  [[ -x $pg_restore ]] || pg_restore=$(command -v pg_restore)
fi
if [[ -n $do_mdb ]]; then
  mdb_version=$("${mdb_cli[@]}" -N -B -e 'SELECT VERSION()' 2>&1) ||
    die "cannot reach MariaDB at $mdb_user@$mdb_host:$mdb_port (set BENCH_MARIADB_*): $mdb_version"
  mdb_dump=$(command -v mariadb-dump)
  mdb_client=$(command -v mariadb)
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
# Scratch databases of the restore and drill cases (dropped after every run and at exit).
scratch_dbward=${db}_rs_dbward
scratch_plain=${db}_rs_plain
s3_pid=
cleanup() {
  if [[ -n $s3_pid ]]; then
    kill -TERM "$s3_pid" 2>/dev/null || true
    wait "$s3_pid" 2>/dev/null || true
  fi
  if [[ -n ${scratch_used:-} ]]; then
    for s in "$scratch_dbward" "$scratch_plain"; do
      [[ -z $do_pg ]] || "${pg_cli[@]}" -d postgres -c "DROP DATABASE IF EXISTS $s" >/dev/null 2>&1 || true
      [[ -z $do_mdb ]] || "${mdb_cli[@]}" -e "DROP DATABASE IF EXISTS \`$s\`" >/dev/null 2>&1 || true
    done
  fi
  if [[ -n ${BENCH_KEEP_TMP:-} ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/state" "$tmp/dest" "$tmp/keep" "$tmp/out" "$tmp/run" "$tmp/s3"
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
# What the binary was built from: uncommitted changes (other people's work in progress) count.
src_state="commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
((dirty == 0)) || src_state="$src_state + $dirty uncommitted changed files"

# The S3 server for fanout: the crate's in-process test server as its own process, started
# once on a free loopback port; it prints its endpoint, keys and storage folder.
s3_root=
if suite fanout; then
  if [[ -n ${BENCH_S3_SERVER:-} ]]; then
    s3_bin=$BENCH_S3_SERVER
  else
    s3_bin=$target_dir/release/examples/s3_server
    if [[ -n $build ]]; then
      step "cargo build --release -p dbward-destination --features testing --example s3_server"
      (cd "$repo" && cargo build --release -p dbward-destination --features testing --example s3_server)
    fi
  fi
  [[ -x $s3_bin ]] || die "no S3 server at $s3_bin (build it, or set BENCH_S3_SERVER)"
  cp "$s3_bin" "$tmp/s3_server"
  # Its storage (and its leftovers, should it die) lives in $tmp/s3.
  TMPDIR=$tmp/s3 "$tmp/s3_server" --bucket bench >"$tmp/s3.out" 2>"$tmp/s3.err" &
  s3_pid=$!
  for _ in $(seq 100); do
    grep -qx ready "$tmp/s3.out" 2>/dev/null && break
    kill -0 "$s3_pid" 2>/dev/null || die "the S3 server exited: $(cat "$tmp/s3.err")"
    sleep 0.1
  done
  grep -qx ready "$tmp/s3.out" || die "the S3 server did not start within 10 s: $(cat "$tmp/s3.err")"
  s3_value() { sed -n "s/^$1=//p" "$tmp/s3.out"; }
  s3_endpoint=$(s3_value endpoint)
  s3_root=$(s3_value root)
  (umask 077; s3_value access_key >"$tmp/s3.key"; s3_value secret_key >"$tmp/s3.secret")
  note "S3 server: pid $s3_pid, $s3_endpoint, bucket bench, storage $s3_root"
fi
# s3_clear: empties the bucket (and s3s-fs's upload leftovers) between runs, like $tmp/dest.
s3_clear() {
  [[ -n $s3_root ]] || return 0
  find "$s3_root" -mindepth 1 -maxdepth 1 ! -name bench -exec rm -rf {} +
  find "$s3_root/bench" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
}

# The recipient for encryption: one new age identity (kept in $tmp, never used to decrypt).
recipient=
if suite encryption; then
  recipient=$("$dbward" key generate --out "$tmp/bench.key") || die "dbward key generate failed"
  recipient=$(grep -o 'age1[0-9a-z]*' <<<"$recipient" | head -n1)
  [[ -n $recipient ]] || die "dbward key generate printed no age1... recipient"
  note "encryption recipient $recipient"
fi


# write_config DB VARIANT: one source per engine on the bench database and one schedule per
# engine (bench-pg, bench-mariadb: zstd 3, min_dump_bytes 1024) whose destinations depend on
# VARIANT, each in its own file (every backup cleans the staging area of every configured
# destination, so a config holds only the destinations its cases use):
#   fs         fs `bench` ($tmp/dest, emptied before every run)
#   fanout     fs `bench` + S3 `s3` (bucket bench on the example server, emptied likewise)
#   encrypted  fs `bench` + [encryption] recipients = [the generated key]
#   keep       fs `keep` ($tmp/keep): the backup that every restore and drill reads
#   auto       like fs, with compression_level = "auto"
write_config() {
  local cfg=$tmp/dbward-$1-$2.toml
  {
    printf '# Generated by scripts/bench.sh for one benchmark run; removed afterwards.\n'
    printf 'state_dir = "%s"\n\n' "$tmp/state"
    local dests='"bench"' level=3
    [[ $2 != auto ]] || level='"auto"'
    if [[ $2 == keep ]]; then
      dests='"keep"'
      printf '[[destination]]\nname = "keep"\ntype = "fs"\npath = "%s"\n\n' "$tmp/keep"
    else
      printf '[[destination]]\nname = "bench"\ntype = "fs"\npath = "%s"\n\n' "$tmp/dest"
    fi
    if [[ $2 == fanout ]]; then
      dests='"bench", "s3"'
      printf '[[destination]]\nname = "s3"\ntype = "s3"\nbucket = "bench"\nendpoint = "%s"\nregion = "us-east-1"\n' "$s3_endpoint"
      printf 'access_key_id = { file = "%s" }\nsecret_access_key = { file = "%s" }\n\n' "$tmp/s3.key" "$tmp/s3.secret"
    fi
    local name engine host port user pw
    for engine in postgres mariadb; do
      if [[ $engine == postgres ]]; then
        [[ -n $do_pg ]] || continue
        name=bench-pg host=$pg_host port=$pg_port user=$pg_user pw=BENCH_PG_PASSWORD
      else
        [[ -n $do_mdb ]] || continue
        name=bench-mariadb host=$mdb_host port=$mdb_port user=$mdb_user pw=BENCH_MARIADB_PASSWORD
      fi
      printf '[[source]]\nname = "%s"\nengine = "%s"\nhost = "%s"\nport = %d\nuser = "%s"\ndatabases = ["%s"]\n' \
        "$name" "$engine" "$host" "$port" "$user" "$1"
      [[ -z ${!pw:-} ]] || printf 'password = { env = "%s" }\n' "$pw"
      printf '\n[[schedule]]\nname = "%s"\nsources = ["%s"]\ndestinations = [%s]\ncompression = "zstd"\ncompression_level = %s\nmin_dump_bytes = 1024\n\n' \
        "$name" "$name" "$dests" "$level"
    done
    [[ $2 != encrypted ]] || printf '[encryption]\nrecipients = ["%s"]\n' "$recipient"
  } >"$cfg"
  printf '%s' "$cfg"
}

# --- 5. the cases -----------------------------------------------------------------------
# Each case is a shell command line run by `bash -c` (pipefail on, so a failing step fails the
# case). $OUT is its output file; `-` means it writes nothing that is kept. $PHASES is a file
# the command may append `NAME $EPOCHREALTIME` lines to (time per phase of the plain drill).
# KIND says how its result is judged: plain (exit status), backup, restore, verify (dbward's
# --json output). PRE and POST run untimed before and after it (scratch databases); WATCH is a
# pid outside the command whose CPU and peak RSS during the run are recorded (the S3 server).
# Arrays indexed alike.
q() { printf '%q' "$1"; }
case_engine=(); case_id=(); case_kind=(); case_cmd=(); case_out=(); case_pre=(); case_post=(); case_watch=()
add_case() { # ENGINE ID KIND OUT CMD [PRE [POST [WATCH]]]
  case_engine+=("$1"); case_id+=("$2"); case_kind+=("$3"); case_out+=("$4"); case_cmd+=("$5")
  case_pre+=("${6:-}"); case_post+=("${7:-}"); case_watch+=("${8:-}")
}

# take_fixture CFG SCHEDULE: one dbward backup onto `keep`; prints `ID ARTIFACT-PATH`.
take_fixture() {
  local out=$tmp/run/fixture.json status=0
  "$dbward" --config "$1" --json -q backup --schedule "$2" >"$out" 2>"$tmp/run/fixture.err" || status=$?
  local got
  got=$(/usr/bin/python3 "$here/runinfo.py" backup-copy "$out") || got=
  [[ $status -eq 0 && -n $got ]] || die "the fixture backup ($2) failed (exit $status): $(head -c 400 "$out") $(cat "$tmp/run/fixture.err")"
  local id=${got%% *} path=${got#* }
  [[ -f $tmp/keep/$path ]] || die "the fixture backup's artifact $tmp/keep/$path is missing"
  printf '%s %s' "$id" "$tmp/keep/$path"
}

# count_sql ENGINE DB: one `SELECT count(*) FROM t` per base table of the bench database (the
# drill baseline's counts; the restored copy has the same tables).
count_tables() {
  local names
  if [[ $1 == postgres ]]; then
    names=$("${pg_cli[@]}" -d "$2" -Atc "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
  else
    names=$("${mdb_cli[@]}" -N -B -e "SELECT table_name FROM information_schema.TABLES WHERE table_schema = '$2' AND table_type = 'BASE TABLE' ORDER BY 1")
  fi
  local t
  for t in $names; do
    [[ $t =~ ^[a-z_][a-z0-9_.]*$ ]] || die "unexpected table name '$t' in $2"
    printf '%s\n' "$t"
  done
}

define_cases() { # DB [x4]: with x4 only the dbward backup case (peak RSS at a larger size)
  case_engine=(); case_id=(); case_kind=(); case_cmd=(); case_out=(); case_pre=(); case_post=(); case_watch=()
  local cfg cfg_fanout= cfg_enc= cfg_keep= cfg_auto=
  cfg=$(write_config "$1" fs)
  if [[ -z ${2:-} ]]; then
    suite backup && cfg_auto=$(write_config "$1" auto)
    suite fanout && cfg_fanout=$(write_config "$1" fanout)
    suite encryption && cfg_enc=$(write_config "$1" encrypted)
    if suite restore || suite drill; then cfg_keep=$(write_config "$1" keep); fi
  fi
  local engine sched fix fix_id art tables t
  for engine in postgres mariadb; do
    if [[ $engine == postgres ]]; then [[ -n $do_pg ]] || continue; sched=bench-pg; else [[ -n $do_mdb ]] || continue; sched=bench-mariadb; fi
    local backup_cmd="$(q "$dbward") --config $(q "$cfg") --json -q backup --schedule $sched"
    local dump load create drop scratch_create_plain scratch_drop_plain scratch_drop_dbward counts
    if [[ $engine == postgres ]]; then
      dump="$(q "$pg_dump") --no-password --host=$(q "$pg_host") --port=$pg_port --username=$(q "$pg_user") --dbname=$1"
      # dbward's loader: pg_restore --exit-on-error as a superuser (crates/dbward-source-postgres/src/target.rs).
      load="$(q "$pg_restore") --exit-on-error --no-password --host=$(q "$pg_host") --port=$pg_port --username=$(q "$pg_user") --dbname=$scratch_plain"
      local psql_c="psql -X -q -v ON_ERROR_STOP=1 --no-password --host=$(q "$pg_host") --port=$pg_port --username=$(q "$pg_user")"
      scratch_create_plain="$psql_c --dbname=postgres -c 'DROP DATABASE IF EXISTS $scratch_plain' -c 'CREATE DATABASE $scratch_plain TEMPLATE template0'"
      scratch_drop_plain="$psql_c --dbname=postgres -c 'DROP DATABASE IF EXISTS $scratch_plain'"
      scratch_drop_dbward="$psql_c --dbname=postgres -c 'DROP DATABASE IF EXISTS $scratch_dbward'"
      drop="$psql_c --dbname=postgres -c 'DROP DATABASE $scratch_plain'"
      counts="$psql_c -At --dbname=$scratch_plain"
      while read -r t; do counts+=" -c 'SELECT count(*) FROM $t'"; done < <(count_tables postgres "$1")
      counts+=" > /dev/null"
    else
      # dbward's mariadb-dump options (crates/dbward-source-mysql/src/lib.rs `dump_options`).
      local conn="--protocol=TCP --host=$(q "$mdb_host") --port=$mdb_port --user=$(q "$mdb_user")"
      dump="$(q "$mdb_dump") --single-transaction --quick --routines --triggers --events --hex-blob --default-character-set=utf8mb4 --skip-dump-date --no-tablespaces $conn $1"
      # dbward's client options (crates/dbward-source-mysql/src/target.rs `client_args`).
      load="$(q "$mdb_client") --binary-mode --batch --default-character-set=utf8mb4 --max-allowed-packet=1073741824 --loose-sandbox $conn $scratch_plain"
      scratch_create_plain="$(q "$mdb_client") $conn -e 'DROP DATABASE IF EXISTS $scratch_plain; CREATE DATABASE $scratch_plain CHARACTER SET utf8mb4'"
      scratch_drop_plain="$(q "$mdb_client") $conn -e 'DROP DATABASE IF EXISTS $scratch_plain'"
      scratch_drop_dbward="$(q "$mdb_client") $conn -e 'DROP DATABASE IF EXISTS $scratch_dbward'"
      drop="$(q "$mdb_client") $conn -e 'DROP DATABASE $scratch_plain'"
      counts="$(q "$mdb_client") $conn -N -B $scratch_plain -e '"
      while read -r t; do counts+="SELECT COUNT(*) FROM $t; "; done < <(count_tables mariadb "$1")
      counts="${counts% }' > /dev/null"
    fi
    if [[ -n ${2:-} ]]; then
      add_case "$engine" dbward backup dbward "$backup_cmd"
      continue
    fi
    if suite backup || suite fanout || suite encryption; then
      # The fs backup: the subject of backup, the baseline of fanout and encryption.
      add_case "$engine" dbward backup dbward "$backup_cmd"
    fi
    if suite backup; then
      add_case "$engine" dbward_auto backup dbward "$(q "$dbward") --config $(q "$cfg_auto") --json -q backup --schedule $sched"
      add_case "$engine" plain_null plain - "$dump > /dev/null"
      [[ $engine != postgres ]] || add_case "$engine" custom_file plain custom.dump "$dump --format=custom > \"\$OUT\""
      add_case "$engine" gzip_file plain plain.sql.gz "$dump | gzip > \"\$OUT\""
      add_case "$engine" zstd_file plain plain.sql.zst "$dump | zstd -q -T0 -3 > \"\$OUT\""
    fi
    if suite fanout; then
      add_case "$engine" dbward_fanout backup dbward "$(q "$dbward") --config $(q "$cfg_fanout") --json -q backup --schedule $sched" "" "" "$s3_pid"
    fi
    if suite encryption; then
      add_case "$engine" dbward_enc backup dbward "$(q "$dbward") --config $(q "$cfg_enc") --json -q backup --schedule $sched"
    fi
    if suite restore || suite drill; then
      step "$engine: the backup that restore and drill read (dbward backup, zstd 3, fs)"
      fix=$(take_fixture "$cfg_keep" "$sched")
      fix_id=${fix%% *} art=${fix#* }
      note "backup $fix_id, artifact $art ($(stat -c %s "$art") bytes)"
      printf '{"kind": "fixture", "engine": "%s", "backup_id": "%s", "artifact": "%s", "bytes": %d}\n' \
        "$engine" "$fix_id" "$art" "$(stat -c %s "$art")" >>"$results"
      scratch_used=1
    fi
    if suite restore; then
      add_case "$engine" dbward_restore restore - \
        "$(q "$dbward") --config $(q "$cfg_keep") --json -q restore $fix_id --to-database $scratch_dbward" \
        "$scratch_drop_dbward" "$scratch_drop_dbward"
      if [[ $engine == mariadb ]]; then
        add_case "$engine" dbward_restore_jobs restore - \
          "$(q "$dbward") --config $(q "$cfg_keep") --json -q restore $fix_id --to-database $scratch_dbward --jobs $restore_jobs" \
          "$scratch_drop_dbward" "$scratch_drop_dbward"
      fi
      add_case "$engine" plain_restore plain - "zstd -q -dc $(q "$art") | $load" \
        "$scratch_create_plain" "$scratch_drop_plain"
    fi
    if suite drill; then
      add_case "$engine" dbward_drill verify - "$(q "$dbward") --config $(q "$cfg_keep") --json -q verify $fix_id --level drill"
      add_case "$engine" plain_drill plain - \
        "echo \"start \$EPOCHREALTIME\" >> \"\$PHASES\"; zstd -q -dc $(q "$art") | $load && echo \"restore \$EPOCHREALTIME\" >> \"\$PHASES\" && $counts && echo \"count \$EPOCHREALTIME\" >> \"\$PHASES\" && $drop && echo \"drop \$EPOCHREALTIME\" >> \"\$PHASES\"" \
        "$scratch_create_plain" "$scratch_drop_plain"
    fi
  done
}

# run_case INDEX ROUND KIND: runs one case under measure.py, appends a JSON line to $results.
run_case() {
  local i=$1 round=$2 kind=$3 engine=${case_engine[$1]} id=${case_id[$1]} judge=${case_kind[$1]}
  local o=${case_out[$1]} m=$tmp/run/measure.json stdout=$tmp/run/stdout phases=$tmp/run/phases
  local outfile=/dev/null
  [[ $o == - || $o == dbward ]] || outfile=$tmp/out/$o
  rm -rf "$tmp/dest"/* "$tmp/out"/*
  s3_clear
  : >"$phases"
  local setup_s=null
  if [[ -n ${case_pre[$i]} ]]; then
    local t0=$EPOCHREALTIME
    bash -o pipefail -c "${case_pre[$i]}" >/dev/null 2>"$tmp/run/stderr" ||
      { echo "$engine $id: setup failed: ${case_pre[$i]}" >&2; sed 's/^/    /' "$tmp/run/stderr" >&2; return 1; }
    setup_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  fi
  local status=0 watch=()
  [[ -z ${case_watch[$i]} ]] || watch=(--watch "${case_watch[$i]}")
  OUT=$outfile PHASES=$phases /usr/bin/python3 "$here/measure.py" --interval "$interval" --out "$m" ${watch[@]+"${watch[@]}"} -- \
    bash -o pipefail -c "${case_cmd[$i]}" >"$stdout" 2>"$tmp/run/stderr" || status=$?
  local out_bytes=null dump_bytes=null info=null
  if [[ $judge != plain ]]; then
    # dbward's --json result: status, dump and stored bytes (backup), durations (restore,
    # verify); its stderr on failure.
    local summary verdict reason
    summary=$(/usr/bin/python3 "$here/runinfo.py" dbward-result "$judge" "$stdout") || summary="failed null null null cannot read dbward's --json output: $(head -c 300 "$stdout")"
    read -r verdict dump_bytes out_bytes info reason <<<"$summary"
    if [[ $status -ne 0 || $verdict != ok ]]; then
      echo "dbward $judge ($engine $id) failed (exit $status): $reason" >&2
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
  if [[ -n ${case_post[$i]} ]]; then
    bash -o pipefail -c "${case_post[$i]}" >/dev/null 2>"$tmp/run/stderr" ||
      { echo "$engine $id: cleanup failed: ${case_post[$i]}" >&2; sed 's/^/    /' "$tmp/run/stderr" >&2; return 1; }
  fi
  /usr/bin/python3 "$here/runinfo.py" record "$m" "$engine" "$id" "$round" "$kind" "$out_bytes" "$dump_bytes" "${case_cmd[$i]}" \
    "$info" "$setup_s" "$phases" >>"$results"
  note "$(printf '%-8s %-13s round %-2s %s' "$engine" "$id" "$round" "$(/usr/bin/python3 "$here/runinfo.py" line "$m")")"
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
if [[ -n $rss_factor ]] && suite backup; then
  big=${db}_x$rss_factor
  step "peak RSS at ${rss_factor}x: database $big"
  ensure_dbs "$big" $((scale * rss_factor)) $((rows * rss_factor))
  define_cases "$big" x4
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
  printf 'suites: %s; dbward built from %s\n' "${suites#,}" "$src_state"
  [[ -z $do_pg ]] || printf 'PostgreSQL %s, %s\n' "$("${pg_cli[@]}" -d postgres -Atc 'SHOW server_version')" "$("$pg_dump" --version)"
  [[ -z $do_mdb ]] || printf 'MariaDB %s, %s\n' "$mdb_version" "$("$mdb_dump" --version)"
  /usr/bin/python3 "$here/report.py" "$results"
} >"$out"
cat "$out"
note "report written to $out"
