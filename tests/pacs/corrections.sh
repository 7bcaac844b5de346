#!/usr/bin/env bash
# Corrections end to end against a private Orthanc (issue 20): `iodeep roi --correct` stores the
# corrected ROI (SEMIAUTOMATIC) and the network's original proposal (a REJECTED set the approved one
# names as its predecessor); `--draw` adds a MANUAL ROI; `iodeep dataset` recovers from the PACS
# alone the pairs (proposal, correction) pixel for pixel, the manifest and the split by patient;
# bad requests are refused with one line and leave nothing behind.
# Usage: corrections.sh IODEEP SOURCE_DIR FIXTURES_DIR
set -uo pipefail
IODEEP=$1 SRC=$2 FIX=$3
work=$(mktemp -d)
ODIR=$work/orthanc
cleanup() {
  bash "$SRC/scripts/orthanc.sh" stop "$ODIR" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
export XDG_DATA_HOME=$work/xdg-data
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$ODIR"
bash "$SRC/scripts/orthanc.sh" start "$ODIR" >"$work/orthanc-start.log" 2>&1 ||
  { echo "FAIL: cannot start Orthanc: $(cat "$work/orthanc-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$ODIR/env"
P=(--pacs "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5
   --dimse-timeout 30 --cache-dir "$work/cache" --outbox-dir "$work/outbox")
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
BRAIN_DNN=$("$IODEEP" inspect --json "$BRAIN" | $PY -c 'import json, sys; print(json.load(sys.stdin)["dnn"]["uid"])')
S30=$(dicom_value "$SERIES_DIR/slice_030.dcm" SOPInstanceUID)
S31=$(dicom_value "$SERIES_DIR/slice_031.dcm" SOPInstanceUID)

# a second patient: slice 40 under another patient, study, series and instance
$PY - "$SERIES_DIR/slice_040.dcm" "$work/other.dcm" <<'PY' || { echo "FAIL: cannot write the second patient"; exit 1; }
import sys
from pydicom import dcmread
ds = dcmread(sys.argv[1])
ds.PatientID, ds.PatientName = "SECOND-PATIENT", "Second^Patient"
for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
    setattr(ds, k, getattr(ds, k) + ".2")
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.save_as(sys.argv[2])
PY
S2=$(dicom_value "$work/other.dcm" SOPInstanceUID)

# masks as a physician's tool would save them: the reference brain mask of slice 30 with a hole
$PY - "$FIX/brain-series/mask_030.u8" "$work/fix30.png" <<'PY' || { echo "FAIL: cannot write the mask"; exit 1; }
import struct, sys, zlib
m = bytearray(open(sys.argv[1], "rb").read())
for r in range(60, 66):
    for c in range(60, 67):
        m[r * 128 + c] = 0
raw = b"".join(b"\x00" + bytes(255 if v else 0 for v in m[r * 128:(r + 1) * 128]) for r in range(128))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 128, 128, 8, 0, 0, 0, 0)) + \
      chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[2], "wb").write(png)
PY
echo '{"rings": [[[9.5, 9.5], [19.5, 9.5], [19.5, 14.5], [9.5, 14.5]]]}' >"$work/square.json"

run 0 "upload the brain network" "$work/upload" -- "$IODEEP" upload "${P[@]}" "$BRAIN"
storescu -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$SERIES_DIR/slice_030.dcm" \
  "$SERIES_DIR/slice_031.dcm" "$work/other.dcm" >"$work/storescu.log" 2>&1 && ok ||
  bad "storescu: $(cat "$work/storescu.log")"

# --- roi with a correction: the original proposal stored first, the approved set naming it ----------
run 0 "roi --correct" "$work/roi30.json" -- "$IODEEP" roi "${P[@]}" --json --instance "$S30" \
  --correct "1=$work/fix30.png" --reviewer "Doe^Jane"
check "corrected: approved and original sets stored and found" "$work/roi30.json" \
  '(d["corrected"] == [0] and d["approved"] == [0] and d["approvedSet"]["stored"] and d["approvedSet"]["foundOnPacs"]
    and d["originalSet"]["stored"] and d["originalSet"]["foundOnPacs"] and d["originalSet"]["approvalStatus"] == "REJECTED")'
run 0 "roi --approve all (slice 31)" "$work/roi31.json" -- "$IODEEP" roi "${P[@]}" --json --instance "$S31" \
  --approve all --reviewer "Doe^Jane"
check "accepted: no original set" "$work/roi31.json" '"originalSet" not in d and d["approvedSet"]["stored"]'
run 0 "roi --draw (second patient)" "$work/roi2.json" -- "$IODEEP" roi "${P[@]}" --json --instance "$S2" \
  --approve all --draw "brain=$work/square.json" --reviewer "Roe^Richard"
