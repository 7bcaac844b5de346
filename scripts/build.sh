#!/usr/bin/env bash
# Installs what is missing, then configures (Release, warnings are errors, ccache) and builds.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
bash "$here/install-deps.sh"
iodeep_build
