#!/usr/bin/env bash
# Web dashboard benchmark (not a test, not run by scripts/test.sh): fills a SQLite catalog, or
# a PostgreSQL one with --catalog postgres, with scripts/bench/catalog_fill.sh (as
# bench-catalog.sh does), starts `dbward serve` on it,
# and measures the server time of the Overview (`/`) and of `GET /api/v1/status` (median over
# the runs), the bytes of the first page load (the page and its one script), and the
# server's resident memory idle (started, nothing asked) and at its peak (after the runs).
#
# Usage: bash scripts/bench-web.sh [--debug] [--backups N] [--runs N] [options] (see --help)
#
# Server time is curl's time to the first byte after the request was sent
# (time_starttransfer - time_pretransfer) on loopback, over a new connection per request.
# The token the requests carry is read by curl from a 0600 file, never from its argv.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/scripts/bench

usage() {
  cat <<EOF
Usage: bash scripts/bench-web.sh [options]

Options:
  --debug            use the debug build (cargo build), not a release build
  --catalog KIND     sqlite (default) or postgres: the catalog the server reads
  --sources N        sources in the config (default 100); schedules: one per 10 sources
  --per-source N     databases per source (default 100)
  --backups N        backups per database (default 100): sources x per-source x backups rows
  --runs N           timed requests per page (default 20), after 2 untimed ones
  --no-build         use the existing binary (or \$BENCH_DBWARD) without cargo
  -h, --help         this text

Environment:
  BENCH_DBWARD       a dbward binary to use instead of building one
  BENCH_OUT          report file (default \${CARGO_TARGET_DIR:-target}/bench/web-report.txt)
  BENCH_KEEP_TMP=1   keep the temporary directory (config, the SQLite catalog, the server log)
  BENCH_PG_HOST/PORT/USER/PASSWORD  with --catalog postgres: the server (default 127.0.0.1 /
                     5432 / postgres / none); the user must be able to create databases
  BENCH_CATALOG_DB   with --catalog postgres: the database, dropped and created (default
                     dbward_webbench)

Targets (the web dashboard issue, measured there on a release build with 1,000,000
backups): the Overview's server time < 300 ms; first page load < 250 KB; the dashboard adds
< 20 MiB to the server's RSS. A debug build is several times slower than a release one.
EOF
}

sources=100
per_source=100
per_db=100
pruned=0
runs=20
profile=release
build=1
catalog=sqlite
while (($#)); do
  case $1 in
    --debug) profile=debug ;;
    --catalog) catalog=${2:?}; shift ;;
    --sources) sources=${2:?}; shift ;;
    --per-source) per_source=${2:?}; shift ;;
    --backups) per_db=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --no-build) build= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $catalog == sqlite || $catalog == postgres ]] ||
  { echo "--catalog: sqlite or postgres, not '$catalog'" >&2; exit 2; }
for n in "$sources" "$per_source" "$per_db" "$runs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
((per_source <= 1000 && per_db <= 1000 && sources * per_source <= 100000)) ||
  { echo "at most 1000 databases per source, 1000 backups per database, 100000 databases" >&2; exit 2; }
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${BENCH_OUT:-$target_dir/bench/web-report.txt}
databases=$((sources * per_source))
rows=$((databases * per_db))

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'bench-web: %s\n' "$*" >&2; exit 1; }

tools=(sqlite3 curl /usr/bin/python3)
[[ $catalog == sqlite ]] || tools+=(psql)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing (apt-get install sqlite3 curl python3 postgresql-client)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbward-webbench.XXXXXX")
server=
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [[ -n ${BENCH_KEEP_TMP:-} ]]; then note "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

results=$tmp/results.jsonl
: >"$results"
record() { printf '%s\n' "$1" >>"$results"; }

# --- the binary -------------------------------------------------------------------------
src_state=$(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)
if [[ -n ${BENCH_DBWARD:-} ]]; then
  dbward=$BENCH_DBWARD
  src_state=$dbward
else
  if [[ -n $build ]]; then
    step "building dbward ($profile)"
    if [[ $profile == release ]]; then
      (cd "$repo" && cargo build --release -q -p dbward --bin dbward)
    else
      (cd "$repo" && cargo build -q -p dbward --bin dbward)
    fi
  fi
  dbward=$target_dir/$profile/dbward
fi
[[ -x $dbward ]] || die "no dbward binary at $dbward"

