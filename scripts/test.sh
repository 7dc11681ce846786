#!/usr/bin/env bash
# The project's single test command: installs the Debian packages the tests need (when
# missing), checks formatting and lints, starts one private PostgreSQL and one private MariaDB
# (password-protected, on free loopback ports) for the whole run, runs `cargo test`, then
# builds the Debian package, installs it with apt-get, checks it and removes it.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -- --nocapture  # extra arguments go to `cargo test --workspace`
#   DBWARD_SKIP_LINT=1 bash scripts/test.sh   # skip fmt and clippy (local iteration only)
#
# Honours CARGO_TARGET_DIR. The servers are stopped when this script exits; if it is killed
# outright, their watchdogs notice within a second and remove them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

# --- 1. Debian packages -----------------------------------------------------------------
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
{ command -v mariadbd || test -x /usr/sbin/mariadbd; } >/dev/null || missing+=(mariadb-server)
command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
command -v mariadb >/dev/null || missing+=(mariadb-client)
command -v zstd >/dev/null || missing+=(zstd)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v age >/dev/null || missing+=(age)
{ command -v sshd || test -x /usr/sbin/sshd; } >/dev/null || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v ps >/dev/null || missing+=(procps)
command -v runuser >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl) # certificates of the TLS test servers
command -v promtool >/dev/null || missing+=(prometheus) # checks the daemon's /metrics and rules
test -x /usr/bin/chromium || missing+=(chromium)          # the dashboard's browser test
command -v node >/dev/null || missing+=(nodejs npm)      # drives it (playwright-core, axe-core)

if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  step "installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  # Keep the packages' own services from starting: the tests start private servers.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  install_status=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}" || install_status=$?
  if [[ -n $made_policy ]]; then "${sudo[@]}" rm -f "$policy"; fi
  ((install_status == 0)) || exit "$install_status"
fi
source scripts/lib/test-tools.sh # Azurite, WsgiDAV, gcp-storage-emulator (not Debian packages)

# --- 2. Rust toolchain ------------------------------------------------------------------
if ! command -v cargo >/dev/null && [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cargo ]]; then
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.95 (rustup)" >&2; exit 1; }

# --- 3. Formatting and lints ------------------------------------------------------------
if [[ -z ${DBWARD_SKIP_LINT:-} ]]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy"
  cargo clippy --workspace --all-targets -- -D warnings
fi

# --- 4. Private database servers for the whole run --------------------------------------
state=$(mktemp -d "${TMPDIR:-/tmp}/dbward-test.XXXXXX")
cleanup() {
  cargo run -q -p dbward-testkit --bin dbward-test-servers -- stop "$state" ||
    echo "warning: could not stop the test servers; their watchdogs will" >&2
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "starting private PostgreSQL and MariaDB"
exports=$(cargo run -q -p dbward-testkit --bin dbward-test-servers -- start --owner-pid $$ "$state")
eval "$exports"

# --- 5. Tests ---------------------------------------------------------------------------
step "cargo test --workspace $*"
cargo test --workspace "$@"

# --- 6. The Debian package --------------------------------------------------------------
step "Debian package: built from the debug binary, installed with apt-get, checked, removed"
bash scripts/package-deb.sh --profile dev
bash scripts/check-deb.sh "$(ls -t "${CARGO_TARGET_DIR:-target}"/debian/dbward_*.deb | head -1)"
