#!/usr/bin/env bash
# scripts/check-layers.sh passes on the tree as it is, and fails, naming the file and the
# modules, on a planted upward include and on a planted upward link (in a copy of the tree).
# Usage: layers.sh SOURCE_DIR
set -euo pipefail
src="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree/scripts"
  cp "$src/scripts/check-layers.sh" "$work/tree/scripts/"
  (cd "$src" && tar cf - iod selector netparser rtstruct seg client) | (cd "$work/tree" && tar xf -)
}

copy
bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1 || { cat "$work/out"; fail "the tree as it is was refused"; }
grep -q "every include and link goes one way" "$work/out" || fail "no success line"

# an upward include: the network module including a report
echo '#include "iodeep/reports/Display.hpp"' >>"$work/tree/client/network/src/Query.cpp"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "upward include accepted"; fi
grep -q "client/network/src/Query.cpp:[0-9]*: module network includes iodeep/reports/" "$work/out" ||
  { cat "$work/out"; fail "the upward include was not named"; }

# the same in a public header, with angle brackets: stores including the workflow
copy
sed -i 's@^#pragma once@#pragma once\n#include <iodeep/workflow/Roi.hpp>@' "$work/tree/client/stores/include/iodeep/stores/Outbox.hpp"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "upward header include accepted"; fi
grep -q "Outbox.hpp:2: module stores includes iodeep/workflow/" "$work/out" || { cat "$work/out"; fail "header not named"; }

# an upward link: trust linking the stores
copy
echo 'target_link_libraries(iodeep_trust PRIVATE iodeep::stores)' >>"$work/tree/client/trust/CMakeLists.txt"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "upward link accepted"; fi
grep -q "module trust links stores, of module stores" "$work/out" || { cat "$work/out"; fail "the upward link was not named"; }

# the same by the target's own name: the network module linking the reports' library
copy
echo 'target_link_libraries(iodeep_network PRIVATE iodeep_reports)' >>"$work/tree/client/network/CMakeLists.txt"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "upward link by target name accepted"; fi
grep -q "module network links reports, of module reports" "$work/out" || { cat "$work/out"; fail "not named"; }

# a relative include of another module's private header: the workflow reaching into network/src
copy
echo '#include "../../network/src/Association.hpp"' >>"$work/tree/client/workflow/src/Roi.cpp"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "relative include accepted"; fi
grep -q "client/workflow/src/Roi.cpp:[0-9]*: module workflow includes ../../network/src/Association.hpp, outside its folder" \
  "$work/out" || { cat "$work/out"; fail "the relative include was not named"; }

# a module the check does not know
copy
mkdir -p "$work/tree/client/dicomweb/src"
if bash "$work/tree/scripts/check-layers.sh" "$work/tree" >"$work/out" 2>&1; then fail "unknown module accepted"; fi
grep -q "client/dicomweb is not a known module" "$work/out" || { cat "$work/out"; fail "unknown module not named"; }
echo "layers: 6 planted problems refused, the tree accepted"