# --- the catalog ------------------------------------------------------------------------
# shellcheck source=scripts/bench/catalog_fill.sh
source "$here/catalog_fill.sh"
cfg=$tmp/$catalog.toml
if [[ $catalog == sqlite ]]; then
  write_config "$cfg" sqlite
  fill_sqlite "$cfg"
else
  pg_host=${BENCH_PG_HOST:-127.0.0.1} pg_port=${BENCH_PG_PORT:-5432}
  pg_user=${BENCH_PG_USER:-postgres} pg_password=${BENCH_PG_PASSWORD:-}
  pg_db=${BENCH_CATALOG_DB:-dbward_webbench}
  [[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_CATALOG_DB: letters, digits and _ only"
  export PGPASSWORD=$pg_password
  pg_cli=(psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user")
  "${pg_cli[@]}" -d postgres -Atc 'SELECT 1' >/dev/null ||
    die "no PostgreSQL at $pg_host:$pg_port as $pg_user (set BENCH_PG_*)"
  export BENCH_CATALOG_URL="postgres://$pg_user${pg_password:+:$pg_password}@$pg_host:$pg_port/$pg_db?sslmode=disable"
  write_config "$cfg" postgres
  fill_pg "$cfg"
fi

# --- the server -------------------------------------------------------------------------
token=$("$dbward" --config "$cfg" --json token create bench --role viewer |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
auth=$tmp/auth.header
(umask 077 && printf 'Authorization: Bearer %s\n' "$token" >"$auth")
unset token
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
step "starting dbward serve on $base"
"$dbward" --config "$cfg" serve --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
server=$!
for ((i = 0; i < 300; i++)); do
  curl -fs -o /dev/null "$base/api/v1/openapi.json" && break
  kill -0 "$server" 2>/dev/null || die "dbward serve exited: $(tail -c 400 "$tmp/serve.log")"
  sleep 0.1
done
curl -fs -o /dev/null "$base/api/v1/openapi.json" || die "dbward serve did not answer in 30 s"
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$server/status"; }
idle_kib=$(kib VmRSS)

# --- timing -----------------------------------------------------------------------------
# measure NAME PATH: 2 untimed requests, then $runs timed ones; each must answer 200.
measure() {
  local name=$1 path=$2 i line code
  step "$name: $runs timed requests of $path"
  for ((i = 0; i < runs + 2; i++)); do
    line=$(curl -s -o "$tmp/body" -H "@$auth" -w '%{http_code} %{time_pretransfer} %{time_starttransfer} %{size_download}' "$base$path")
    code=${line%% *}
    [[ $code == 200 ]] || die "$path answered $code: $(head -c 300 "$tmp/body")"
    ((i < 2)) || record "$(printf '{"kind": "request", "page": "%s", "line": "%s"}' "$name" "$line")"
  done
}
measure overview /
measure "api status" /api/v1/status
measure "api problems" /api/v1/problems
peak_kib=$(kib VmHWM)
curl -s -o "$tmp/page.html" -H "@$auth" "$base/"
curl -s -o "$tmp/page.js" -H "@$auth" "$base/assets/overview.js"
record "$(printf '{"kind": "page", "html": %d, "js": %d, "html_gzip": %d, "js_gzip": %d, "rows": %d}' \
  "$(stat -c %s "$tmp/page.html")" "$(stat -c %s "$tmp/page.js")" \
  "$(gzip -c "$tmp/page.html" | wc -c)" "$(gzip -c "$tmp/page.js" | wc -c)" \
  "$(grep -o '<tr class="row-' "$tmp/page.html" | wc -l)")"
record "$(printf '{"kind": "memory", "idle_kib": %d, "peak_kib": %d}' "$idle_kib" "$peak_kib")"

# --- report -----------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
cp "$results" "${out%.txt}.jsonl"
{
  printf 'dbward web benchmark, %s, host %s (%s cores), dbward %s (%s build) from %s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(hostname)" "$(nproc)" "$("$dbward" --version | awk '{print $2}')" "$profile" "$src_state"
  printf 'load average (1/5/15 min): %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s catalog: %d backups = %d sources x %d databases x %d backups; %d schedules\n' \
    "$catalog" "$rows" "$sources" "$per_source" "$per_db" $(((sources + 9) / 10))
  /usr/bin/python3 "$here/web_report.py" "$results"
} >"$out"
cat "$out"
note "report written to $out"
