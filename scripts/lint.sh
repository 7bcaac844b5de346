#!/usr/bin/env bash
# Checks formatting against .clang-format (fails on any difference). With --tidy, also runs
# clang-tidy (.clang-tidy) over the non-torch sources using build/compile_commands.json.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
cd "$IODEEP_ROOT"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find . -name '*.[ch]pp' -not -path './build*')
if ! command -v clang-format >/dev/null; then echo "lint: clang-format missing (scripts/install-deps.sh)" >&2; exit 1; fi
clang-format --dry-run --Werror "${files[@]}"
echo "lint: ${#files[@]} files formatted as .clang-format says"
if [ "${1:-}" = "--tidy" ]; then
  mapfile -t tidy < <(printf '%s\n' "${files[@]}" | grep -E '^(iod|client)/.*\.cpp$')
  clang-tidy -p "$IODEEP_BUILD" --quiet "${tidy[@]}"
fi
