#!/usr/bin/env bash
# The inference service under load (issue 19), in one bounded run on loopback: `iodeep serve`
# (one worker, predict by reference), the Python peer (bench/python_service.py, the same network,
# the same slice by value) and two workers behind HAProxy (scripts/cluster.sh, PostgreSQL-indexed
# Orthanc), each at concurrency 1, 8 and 32 with the closed-loop load generator
# (bench/ServiceLoad.cpp, iodeep_service_load), for two networks:
#   small  the brain U-Net (examples/brain-unet/brain-unet.dcm) on examples/brain-unet/series/slice_022.dcm
#   large  the paper's DNN-parser U-Net (random weights, `iodeep arch init --seed 1`, packed -m CT -b CHEST)
#          on pydicom's CT_small.dcm
# Then: the warm click on the large network through the service (5 single requests at concurrency
# 1: client latency against the server's forward time), and `iodeep roi --service` (a fresh
# process per run) against a local one-shot `iodeep roi` on the same slice, 5 each, alternating,
# after one priming run of each.
# Threads: the service's inference_threads 1 (forward passes one at a time, each with the engine's
# intra-op threads = the cores), io_threads 2; the Python peer's --threads = the cores, uvicorn
# 1 worker (FastAPI's thread pool runs requests side by side). The cluster's workers are
# scripts/cluster.sh's (io_threads 1, inference_threads 1, queue_limit 16 each).
# Request counts (timed, after a warm-up of max(2, concurrency) requests):
#   SMALL_N="100 200 320" and LARGE_N="6 16 32" for concurrency 1, 8, 32 (environment); warm-up
#   max(2, concurrency) requests on the small network, 2 on the large one (its network is built and
#   warm by then; a round of 32 would take ~40 s here); WARMUP=W sets every warm-up.
# The figures are printed at the end; the raw lines stay in $KEEP when it is set.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
BUILD=${BUILD:-$root/build}
IODEEP=${IODEEP:-$BUILD/client/cli/iodeep}
LOAD=${LOAD:-$BUILD/bench/iodeep_service_load}
SMALL_N=${SMALL_N:-"100 200 320"}
LARGE_N=${LARGE_N:-"6 16 32"}
CONCURRENCY="1 8 32"
CT_SLICE=${CT_SLICE:-/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm}
MR_SLICE=$root/examples/brain-unet/series/slice_022.dcm
PY=/usr/bin/python3
cores=$(nproc)
for p in "$IODEEP" "$LOAD"; do [ -x "$p" ] || { echo "service_load.sh: no $p (build it)" >&2; exit 1; }; done

