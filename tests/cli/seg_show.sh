#!/usr/bin/env bash
# `iodeep seg show` on segmentations another writer made (pydicom, tests/seg/pydicom_check.py make):
# text and JSON list the segments and frames, another object is exit code 4 (NotSegmentation),
# a missing file 3, no file 2, each error on one line naming the file.
# Usage: seg_show.sh IODEEP SOURCE_DIR PYTHON3
set -uo pipefail
IODEEP=$1 SRC=$2 PYTHON=$3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/lib.sh
. "$SRC/tests/cli/lib.sh"

"$PYTHON" "$SRC/tests/seg/pydicom_check.py" make "$work" >/dev/null || { echo "FAIL: pydicom_check.py make"; exit 1; }

expect 0 "seg show (text)" -- "$IODEEP" seg show "$work/other_binary.dcm"
grep -q "Segmentation 'OTHER' (BINARY, 5x7, 1 segment(s), 3 frame(s))" "$work/out" && ok || bad "text header: $(cat "$work/out")"
grep -q "segment 1 Other binary (MANUAL)" "$work/out" && ok || bad "text segment: $(cat "$work/out")"
[ "$(grep -c " pixel(s) on " "$work/out")" -eq 3 ] && ok || bad "three frames: $(cat "$work/out")"

expect 0 "seg show --json" -- "$IODEEP" seg show --json "$work/other_fractional.dcm"
"$PYTHON" - "$work/out" <<'PY' && ok || bad "JSON: $(cat "$work/out")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j['segmentationType'] == 'FRACTIONAL', j
assert [s['label'] for s in j['segments']] == ['Other A', 'Other B'], j
assert all(len(s['frames']) == 2 for s in j['segments']), j
PY

CT=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm
expect 4 "another object" -- "$IODEEP" seg show "$CT"
grep -q "NotSegmentation.*$CT" "$work/err" && ok || bad "NotSegmentation naming the file: $(cat "$work/err")"
expect 3 "missing file" -- "$IODEEP" seg show "$work/missing.dcm"
expect 2 "no file" -- "$IODEEP" seg show
expect 2 "no subcommand" -- "$IODEEP" seg
expect 0 "help" -- "$IODEEP" seg show --help

echo "seg_show: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
