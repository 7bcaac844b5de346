#!/usr/bin/env bash
# Regenerates the viewer screenshots in docs/images/ from the GUI test's own run (the issue's story
# against a private Orthanc, offscreen): the study list, a slice with the red proposal, the same
# slice with the approved ROI in green. Nothing is drawn by hand.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
iodeep_build
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
QT_QPA_PLATFORM=offscreen IODEEP_SCREENSHOT_DIR="$shots" "$IODEEP_BUILD/tests/gui_tests" aiRoiReviewAndStore >/dev/null
mkdir -p "$IODEEP_ROOT/docs/images"
for name in viewer-study-list viewer-proposals-red viewer-approved-green; do
  [ -s "$shots/$name.png" ] || { echo "screenshots: $name.png was not written" >&2; exit 1; }
  cp "$shots/$name.png" "$IODEEP_ROOT/docs/images/$name.png"
  echo "docs/images/$name.png"
done
