#!/usr/bin/env bash
# Catalog benchmark (not a test, not run by scripts/test.sh): fills a SQLite and a PostgreSQL catalog with 1,000,000 backups over 10,000 databases, then times the real `dbward status --json` and `dbward list --limit 50` on each, and lease claim/release cycles on PostgreSQL; reports min/median against the targets.
#
# Usage: bash scripts/bench-catalog.sh [options]      (see --help)
#
# What it does:
#   1. installs what it needs from Debian when missing (sqlite3, psql, python3, hyperfine);
#   2. finds a PostgreSQL server: BENCH_PG_* when set, else the test kit's server named by
#      DBWARD_TEST_PG_* (scripts/test.sh's), else 127.0.0.1:5432 (user postgres, no
#      password) when it answers, else starts a private one with the test kit's
#      dbward-test-servers (stopped when this script exits);
#   3. builds dbward in release mode and writes two throw-away configs: SOURCES postgres
#      sources of PER_SOURCE databases each (on hosts that do not exist: `status` and `list`
#      read the catalog and the config only), under SOURCES/10 schedules (cron 02:00 UTC,
#      rpo 26h, weekly drills, rto 2h) onto `local` (fs) and `offsite` (s3); one config keeps
#      the catalog in a SQLite file, the other in a fresh PostgreSQL database;
#   4. lets dbward create and migrate both catalogs (`dbward list`), then fills them in one
#      transaction each and has dbward compute its health summaries (a chore of `open`) (scripts/bench/catalog_fill.sh, shared with bench-web.sh, running catalog_fill_sqlite.sql or catalog_fill_pg.sql: the same
#      rows in both) with BACKUPS nightly backups per database, the newest just after the
#      latest 02:00 UTC: 96% succeeded, 1% degraded, 2% failed, 1% skipped, a few running;
#      copies on both destinations (one offsite copy in a thousand missing), checksum
#      verifications, drills, key drills, manifests of ~3 KB, and the oldest PRUNED% pruned;
#   5. runs each command once (its exit status and output are checked: `status` must judge,
#      not fail with UNKNOWN), then times RUNS runs after WARMUP untimed ones (hyperfine);
#   6. leases: N_CLIENTS processes (the dbward-catalog example lease_bench) claim and release
#      leases on the PostgreSQL catalog for SECONDS seconds; cycles per second summed;
#   7. prints a table (min, median, mean, max against each target) and writes it to
#      $BENCH_OUT (default ${CARGO_TARGET_DIR:-target}/bench/catalog-report.txt).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/scripts/bench

usage() {
  cat <<EOF
Usage: bash scripts/bench-catalog.sh [options]

Options:
  --sources N        sources in the config (default 100); schedules: one per 10 sources
  --per-source N     databases per source (default 100)
  --backups N        backups per database (default 100): sources x per-source x backups rows
  --pruned PCT       percentage of each database's oldest backups marked pruned (default 0)
  --runs N           timed runs per command (default \$BENCH_RUNS or 20)
  --warmup N         untimed runs first (default 3)
  --only LIST        comma-separated: sqlite, postgres, leases (default all)
  --lease-clients N  concurrent lease clients (default 4)
  --lease-seconds N  how long the lease clients run (default 10)
  --private-pg       always start a private PostgreSQL (under \$TMPDIR) with the test kit
  --no-build         use the existing release binaries (or \$BENCH_DBWARD) without cargo
  -h, --help         this text

Environment:
  BENCH_PG_HOST/PORT/USER/PASSWORD  the PostgreSQL server (default: see step 2 above)
  BENCH_PG_SSLMODE     sslmode of dbward's catalog URL (default disable)
  BENCH_CATALOG_DB     the PostgreSQL database, dropped and created (default dbward_catbench)
  BENCH_OUT            report file (default \${CARGO_TARGET_DIR:-target}/bench/catalog-report.txt)
  BENCH_DBWARD         a dbward binary to use instead of building one
  BENCH_LEASE_BENCH    a lease_bench example binary to use instead of building one
  BENCH_KEEP_TMP=1     keep the temporary directory (configs, the SQLite catalog)

Targets (the catalog-port issue): status < 200 ms and list --limit 50 < 50 ms on both
catalogs; at least 1,000 lease claim/release cycles per second on PostgreSQL from 4 clients.
The median is held to the target. On 2 cores, filling takes about 2 minutes per catalog and
needs ~4 GB of disk each (\$TMPDIR for SQLite, the server's data directory for PostgreSQL).
EOF
}

# --- settings ---------------------------------------------------------------------------
sources=100
per_source=100
per_db=100
pruned=0
runs=${BENCH_RUNS:-20}
warmup=3
only=
lease_clients=4
lease_seconds=10
build=1
private_pg=
while (($#)); do
  case $1 in
    --sources) sources=${2:?}; shift ;;
    --per-source) per_source=${2:?}; shift ;;
    --backups) per_db=${2:?}; shift ;;
    --pruned) pruned=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --warmup) warmup=${2:?}; shift ;;
    --only) only=$only,${2:?}; shift ;;
    --lease-clients) lease_clients=${2:?}; shift ;;
    --lease-seconds) lease_seconds=${2:?}; shift ;;
    --private-pg) private_pg=1 ;;
    --no-build) build= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$sources" "$per_source" "$per_db" "$runs" "$lease_clients" "$lease_seconds"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
