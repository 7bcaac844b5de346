#!/usr/bin/env bash
# The fine-tuning story as a test (issue 20): scripts/finetune-story.sh on its own private Orthanc;
# after corrections on 10 slices, dataset, finetune and upload, AI ROI selects version 2, and on
# the 52 slices nobody corrected version 2's mean Dice beats version 1's by at least 0.05 with
# fewer slices below 0.9.
# Usage: finetune_story.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/lib.sh"
if ! bash "$SRC/scripts/finetune-story.sh" "$IODEEP" "$work/story" >"$work/story.log" 2>&1; then
  bad "the story failed: $(tail -20 "$work/story.log")"
else
  ok
  check "version 2 selected after upload" "$work/story/story.json" \
    'd["selectedAfterUpload"] == "2" and d["selectedDnnUid"] == d["v2DnnUid"]'
  check "Dice on the uncorrected slices improves" "$work/story/story.json" \
    'd["scoredSlices"] == 52 and d["meanDiceV2"] >= d["meanDiceV1"] + 0.05 and d["below09V2"] < d["below09V1"]'
  cat "$work/story/story.json"
fi
echo "finetune story: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
