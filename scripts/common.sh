# Sourced by the scripts: paths and the configure+build step, shared so there is one of each.
set -euo pipefail
IODEEP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IODEEP_BUILD="${IODEEP_BUILD:-$IODEEP_ROOT/build}"
IODEEP_JOBS="${IODEEP_JOBS:-$(nproc)}"

iodeep_build() {
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ ! -f "$IODEEP_BUILD/CMakeCache.txt" ]; then
    cmake -S "$IODEEP_ROOT" -B "$IODEEP_BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DIODEEP_WERROR=ON
  fi
  cmake --build "$IODEEP_BUILD" --parallel "$IODEEP_JOBS"
}
