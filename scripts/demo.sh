#!/usr/bin/env bash
# Quick-start command (a): installs what is missing, builds, and runs the whole story on the
# embedded default, a private Orthanc on loopback with the example data:
#   the PACS administrator uploads three IODeep networks (the trained brain U-Net and two demo
#   networks for other modalities/body parts, random weights, said so in their names); the example
#   MR series arrives on the PACS (storescu, as any modality would send it); the physician browses,
#   asks which network fits slice 23, runs AI ROI headless on it, approves, and the approved RT
#   Structure Set is stored on the PACS and read back from it with C-FIND. Then the same AI ROI
#   through the inference service as a hospital would run it (scripts/cluster.sh: an Orthanc with
#   its index in PostgreSQL, 2 `iodeep serve` workers behind HAProxy; docs/service.md): the
#   workstation sends the slice by reference, reviews and stores; about 15 s more. Then the
#   fine-tuning story (scripts/finetune-story.sh: corrections, dataset, finetune, upload; about
#   80 s). With a display,
#   the viewer then opens on the first PACS (docs/viewer.md); without one, the demo stays headless.
# iodeep itself and the example data need no Python (the series is committed); scripts/orthanc.sh
# asks Debian's python3 for free loopback ports. Output in build/demo/.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
bash "$here/install-deps.sh"
iodeep_build
IODEEP="$IODEEP_BUILD/client/cli/iodeep"
demo="$IODEEP_BUILD/demo"
rm -rf "$demo"
mkdir -p "$demo"
ex="$IODEEP_ROOT/examples"
step() { echo; echo "== $*"; }

step "0. a private Orthanc on loopback (no private dictionary: an unchanged PACS)"
pacs="$demo/orthanc"
bash "$here/orthanc.sh" start "$pacs"
trap 'bash "$here/orthanc.sh" stop "$pacs" >/dev/null' EXIT
# shellcheck disable=SC1091
. "$pacs/env"
cat >"$demo/client.json" <<JSON
{
  "pacs": "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT",
  "aet": "$CLIENT_AET",
  "retrieve": "move",
  "move_port": $CLIENT_PORT,
  "cache_dir": "$demo/cache/models",
  "outbox_dir": "$demo/outbox",
  "image_cache_dir": "$demo/cache/images",
  "reviewer": "Demo^Reviewer"
}
JSON
export IODEEP_CONFIG="$demo/client.json"
echo "client configuration ($IODEEP_CONFIG):"; cat "$IODEEP_CONFIG"
"$IODEEP" echo

step "1. the model developer packs two demo networks (random weights) next to the trained brain U-Net"
"$IODEEP" pack --architecture "$ex/tiny-unet/architecture.json" --weights "$ex/tiny-unet/weights.safetensors" \
  --name "Tiny UNet CT chest (random weights, demo only)" --version 1 --modality CT --body-part CHEST \
  -o "$demo/tiny-ct-chest.dcm" | tail -1
"$IODEEP" pack --architecture "$ex/tiny-unet/architecture.json" --weights "$ex/tiny-unet/weights.safetensors" \
  --name "Tiny UNet MR knee (random weights, demo only)" --version 1 --modality MR --body-part KNEE \
  -o "$demo/tiny-mr-knee.dcm" | tail -1

step "2. the PACS administrator uploads them (each checked before it is sent)"
"$IODEEP" upload "$ex/brain-unet/brain-unet.dcm" "$demo/tiny-ct-chest.dcm" "$demo/tiny-mr-knee.dcm"

step "3. the example MR series arrives on the PACS (storescu, like any modality)"
storescu -xe -aet DEMOMRI -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ex"/brain-unet/series/slice_*.dcm
echo "stored $(ls "$ex"/brain-unet/series/slice_*.dcm | wc -l) slices"

step "4. the networks on the PACS"
"$IODEEP" models

