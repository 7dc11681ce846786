#!/usr/bin/env bash
# Fleet simulation (not a test, not run by scripts/test.sh): several `dbward daemon`s on one
# PostgreSQL catalog back up many synthetic databases (generated dumps, no database server)
# through a simulated day of hourly and daily fires compressed in time; one daemon is killed
# (SIGKILL) and another restarted midway. The catalog then says whether every fire ran exactly
# once. Report: fires expected vs claimed and finished, double runs (must be 0), missed fires
# (must be 0), claim latency p50/p99, catalog transactions per second, each daemon's peak RSS.
#
# Usage: bash scripts/fleet-sim.sh [options]      (see --help)
#
# What it does:
#   1. builds dbward with `--features simulation` (the synthetic engine; release profile unless
#      --debug) and copies the binary;
#   2. drops and creates the catalog database (default `dbward_fleetsim` on 127.0.0.1:5432);
#   3. writes one config per agent in a work folder (default under /dev/shm): its own
#      state_dir, the shared catalog, one shared fs destination, SOURCES synthetic sources of
#      DATABASES each, a schedule `hourly` firing every SECONDS_PER_HOUR seconds and `daily`
#      every 24 * SECONDS_PER_HOUR seconds (catch-up off, audit and prune off);
#   4. starts the daemons; the simulated day starts at the first hourly fire after they are
#      up and lasts HOURS hourly fires; halfway the last daemon is killed with SIGKILL (and
#      stays dead: the others take over its unfinished backups once its leases expired) and
#      a simulated hour or more later (HOURS / 8) the one before it is stopped with SIGTERM
#      and started again;
#   5. after the day, waits up to 2 simulated hours for the day's fires to finish, stops
#      every daemon (SIGTERM), and judges from the catalog (fires, backups) and the samples:
#        fires expected   every (schedule, database, fire time) of the day, by the crons
#        claimed/finished rows of `fires` for those, and those finished
#        missed           expected fires with no finished row
#        double runs      succeeded or degraded backups that are not the one backup of a
#                         claimed fire (the first of its agent's backups of that database
#                         and schedule started after the claim)
#        claim latency    fires.claimed_at - fires.fire_at over the day's fires (a fire taken
#                         over from the dead daemon counts from the take-over)
#        catalog tx/s     delta of pg_stat_database xact_commit + xact_rollback of the catalog
#                         database over the day (each autocommit statement is one)
#        RSS              VmHWM of each daemon process (/proc, sampled every second)
#   6. writes the report to $SIM_OUT (default ${CARGO_TARGET_DIR:-target}/fleet-sim/report.txt)
#      and prints it; exits 1 when a fire was missed or run twice.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
Usage: bash scripts/fleet-sim.sh [options]

Options (the issue's scale is the default; on 2 cores use a smaller one, see below):
  --sources N               synthetic sources (default 1000)
  --databases-per-source N  databases of each (default 10)
  --agents N                daemons, at least 3 (default 5)
  --hours N                 hourly fires in the simulated day (default 24; the daily
                            schedule fires once in any 24 of them)
  --seconds-per-hour N      seconds between hourly fires: 5, 10, 15, 30, 300, 600 or 900, so
                            that both crons fire at even intervals (default 30; the issue's
                            10,000 databases need 300 or more on 2 cores)
  --hourly-sources N        only the first N sources fire hourly; all fire daily (default:
                            all). A whole simulated day at the issue's 10,000 databases
                            fits on 2 cores this way: 10 hourly sources at 30 s an hour
  --dump-bytes N            size of each generated dump (default 16384)
  --max-jobs N              [daemon] max_jobs of each daemon (default 4)
  --daily-with-hourly       fire daily at the same second as an hourly fire (default: half a
                            simulated hour later)
  --debug                   build and run the debug profile instead of release
  --no-build                use the binary built last (or \$SIM_DBWARD) without cargo
  -h, --help                this text

Environment:
  SIM_PG_HOST/PORT/USER/PASSWORD  the catalog's server (default 127.0.0.1 / 5432 / postgres /
                                  none); the user must be able to create databases
  SIM_DB                   catalog database, dropped and created (default dbward_fleetsim)
  SIM_DIR                  work folder parent (default /dev/shm when present, else \$TMPDIR)
  SIM_OUT                  report file (default \${CARGO_TARGET_DIR:-target}/fleet-sim/report.txt)
  SIM_DBWARD               a dbward binary built with --features simulation
  SIM_KEEP_TMP=1           keep the work folder (configs, logs, backups)

