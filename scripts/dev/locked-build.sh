#!/usr/bin/env bash
# Developer helper: builds the given targets (default: all) in build/ while holding a lock, so
# that several people (or agents) working in one checkout never run two builds at once.
# Usage: scripts/dev/locked-build.sh [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec flock /tmp/iodeep-build.lock cmake --build "$root/build" --parallel "$(nproc)" ${1:+--target "$@"}