step "5. the physician browses: studies, series"
"$IODEEP" studies
study=$("$IODEEP" studies --patient-id ITK-KMEANS-T1 --json | sed -n 's/.*"studyInstanceUid": "\(.*\)".*/\1/p' | head -1)
[ -n "$study" ] || { echo "demo: the example study was not found" >&2; exit 1; }
"$IODEEP" series --study "$study"
slice=$(dcmdump +P SOPInstanceUID "$ex/brain-unet/series/slice_022.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p')

step "6. which network fits slice 23 ($slice), and why not the others"
"$IODEEP" select --instance "$slice"

step "7. AI ROI on it: retrieve the slice, select, retrieve the network once, predict, approve all, store"
"$IODEEP" roi --instance "$slice" --approve all | tee "$demo/roi.txt"

step "7b. AI ROI again (nothing approved this time): the network comes from the model cache"
"$IODEEP" roi --instance "$slice" --approve none --json >"$demo/roi-again.json"
grep -E '"fromCache"|"bytesMoved"' "$demo/roi-again.json"

step "8. read back from the PACS: the structure sets on the series (C-FIND, then retrieved)"
series=$(dcmdump +P SeriesInstanceUID "$ex/brain-unet/series/slice_022.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p')
"$IODEEP" rtstruct list --series "$series" --retrieve-to "$demo/rtstruct"
first=$(ls "$demo"/rtstruct/*.dcm | head -1)
"$IODEEP" rtstruct show "$first"

step "9. the same AI ROI through the inference service: 2 iodeep serve workers behind HAProxy"
# a hospital's deployment on loopback (docs/service.md, "Running it behind HAProxy"): its own
# Orthanc with the index in PostgreSQL (which runs as the postgres user: the directory is under
# /tmp, which it can reach, not under build/, which may be in root's private home)
t_cluster=$(date +%s%N)
cluster=$(mktemp -d /tmp/iodeep-demo-cluster.XXXXXX)
chmod o+x "$cluster"
trap 'bash "$here/cluster.sh" stop "$cluster" >/dev/null; rm -rf "$cluster"; bash "$here/orthanc.sh" stop "$pacs" >/dev/null' EXIT
IODEEP="$IODEEP" bash "$here/cluster.sh" start "$cluster" --workers 2
# shellcheck disable=SC1091
. "$cluster/env"
# the workstation's own configuration, pointing at that PACS (PACS and the other ports: from
# $cluster/env); the service does the rest
# shellcheck disable=SC2153
cat >"$demo/client-cluster.json" <<JSON
{
  "pacs": "$PACS",
  "aet": "IODEEP",
  "retrieve": "get",
  "cache_dir": "$demo/cluster-ws/models",
  "outbox_dir": "$demo/cluster-ws/outbox",
  "reviewer": "Demo^Reviewer"
}
JSON
"$IODEEP" upload --config "$demo/client-cluster.json" "$ex/brain-unet/brain-unet.dcm"
storescu -aet DEMOMRI -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ex"/brain-unet/series/slice_02[0-4].dcm
echo "stored slices 21-25 on the cluster's PACS"
"$IODEEP" roi --service "$SERVICE_URL" --config "$demo/client-cluster.json" --instance "$slice" --approve all \
  --reviewer Demo^Reviewer | tee "$demo/roi-service.txt"
for i in $(seq 1 "$WORKERS"); do
  port=$(sed -n "s/^WORKER_${i}_PORT=//p" "$cluster/env")
  echo "worker $i: $(curl -fsS "http://127.0.0.1:$port/metrics" |
    awk '$1 ~ /^iodeep_http_requests_total[{]route="\/v1\/predict"/ {n += $2} END {print n + 0}') prediction(s)"
done
bash "$here/cluster.sh" stop "$cluster"
rm -rf "$cluster"
trap 'bash "$here/orthanc.sh" stop "$pacs" >/dev/null' EXIT
echo "the service's part of the demo: $(( ($(date +%s%N) - t_cluster) / 1000000 )) ms"

step "9b. the networks learn from the physicians' corrections (scripts/finetune-story.sh, about 80 s)"
bash "$here/finetune-story.sh" "$IODEEP" "$demo/story" | sed -n '/^== 5/,$p'

step "10. the viewer on the first PACS (step 0)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
  echo "opening iodeep-viewer (close its window to end the demo and stop this Orthanc)"
  "$IODEEP_BUILD/client/gui/iodeep-viewer" --config "$IODEEP_CONFIG"
else
  echo "no display (DISPLAY/WAYLAND_DISPLAY unset): staying headless. On a desktop this step opens"
  echo "iodeep-viewer --config $IODEEP_CONFIG on this private Orthanc (docs/viewer.md)."
fi
echo; echo "demo done: $demo (client.json, roi.txt, roi-again.json, rtstruct/, roi-service.txt)"
