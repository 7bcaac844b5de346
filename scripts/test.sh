#!/usr/bin/env bash
# Quick-start command (b): installs what is missing, builds, and runs the whole test suite
# (unit, CLI, and the PACS tests against a private Orthanc started on free loopback ports).
# Extra arguments go to ctest, e.g. scripts/test.sh -L unit
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
bash "$here/install-deps.sh"
bash "$here/check-tools.sh"
bash "$here/lint.sh"
iodeep_build
bash "$here/lint.sh" --tidy
cd "$IODEEP_BUILD"
ctest --output-on-failure --parallel "$IODEEP_JOBS" --timeout 600 "$@"