[[ $warmup =~ ^[0-9]+$ && $pruned =~ ^[0-9]+$ ]] && ((pruned < 100)) ||
  { echo "--warmup: a whole number; --pruned: 0 to 99" >&2; exit 2; }
((per_source <= 1000 && per_db <= 1000 && sources * per_source <= 100000)) ||
  { echo "at most 1000 databases per source, 1000 backups per database, 100000 databases" >&2; exit 2; }
only=${only:-sqlite,postgres,leases}
do_sqlite=; do_pg=; do_leases=
IFS=, read -ra words <<<"$only"
for w in "${words[@]}"; do
  case $w in
    '') ;;
    sqlite) do_sqlite=1 ;;
    postgres | pg) do_pg=1 ;;
    leases) do_leases=1 ;;
    *) echo "--only: unknown '$w' (expected sqlite, postgres, leases)" >&2; exit 2 ;;
  esac
done
pg_db=${BENCH_CATALOG_DB:-dbward_catbench}
[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_CATALOG_DB: letters, digits and _ only" >&2; exit 2; }
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${BENCH_OUT:-$target_dir/bench/catalog-report.txt}
databases=$((sources * per_source))
rows=$((databases * per_db))

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'bench-catalog: %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -----------------------------------------------------------------
missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v psql >/dev/null || missing+=(postgresql-client)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
command -v hyperfine >/dev/null || missing+=(hyperfine)
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbward-catbench.XXXXXX")
servers_state=
cleanup() {
  if [[ -n $servers_state ]]; then
    cargo run -q --manifest-path "$repo/Cargo.toml" -p dbward-testkit --bin dbward-test-servers -- stop "$servers_state" ||
      echo "warning: could not stop the private servers; their watchdogs will" >&2
  fi
  if [[ -n ${BENCH_KEEP_TMP:-} ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. the PostgreSQL server -----------------------------------------------------------
pg_reachable() { PGCONNECT_TIMEOUT=3 psql -X -q -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; }
if [[ -n $do_pg$do_leases ]]; then
  pg_host=127.0.0.1 pg_port=5432 pg_user=postgres pg_password= pg_origin="the local server"
  if [[ -n $private_pg ]]; then
    :
  elif [[ -n ${BENCH_PG_HOST:-}${BENCH_PG_PORT:-}${BENCH_PG_USER:-}${BENCH_PG_PASSWORD:-} ]]; then
    pg_host=${BENCH_PG_HOST:-127.0.0.1} pg_port=${BENCH_PG_PORT:-5432} pg_user=${BENCH_PG_USER:-postgres}
    pg_password=${BENCH_PG_PASSWORD:-} pg_origin="BENCH_PG_*"
  elif [[ -n ${DBWARD_TEST_PG_PORT:-} ]]; then
    pg_port=$DBWARD_TEST_PG_PORT pg_password=${DBWARD_TEST_PG_PASSWORD:-}
    pg_origin="the test kit's server (DBWARD_TEST_PG_*)"
  elif ! pg_reachable; then
    private_pg=1
  fi
  if [[ -n $private_pg ]]; then
    step "starting a private PostgreSQL under ${TMPDIR:-/tmp} (dbward-test-servers)"
    servers_state=$tmp/servers
    mkdir -p "$servers_state"
    exports=$(cargo run -q --manifest-path "$repo/Cargo.toml" -p dbward-testkit --bin dbward-test-servers -- start --owner-pid $$ "$servers_state")
    eval "$exports"
    pg_port=$DBWARD_TEST_PG_PORT pg_password=$DBWARD_TEST_PG_PASSWORD pg_origin="a private server of the test kit"
  fi
  # Passwords reach psql and dbward through their environment only (never argv).
  if [[ -n $pg_password ]]; then export PGPASSWORD=$pg_password; else unset PGPASSWORD; fi
  pg_reachable || die "cannot reach PostgreSQL at $pg_user@$pg_host:$pg_port (set BENCH_PG_*)"
  pg_cli=(psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user")
  # On loopback TLS adds nothing but its handshake: each of the ~4 connections a command
  # opens then waits ~80 ms (measured with sslmode=prefer against a server with ssl=on).
  pg_sslmode=${BENCH_PG_SSLMODE:-disable}
  export BENCH_CATALOG_URL="postgres://$pg_user${pg_password:+:$pg_password}@$pg_host:$pg_port/$pg_db?sslmode=$pg_sslmode"
fi

# --- 3. binaries and configs ------------------------------------------------------------
src_state=$(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)
if [[ -n ${BENCH_DBWARD:-} ]]; then
  dbward=$BENCH_DBWARD
  src_state="$dbward"
elif [[ -n $build ]]; then
  step "building dbward (release)"
  (cd "$repo" && cargo build --release -q -p dbward --bin dbward)
  dbward=$target_dir/release/dbward
else
  dbward=$target_dir/release/dbward
fi
[[ -x $dbward ]] || die "no dbward binary at $dbward"
lease_bench=
if [[ -n $do_leases ]]; then
  if [[ -n ${BENCH_LEASE_BENCH:-} ]]; then
    lease_bench=$BENCH_LEASE_BENCH
  elif [[ -n $build ]]; then
    step "building the lease benchmark client (release)"
    (cd "$repo" && cargo build --release -q -p dbward-catalog --example lease_bench)
    lease_bench=$target_dir/release/examples/lease_bench
  else
    lease_bench=$target_dir/release/examples/lease_bench
  fi
  [[ -x $lease_bench ]] || die "no lease_bench binary at $lease_bench"
fi

results=$tmp/results.jsonl
: >"$results"
record() { printf '%s\n' "$1" >>"$results"; }

# --- 4. fill: write_config, fill_sqlite and fill_pg --------------------------------------
# shellcheck source=scripts/bench/catalog_fill.sh
source "$here/catalog_fill.sh"

# --- 5. timing --------------------------------------------------------------------------
# check CATALOG CFG: one run of each command, whose result must be a real answer.
check_commands() {
  local code=0 summary
  "$dbward" --config "$2" --json status >"$tmp/status.json" 2>"$tmp/status.err" || code=$?
  summary=$(/usr/bin/python3 "$here/catalog_report.py" status-summary "$tmp/status.json") ||
    die "$1: status printed no report (exit $code): $(head -c 400 "$tmp/status.err")"
  ((code <= 2)) || die "$1: status exit $code (UNKNOWN): $summary"
  note "$1: status exit $code: $summary"
  record "$(printf '{"kind": "status", "catalog": "%s", "exit": %d, "summary": "%s"}' "$1" "$code" "$summary")"
  local listed
  listed=$("$dbward" --config "$2" --json list --limit 50 | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["backups"]))')
  [[ $listed == 50 ]] || die "$1: list --limit 50 listed $listed backups"
}

# time_command CATALOG NAME TARGET_MS ARGS...: hyperfine, no shell in between; `status`
# exits 1 or 2 when it finds problems, which is a result, not a failure (checked above).
time_command() {
  local catalog=$1 name=$2 target=$3 json=$tmp/hyperfine.json
  shift 3
  hyperfine -N -i --warmup "$warmup" --runs "$runs" --export-json "$json" --style basic \
    "$(printf '%q ' "$@")" >&2
  record "$(/usr/bin/python3 "$here/catalog_report.py" record "$json" "$catalog" "$name" "$target")"
}

bench_catalog() { # CATALOG
  local cfg=$tmp/$1.toml
  write_config "$cfg" "$1"
  if [[ $1 == sqlite ]]; then fill_sqlite "$cfg"; else fill_pg "$cfg"; fi
  check_commands "$1" "$cfg"
  step "$1: timing status --json and list --limit 50 ($warmup warm-up, $runs timed runs each)"
  time_command "$1" "status --json" 200 "$dbward" --config "$cfg" --json status
  time_command "$1" "list --limit 50" 50 "$dbward" --config "$cfg" list --limit 50
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
[[ -z $do_sqlite ]] || bench_catalog sqlite
[[ -z $do_pg ]] || bench_catalog postgres

# --- 6. leases --------------------------------------------------------------------------
if [[ -n $do_leases ]]; then
  if [[ -z $do_pg ]]; then
    "${pg_cli[@]}" -d postgres -c "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db" 2>&1 | { grep -v NOTICE || true; } >&2
  fi
  step "PostgreSQL: $lease_clients clients claiming and releasing leases for $lease_seconds s"
  "$lease_bench" --clients "$lease_clients" --seconds "$lease_seconds" >"$tmp/leases.json"
  record "$(/usr/bin/python3 "$here/catalog_report.py" leases "$tmp/leases.json")"
fi

# --- 7. report --------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
cp "$results" "${out%.txt}.jsonl"
{
  printf 'dbward catalog benchmark, %s, host %s (%s cores), dbward %s built from %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" "$(nproc)" "$("$dbward" --version | awk '{print $2}')" "$src_state"
  printf 'load average (1/5/15 min): %s before, %s after\n' "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'catalogs: %d backups = %d sources x %d databases x %d backups, %d%% pruned; %d schedules\n' \
    "$rows" "$sources" "$per_source" "$per_db" "$pruned" $(((sources + 9) / 10))
  if [[ -n $do_pg$do_leases ]]; then
    printf 'PostgreSQL %s at %s:%s (%s; sslmode=%s; %s)\n' "$("${pg_cli[@]}" -d postgres -Atc 'SHOW server_version')" "$pg_host" "$pg_port" "$pg_origin" "$pg_sslmode" \
      "$("${pg_cli[@]}" -d postgres -Atc "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers')")"
  fi
  printf 'SQLite: the library bundled with dbward; times: hyperfine %s, %d warm-up + %d timed runs\n' \
    "$(hyperfine --version | awk '{print $2}')" "$warmup" "$runs"
  /usr/bin/python3 "$here/catalog_report.py" report "$results"
} >"$out"
cat "$out"
note "report written to $out"
