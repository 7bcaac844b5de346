#!/usr/bin/env bash
# Network discovery at scale (issue 19, item 4): `iodeep select` for an MR slice (median of 5)
# with 1, 10 and 10,000 IODeep networks on the PACS (about 30% of them MR, none for MR HEAD but
# the one selection chooses), with the discovery cache refreshed on every use (the default,
# discovery_max_age 0) and used while fresh (discovery_max_age 3600). Loopback only; bounded
# (the upload of 10,000 tiny networks takes about 10 minutes on 2 cores with Orthanc's SQLite index).
#   bench/discovery_scale.sh [IODEEP] [COUNTS]     e.g. bench/discovery_scale.sh build/client/cli/iodeep "1 10 10000"
# Environment:
#   PACS=AET@host:port   use this PACS instead of a private Orthanc (scripts/orthanc.sh, SQLite
#                        index): e.g. the PostgreSQL-indexed Orthanc of scripts/cluster.sh. It must
#                        accept C-STORE from $CLIENT_AET and C-MOVE to $CLIENT_AET at
#                        127.0.0.1:$CLIENT_PORT (both required with PACS). The networks are added
#                        to it (and stay): run it on an empty PACS.
#   CLIENT_AET, CLIENT_PORT  our AE title and move port with PACS
#   PRESENT=N            with PACS: it already holds the template and the first N-1 generated
#                        networks of an earlier run of this script (their upload is skipped)
# Prints one line per (networks, mode, client) and the median: `iodeep select` (a process per
# selection) and POST /v1/select on `iodeep serve`; then the comparison table (each median
# against the fewest networks measured, within 2x or not). Figures go to bench/README.md by hand.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
IODEEP=$(realpath "${1:-$src/build/client/cli/iodeep}")
COUNTS=${2:-"1 10 10000"}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/iodeep-discovery-bench.XXXXXX)
started=
cleanup() {
  [ -z "$started" ] || bash "$src/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${PACS:-}" ]; then
  PEER=$PACS AET=${CLIENT_AET:?CLIENT_AET with PACS} MOVE=${CLIENT_PORT:?CLIENT_PORT with PACS}
else
  bash "$src/scripts/orthanc.sh" start "$work/orthanc" >/dev/null
  started=1
  # shellcheck disable=SC1091
  . "$work/orthanc/env"
  PEER="ORTHANC@127.0.0.1:$ORTHANC_DICOM_PORT" AET=$CLIENT_AET MOVE=$CLIENT_PORT
