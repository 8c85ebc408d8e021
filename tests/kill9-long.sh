#!/usr/bin/env bash
# The long kill -9 harness: the CI test kills an import 3 times; this runs the same test with
# many more rounds and several seeds, in release mode, and prints the kills survived.
#
# Usage: tests/kill9-long.sh [ROUNDS per seed, default 100] [SEEDS, default 5] [RECORDS, default 200000]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-100}"
seeds="${2:-5}"
records="${3:-200000}"
for seed in $(seq 1 "$seeds"); do
  ACADEX_KILL_ROUNDS="$rounds" ACADEX_KILL_RECORDS="$records" ACADEX_KILL_SEED="$((seed * 7919))" \
    cargo test --release --test durability kill_9 -- --nocapture 2>&1 | grep -E "kill -9:|test result|panicked|round"
done
