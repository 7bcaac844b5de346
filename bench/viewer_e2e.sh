#!/usr/bin/env bash
# The viewer's AI ROI against a private loopback Orthanc (the brain U-Net and the example series):
# RUNS processes (default 5), each with an empty model cache: one cold click (network retrieved,
# verified and built) and WARM warm clicks (default 5) on slice_022; medians of click-to-drawn and
# of the UI thread's longest stall, and the worst stall seen. Offscreen (QT_QPA_PLATFORM).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
BENCH=${BENCH:-$root/build/bench/iodeep_viewer_bench}
IODEEP=${IODEEP:-$root/build/client/cli/iodeep}
RUNS=${RUNS:-5}
WARM=${WARM:-5}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
work=$(mktemp -d)
pacs="$work/orthanc"
trap 'bash "$root/scripts/orthanc.sh" stop "$pacs" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash "$root/scripts/orthanc.sh" start "$pacs" >/dev/null
# shellcheck disable=SC1091
. "$pacs/env"
"$IODEEP" upload --pacs "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT" --aet "$CLIENT_AET" \
  "$root/examples/brain-unet/brain-unet.dcm" >/dev/null
storescu -xe -aet BENCH -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$root"/examples/brain-unet/series/slice_*.dcm
for i in $(seq 1 "$RUNS"); do
  rm -rf "$work/cache" "$work/outbox"
  cat >"$work/client.json" <<JSON
{"pacs": "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT", "aet": "$CLIENT_AET", "move_port": $CLIENT_PORT,
 "cache_dir": "$work/cache/models", "image_cache_dir": "$work/cache/images", "outbox_dir": "$work/outbox",
 "reviewer": "Bench^Reviewer"}
JSON
  "$BENCH" --config "$work/client.json" --slice "$root/examples/brain-unet/series/slice_022.dcm" --warm "$WARM" \
    2>/dev/null >>"$work/runs.jsonl"
done
/usr/bin/python3 - "$work/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
cold = [r["cold"] for r in runs]
warm = [w for r in runs for w in r["warm"]]
def line(name, xs):
    c = [x["clickToDrawnMs"] for x in xs]; s = [x["maxStallMs"] for x in xs]
    print(f"{name}: {len(xs)} clicks, click to proposals drawn median {statistics.median(c):.0f} ms "
          f"(min {min(c):.0f}, max {max(c):.0f}); UI thread's longest stall median {statistics.median(s):.1f} ms, "
          f"worst {max(s):.1f} ms")
line("cold (empty model cache, network not built)", cold)
line("warm (network cached and built)", warm)
PY
