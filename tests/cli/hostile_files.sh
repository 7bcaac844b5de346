#!/usr/bin/env bash
# Hostile files (issue 17), made with pydicom and nothing else as a new user would: each one ends
# with one error line, exit code 4, no crash, and a bounded peak memory (/usr/bin/time).
# - an IODeep object whose DnnArchitecture is 300,000 nested '[' (482 KB as the issue found it;
#   it crashed `iodeep inspect` with SIGSEGV in recursive JSON code);
# - a 34 KB slice declaring Rows = Columns = 65535 (`iodeep predict` allocated 17 GB and ran 50 s);
# - the same slice declaring 4000 x 4000 (within the frame limit, beyond what the file holds);
# - a slice declaring a million frames with one frame of Pixel Data.
# Usage: hostile_files.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
SLICE=$SRC/examples/brain-unet/series/slice_022.dcm

$PY - "$BRAIN" "$SLICE" "$work" <<'PY' || { echo "FAIL: cannot make the hostile files"; exit 1; }
import sys, pydicom
brain, slice_, work = sys.argv[1:4]
m = pydicom.dcmread(brain)
m[0x00171001].value = "[" * 300000          # DnnArchitecture
m.save_as(f"{work}/nested.dcm")
for name, rows, cols, frames in (("huge", 65535, 65535, None), ("short", 4000, 4000, None), ("frames", 128, 128, 1000000)):
    s = pydicom.dcmread(slice_)
    s.Rows, s.Columns = rows, cols
    if frames:
        s.NumberOfFrames = frames
    s.save_as(f"{work}/{name}.dcm")
PY

# peak RSS in KB of the last command run by `measured` (GNU time's %M)
measured() { /usr/bin/time -f '%M' -o "$work/rss" "$@"; }
rss_below() {  # WHAT MB
  local kb; kb=$(tail -1 "$work/rss")
  [ "$kb" -lt $(($2 * 1024)) ] && ok || bad "$1: peak RSS $kb KB, not under $2 MB"
}
one_line_with() {  # WHAT TEXT
  grep -q -- "$2" "$work/err" && ok || bad "$1: stderr does not say '$2': $(cat "$work/err")"
}

expect 4 "inspect: nested architecture" -- measured "$IODEEP" inspect "$work/nested.dcm"
one_line_with "inspect: nested architecture" "nested deeper than 64 levels"
rss_below "inspect: nested architecture" 100
expect 4 "inspect --json: nested architecture" -- measured "$IODEEP" inspect --json "$work/nested.dcm"
$PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out" && ok || bad "inspect --json output is not JSON"
rss_below "inspect --json: nested architecture" 100
expect 4 "predict: nested architecture" -- measured "$IODEEP" predict --model "$work/nested.dcm" --image "$SLICE"
one_line_with "predict: nested architecture" "nested deeper than 64 levels"
# (no memory bound here: predict starts loading libtorch, 150 MB, while it reads the model)

expect 4 "predict: 65535 x 65535 slice" -- measured "$IODEEP" predict --model "$BRAIN" --image "$work/huge.dcm"
one_line_with "predict: 65535 x 65535 slice" "65535x65535x1 samples (at most 67108864"
rss_below "predict: 65535 x 65535 slice" 100
expect 4 "predict: 4000 x 4000 slice in 34 KB" -- measured "$IODEEP" predict --model "$BRAIN" --image "$work/short.dcm"
one_line_with "predict: 4000 x 4000 slice in 34 KB" "Pixel Data holds 32768 bytes"
rss_below "predict: 4000 x 4000 slice in 34 KB" 100
expect 4 "predict: a million frames declared" -- measured "$IODEEP" predict --model "$BRAIN" --image "$work/frames.dcm"
one_line_with "predict: a million frames declared" "1000000 frame(s)"
rss_below "predict: a million frames declared" 100

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
