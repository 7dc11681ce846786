#!/usr/bin/env bash
# Kill-anywhere at a larger count than the normal test run: SIGKILLs dbward at seeded random
# moments during backup, restore, drill and prune, and checks the invariants after each.
#
#   bash scripts/kill-anywhere.sh [RUNS] [SEED]     # default 60 runs, a seed from the clock
#
# Uses the private servers the test kit starts (or DBWARD_TEST_* when set). Honours
# CARGO_TARGET_DIR. Prints the seed, so that a failure can be replayed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-60}
seed=${2:-$(date +%s)}
echo "kill-anywhere: $runs runs, seed $seed" >&2
DBWARD_KILL_RUNS=$runs DBWARD_KILL_SEED=$seed \
  cargo test --test cli kill_anywhere -- --nocapture --test-threads=1
