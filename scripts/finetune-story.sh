#!/usr/bin/env bash
# The fine-tuning story (issue 20; docs/finetuning.md), end to end on a private Orthanc:
#   another ward's MR series arrives (examples/brain-unet/make_ward_series.py: the example volume
#   through another scanner's contrast and a coil's bias field), on which the brain U-Net is
#   visibly imperfect; a physician corrects its proposals on 10 of the 62 slices through the
#   headless review (iodeep roi --correct, the masks being the reference brain masks); iodeep
#   dataset gathers the corrections from the PACS; iodeep finetune trains version 2; iodeep upload
#   publishes it; AI ROI on an uncorrected slice now selects version 2. Scored on the 52 slices
#   nobody corrected: the Dice of both versions against the reference masks.
# Usage: finetune-story.sh [IODEEP] [OUTDIR]   (defaults: build/client/cli/iodeep, build/story)
# Prints the story and writes OUTDIR/story.json with the figures (tests/pacs/finetune_story.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
IODEEP=${1:-$root/build/client/cli/iodeep}
out=${2:-$root/build/story}
PY=/usr/bin/python3
CORRECTED=(5 11 17 23 29 35 41 47 53 59)
EPOCHS=${IODEEP_STORY_EPOCHS:-30}
rm -rf "$out"
mkdir -p "$out"
pacs=$out/orthanc
bash "$here/orthanc.sh" start "$pacs" >"$out/orthanc-start.log" 2>&1 ||
  { echo "finetune-story: cannot start Orthanc: $(cat "$out/orthanc-start.log")" >&2; exit 1; }
trap 'bash "$here/orthanc.sh" stop "$pacs" >/dev/null 2>&1' EXIT
# shellcheck disable=SC1091
. "$pacs/env"
P=(--pacs "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5
   --dimse-timeout 60 --cache-dir "$out/cache" --outbox-dir "$out/outbox")
export XDG_DATA_HOME=$out/xdg-data
step() { echo; echo "== $*"; }
start=$EPOCHREALTIME
seconds() { echo "$EPOCHREALTIME - $1" | bc; }

step "1. another ward's series (another scanner's contrast, a coil's bias field) and the brain U-Net v1 on the PACS"
$PY "$root/examples/brain-unet/make_ward_series.py" "$out/ward"
"$IODEEP" upload "${P[@]}" "$root/examples/brain-unet/brain-unet.dcm"
storescu -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$out"/ward/slice_*.dcm
V1_DNN=$("$IODEEP" inspect --json "$root/examples/brain-unet/brain-unet.dcm" | $PY -c 'import json, sys; print(json.load(sys.stdin)["dnn"]["uid"])')
sop() { dcmdump +P SOPInstanceUID "$out/ward/slice_$(printf %03d "$1").dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p'; }

step "2. the physician corrects the proposals on ${#CORRECTED[@]} slices (${CORRECTED[*]}) through the headless review"
t=$EPOCHREALTIME
for k in "${CORRECTED[@]}"; do
  # what the physician painted: here the reference brain mask of the slice, as a PNG
  $PY - "$out/ward/mask_$(printf %03d "$k").u8" "$out/fix_$k.png" <<'PY'
import struct, sys, zlib
m = open(sys.argv[1], "rb").read()
raw = b"".join(b"\x00" + bytes(255 if v else 0 for v in m[r * 128:(r + 1) * 128]) for r in range(128))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 128, 128, 8, 0, 0, 0, 0)) +
                              chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
  # the network's one proposal corrected; where it proposed nothing, the brain drawn
  if ! "$IODEEP" roi "${P[@]}" --instance "$(sop "$k")" --correct "1=$out/fix_$k.png" --reviewer "Doe^Jane" \
       >"$out/roi_$k.txt" 2>"$out/roi_$k.err"; then
    grep -q "no proposal to correct\|is not a number 1-0" "$out/roi_$k.err" ||
      { cat "$out/roi_$k.err" >&2; exit 1; }
    "$IODEEP" roi "${P[@]}" --instance "$(sop "$k")" --draw "Brain=$out/fix_$k.png" --reviewer "Doe^Jane" >"$out/roi_$k.txt"
  fi
  grep -E "^  1\.|^drawn|^stored" "$out/roi_$k.txt" | sed "s/^/slice $k: /"
