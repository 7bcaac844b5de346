#!/usr/bin/env bash
# A packed IODeep through a real Orthanc with DCMTK's standard tools: storescu, findscu at
# SERIES level by Modality/BodyPartExamined (and the IODeep SeriesDescription convention),
# getscu and movescu; the retrieved private payload must equal the packed one byte for byte.
# Usage: store_find_get_move.sh IODEEP ORTHANC_DIR SOURCE_DIR
set -euo pipefail
IODEEP=$1 ODIR=$2 SRC=$3
# shellcheck disable=SC1091
. "$ODIR/env" || { echo "FAIL: no Orthanc fixture env in $ODIR"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
PEER=(-aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT")

"$IODEEP" pack -a "$SRC/examples/tiny-unet/architecture.json" -w "$SRC/examples/tiny-unet/weights.safetensors" \
  -n "PACS test net" -m MR -b HEAD --version 7 -o "$work/model.dcm" >/dev/null || { echo "FAIL: pack"; exit 1; }
# the UIDs to look for; an empty one would make every grep below match anything: stop instead
"$IODEEP" inspect --json "$work/model.dcm" >"$work/model.json" || { echo "FAIL: inspect --json"; exit 1; }
uids=$(/usr/bin/python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))["dicom"]
print(d["studyInstanceUid"], d["seriesInstanceUid"], d["sopInstanceUid"])' "$work/model.json") ||
  { echo "FAIL: no UIDs in inspect --json: $(head -c 300 "$work/model.json")"; exit 1; }
read -r study series sop <<<"$uids" || true
for uid in "$study" "$series" "$sop"; do
  [[ "$uid" =~ ^[0-9]+(\.[0-9]+)+$ ]] || { echo "FAIL: not a UID from inspect --json: '$uid' ($uids)"; exit 1; }
done

# C-STORE (Explicit VR Little Endian proposed first)
storescu -xe "${PEER[@]}" "$work/model.dcm" >"$work/store.log" 2>&1 && ok || bad "storescu: $(tail -3 "$work/store.log")"

# C-FIND at SERIES level by what the network was trained for
find_series() {  # find_series OUTDIR keys...
  local out=$1; shift
  mkdir -p "$out"
  findscu -S "${PEER[@]}" -X -od "$out" -k QueryRetrieveLevel=SERIES -k StudyInstanceUID -k SeriesInstanceUID \
    -k SeriesDescription -k Modality -k BodyPartExamined "$@" >"$out.log" 2>&1
}
find_series "$work/find1" -k Modality=MR -k BodyPartExamined=HEAD || bad "findscu 1: $(tail -3 "$work/find1.log")"
if grep -rqs "$series" "$work/find1"/*; then ok; else bad "findscu by Modality/BodyPart did not return the series: $(cat "$work/find1.log")"; fi
# responses are DICOM files: check the SeriesDescription convention and the body part
dcmdump "$work"/find1/rsp*.dcm >"$work/find1.dump" 2>&1 || bad "dcmdump of the C-FIND responses"
if grep -q "IODEEP PACS test net 7" "$work/find1.dump"; then ok; else bad "SeriesDescription convention"; fi
find_series "$work/find2" -k "SeriesDescription=IODEEP*" -k Modality=MR || bad "findscu 2: $(tail -3 "$work/find2.log")"
if grep -rqs "$series" "$work/find2"/*; then ok; else bad "findscu by SeriesDescription IODEEP* did not find it"; fi
find_series "$work/find3" -k Modality=CT -k BodyPartExamined=HEAD || bad "findscu 3: $(tail -3 "$work/find3.log")"
if ls "$work"/find3/rsp*.dcm >/dev/null 2>&1; then bad "findscu Modality=CT returned something"; else ok; fi
find_series "$work/find4" -k Modality=MR -k BodyPartExamined=CHEST || bad "findscu 4: $(tail -3 "$work/find4.log")"
if ls "$work"/find4/rsp*.dcm >/dev/null 2>&1; then bad "findscu BodyPartExamined=CHEST returned something"; else ok; fi

compare() {  # compare RETRIEVED_FILE WHAT
  /usr/bin/python3 - "$work/model.dcm" "$1" <<'PY' && ok || bad "$2: payload differs"
import sys, pydicom
def payload(p):
    ds = pydicom.dcmread(p)
    block = ds.private_block(0x0017, "IODEEP 1")
    return bytes(block[0x10].value), ds.file_meta.TransferSyntaxUID
a, ta = payload(sys.argv[1]); b, tb = payload(sys.argv[2])
print(f"payload {len(a)} bytes sent, {len(b)} received ({tb})")
sys.exit(0 if a == b and len(a) > 0 else 1)
PY
  "$IODEEP" inspect "$1" >/dev/null && ok || bad "$2: retrieved object does not verify"
}

# C-GET of the series, on the same association
mkdir -p "$work/get"
getscu "${PEER[@]}" -S -od "$work/get" -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$study" \
  -k "SeriesInstanceUID=$series" >"$work/get.log" 2>&1 || bad "getscu: $(tail -3 "$work/get.log")"
got=$(find "$work/get" -type f | head -1)
if [ -n "$got" ]; then ok; compare "$got" "C-GET"; else bad "C-GET retrieved nothing: $(tail -5 "$work/get.log")"; fi

# C-MOVE to movescu's own storage SCP
mkdir -p "$work/move"
movescu -aet "$MOVE_AET" -aem "$MOVE_AET" --port "$MOVE_PORT" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" \
  -S -od "$work/move" -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$study" -k "SeriesInstanceUID=$series" \
  >"$work/move.log" 2>&1 || bad "movescu: $(tail -3 "$work/move.log")"
moved=$(find "$work/move" -type f | head -1)
if [ -n "$moved" ]; then ok; compare "$moved" "C-MOVE"; else bad "C-MOVE retrieved nothing: $(tail -5 "$work/move.log")"; fi

# the same SOP Instance UID came back both ways
for f in "$got" "$moved"; do
  [ -n "$f" ] && dcmdump +P SOPInstanceUID "$f" >"$work/sop.dump" 2>&1 && grep -q "$sop" "$work/sop.dump" && ok ||
    bad "SOP Instance UID changed in $f"
done

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
