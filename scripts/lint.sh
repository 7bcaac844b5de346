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
bash "$here/check-layers.sh" "$IODEEP_ROOT"
if [ "${1:-}" = "--tidy" ]; then
  # the project's own sources, without the inference module's two libtorch files
  # (netparser/src/torch/: slow to parse, and the checks would mostly speak of libtorch's
  # headers); needs build/compile_commands.json
  mapfile -t tidy < <(printf '%s\n' "${files[@]}" | grep -E '^(iod|selector|rtstruct|seg|netparser|client/(network|trust|stores|workflow|reports|service))/src/.*\.cpp$' |
                      grep -vE '^netparser/src/torch/')
  # two at a time; -Wno-unknown-warning-option: the build's GCC-only flags (-Wno-restrict)
  printf '%s\n' "${tidy[@]}" |
    xargs -P "$IODEEP_JOBS" -n 3 clang-tidy -p "$IODEEP_BUILD" --quiet --extra-arg=-Wno-unknown-warning-option 2>/dev/null
  # the viewer: Qt widgets are owned by their parent (what cppcoreguidelines-owning-memory and the
  # analyzer's leak check cannot see), everything else as above
  mapfile -t gui < <(printf '%s\n' "${files[@]}" | grep -E '^client/gui/src/.*\.cpp$')
  printf '%s\n' "${gui[@]}" |
    xargs -P "$IODEEP_JOBS" -n 2 clang-tidy -p "$IODEEP_BUILD" --quiet --extra-arg=-Wno-unknown-warning-option \
      --checks=-cppcoreguidelines-owning-memory,-clang-analyzer-cplusplus.NewDeleteLeaks 2>/dev/null
  echo "lint: clang-tidy clean on $((${#tidy[@]} + ${#gui[@]})) files"
fi
