#!/usr/bin/env bash
# Quick start: builds dbward, backs up the bundled SQLite example (no database server needed),
# proves the backup restores with a drill (restore into a scratch file, compare every table's
# row count with the manifest, run the schedule's assertion), applies the schedule's retention,
# lists the catalog, shows the backup and reports health. State and backups go to
# examples/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet -p dbward
bin="${CARGO_TARGET_DIR:-target}/release/dbward"
config=examples/quickstart/dbward.toml
"$bin" --config "$config" check
"$bin" --config "$config" backup
"$bin" --config "$config" verify --latest --level drill
"$bin" --config "$config" prune
"$bin" --config "$config" list --limit 5
newest=$("$bin" --config "$config" list --limit 1 --json | sed -n 's/.*"id": "\([0-9A-Z]*\)".*/\1/p' | head -n 1)
"$bin" --config "$config" show "$newest"
# Health as a monitoring plugin sees it. It exits 1 (WARNING) here, by design: the example
# keeps its only copy on this host, and status says that 3-2-1 is not met.
"$bin" --config "$config" status || [ $? -eq 1 ]
