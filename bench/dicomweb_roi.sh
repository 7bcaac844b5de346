#!/usr/bin/env bash
# One AI ROI click over DICOMweb against the same click over DIMSE, on the same private loopback
# Orthanc (with Debian's DICOMweb plugin), cold (empty model cache) and warm (model cached), in
# one run: `iodeep roi --instance <slice 23> --approve all` (one process per click, the RT
# Structure Set stored each time) over DIMSE with C-MOVE, DIMSE with C-GET and DICOMweb (QIDO-RS,
# WADO-RS, STOW-RS; plain HTTP), RUNS times each (default 5), the transports interleaved run by
# run so that drift of the machine falls on all of them alike. Prints the median of each step as
# `roi --json` reports it. MODEL: brain (default) or paper (bench/models.sh). Figures go to
# bench/README.md by hand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
IODEEP=${IODEEP:-$root/build/client/cli/iodeep}
RUNS=${RUNS:-5}
MODEL=${MODEL:-brain}
work=$(mktemp -d)
pacs="$work/orthanc"
trap 'bash "$root/scripts/orthanc.sh" stop "$pacs" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash "$root/scripts/orthanc.sh" start "$pacs" --dicomweb >/dev/null
# shellcheck disable=SC1091
. "$pacs/env"
dimse=(--pacs "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT")
web=(--pacs "$DICOMWEB_URL")

# shellcheck source=bench/models.sh
. "$here/models.sh"
bench_model "$MODEL"
"$IODEEP" upload "${dimse[@]}" "$model" >/dev/null
storescu -xe -aet BENCH -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$root"/examples/brain-unet/series/slice_*.dcm
slice=$(dcmdump +P SOPInstanceUID "$root/examples/brain-unet/series/slice_022.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p')

click() {  # click TRANSPORT cold|warm I
  local transport=$1 kind=$2 i=$3 args=()
  case $transport in
    move) args=("${dimse[@]}" --retrieve move) ;;
    get) args=("${dimse[@]}" --retrieve get) ;;
    web) args=("${web[@]}") ;;
  esac
  [ "$kind" = cold ] && rm -rf "$work/cache/$transport"
  "$IODEEP" roi "${args[@]}" --cache-dir "$work/cache/$transport" --outbox-dir "$work/outbox" --instance "$slice" \
    --approve all --reviewer "Bench^Reviewer" --json >"$work/$transport-$kind-$i.json"
}
for i in $(seq 1 "$RUNS"); do
  for t in move get web; do click "$t" cold "$i"; click "$t" warm "$i"; done
done

/usr/bin/python3 - "$work" "$RUNS" "$MODEL" <<'PY'
import json, statistics, sys
work, runs, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
steps = ["locate", "sliceRetrieve", "discovery", "select", "model", "inferenceLoad", "build", "inference", "rtstruct", "store", "total"]
names = {"move": "DIMSE C-MOVE", "get": "DIMSE C-GET", "web": "DICOMweb"}
med = {}
for t in ("move", "get", "web"):
    for kind in ("cold", "warm"):
        rows = []
        for i in range(1, runs + 1):
            j = json.load(open(f"{work}/{t}-{kind}-{i}.json"))
            assert j["approvedSet"]["stored"] and j["approvedSet"]["foundOnPacs"], j["approvedSet"]
            assert j["model"]["fromCache"] == (kind == "warm"), (t, kind, j["model"])
            rows.append(j["timingsMs"])
        med[(t, kind)] = {s: statistics.median(r[s] for r in rows) for s in steps}
cols = [(t, k) for t in ("move", "get", "web") for k in ("cold", "warm")]
print(f"model {model}, {runs} clicks each, medians in ms")
print("| step | " + " | ".join(f"{names[t]}, {k}" for t, k in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for s in steps:
    print(f"| {s} | " + " | ".join(f"{med[c][s]:.1f}" for c in cols) + " |")
for k in ("cold", "warm"):
    w, g, m = med[("web", k)]["total"], med[("get", k)]["total"], med[("move", k)]["total"]
    print(f"{k}: DICOMweb / C-GET = {w / g:.2f}, DICOMweb / C-MOVE = {w / m:.2f}")
PY
