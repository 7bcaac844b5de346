#!/usr/bin/env bash
# bench/python_service.py, the Python peer of the service benchmark (FastAPI + uvicorn, pydicom,
# PyTorch): started on a free loopback port with the example brain U-Net, it answers a Part 10
# slice (examples/brain-unet/series/slice_022.dcm) with JSON proposals whose rings are polygons,
# the brain's area as `iodeep predict` finds it on that slice (3501 pixels), refuses a body that
# is not application/dicom (415) and one that is not DICOM (400), and stops on SIGTERM.
# A missing package is a failure, not a skip. Usage: python_service.sh SOURCE_DIR
set -uo pipefail
SRC=$(cd "${1:?SOURCE_DIR}" && pwd)
work=$(mktemp -d)
pid=''
trap '[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
PY=/usr/bin/python3
MODEL=$SRC/examples/brain-unet/brain-unet.dcm
SLICE=$SRC/examples/brain-unet/series/slice_022.dcm

command -v curl >/dev/null || { echo "FAIL: curl is not installed"; exit 1; }
$PY -c 'import fastapi, uvicorn, pydicom, torch, scipy, skimage' 2>"$work/import.err" ||
  { echo "FAIL: a Python package is missing (scripts/install-deps.sh): $(tail -1 "$work/import.err")"; exit 1; }

port=$(bash "$SRC/scripts/orthanc.sh" ports 1)
t0=$(date +%s%N)
$PY "$SRC/bench/python_service.py" --model "$MODEL" --port "$port" --threads 2 >"$work/service.log" 2>&1 &
pid=$!
url=http://127.0.0.1:$port/predict
up=0
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  curl -s -o /dev/null "$url" && { up=1; break; }
  sleep 0.1
done
[ "$up" = 1 ] || { cat "$work/service.log"; echo "FAIL: the service did not listen within 30 s"; exit 1; }
echo "python_service.py listening $(( ($(date +%s%N) - t0) / 1000000 )) ms after start (network built)"

code=$(curl -s -o "$work/answer.json" -w '%{http_code}' -m 60 -X POST -H 'Content-Type: application/dicom' \
  --data-binary "@$SLICE" "$url")
[ "$code" = 200 ] && ok || bad "POST slice: HTTP $code: $(head -c 300 "$work/answer.json")"
$PY - "$work/answer.json" <<'PY' && ok || bad "the answer: $(head -c 300 "$work/answer.json")"
import json, sys
d = json.load(open(sys.argv[1]))
props = d["proposals"]
assert len(props) == 1 and props[0]["label"] == "Brain", props
p = props[0]
assert p["areaPixels"] == 3501, p["areaPixels"]                 # what `iodeep predict` finds
outer = [r for r in p["rings"] if not r["hole"]]
assert len(outer) == 1 and len(outer[0]["pixels"]) >= 4, p["rings"]
assert all(len(pt) == 2 and 0 <= pt[0] <= 127 and 0 <= pt[1] <= 127 for pt in outer[0]["pixels"])
print(f"brain: {p['areaPixels']} pixels, outer ring of {len(outer[0]['pixels'])} points, "
      f"forward {d['timingsMs']['forward']:.0f} ms")
PY
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST -H 'Content-Type: application/json' -d '{}' "$url")
[ "$code" = 415 ] && ok || bad "JSON body: HTTP $code, wanted 415"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST -H 'Content-Type: application/dicom' --data-binary 'not dicom' "$url")
[ "$code" = 400 ] && ok || bad "a body that is not DICOM: HTTP $code, wanted 400"

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then bad "still running 10 s after SIGTERM"; else ok; pid=''; fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