done
review_s=$(seconds "$t")

step "3. iodeep dataset: the corrections, gathered from the PACS"
t=$EPOCHREALTIME
"$IODEEP" dataset "${P[@]}" --network "$V1_DNN" -o "$out/dataset"
dataset_s=$(seconds "$t")

step "4. iodeep finetune: version 2, trained here in libtorch ($EPOCHS epochs)"
t=$EPOCHREALTIME
"$IODEEP" finetune --network "$root/examples/brain-unet/brain-unet.dcm" --dataset "$out/dataset" -o "$out/brain-unet-v2.dcm" \
  --epochs "$EPOCHS" --learning-rate 1e-3 --patience 0 --json >"$out/finetune.json"
finetune_s=$(seconds "$t")
"$IODEEP" inspect "$out/brain-unet-v2.dcm" | grep -E "DnnVersion|DnnUID|fine-tuned|training|check"

step "5. the administrator publishes it; AI ROI on an uncorrected slice (30) selects version 2"
"$IODEEP" upload "${P[@]}" "$out/brain-unet-v2.dcm"
"$IODEEP" roi "${P[@]}" --json --instance "$(sop 30)" >"$out/roi_after.json"
$PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print("chosen:", d["model"]["name"], d["model"]["version"], d["model"]["dnnUid"])' "$out/roi_after.json"

step "6. scored on the $((62 - ${#CORRECTED[@]})) slices nobody corrected (Dice against the reference masks)"
"$IODEEP" predict -m "$root/examples/brain-unet/brain-unet.dcm" --series "$out/ward" --json "$out/v1.json" >/dev/null
"$IODEEP" predict -m "$out/brain-unet-v2.dcm" --series "$out/ward" --json "$out/v2.json" >/dev/null
$PY "$root/examples/brain-unet/score.py" "$out/v1.json" "$out/ward" >"$out/v1.dice"
$PY "$root/examples/brain-unet/score.py" "$out/v2.json" "$out/ward" >"$out/v2.dice"
$PY - "$out" "${CORRECTED[*]}" "$(seconds "$start")" "$review_s" "$dataset_s" "$finetune_s" <<'PY'
import json, sys
out, corrected = sys.argv[1], {int(k) for k in sys.argv[2].split()}
wall, review, dataset, finetune = (float(v) for v in sys.argv[3:7])
def scores(name):
    return {int(k): float(d) for k, d in (line.split() for line in open(f"{out}/{name}.dice"))}
v1, v2 = scores("v1"), scores("v2")
held = sorted(k for k in v1 if k not in corrected)
mean = lambda s: sum(s[k] for k in held) / len(held)
below = lambda s: sum(1 for k in held if s[k] < 0.9)
ft = json.load(open(f"{out}/finetune.json"))
after = json.load(open(f"{out}/roi_after.json"))
story = {"correctedSlices": sorted(corrected), "scoredSlices": len(held),
         "meanDiceV1": round(mean(v1), 4), "meanDiceV2": round(mean(v2), 4),
         "minDiceV1": round(min(v1[k] for k in held), 4), "minDiceV2": round(min(v2[k] for k in held), 4),
         "below09V1": below(v1), "below09V2": below(v2),
         "selectedAfterUpload": after["model"]["version"], "selectedDnnUid": after["model"]["dnnUid"],
         "v2DnnUid": ft["written"]["dnnUid"], "epochs": ft["epochsRun"],
         "trainingDiceBefore": round(ft["diceBefore"], 4), "trainingDiceAfter": round(ft["diceAfter"], 4),
         "seconds": {"wall": round(wall, 1), "review": round(review, 1), "dataset": round(dataset, 1),
                     "finetune": round(finetune, 1)}}
json.dump(story, open(f"{out}/story.json", "w"), indent=2)
print(f"v1: mean Dice {story['meanDiceV1']}, {story['below09V1']} of {len(held)} slices below 0.9 (worst {story['minDiceV1']})")
print(f"v2: mean Dice {story['meanDiceV2']}, {story['below09V2']} of {len(held)} slices below 0.9 (worst {story['minDiceV2']})")
print(f"time: review {review:.0f} s, dataset {dataset:.1f} s, finetune {finetune:.0f} s, whole story {wall:.0f} s")
PY