On 2 cores shared with other builds, the debug build keeps up with about 300 databases at
--seconds-per-hour 15 (a 6-minute day, 7.5 minutes in all); a busy daemon skips a fire while
its previous run goes on, and a fire every daemon skips is missed, so scale down until
"missed" is 0. The report says what was asked and what ran.
EOF
}

# --- settings ---------------------------------------------------------------------------
sources=1000
per_source=10
agents=5
hours=24
sph=30
dump_bytes=16384
hourly_sources=
max_jobs=4
profile=release
build=1
daily_with_hourly=
while (($#)); do
  case $1 in
    --sources) sources=${2:?--sources needs a number}; shift ;;
    --databases-per-source) per_source=${2:?--databases-per-source needs a number}; shift ;;
    --agents) agents=${2:?--agents needs a number}; shift ;;
    --hours) hours=${2:?--hours needs a number}; shift ;;
    --seconds-per-hour) sph=${2:?--seconds-per-hour needs a number}; shift ;;
    --hourly-sources) hourly_sources=${2:?--hourly-sources needs a number}; shift ;;
    --dump-bytes) dump_bytes=${2:?--dump-bytes needs a number}; shift ;;
    --max-jobs) max_jobs=${2:?--max-jobs needs a number}; shift ;;
    --daily-with-hourly) daily_with_hourly=1 ;;
    --debug) profile=debug ;;
    --no-build) build= ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in "$sources" "$per_source" "$agents" "$hours" "$sph" "$dump_bytes" "$max_jobs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "expected a positive whole number, got '$n'" >&2; exit 2; }
done
hourly_sources=${hourly_sources:-$sources}
[[ $hourly_sources =~ ^[1-9][0-9]*$ ]] && ((hourly_sources <= sources)) ||
  { echo "--hourly-sources: a positive whole number up to --sources ($sources)" >&2; exit 2; }
((agents >= 3)) || { echo "--agents: at least 3 (one is killed, one restarted)" >&2; exit 2; }
((hours >= 4)) || { echo "--hours: at least 4" >&2; exit 2; }
case $sph in
  5 | 10 | 15 | 30 | 300 | 600 | 900) ;;
  *) echo "--seconds-per-hour: 5, 10, 15, 30, 300, 600 or 900 (both crons must fire at even intervals: seconds dividing a minute, or minutes dividing an hour with a day of whole hours dividing 24)" >&2; exit 2 ;;
esac
day_minutes=$((24 * sph / 60))
# The daily fire comes half a simulated hour after an hourly one (like "30 0 * * *" beside
# "0 * * * *"): fires of two schedules on one database at the same moment meet its lease,
# and the later one is skipped (see the report's "skipped" row and --daily-with-hourly).
daily_offset=$((sph / 2))
[[ -z $daily_with_hourly ]] || daily_offset=0
if ((sph < 60)); then
  hourly_cron="*/$sph * * * * *"
  daily_cron="$daily_offset */$day_minutes * * * *"
else
  hourly_cron="0 */$((sph / 60)) * * * *"
  daily_cron="$((daily_offset % 60)) $((daily_offset / 60)) */$((day_minutes / 60)) * * *"
fi
databases=$((sources * per_source))

db=${SIM_DB:-dbward_fleetsim}
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "SIM_DB: letters, digits and _ only" >&2; exit 2; }
pg_host=${SIM_PG_HOST:-127.0.0.1}
pg_port=${SIM_PG_PORT:-5432}
pg_user=${SIM_PG_USER:-postgres}
# The password reaches psql through its environment and the daemons through a secret file.
if [[ -n ${SIM_PG_PASSWORD:-} ]]; then export PGPASSWORD=$SIM_PG_PASSWORD; else unset PGPASSWORD; fi
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${SIM_OUT:-$target_dir/fleet-sim/report.txt}