fi
AEC=${PEER%@*} HOSTPORT=${PEER#*@}
HOST=${HOSTPORT%:*} PORT=${HOSTPORT##*:}
SLICE=$src/examples/brain-unet/series/slice_022.dcm
S22=$(dcmdump +P SOPInstanceUID "$SLICE" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')

# the chosen network (MR HEAD, version 1) and the slice
"$IODEEP" pack -a "$src/examples/tiny-unet/architecture.json" -w "$src/examples/tiny-unet/weights.safetensors" \
  -n "Scale template" -m MR -b HEAD --version 1 -o "$work/template.dcm" >/dev/null
on_pacs=${PRESENT:-0}
[ "$on_pacs" -eq 0 ] || [ -n "${PACS:-}" ] || { echo "discovery_scale.sh: PRESENT needs PACS" >&2; exit 2; }
[ "$on_pacs" -gt 0 ] || { storescu -aet "$AET" -aec "$AEC" "$HOST" "$PORT" "$work/template.dcm" "$SLICE"; on_pacs=1; }

# generate N-1.. copies of the template with new UIDs: 30% MR (never HEAD), the rest CT/PT/US
generate() {  # generate FIRST COUNT DIR
  $PY - "$work/template.dcm" "$3" "$1" "$2" <<'PY'
import os, sys
import pydicom
template, out, first, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ds = pydicom.dcmread(template)
os.makedirs(out, exist_ok=True)
modalities = ["MR", "CT", "PT", "US", "CT", "PT", "US", "MR", "CT", "MR"]  # 3 in 10 MR
parts = {"MR": ["KNEE", "SPINE", "PELVIS", "ABDOMEN", "BREAST"], "CT": ["CHEST", "ABDOMEN", "HEAD", "PELVIS", "NECK"],
         "PT": ["WHOLEBODY", "CHEST", "HEAD", "ABDOMEN", "PELVIS"], "US": ["ABDOMEN", "BREAST", "NECK", "HEART", "KIDNEY"]}
for i in range(first, first + n):
    sop = "2.25.%d" % (10**35 + i)
    ds.StudyInstanceUID = "2.25.%d" % (2 * 10**35 + i)
    ds.SeriesInstanceUID = "2.25.%d" % (3 * 10**35 + i)
    ds.SOPInstanceUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = sop
    ds.Modality = modalities[i % 10]
    ds.BodyPartExamined = parts[ds.Modality][(i // 10) % 5]
    ds.SeriesDescription = "IODEEP Scale %d 0.%d" % (i, i % 9)
    ds.save_as(os.path.join(out, "n%06d.dcm" % i))
PY
}

upload() {  # upload DIR: two storescu at once
  local dir=$1
  find "$dir" -name '*.dcm' | sort >"$work/files"
  split -n l/2 "$work/files" "$work/part."
  for p in "$work"/part.*; do
    xargs -a "$p" storescu -aet "$AET" -aec "$AEC" "$HOST" "$PORT" >"$p.log" 2>&1 &
  done
  wait
  rm -rf "$dir" "$work"/part.*
}

measure() {  # measure NETWORKS MODE MAX_AGE
  local n=$1 mode=$2 age=$3 i
  cat >"$work/client.json" <<JSON
{"pacs": "$PEER", "aet": "$AET", "move_port": $MOVE, "cache_dir": "$work/$mode/models",
 "outbox_dir": "$work/outbox", "image_cache_dir": "$work/images", "audit_log": "$work/audit.log",
 "discovery_max_age": $age}
JSON
  rm -rf "${work:?}/$mode"
  "$IODEEP" select --config "$work/client.json" --instance "$S22" --json >"$work/prime.json"  # the cache primed
  for i in 1 2 3 4 5; do
    local t=$EPOCHREALTIME
    "$IODEEP" select --config "$work/client.json" --instance "$S22" --json >"$work/sel-$i.json"
    echo "($EPOCHREALTIME - $t) * 1000" | bc >>"$work/times-$n-$mode"
  done
  $PY - "$work" "$n" "$mode" <<'PY'
import json, statistics, sys
work, n, mode = sys.argv[1:4]
times = [float(x) for x in open(f"{work}/times-{n}-{mode}")]
runs = [json.load(open(f"{work}/sel-{i}.json")) for i in range(1, 6)]
d = runs[-1]["discovery"]
assert all(r["chosen"]["name"] == "Scale template" for r in runs), [r.get("chosen") for r in runs]
with open(f"{work}/summary", "a") as out:
    out.write(f"{n}\t{mode}\tselect\t{statistics.median(times):.1f}\n")
print(f"networks {n:>6}  {mode:<8} select median {statistics.median(times):8.1f} ms "
      f"(min {min(times):.1f}, max {max(times):.1f}); discovery: {d['source']}, path {d['path']}, "
      f"{d['queries']} C-FIND(s), {statistics.median(r['discovery']['ms'] for r in runs):.1f} ms; "
      f"candidates {len(runs[-1]['candidates'])}")
PY
}

service_pid=
stop_service() {
  [ -z "$service_pid" ] || { kill -TERM "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; }
  service_pid=
}
trap 'stop_service; cleanup' EXIT

# POST /v1/select through `iodeep serve` (the configuration of the last measure, one service per
# count and mode): curl's own time of 10 requests (the body to /dev/null, as perf tools read it),
# after one that primes the service; then one more whose answer is checked
measure_service() {  # measure_service NETWORKS MODE
  local n=$1 mode=$2 port i
  port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "${work:?}/service"
  "$IODEEP" serve --config "$work/client.json" --listen "127.0.0.1:$port" --allow-anonymous \
    --work-dir "$work/service" >"$work/serve.log" 2>&1 &
  service_pid=$!
  for i in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/livez" && break
    kill -0 "$service_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  local url="http://127.0.0.1:$port/v1/select" body='{"Modality": "MR", "BodyPartExamined": "HEAD", "SamplesPerPixel": 1}'
  curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$body" "$url"
  : >"$work/svc-times"
  for i in $(seq 1 10); do
    curl -sf -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -d "$body" "$url" >>"$work/svc-times"
  done
  curl -sf -o "$work/svc.json" -H 'Content-Type: application/json' -d "$body" "$url"
  stop_service
  $PY - "$work" "$n" "$mode" <<'PY'
import json, statistics, sys
work, n, mode = sys.argv[1:4]
times = [1000 * float(x) for x in open(f"{work}/svc-times")]
last = json.load(open(f"{work}/svc.json"))
assert last["chosen"]["name"] == "Scale template", last.get("chosen")
t = last["timingsMs"]
with open(f"{work}/summary", "a") as out:
    out.write(f"{n}\t{mode}\t/v1/select\t{statistics.median(times):.1f}\n")
print(f"networks {n:>6}  {mode:<8} /v1/select median {statistics.median(times):6.1f} ms "
      f"(min {min(times):.1f}, max {max(times):.1f}); last: server total {t['total']:.1f} ms "
      f"(discovery {t['discovery']:.1f}, select {t['select']:.1f}); "
      f"body {len(open(f'{work}/svc.json', 'rb').read()) // 1024} KiB; "
      f"discovery: {last['discovery']['source']}, {last['discovery']['queries']} C-FIND(s); "
      f"candidates {len(last['candidates'])}")
PY
}

for n in $COUNTS; do
  if [ "$n" -gt "$on_pacs" ]; then
    generate "$on_pacs" "$((n - on_pacs))" "$work/gen"
    upload "$work/gen"
    on_pacs=$n
  fi
  measure "$n" refresh 0
  measure_service "$n" refresh
  measure "$n" cached 3600
  measure_service "$n" cached
done

# the comparison: each median against the same client and mode with the fewest networks measured
$PY - "$work/summary" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
base = {}
for n, mode, client, ms in rows:
    base.setdefault((mode, client), (int(n), float(ms)))
print()
print("| networks | client | mode | median | vs the fewest networks | within 2x |")
print("|---|---|---|---|---|---|")
for n, mode, client, ms in rows:
    fewest, ref = base[(mode, client)]
    ratio = float(ms) / ref
    print(f"| {n} | {client} | {mode} | {float(ms):.1f} ms | {ratio:.2f}x of {fewest} | {'yes' if ratio <= 2 else 'no'} |")
PY
