#!/usr/bin/env bash
# Builds the fuzz targets with clang (sanitizers) and runs one for a bounded time from a seed
# corpus. Usage: [FUZZ_MAX_LEN=BYTES] run.sh TARGET SECONDS BUILD_DIR SEED_FILE...
# Exit 0 when the fuzzer ran its time without finding anything; crashes are kept in BUILD_DIR.
set -euo pipefail
target=$1 seconds=$2 build=$3; shift 3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v clang++ >/dev/null || { echo "run.sh: clang++ missing (scripts/install-deps.sh)" >&2; exit 1; }
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target "$target" --parallel "$(nproc)" >/dev/null
corpus="$build/corpus-$target"
mkdir -p "$corpus" "$build/crashes"
# every seed must exist: a missing one is an error, not a smaller corpus
[ "$#" -gt 0 ] || { echo "run.sh: no seed files for $target" >&2; exit 1; }
for seed in "$@"; do
  [ -f "$seed" ] || { echo "run.sh: seed file missing: $seed" >&2; exit 1; }
  cp "$seed" "$corpus/"
done
# rss_limit and max_len keep it bounded (FUZZ_MAX_LEN for targets whose seeds are larger than
# 64 KiB: a longer seed is cut to max_len); -timeout catches hangs.
"$build/$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-65536}" -timeout=10 \
  -artifact_prefix="$build/crashes/" -print_final_stats=1 2>"$build/$target.log" || {
  echo "run.sh: $target found a problem:"; tail -40 "$build/$target.log"; exit 1; }
grep -E "stat::number_of_executed_units|cov:" "$build/$target.log" | tail -2
echo "1 passed, 0 failed"