step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'fleet-sim: %s\n' "$*" >&2; exit 1; }

command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
pg=(psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user")
"${pg[@]}" -d postgres -Atc 'SELECT 1' >/dev/null 2>&1 ||
  die "cannot reach PostgreSQL at $pg_user@$pg_host:$pg_port (set SIM_PG_*)"

parent=${SIM_DIR:-}
[[ -n $parent ]] || { if [[ -d /dev/shm && -w /dev/shm ]]; then parent=/dev/shm; else parent=${TMPDIR:-/tmp}; fi; }
work=$(mktemp -d "$parent/dbward-fleet-sim.XXXXXX")
declare -A pid_of=()
sampler=
cleanup() {
  [[ -z $sampler ]] || kill "$sampler" 2>/dev/null || true
  for a in "${!pid_of[@]}"; do kill -TERM "${pid_of[$a]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ -n ${SIM_KEEP_TMP:-} ]]; then note "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. dbward --------------------------------------------------------------------------
if [[ -n ${SIM_DBWARD:-} ]]; then
  dbward=$SIM_DBWARD
else
  dbward=$target_dir/$profile/dbward
  if [[ -n $build ]]; then
    flags=(-p dbward --features simulation)
    [[ $profile == debug ]] || flags+=(--release)
    step "cargo build ${flags[*]}"
    (cd "$repo" && cargo build "${flags[@]}")
  fi
fi
[[ -x $dbward ]] || die "no dbward binary at $dbward (build it, or set SIM_DBWARD)"
# A private copy: a rebuild in a shared target directory must not swap it mid-run.
cp "$dbward" "$work/dbward"
dbward=$work/dbward
src_state="commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty=$({ git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null || true; } | wc -l)
((dirty == 0)) || src_state="$src_state + $dirty uncommitted changed files"

# --- 2. the catalog ---------------------------------------------------------------------
step "catalog: database $db on $pg_host:$pg_port (dropped and created)"
"${pg[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
sql() { "${pg[@]}" -d "$db" -At -F $'\t' "$@"; }

# --- 3. configs -------------------------------------------------------------------------
step "configs: $agents agents, $sources sources x $per_source databases, hourly every ${sph}s, daily every ${day_minutes}m"
url="postgres://$pg_user${SIM_PG_PASSWORD:+:$SIM_PG_PASSWORD}@$pg_host:$pg_port/$db"
mkdir -p "$work/backups"
body=$work/body.toml
{
  cat <<EOF
[catalog]
url = { file = "catalog.url" }
lease_ttl = "6s"

[[destination]]
name = "shm"
type = "fs"
path = "$work/backups"

[[schedule]]
name = "hourly"
cron = "$hourly_cron"
sources = ["*"]
destinations = ["shm"]
compression = "zstd"
compression_level = 1

[[schedule]]
name = "daily"
cron = "$daily_cron"
sources = ["*"]
destinations = ["shm"]
compression = "zstd"
compression_level = 1

[daemon]
max_jobs = $max_jobs
catch_up = "0s"
heartbeat = "2s"
grace = "30s"
audit = "off"
prune = "off"
status_every = "1w"
EOF
  for ((s = 0; s < sources; s++)); do
    printf '\n[[source]]\nname = "sim%04d"\nengine = "synthetic"\nsynthetic_databases = %d\nsynthetic_dump_bytes = %d\n' \
      "$s" "$per_source" "$dump_bytes"
  done
} >"$body"
# Schedules list their sources by name: hourly the first hourly_sources, daily all.
names_of() { for ((s = 0; s < $1; s++)); do printf '"sim%04d", ' "$s"; done; }
hourly_names=$(names_of "$hourly_sources")
daily_names=$(names_of "$sources")
sed -i -e "0,/^sources = \[\"\*\"\]/s//sources = [${hourly_names%, }]/" \
  -e "s/^sources = \[\"\*\"\]/sources = [${daily_names%, }]/" "$body"
for ((a = 1; a <= agents; a++)); do
  dir=$work/agent$a
  mkdir -p "$dir"
  printf 'state_dir = "state"\n' >"$dir/dbward.toml"
  cat "$body" >>"$dir/dbward.toml"
  (umask 077 && printf '%s' "$url" >"$dir/catalog.url")
  mkdir -m 700 -p "$dir/state"
done

# --- 4. the day -------------------------------------------------------------------------
start_agent() { # N
  local dir=$work/agent$1
  (cd "$dir" && exec "$dbward" --config dbward.toml daemon --allow-root >>"$dir/daemon.log" 2>&1) &
  pid_of[$1]=$!
  printf '%s %s\n' "$1" "${pid_of[$1]}" >>"$work/pids"
}
: >"$work/pids"
# RSS: every second, each live daemon's VmHWM (its peak so far) and VmRSS.
(
  while sleep 1; do
    while read -r a p; do
      [[ -r /proc/$p/status ]] || continue
      awk -v a="$a" -v p="$p" '/^VmHWM:/ {h=$2} /^VmRSS:/ {r=$2} END {if (h) print a, p, h, r}' "/proc/$p/status"
    done <"$work/pids"
  done >"$work/rss"
) &
sampler=$!

step "starting $agents daemons"
for ((a = 1; a <= agents; a++)); do start_agent "$a"; done
sleep 3
for ((a = 1; a <= agents; a++)); do
  kill -0 "${pid_of[$a]}" 2>/dev/null || die "agent $a exited at start: $(tail -n 5 "$work/agent$a/daemon.log")"
done
now=$(date +%s)
t0=$(((now / sph + 1) * sph))
t1=$((t0 + hours * sph))
killed=$agents
restarted=$((agents - 1))
# A quarter of a simulated hour into the midday fire: while the daemons back it up.
kill_at=$((t0 + hours / 2 * sph + sph / 4))
restart_at=$((kill_at + (hours >= 16 ? hours / 8 : 1) * sph))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
note "day: $(iso $t0) to $(iso $t1) ($hours fires of hourly); agent $killed killed at $(iso $kill_at), agent $restarted restarted at $(iso $restart_at)"
until (($(date +%s) >= t0)); do sleep 0.2; done
tx() { sql -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
tx0=$(tx)

until (($(date +%s) >= kill_at)); do sleep 0.2; done
step "SIGKILL agent $killed (pid ${pid_of[$killed]})"
kill -KILL "${pid_of[$killed]}"
wait "${pid_of[$killed]}" 2>/dev/null || true
unset "pid_of[$killed]"

until (($(date +%s) >= restart_at)); do sleep 0.2; done
step "restarting agent $restarted (SIGTERM, then start)"
kill -TERM "${pid_of[$restarted]}"
wait "${pid_of[$restarted]}" 2>/dev/null || true
start_agent "$restarted"

until (($(date +%s) >= t1)); do sleep 1; done
tx1=$(tx)
step "day over; waiting for its fires to finish (up to $((2 * sph)) s)"
unfinished_sql="SELECT count(*) FROM fires WHERE kind = 'backup' AND finished_at IS NULL
  AND fire_at::timestamptz < to_timestamp($t1)"
drain_end=$(($(date +%s) + 2 * sph))
while (($(date +%s) < drain_end)); do
  left=$(sql -c "$unfinished_sql")
  ((left == 0)) && break
  sleep 1
done
drained=$(($(date +%s) - t1))
step "stopping the daemons"
for a in "${!pid_of[@]}"; do kill -TERM "${pid_of[$a]}"; done
for a in "${!pid_of[@]}"; do wait "${pid_of[$a]}" 2>/dev/null || true; done
pid_of=()
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=

# --- 5. judgement -----------------------------------------------------------------------
step "judging from the catalog"
window="fire_at::timestamptz >= to_timestamp($t0) AND fire_at::timestamptz < to_timestamp($t1)"
sql >"$work/judged" <<SQL
CREATE TEMP TABLE times AS
  SELECT s.schedule, to_timestamp(t) AS at, s.sources
  FROM (VALUES ('hourly', $sph, 0, $hourly_sources), ('daily', $((24 * sph)), $daily_offset, $sources))
         AS s(schedule, every, off, sources),
       generate_series($t0, $t1 - 1) AS t
  WHERE t % s.every = s.off;
CREATE TEMP TABLE expected AS
  SELECT times.schedule, format('sim%s/db%s', lpad(src::text, 4, '0'), lpad(d::text, 4, '0')) AS target,
         times.at
  FROM times, generate_series(0, $((sources - 1))) AS src, generate_series(0, $((per_source - 1))) AS d
  WHERE src < times.sources;
CREATE TEMP TABLE day AS
  SELECT *, fire_at::timestamptz AS at FROM fires WHERE kind = 'backup' AND $window;
CREATE TEMP TABLE matched AS
  SELECT f.schedule, f.target, f.fire_at, (
    SELECT b.id FROM backups b
    WHERE b.source = split_part(f.target, '/', 1) AND b.database_name = split_part(f.target, '/', 2)
      AND b.schedule = f.schedule AND b.agent_id = f.agent_id AND b.started_at >= f.claimed_at
      AND b.status <> 'skipped'
    ORDER BY b.started_at LIMIT 1) AS backup_id
  FROM fires f WHERE f.kind = 'backup' AND f.finished_at IS NOT NULL;
SELECT 'expected', count(*) FROM expected;
SELECT 'expected_' || schedule, count(*) FROM expected GROUP BY schedule;
SELECT 'claimed', count(*) FROM day;
SELECT 'finished', count(*) FROM day WHERE finished_at IS NOT NULL;
SELECT 'missed', count(*) FROM expected e LEFT JOIN day f
  ON f.schedule = e.schedule AND f.target = e.target AND f.at = e.at AND f.finished_at IS NOT NULL
  WHERE f.target IS NULL;
SELECT 'missed_skipped', count(*) FROM expected e JOIN day f
  ON f.schedule = e.schedule AND f.target = e.target AND f.at = e.at AND f.finished_at IS NULL
  WHERE EXISTS (SELECT 1 FROM backups b WHERE b.source = split_part(f.target, '/', 1)
    AND b.database_name = split_part(f.target, '/', 2) AND b.schedule = f.schedule
    AND b.agent_id = f.agent_id AND b.started_at >= f.claimed_at AND b.status = 'skipped');
SELECT 'unexpected', count(*) FROM day f LEFT JOIN expected e
  ON f.schedule = e.schedule AND f.target = e.target AND f.at = e.at
  WHERE e.target IS NULL;
SELECT 'double_runs', count(*) FROM backups b WHERE b.status IN ('succeeded', 'degraded')
  AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.backup_id = b.id);
SELECT 'fires_sharing_a_backup', count(*) FROM (SELECT backup_id FROM matched
  WHERE backup_id IS NOT NULL GROUP BY backup_id HAVING count(*) > 1) x;
SELECT 'finished_without_backup', count(*) FROM matched WHERE backup_id IS NULL;
SELECT 'latency_p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3),
       'latency_p99', round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3),
       'latency_max', round(max(l)::numeric, 3)
  FROM (SELECT extract(epoch FROM claimed_at::timestamptz - at) AS l FROM day) x;
SELECT 'backups_' || status || coalesce(' (' || left(error, 60) || ')', ''), count(*) FROM backups
  GROUP BY 1 ORDER BY 1;
SELECT 'by_agent', a.id, count(b.id) FROM agents a LEFT JOIN backups b ON b.agent_id = a.id
  WHERE a.kind = 'daemon' GROUP BY a.id ORDER BY a.id;
SELECT 'rows', (SELECT count(*) FROM fires), (SELECT count(*) FROM backups);
SQL
val() { awk -F'\t' -v k="$1" '$1 == k {v = $2} END {print v + 0}' "$work/judged"; }
lat=$(grep '^latency_p50' "$work/judged" | tr '\t' ' ')
took_over=$(cat "$work"/agent*/daemon.log | grep -c 'taking over the backup of' || true)
skipped_fires=$(cat "$work"/agent*/daemon.log | grep -c 'fire skipped' || true)
seconds=$((t1 - t0))
tps=$(awk -v a="$tx0" -v b="$tx1" -v s="$seconds" 'BEGIN {printf "%.0f", (b - a) / s}')
expected=$(val expected)
finished=$(val finished)
missed=$(val missed)
doubles=$(val double_runs)

# --- 6. report --------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
{
  echo "dbward fleet simulation, $(date -u +%Y-%m-%dT%H:%M:%SZ), $src_state"
  echo "binary: $profile profile, --features simulation ($("$dbward" --version))"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "catalog: PostgreSQL $("${pg[@]}" -d postgres -Atc 'SHOW server_version') at $pg_host:$pg_port, database $db"
  echo "asked:   1000 sources x 10 databases (10,000), 5 agents, 24 hourly fires + 1 daily (the issue's scale)"
  echo "ran:     $sources sources x $per_source databases ($databases), $agents agents, $hours hourly fires every ${sph}s (of $((hourly_sources * per_source)) databases) + daily every ${day_minutes}m (+${daily_offset}s),"
  echo "         dumps of $dump_bytes bytes (zstd 1) to one fs destination in $parent, max_jobs $max_jobs per daemon"
  echo "day:     $(iso $t0) to $(iso $t1) ($seconds s); agent $killed SIGKILLed at +$((kill_at - t0)) s and stayed dead;"
  echo "         agent $restarted stopped (SIGTERM) and started again at +$((restart_at - t0)) s; drained $drained s after the day"
  echo
  printf '%-34s %s\n' "fires expected (schedule, db, time)" "$expected (hourly $(val expected_hourly), daily $(val expected_daily))"
  printf '%-34s %s\n' "claimed" "$(val claimed)"
  printf '%-34s %s\n' "finished (run)" "$finished"
  printf '%-34s %s\n' "missed (must be 0)" "$missed ($(val missed_skipped) claimed, then skipped: the other schedule held the database's lease)"
  printf '%-34s %s\n' "double runs (must be 0)" "$doubles"
  printf '%-34s %s\n' "fires outside the crons" "$(val unexpected)"
  printf '%-34s %s\n' "finished fires without a backup" "$(val finished_without_backup)"
  printf '%-34s %s\n' "taken over from the dead agent" "$took_over"
  printf '%-34s %s\n' "fires skipped by a busy daemon" "$skipped_fires (each daemon skips a fire while its previous run goes on; the others still claim its databases)"
  printf '%-34s %s\n' "claim latency p50 / p99 / max" "$(awk '{printf "%s s / %s s / %s s", $2, $4, $6}' <<<"$lat")"
  printf '%-34s %s\n' "catalog rows at the end" "$(awk -F'\t' '$1 == "rows" {print $2 " fires, " $3 " backups"}' "$work/judged")"
  printf '%-34s %s\n' "catalog transactions/s" "$tps (pg_stat_database xact_commit + xact_rollback of $db over the day)"
  echo
  echo "backups by status:"
  grep '^backups_' "$work/judged" | sed 's/^backups_/  /' | tr '\t' ' '
  echo "backups by agent (agent id, count):"
  grep '^by_agent' "$work/judged" | cut -f2- | tr '\t' ' ' | sed 's/^/  /'
  echo "daemon peak RSS (VmHWM, sampled every second):"
  sort -k1,1n -k2,2n -k3,3n "$work/rss" | awk '{peak[$1 " pid " $2] = $3} END {for (k in peak) printf "  agent %s: %.1f MiB\n", k, peak[k] / 1024}' | sort
} >"$out"
cat "$out"
note "report written to $out"
[[ $missed == 0 && $doubles == 0 ]]