check "drawn: one ROI more" "$work/roi2.json" 'd["drawn"] == 1 and d["approvedSet"]["rois"] == 2'
run 0 "rtstruct list shows the sets" "$work/list.json" -- "$IODEEP" rtstruct list "${P[@]}" --json \
  --series "$(dicom_value "$SERIES_DIR/slice_030.dcm" SeriesInstanceUID)" --retrieve-to "$work/sets"
for f in "$work"/sets/*.dcm; do dciodvfy_clean "$f" "stored set $(basename "$f")"; done

# --- dataset: the pairs recovered from the PACS alone ----------------------------------------------
run 0 "dataset" "$work/dataset.json" -- "$IODEEP" dataset "${P[@]}" --json --network "$BRAIN_DNN" -o "$work/ds"
check "dataset: 3 samples, 1 corrected, 2 patients split" "$work/dataset.json" \
  '(d["samples"] == 3 and d["sources"] == {"accepted": 2, "corrected": 1, "drawn": 0}
    and d["trainingPatients"] == 1 and d["validationPatients"] == 1 and d["setsUsed"] == 3)'
$PY - "$work/ds" "$work/fix30.png" "$S30" "$S31" "$S2" <<'PY' && ok || bad "dataset contents (see above)"
import csv, os, struct, sys, zlib
from pydicom import dcmread
ds, fix, s30, s31, s2 = sys.argv[1:]
def png(path):
    b = open(path, "rb").read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4]); t = b[pos + 4:pos + 8]; d = b[pos + 8:pos + 8 + n]
        if t == b"IHDR": w, h = struct.unpack(">II", d[:8]); assert d[8:10] == b"\x08\x00", "8-bit grey"
        if t == b"IDAT": idat += d
        pos += 12 + n
    raw = zlib.decompress(idat)
    assert all(raw[r * (w + 1)] == 0 for r in range(h)), "filter 0"
    return [raw[r * (w + 1) + 1 + c] for r in range(h) for c in range(w)]
rows = list(csv.DictReader(open(os.path.join(ds, "manifest.csv"))))
by = {r["sop_instance_uid"]: r for r in rows}
assert set(by) == {s30, s31, s2}, by.keys()
c = by[s30]
assert c["source"] == "corrected" and c["label"] == "Brain" and c["reviewer"] == "Doe^Jane", c
assert png(os.path.join(ds, c["mask"])) == png(fix), "the corrected mask is not what was painted"
orig = png(os.path.join(ds, c["original_mask"]))
assert orig != png(fix) and sum(v != 0 for v in orig) > 1000, "the original proposal"
assert by[s31]["source"] == "accepted" and by[s31]["original_mask"] == ""
assert by[s2]["patient_id"] == "SECOND-PATIENT" and by[s2]["reviewer"] == "Roe^Richard"
assert sum(v != 0 for v in png(os.path.join(ds, by[s2]["mask"]))) > sum(v != 0 for v in png(os.path.join(ds, by[s31]["mask"]))) - 3000
sides = {}
for r in rows:
    sides.setdefault(r["patient_id"], set()).add(r["split"])
assert all(len(v) == 1 for v in sides.values()), sides
assert {r["split"] for r in rows} == {"train", "validation"}, sides
for r in rows:
    assert dcmread(os.path.join(ds, r["image"])).SOPInstanceUID == r["sop_instance_uid"]
PY

# --- refused, one line each, nothing left ---------------------------------------------------------
run 2 "dataset over an existing directory" "$work/again" -- "$IODEEP" dataset "${P[@]}" --network "$BRAIN_DNN" -o "$work/ds"
one_error "$work/again" InvalidArgument "dataset over an existing directory" "never written over"
run 2 "dataset of another network" "$work/other" -- "$IODEEP" dataset "${P[@]}" --network 2.25.1 -o "$work/ds2"
one_error "$work/other" InvalidArgument "dataset of another network" "no approved structure set of the network 2.25.1"
[ ! -e "$work/ds2" ] && ok || bad "a dataset directory was left for another network"
left=$(find "$work" -maxdepth 1 -name '.dataset-*' | head -1)
[ -z "$left" ] && ok || bad "a temporary dataset directory was left: $left"
run 3 "roi --correct with a missing mask" "$work/badmask" -- "$IODEEP" roi "${P[@]}" --instance "$S31" \
  --correct "1=$work/square.json.png" --reviewer "Doe^Jane"
one_error "$work/badmask" FileNotFound "roi --correct with a missing mask" "square.json.png"

echo "corrections: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