work=$(mktemp -d /tmp/service_load.XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ ! -f "$work/cluster/env" ] || bash "$root/scripts/cluster.sh" stop "$work/cluster" >/dev/null 2>&1 || true
  bash "$root/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$work"/*.jsonl "$work"/*.json "$work"/*.log "$work"/roi.runs "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "service_load.sh: $*" >&2; }
uid() { dcmdump +P "$1" "$2" | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1; }

# --- the networks and the slices
cp "$root/examples/dnn-parser-unet/architecture.json" "$work/paper.json"
"$IODEEP" arch init "$work/paper.json" --seed 1 -o "$work/paper.safetensors" >/dev/null
"$IODEEP" pack -a "$work/paper.json" -w "$work/paper.safetensors" -n "Paper UNet (random weights, bench)" \
  -m CT -b CHEST -o "$work/paper.dcm" >/dev/null
rm -f "$work/paper.safetensors"
# CT_small.dcm has no BodyPartExamined (and a StudyDescription "e+1" that names no body part): a
# copy with BodyPartExamined CHEST, its UIDs unchanged, so that `iodeep roi`'s selection can choose
# the large network (CT, CHEST); the same copy is used everywhere
cp "$CT_SLICE" "$work/ct.dcm"
dcmodify -nb -i "(0018,0015)=CHEST" "$work/ct.dcm"
CT_SLICE=$work/ct.dcm
declare -A MODEL=([small]="$root/examples/brain-unet/brain-unet.dcm" [large]="$work/paper.dcm")
declare -A SLICE=([small]="$MR_SLICE" [large]="$CT_SLICE")
declare -A COUNTS=([small]="$SMALL_N" [large]="$LARGE_N")
for net in small large; do
  s=${SLICE[$net]}
  printf '{"study": "%s", "series": "%s", "instance": "%s", "network": "%s"}\n' \
    "$(uid StudyInstanceUID "$s")" "$(uid SeriesInstanceUID "$s")" "$(uid SOPInstanceUID "$s")" \
    "$(uid SOPInstanceUID "${MODEL[$net]}")" >"$work/ref-$net.json"
done

# upload PACS: both networks and both slices
upload() {
  local pacs=$1 aet=${1%@*} host_port=${1#*@}
  "$IODEEP" upload --pacs "$pacs" "${MODEL[small]}" "${MODEL[large]}" >/dev/null
  storescu -aet BENCH -aec "$aet" "${host_port%:*}" "${host_port#*:}" "$MR_SLICE" "$CT_SLICE"
}

# wait_networks URL: until the service lists both networks (its list is refreshed in the background)
wait_networks() {
  for _ in $(seq 1 300); do
    curl -fsS -m 5 "$1/v1/networks" 2>/dev/null |
      $PY -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)["networks"]) >= 2 else 1)' && return 0
    sleep 0.2
  done
  say "$1 does not list both networks"; return 1
}

# load LABEL NET URL PATH BODY TYPE: the three concurrencies, one JSON line each into results.jsonl
load() {
  local label=$1 net=$2 url=$3 path=$4 body=$5 type=$6 i=0 c n w
  read -r -a ns <<<"${COUNTS[$net]}"
  for c in $CONCURRENCY; do
    n=${ns[$i]}; i=$((i + 1)); w=2
    [ "$net" != small ] || [ "$c" -le 2 ] || w=$c
    w=${WARMUP:-$w}
    say "$label $net concurrency $c: $n requests after $w warm-up ($(date -u +%T))"
    "$LOAD" --url "$url" --path "$path" --body "$body" --content-type "$type" --concurrency "$c" \
      --requests "$n" --warmup "$w" |
      $PY -c 'import json,sys; j=json.loads(sys.stdin.read()); j["server"]=sys.argv[1]; j["net"]=sys.argv[2]; print(json.dumps(j))' \
        "$label" "$net" | tee -a "$work/results.jsonl" >&2
  done
}

# --- 1. the private Orthanc and one `iodeep serve`
bash "$root/scripts/orthanc.sh" start "$work/orthanc" >/dev/null
# shellcheck disable=SC1091
. "$work/orthanc/env"
PACS="$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT"
upload "$PACS"
read -r svc_port py_port < <(bash "$root/scripts/orthanc.sh" ports 2)
mkdir -p "$work/svc/xdg" "$work/ws"
cat >"$work/svc/client.json" <<JSON
{"pacs": "$PACS", "aet": "IODEEP", "retrieve": "get",
 "cache_dir": "$work/svc/cache", "outbox_dir": "$work/svc/outbox", "audit_log": "$work/svc/audit.log",
 "service": {"io_threads": 2, "inference_threads": 1, "queue_limit": 64, "deadline_ms": 60000}}
JSON
XDG_CACHE_HOME=$work/svc/xdg XDG_DATA_HOME=$work/svc/xdg XDG_CONFIG_HOME=$work/svc/xdg \
  "$IODEEP" serve --config "$work/svc/client.json" --listen "127.0.0.1:$svc_port" --allow-anonymous \
  --work-dir "$work/svc/work" 2>"$work/serve.log" &
pids+=($!)
SVC=http://127.0.0.1:$svc_port
for _ in $(seq 1 600); do curl -fsS -m 2 -o /dev/null "$SVC/readyz" 2>/dev/null && break; sleep 0.1; done
curl -fsS -m 2 -o /dev/null "$SVC/readyz" || { tail "$work/serve.log" >&2; exit 1; }
wait_networks "$SVC"
for net in small large; do
  load ours "$net" "$SVC" /v1/predict "$work/ref-$net.json" application/json
done
# the warm click: 5 single requests, one at a time, on the large network
say "warm click ($(date -u +%T))"
"$LOAD" --url "$SVC" --path /v1/predict --body "$work/ref-large.json" --concurrency 1 --requests 5 --warmup 0 \
  >"$work/click.json"
cat "$work/click.json" >&2

# iodeep roi --service (fresh process) against local iodeep roi (fresh process, model cache warm
# after the priming run), alternating. First one attempt of each on the large network's CT slice
# (recorded, exit codes included), then the timed runs on the brain slice.
cat >"$work/ws/client.json" <<JSON
{"pacs": "$PACS", "aet": "IODEEP", "retrieve": "get",
 "cache_dir": "$work/ws/cache", "outbox_dir": "$work/ws/outbox", "audit_log": "$work/ws/audit.log"}
JSON
roi() {  # roi service|local RUN SLICE: wall time and exit code into roi.runs
  local extra=() t0 t1 rc=0
  [ "$1" = service ] && extra=(--service "$SVC") || extra=(--no-service)
  t0=$(date +%s%N)
  XDG_CACHE_HOME=$work/ws/xdg XDG_DATA_HOME=$work/ws/xdg XDG_CONFIG_HOME=$work/ws/xdg \
    "$IODEEP" roi --config "$work/ws/client.json" "${extra[@]}" --instance "$3" --approve all \
    --reviewer "Bench^Reviewer" --json >"$work/roi-$1-$2.json" 2>>"$work/roi.log" || rc=$?
  t1=$(date +%s%N)
  echo "$1 $2 $(( (t1 - t0) / 1000 )) $rc" >>"$work/roi.runs"
}
say "roi ($(date -u +%T))"
roi local ct "$(uid SOPInstanceUID "$CT_SLICE")"
roi service ct "$(uid SOPInstanceUID "$CT_SLICE")"
mr=$(uid SOPInstanceUID "$MR_SLICE")
roi local 0 "$mr"; roi service 0 "$mr"
for i in 1 2 3 4 5; do roi service "$i" "$mr"; roi local "$i" "$mr"; done
cat "$work/roi.runs" "$work/roi.log" >&2
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true; pids=()

# --- 2. the Python peer, same slice by value
for net in small large; do
  "$PY" "$here/python_service.py" --model "${MODEL[$net]}" --port "$py_port" --threads "$cores" \
    2>"$work/python-$net.log" &
  pids=($!)
  for _ in $(seq 1 1200); do curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$py_port/openapi.json" 2>/dev/null && break; sleep 0.1; done
  load python "$net" "http://127.0.0.1:$py_port" /predict "${SLICE[$net]}" application/dicom
  kill -TERM "${pids[0]}"; wait "${pids[0]}" || true; pids=()
done

# --- 3. two workers behind HAProxy, the PACS their PostgreSQL-indexed Orthanc
bash "$root/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null
IODEEP=$IODEEP bash "$root/scripts/cluster.sh" start "$work/cluster" --workers 2 >"$work/cluster.log" 2>&1
# shellcheck disable=SC1091
. "$work/cluster/env"
upload "$PACS"
wait_networks "http://127.0.0.1:$WORKER_1_PORT"
wait_networks "http://127.0.0.1:$WORKER_2_PORT"
for net in small large; do
  load haproxy-2 "$net" "$SERVICE_URL" /v1/predict "$work/ref-$net.json" application/json
done
for i in 1 2; do
  port=$(sed -n "s/^WORKER_${i}_PORT=//p" "$work/cluster/env")
  echo "worker $i: $(curl -fsS "http://127.0.0.1:$port/metrics" | grep '^iodeep_http_requests_total{route="/v1/predict"' | tr '\n' ' ')" \
    >>"$work/cluster-metrics.log"
done
cat "$work/cluster-metrics.log" >&2
bash "$root/scripts/cluster.sh" stop "$work/cluster" >/dev/null 2>&1

# --- the figures
"$PY" - "$work" "$cores" <<'PY'
import json, statistics, sys
work, cores = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(f"{work}/results.jsonl")]
names = {"ours": "iodeep serve, 1 worker, by reference", "python": "Python peer, by value",
         "haproxy-2": "HAProxy + 2 iodeep serve workers, by reference"}
print(f"| network | server | concurrency | requests | throughput (req/s) | goodput (2xx/s) | p50 ms | p90 ms | p99 ms | mean ms | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    L = r["latencyMs"]
    err = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "0"
    print(f"| {r['net']} | {names[r['server']]} | {r['concurrency']} | {r['requests']} | {r['throughput']:.2f} | {r['ok'] / r['seconds']:.2f} | "
          f"{L['p50']:.1f} | {L['p90']:.1f} | {L['p99']:.1f} | {L['mean']:.1f} | {err} |")
fields = ["queue", "slice", "network", "inferenceQueue", "build", "decode", "preprocess", "forward",
          "postprocess", "contours", "predict", "total"]
print()
print("Server side (medians of server.timingsMs, ms):")
print("| network | server | concurrency | " + " | ".join(fields) + " |")
print("|---|---|---|" + "---|" * len(fields))
for r in rows:
    t = r["serverTimingsMs"]
    if not t:
        continue
    print(f"| {r['net']} | {r['server']} | {r['concurrency']} | " +
          " | ".join(f"{t.get(f, float('nan')):.1f}" for f in fields) + " |")
def row(server, net, c):
    return next(r for r in rows if r["server"] == server and r["net"] == net and r["concurrency"] == c)
print()
good = lambda r: r["ok"] / r["seconds"]  # answered (2xx) per second: a 504 is no throughput
o, p = row("ours", "small", 8), row("python", "small", 8)
ratio = good(o) / good(p)
print("throughput ratios below are of goodput (2xx answers per second)")
print(f"small, concurrency 8: throughput ours / Python = {ratio:.2f} (target >= 2: {'met' if ratio >= 2 else 'NOT met'}); "
      f"our p99 {o['latencyMs']['p99']:.1f} ms vs Python's p50 {p['latencyMs']['p50']:.1f} ms "
      f"(target <=: {'met' if o['latencyMs']['p99'] <= p['latencyMs']['p50'] else 'NOT met'})")
for c in (1, 8, 32):
    o, p = row("ours", "large", c), row("python", "large", c)
    ratio = good(o) / good(p)
    print(f"large, concurrency {c}: throughput ours / Python = {ratio:.2f} (target >= 1.0: {'met' if ratio >= 1 else 'NOT met'})")
click = json.load(open(f"{work}/click.json"))
fwd, p50 = click["serverTimingsMs"]["forward"], click["latencyMs"]["p50"]
print(f"warm click, large network, 5 single requests: client median {p50:.1f} ms, server total median "
      f"{click['serverTimingsMs']['total']:.1f} ms, forward median {fwd:.1f} ms; client - forward = {p50 - fwd:.1f} ms "
      f"(target <= 100: {'met' if p50 - fwd <= 100 else 'NOT met'})")
runs = [l.split() for l in open(f"{work}/roi.runs")]
for r in runs:
    if r[1] == "ct":
        print(f"roi {r[0]} on the CT slice (large network), one run: exit code {r[3]}, wall {int(r[2]) / 1000:.0f} ms")
for kind, name in (("service", "iodeep roi --service (fresh process, service warm)"),
                   ("local", "iodeep roi, local one-shot (fresh process, model cached)")):
    t = [r for r in runs if r[0] == kind and r[1] not in ("0", "ct")]
    ok = [r for r in t if r[3] == "0"]
    tot = [json.load(open(f"{work}/roi-{kind}-{r[1]}.json"))["timingsMs"]["total"] for r in ok]
    walls = [int(r[2]) / 1000.0 for r in ok]
    print(f"{name}, brain slice: {len(ok)} of {len(t)} succeeded; wall median {statistics.median(walls) if walls else float('nan'):.0f} ms "
          f"(runs {', '.join(f'{w:.0f}' for w in walls)}), roi total median {statistics.median(tot) if tot else float('nan'):.0f} ms")
print(f"threads: service inference_threads 1, io_threads 2, engine intra-op = {cores} cores; "
      f"Python --threads {cores}, uvicorn 1 worker; cluster workers io_threads 1, inference_threads 1, queue_limit 16")
PY
