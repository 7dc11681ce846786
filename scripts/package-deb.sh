#!/usr/bin/env bash
# Builds dbward's Debian package: target/debian/dbward_<version>-1_<arch>.deb with the binary
# (/usr/bin/dbward), the man page, bash/zsh/fish completions (generated from the command
# definition), the systemd unit (installed, not enabled), the Prometheus rules and the docs.
#
#   bash scripts/package-deb.sh                 # release build (what to ship)
#   bash scripts/package-deb.sh --profile dev   # the debug build, for the test suite
#
# Installs cargo-deb (crates.io) when it is missing. Install the result with
# `apt-get install ./target/debian/dbward_*.deb`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=release
if [[ ${1:-} == --profile ]]; then
  profile=${2:?--profile needs a name: release or dev}
fi
case $profile in
  release) out=release ;;
  dev) out=debug ;;
  *) echo "unknown profile $profile: expected release or dev" >&2; exit 2 ;;
esac
target=${CARGO_TARGET_DIR:-target}
cargo build --profile "$profile" -p dbward --bin dbward
binary=$target/$out/dbward
assets=$target/$out/deb-assets
mkdir -p "$assets"
"$binary" man | gzip -9n > "$assets/dbward.1.gz"
"$binary" completions bash > "$assets/dbward.bash"
"$binary" completions zsh > "$assets/_dbward"
"$binary" completions fish > "$assets/dbward.fish"
if ! cargo deb --version >/dev/null 2>&1; then
  echo "==> installing cargo-deb (crates.io)"
  cargo install cargo-deb --locked --version 3.8.0
fi
cargo deb -p dbward --no-build --profile "$profile" --output "$target/debian/"
ls "$target"/debian/dbward_*.deb
