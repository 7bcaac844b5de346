#!/usr/bin/env bash
# Quick-start command (a): installs what is missing, builds, and runs the main job on the
# embedded default: packs the example network into an IODeep object, inspects and validates it,
# uploads it with storescu to a private Orthanc on loopback, and finds it again with C-FIND the
# way the client will (Modality + BodyPartExamined at SERIES level). Output in build/demo/.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
bash "$here/install-deps.sh"
iodeep_build
IODEEP="$IODEEP_BUILD/client/cli/iodeep"
demo="$IODEEP_BUILD/demo"
mkdir -p "$demo"
ex="$IODEEP_ROOT/examples/tiny-unet"

echo; echo "== 0. check the example architecture (DNN-parser format) and its shape table"
"$IODEEP" arch check "$ex/architecture.json" | tail -4

echo; echo "== 1. pack the example network"
"$IODEEP" pack --architecture "$ex/architecture.json" --weights "$ex/weights.safetensors" \
  --name "Tiny UNet (example)" --version 1 --modality MR --body-part HEAD \
  --description "2-level U-Net in the DNN-parser format, random weights: a demo, not a diagnostic tool" \
  -o "$demo/tiny-unet.dcm"

echo; echo "== 2. inspect and verify it"
"$IODEEP" inspect "$demo/tiny-unet.dcm"

echo; echo "== 3. validate it with dciodvfy (errors: $(dciodvfy "$demo/tiny-unet.dcm" 2>&1 | grep -c Error || true))"

echo; echo "== 4. upload it to a private Orthanc and find it again"
pacs="$demo/orthanc"
bash "$here/orthanc.sh" start "$pacs"
trap 'bash "$here/orthanc.sh" stop "$pacs" >/dev/null' EXIT
# shellcheck disable=SC1091
. "$pacs/env"
storescu -xe -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$demo/tiny-unet.dcm"
echo "stored; C-FIND SERIES Modality=MR BodyPartExamined=HEAD SeriesDescription=IODEEP*:"
rm -rf "$demo/find" && mkdir -p "$demo/find"
findscu -S -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" -X -od "$demo/find" \
  -k QueryRetrieveLevel=SERIES -k Modality=MR -k BodyPartExamined=HEAD -k "SeriesDescription=IODEEP*" \
  -k StudyInstanceUID -k SeriesInstanceUID
for r in "$demo"/find/rsp*.dcm; do
  dcmdump +P SeriesDescription +P SeriesInstanceUID +P Modality +P BodyPartExamined "$r"
done
echo; echo "== 5. AI ROI on a slice: the trained brain model on the example MR series"
/usr/bin/python3 "$IODEEP_ROOT/examples/brain-unet/make_series.py" "$demo/brain-series" | tail -1
"$IODEEP" predict --model "$IODEEP_ROOT/examples/brain-unet/brain-unet.dcm" --image "$demo/brain-series/slice_022.dcm" \
  --json "$demo/proposals.json" --png "$demo/overlay.png" \
  --rtstruct "$demo/approved-rtstruct.dcm" --approve all --reviewer "Demo^Reviewer"
"$IODEEP" rtstruct show "$demo/approved-rtstruct.dcm"
echo; echo "demo done: $demo/tiny-unet.dcm, $demo/proposals.json, $demo/overlay.png, $demo/approved-rtstruct.dcm"
