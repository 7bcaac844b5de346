#!/usr/bin/env bash
# The modules' one-way dependencies (docs/architecture.md): fails when a source or header of a
# module includes a header of a module it may not depend on (an upward include), or when a
# module's CMakeLists.txt links one. Run by scripts/lint.sh, hence by scripts/test.sh.
#   client:  network, trust <- stores <- workflow <- reports, service <- cli, gui
#   below:   iod <- selector, netparser, rtstruct <- seg   (each client module may use these)
# A relative include may not leave its module's folder.
# Usage: scripts/check-layers.sh [ROOT]   (ROOT: the checkout, default: this script's)
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"

# What each module may include and link (itself included).
declare -A may=(
  [iod]="iod"
  [selector]="selector iod"
  [netparser]="netparser iod"
  [rtstruct]="rtstruct iod"
  [seg]="seg rtstruct iod"
  [network]="network iod"
  [trust]="trust iod"
  [stores]="stores trust network iod rtstruct seg"
  [workflow]="workflow stores trust network iod rtstruct seg netparser selector"
  [reports]="reports workflow stores trust network iod rtstruct seg netparser selector"
  [service]="service workflow stores trust network iod rtstruct seg netparser selector"
  [cli]="reports service workflow stores trust network iod"
  [gui]="gui reports service workflow stores trust network iod rtstruct seg selector netparser"
)
declare -A dir=(
  [iod]=iod [selector]=selector [netparser]=netparser [rtstruct]=rtstruct [seg]=seg
  [network]=client/network [trust]=client/trust [stores]=client/stores [workflow]=client/workflow
  [reports]=client/reports [service]=client/service [cli]=client/cli [gui]=client/gui
)
# the CMake targets' names (iodeep::x or iodeep_x) for the modules they belong to
target_module() {
  case "$1" in
    iod_internal | dcmtk_bridge | iod) echo iod ;;
    trust_internal) echo trust ;;
    torch) echo netparser ;;
    *) echo "$1" ;;
  esac
}

problems=0
for m in "${!dir[@]}"; do
  allowed=" ${may[$m]} "
  [ -d "${dir[$m]}" ] || { echo "check-layers: ${dir[$m]} (module $m) is missing" >&2; problems=$((problems + 1)); continue; }
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    file="${hit%%:*}"
    rest="${hit#*:}"
    line="${rest%%:*}"
    to="$(sed -E 's@.*#include *["<]iodeep/([a-z_]+)/.*@\1@' <<<"${rest#*:}")"
    if [[ "$allowed" != *" $to "* ]]; then
      echo "check-layers: $file:$line: module $m includes iodeep/$to/ (it may use: ${may[$m]})" >&2
      problems=$((problems + 1))
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]iodeep/[a-z_]+/' "${dir[$m]}" \
             --include='*.cpp' --include='*.hpp' --include='*.h' || true)
  # a relative include may not leave the module's folder (another module's private headers)
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    file="${hit%%:*}"
    rest="${hit#*:}"
    line="${rest%%:*}"
    rel="$(sed -E 's@.*#include *"([^"]+)".*@\1@' <<<"${rest#*:}")"
    target="$(realpath -m "$(dirname "$file")/$rel")"
    if [[ "$target" != "$(realpath -m "${dir[$m]}")"/* ]]; then
      echo "check-layers: $file:$line: module $m includes $rel, outside its folder" >&2
      problems=$((problems + 1))
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./' "${dir[$m]}" \
             --include='*.cpp' --include='*.hpp' --include='*.h' || true)
  while IFS= read -r t; do
    [ -n "$t" ] || continue
    to="$(target_module "$t")"
    if [[ "$allowed" != *" $to "* ]]; then
      echo "check-layers: ${dir[$m]}/CMakeLists.txt: module $m links $t, of module $to (it may use: ${may[$m]})" >&2
      problems=$((problems + 1))
    fi
  done < <(grep -v '^[[:space:]]*#' "${dir[$m]}/CMakeLists.txt" | grep -oE 'iodeep(::|_)[a-z_]+' |
             sed -E 's/^iodeep(::|_)//' | grep -vxE 'module|set_warnings|gtest' | sort -u)
done
# every client module directory is known here (a new one must say what it may use)
for d in client/*/; do
  d="${d%/}"
  name="${d#client/}"
  [ -n "${dir[$name]:-}" ] || { echo "check-layers: $d is not a known module (add it to scripts/check-layers.sh)" >&2; problems=$((problems + 1)); }
done
if [ "$problems" -ne 0 ]; then
  echo "check-layers: $problems upward dependenc$([ "$problems" -eq 1 ] && echo y || echo ies)" >&2
  exit 1
fi
echo "check-layers: ${#dir[@]} modules, every include and link goes one way"
