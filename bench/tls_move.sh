#!/usr/bin/env bash
# C-MOVE of a large IODeep object, clear vs DICOM TLS: the paper's DNN-parser U-Net (31.4 M
# parameters, random weights from `iodeep arch init`, ~126 MB packed) stored on two private
# loopback Orthancs, one plain and one TLS-only (scripts/orthanc.sh --tls, the test PKI of
# tests/fixtures/make_pki.sh, our C-MOVE storage SCP reached over TLS too), and retrieved RUNS times
# from each (default 7), alternating clear and TLS, each into an empty directory by
# iodeep_retrieve_bench (Pacs::retrieve alone: association, handshake, transfer, files renamed).
# Prints each run and the medians (ms, MB/s) and the TLS/clear ratio. RETRIEVE=get for C-GET.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
BUILD=${IODEEP_BUILD:-$root/build}
IODEEP=${IODEEP:-$BUILD/client/cli/iodeep}
BENCH=${BENCH:-$BUILD/bench/iodeep_retrieve_bench}
RUNS=${RUNS:-7}
RETRIEVE=${RETRIEVE:-move}
work=$(mktemp -d)
trap 'for s in clear tls; do bash "$root/scripts/orthanc.sh" stop "$work/$s" >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
for tool in "$IODEEP" "$BENCH"; do [ -x "$tool" ] || { echo "tls_move.sh: build $tool first" >&2; exit 2; }; done

bash "$root/tests/fixtures/make_pki.sh" "$work/pki" >/dev/null
cp "$root/examples/dnn-parser-unet/architecture.json" "$work/paper.json"
"$IODEEP" arch init "$work/paper.json" --seed 1 -o "$work/paper.safetensors" >/dev/null
"$IODEEP" pack -a "$work/paper.json" -w "$work/paper.safetensors" -n "Paper UNet (random weights, bench)" \
  -m MR -b HEAD -o "$work/paper.dcm" >/dev/null
rm -f "$work/paper.safetensors"
value() { dcmdump +P "$1" "$work/paper.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1; }
study=$(value StudyInstanceUID) series=$(value SeriesInstanceUID) sop=$(value SOPInstanceUID)

for s in clear tls; do
  mkdir -p "$work/$s"
  if [ $s = tls ]; then tls_args=(--tls "$work/pki"); else tls_args=(); fi
  bash "$root/scripts/orthanc.sh" start "$work/$s" "${tls_args[@]}" >/dev/null
  # shellcheck disable=SC1090
  . "$work/$s/env"
  tls_json='"tls": {"enabled": false}'
  [ $s = clear ] || tls_json="\"tls\": {\"enabled\": true, \"certificate\": \"$work/pki/client.pem\",
    \"private_key\": \"$work/pki/client.key\", \"trusted_certificates\": [\"$work/pki/ca.pem\"]}"
  cat >"$work/$s.json" <<JSON
{"pacs": "$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT", "aet": "$CLIENT_AET", "move_port": $CLIENT_PORT,
 "retrieve": "$RETRIEVE", "dimse_timeout": 600, $tls_json}
JSON
  "$IODEEP" upload --config "$work/$s.json" --cache-dir "$work/cache" --outbox-dir "$work/outbox" "$work/paper.dcm" >/dev/null
done

size=$(stat -c %s "$work/paper.dcm")
echo "C-MOVE ($RETRIEVE) of the paper U-Net ($size bytes) from a loopback Orthanc 1.10, $RUNS runs each, alternating"
for i in $(seq 1 "$RUNS"); do
  for s in clear tls; do
    rm -rf "$work/into"
    "$BENCH" "$work/$s.json" "$study" "$series" "$sop" "$work/into" >"$work/$s-$i.json"
    echo "run $i $s: $(cat "$work/$s-$i.json")"
  done
done
/usr/bin/python3 - "$work" "$RUNS" "$size" <<'PY'
import json, statistics, sys
work, runs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
med = {}
for s in ("clear", "tls"):
    runs_ = [json.load(open(f"{work}/{s}-{i}.json")) for i in range(1, runs + 1)]
    assert all(r["bytes"] >= size for r in runs_), f"{s}: an instance arrived short"
    med[s] = statistics.median(r["ms"] for r in runs_)
    print(f"{s:5}: median {med[s]:8.1f} ms, {size / (med[s] / 1000) / 1e6:6.1f} MB/s")
print(f"TLS / clear: {med['tls'] / med['clear']:.2f}")
PY
