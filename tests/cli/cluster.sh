#!/usr/bin/env bash
# scripts/cluster.sh end to end with real `iodeep serve` workers: PostgreSQL 15 + Orthanc with the
# PostgreSQL index + 2 workers + HAProxy, on free loopback ports, in a directory of its own; the
# brain U-Net uploaded (iodeep upload) and 8 slices of its series stored (storescu). Proves:
#  1. the PACS: C-ECHO, C-FIND of a stored slice, and the slice is in Orthanc's PostgreSQL tables
#     (its index is the plugin, not SQLite);
#  2. HAProxy forwards to both workers (leastconn, 16 predicts by reference, 8 in flight): each
#     worker's /metrics counts some of them in iodeep_http_requests_total, and the two together
#     count all 16; `iodeep roi --service $SERVICE_URL` through HAProxy stores its structure set;
#  3. a load run of 40 predicts by reference at concurrency 8 through HAProxy, worker 1 SIGKILLed
#     in the middle (after 8 answers): every request answered 200 with no retry by the caller
#     (HAProxy's retries and redispatch), two `iodeep roi --service` started at the kill exit 0;
#     HAProxy's /readyz check marks the dead worker DOWN, the other stays UP;
#  4. structure sets through HAProxy, both workers up again (cluster.sh restart-worker): 6
#     Idempotency-Keys stored (each worker stores some), then each key POSTed again straight to
#     each worker: every answer is the first one (Idempotent-Replayed, same SOP Instance UID), so
#     a key one worker stored is answered by the other from the shared idempotency directory;
#  5. a worker killed while structure sets are sent to it: worker 1 is frozen (SIGSTOP), 6 keys
#     are POSTed through HAProxy at concurrency 4, leastconn hands some to the frozen worker, which
#     is then SIGKILLed: those requests get 502/503 from HAProxy (it does not replay a POST
#     /v1/structure-sets that reached a worker), the caller retries each with its key, and every
#     key ends 201 with a set of its own;
#     after 4 and 5, the RT Structure Sets on the series (`iodeep rtstruct list`) are exactly the
#     ones answered: one per distinct Idempotency-Key (+1 for the roi of 2), none stored twice;
#  6. `cluster.sh stop` leaves no process behind (each recorded PID, PostgreSQL's backends included).
# Why 5 freezes before it kills: a request the worker has not read yet is one it cannot have
# stored, so the check is exact. A SIGKILL at a random moment can also land between the worker's
# C-STORE and the moment it records the answer under the key; the retry then stores a second set
# (the service's window, reported; not something HAProxy or this script can close).
# No stand-in: every check here runs against `iodeep serve` (tests/fixtures/stand_in_worker.py is gone).
# A missing program is a failure, not a skip. Usage: cluster.sh SOURCE_DIR IODEEP
# shellcheck disable=SC2015  # `check && ok || bad`: ok never fails
set -uo pipefail
SRC=$(cd "${1:?SOURCE_DIR}" && pwd)
IODEEP=$(realpath "${2:?IODEEP binary}")
export IODEEP
work=$(mktemp -d)
chmod o+x "$work"   # PostgreSQL runs as the postgres user: it must reach $work/cluster/pg
cluster=$work/cluster
trap 'bash "$SRC/scripts/cluster.sh" stop "$cluster" >/dev/null 2>&1; rm -rf "$work"' EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
PY=/usr/bin/python3
SERIES_DIR=$SRC/examples/brain-unet/series
SLICES=("$SERIES_DIR"/slice_01[89].dcm "$SERIES_DIR"/slice_02[0-5].dcm)
SLICE=$SERIES_DIR/slice_022.dcm
T0=$(date +%s%N)

for p in curl echoscu storescu findscu dcmdump psql haproxy "$PY" "$IODEEP"; do
  command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/install-deps.sh)"; exit 1; }
done

t0=$(date +%s%N)
if ! bash "$SRC/scripts/cluster.sh" start "$cluster" --workers 2 >"$work/start.log" 2>&1; then
  cat "$work/start.log"; echo "FAIL: cluster.sh start"; exit 1
fi
echo "cluster started in $(ms_since "$t0") ms"
# shellcheck disable=SC1091
. "$cluster/env"
URL=$SERVICE_URL
tag() { dcmdump +P "$1" "$2" | sed -n 's/.*\[\(.*\)\].*/\1/p'; }
study=$(tag StudyInstanceUID "$SLICE") series=$(tag SeriesInstanceUID "$SLICE") sop=$(tag SOPInstanceUID "$SLICE")
for f in "${SLICES[@]}"; do tag SOPInstanceUID "$f"; done >"$work/instances"

# the workstation: its own configuration, pointing at the PACS
cat >"$work/ws.json" <<JSON
{"pacs": "$PACS", "aet": "IODEEP", "retrieve": "get",
 "cache_dir": "$work/ws/cache", "outbox_dir": "$work/ws/outbox"}
JSON
"$IODEEP" upload --config "$work/ws.json" "$SRC/examples/brain-unet/brain-unet.dcm" >"$work/upload.log" 2>&1 &&
  ok || bad "iodeep upload: $(cat "$work/upload.log")"
storescu -aet DEMOMRI -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "${SLICES[@]}" >"$work/storescu.log" 2>&1 &&
  ok || bad "storescu of ${#SLICES[@]} slices: $(cat "$work/storescu.log")"

# 1. the PACS: C-ECHO, C-FIND, the index in PostgreSQL
echoscu -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" && ok || bad "C-ECHO to Orthanc"
mkdir -p "$work/find"
findscu -S -X -od "$work/find" -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" \
  -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$study" -k SeriesInstanceUID -k "SOPInstanceUID=$sop" \
  >"$work/find.log" 2>&1 || bad "C-FIND: $(cat "$work/find.log")"
found=$(for f in "$work"/find/*; do [ -f "$f" ] && dcmdump +P SOPInstanceUID "$f"; done | grep -c "$sop" || true)
[ "$found" -eq 1 ] && ok || bad "C-FIND found the stored slice $found times, wanted 1"
in_pg=$(psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -Atc \
  "select count(*) from dicomidentifiers where value = '$sop'" 2>&1)
[ "$in_pg" = 1 ] && ok || bad "the slice is not in Orthanc's PostgreSQL index: $in_pg"

# The caller: predict by reference (no retry of its own: what it gets is what HAProxy gives) and
# structure sets (retried with the same Idempotency-Key on 502/503/504/409 and lost connections,
# as a client must). One line per request on stdout.
cat >"$work/caller.py" <<'PY'
import http.client, json, sys, threading, time, concurrent.futures
mode, url = sys.argv[1], sys.argv[2]
host, port = url.split("//")[1].split(":")
def post(path, body, headers, timeout=60):
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request("POST", path, body, {"Content-Type": "application/json", **headers})
        r = c.getresponse()
        return r.status, r.read(), dict((k.lower(), v) for k, v in r.getheaders())
    finally:
        c.close()
if mode == "predict":  # predict URL N CONCURRENCY STUDY SERIES INSTANCES_FILE PROGRESS_FILE
    n, conc, study, series = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
    instances = open(sys.argv[7]).read().split()
    progress = open(sys.argv[8], "a", buffering=1)
    def one(i):
        body = json.dumps({"study": study, "series": series, "instance": instances[i % len(instances)], "frame": 0})
        t = time.monotonic()
        try:
            status, data, _ = post("/v1/predict", body, {})
            ok = status != 200 or "proposals" in json.loads(data)
            line = f"{status} {1000 * (time.monotonic() - t):.0f}" + ("" if ok else " no-proposals")
        except Exception as e:
            line = f"000 {1000 * (time.monotonic() - t):.0f} {type(e).__name__}"
        progress.write(line + "\n")
        return line
    with concurrent.futures.ThreadPoolExecutor(conc) as ex:
        print("\n".join(ex.map(one, range(n))))
elif mode == "sets":  # sets URL KEY_PREFIX N CONCURRENCY BODY_FILE: "<key> <final> <uid> <attempt statuses>"
    prefix, n, conc, body = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), open(sys.argv[6]).read()
    def one(i):
        key, seen = f"{prefix}-{i}", []
        for attempt in range(12):
            try:
                status, data, _ = post("/v1/structure-sets", body, {"Idempotency-Key": key}, timeout=30)
            except Exception as e:
                status, data = 0, b""
            seen.append(str(status))
            if status in (201, 202):
                return f"{key} {status} {json.loads(data)['structureSet']['sopInstanceUid']} {','.join(seen)}"
            if status not in (0, 409, 502, 503, 504):
                return f"{key} {status} - {','.join(seen)} {data[:200]!r}"
            time.sleep(0.3 * (attempt + 1))
        return f"{key} 000 - {','.join(seen)}"
    with concurrent.futures.ThreadPoolExecutor(conc) as ex:
        print("\n".join(ex.map(one, range(n))))
elif mode == "replay":  # replay URL KEY BODY_FILE: "<status> <replayed> <uid>"
    status, data, headers = post("/v1/structure-sets", open(sys.argv[4]).read(), {"Idempotency-Key": sys.argv[3]})
    uid = json.loads(data)["structureSet"]["sopInstanceUid"] if status in (201, 202) else "-"
    print(status, headers.get("idempotent-replayed", "false"), uid)
PY
predicted() {  # PORT: predicts a worker answered 200 (its /metrics)
  curl -fsS -m 2 "http://127.0.0.1:$1/metrics" |
    awk '$1 == "iodeep_http_requests_total{route=\"/v1/predict\",status=\"200\"}" {print $2; f=1} END {if (!f) print 0}'
}
stored_sets() {  # PORT: structure sets a worker answered 201 (replays included)
  curl -fsS -m 2 "http://127.0.0.1:$1/metrics" |
    awk '$1 == "iodeep_http_requests_total{route=\"/v1/structure-sets\",status=\"201\"}" {print $2; f=1} END {if (!f) print 0}'
}
server_status() {  # wN: its status in HAProxy (stats CSV: svname field 2, status field 18)
  curl -fsS -m 2 "$STATS_URL;csv" | awk -F, -v s="$1" '$1 == "workers" && $2 == s {print $18}'
}
rt_sets() {  # the RT Structure Sets on the PACS with contours on the series (their SOP Instance UIDs)
  "$IODEEP" rtstruct list --config "$work/ws.json" --series "$series" --retrieve-to "$work/rtlist" --json |
    sed -n 's/^    "sopInstanceUid": "\(.*\)",\{0,1\}$/\1/p' | sort
}
percentiles() {  # FILE of "<status> <ms> ...": p50/p90/p99 of the milliseconds
  awk '{print $2}' "$1" | sort -n | awk '{a[NR]=$1} END {
    printf "p50 %d ms, p90 %d ms, p99 %d ms", a[int(NR*0.5+0.5)], a[int(NR*0.9+0.5)], a[int(NR*0.99+0.5)]}'
}

# 2. forwarding to both workers; the workstation's AI ROI through HAProxy
b1=$(predicted "$WORKER_1_PORT") b2=$(predicted "$WORKER_2_PORT")
t0=$(date +%s%N)
$PY "$work/caller.py" predict "$URL" 16 8 "$study" "$series" "$work/instances" /dev/null >"$work/balance"
echo "balance: 16 predicts (8 in flight) in $(ms_since "$t0") ms"
[ "$(grep -c '^200 ' "$work/balance")" -eq 16 ] && ok || bad "forwarding: $(awk '{print $1}' "$work/balance" | sort | uniq -c | tr '\n' ' ')"
n1=$(( $(predicted "$WORKER_1_PORT") - b1 )) n2=$(( $(predicted "$WORKER_2_PORT") - b2 ))
echo "leastconn: worker 1 answered $n1, worker 2 $n2 of 16 (iodeep_http_requests_total)"
{ [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; } && ok || bad "leastconn: worker 1 answered $n1, worker 2 $n2, wanted both > 0"
[ $((n1 + n2)) -eq 16 ] && ok || bad "the workers' metrics count $((n1 + n2)) predicts, wanted 16"
t0=$(date +%s%N)
if "$IODEEP" roi --service "$URL" --config "$work/ws.json" --instance "$sop" --approve all --reviewer Doe^Jane \
  >"$work/roi.log" 2>&1; then ok; else bad "iodeep roi --service: $(cat "$work/roi.log")"; fi
echo "iodeep roi --service through HAProxy: $(ms_since "$t0") ms"
grep -q 'stored on the PACS, found there by C-FIND' "$work/roi.log" && ok || bad "roi --service did not store its set: $(cat "$work/roi.log")"

# 3. the load run, worker 1 SIGKILLed after 8 answers
retried() {  # predicts HAProxy logged with retries (the last of its five connection counters)
  grep -cE 'iodeep workers/w[0-9]+ .* [0-9]+/[0-9]+/[0-9]+/[0-9]+/\+?[1-9][0-9]* [0-9]+/[0-9]+ "POST /v1/predict' \
    "$cluster/haproxy.log" || true
}
retried_before=$(retried)
: >"$work/progress"
t0=$(date +%s%N)
$PY "$work/caller.py" predict "$URL" 40 8 "$study" "$series" "$work/instances" "$work/progress" >"$work/load" &
lpid=$!
for _ in $(seq 1 600); do [ "$(wc -l <"$work/progress")" -ge 8 ] && break; sleep 0.05; done
kill -KILL "$WORKER_1_PID"
killed_at=$(date +%s%N)
echo "load: worker 1 SIGKILLed after $(wc -l <"$work/progress") answers, $(ms_since "$t0") ms into the run"
# two workstations ask at that moment (their own retries on 502/503/504 and lost connections)
rpids=()
for i in 1 2; do
  "$IODEEP" roi --service "$URL" --config "$work/ws.json" --instance "$(sed -n "${i}p" "$work/instances")" \
    --approve none --reviewer Doe^Jane >"$work/roi-kill$i.log" 2>&1 &
  rpids+=($!)
done
status=''
for _ in $(seq 1 100); do status=$(server_status w1); [ "$status" = DOWN ] && break; sleep 0.1; done
down_ms=$(ms_since "$killed_at")
wait "$lpid"
load_ms=$(ms_since "$t0")
for i in 1 2; do wait "${rpids[$((i - 1))]}" && ok || bad "iodeep roi --service during the kill: $(cat "$work/roi-kill$i.log")"; done
[ "$(grep -c '^200 ' "$work/load")" -eq 40 ] && ok ||
  bad "load with a kill: $(awk '{print $1, $3}' "$work/load" | sort | uniq -c | tr '\n' ' ') (wanted 40 x 200)"
grep -q 'no-proposals' "$work/load" && bad "load: a 200 without proposals" || ok
echo "load: 40 predicts at concurrency 8 in $load_ms ms, $(grep -c '^200 ' "$work/load")/40 answered 200, $(percentiles "$work/load");" \
  "HAProxy retried $(( $(retried) - retried_before )) of them (its log)"
[ "$status" = DOWN ] && ok || bad "health check: worker 1 is '$status' 10 s after its death, wanted DOWN"
echo "health check: worker 1 DOWN in HAProxy within $down_ms ms of its SIGKILL (polled every 100 ms)"
[ "$(server_status w2)" = UP ] && ok || bad "health check: worker 2 is not UP"

# 4. structure sets: both workers up, each key stored once, replayed by either worker
bash "$SRC/scripts/cluster.sh" restart-worker "$cluster" 1 >"$work/restart.log" 2>&1 && ok ||
  bad "cluster.sh restart-worker: $(cat "$work/restart.log")"
# shellcheck disable=SC1091
. "$cluster/env"
sets_before=$(rt_sets | wc -l)
# the review of the slice: the proposals of a predict, the first approved
curl -fsS -m 30 -X POST -H 'Content-Type: application/json' \
  -d "{\"study\":\"$study\",\"series\":\"$series\",\"instance\":\"$sop\",\"frame\":0}" "$URL/v1/predict" >"$work/predict.json" ||
  bad "predict for the review"
$PY - "$work/predict.json" "$study" "$series" "$sop" >"$work/review.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(json.dumps({"slice": {"study": sys.argv[2], "series": sys.argv[3], "instance": sys.argv[4], "frame": 0},
                  "network": {"dnnUid": p["network"]["dnnUid"]}, "proposals": p["proposals"],
                  "approved": [0], "reviewer": "Doe^Jane"}))
PY
s1=$(stored_sets "$WORKER_1_PORT") s2=$(stored_sets "$WORKER_2_PORT")
$PY "$work/caller.py" sets "$URL" first 6 4 "$work/review.json" >"$work/sets1"
[ "$(awk '$2 == 201' "$work/sets1" | wc -l)" -eq 6 ] && ok || bad "structure sets: $(cat "$work/sets1")"
n1=$(( $(stored_sets "$WORKER_1_PORT") - s1 )) n2=$(( $(stored_sets "$WORKER_2_PORT") - s2 ))
echo "structure sets: worker 1 stored $n1, worker 2 $n2 of 6 keys"
{ [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; } && ok || bad "structure sets: worker 1 stored $n1, worker 2 $n2; wanted both > 0"
replays=0 same=0
while read -r key _ uid _; do
  for port in "$WORKER_1_PORT" "$WORKER_2_PORT"; do
    read -r code replayed again < <($PY "$work/caller.py" replay "http://127.0.0.1:$port" "$key" "$work/review.json")
    [ "$code" = 201 ] && [ "$replayed" = true ] && replays=$((replays + 1))
    [ "$again" = "$uid" ] && same=$((same + 1))
  done
done <"$work/sets1"
[ "$replays" -eq 12 ] && ok || bad "replays: $replays of 12 answered 201 with Idempotent-Replayed"
[ "$same" -eq 12 ] && ok || bad "replays: $same of 12 gave the first answer's SOP Instance UID"
echo "idempotency: each of 6 keys POSTed again to each worker: $replays replays, $same with the first set's UID"

# 5. a worker killed with structure sets in its hands
kill -STOP "$WORKER_1_PID"
t0=$(date +%s%N)
$PY "$work/caller.py" sets "$URL" killed 6 4 "$work/review.json" >"$work/sets2" &
spid=$!
sleep 1
kill -KILL "$WORKER_1_PID"
wait "$spid"
echo "structure sets with worker 1 killed: 6 keys in $(ms_since "$t0") ms; attempts per key: $(awk '{print $4}' "$work/sets2" | tr '\n' ' ')"
[ "$(awk '$2 == 201' "$work/sets2" | wc -l)" -eq 6 ] && ok || bad "structure sets with a kill: $(cat "$work/sets2")"
lost=$(awk '{print $4}' "$work/sets2" | grep -cE '(^|,)(0|502|503)(,|$)' || true)
[ "$lost" -gt 0 ] && ok || bad "no structure set reached the frozen worker (attempts: $(awk '{print $4}' "$work/sets2" | tr '\n' ' '))"
echo "structure sets: $lost of 6 keys reached the dead worker and got 502/503 (not replayed by HAProxy), then stored by the caller's retry"
replayed_sh=$(grep -cE 'workers/w[0-9]+ .* 502 .* [0-9]+/[0-9]+/[0-9]+/[0-9]+/\+?[1-9][0-9]* [0-9]+/[0-9]+ "POST /v1/structure-sets' "$cluster/haproxy.log" || true)
[ "$replayed_sh" -eq 0 ] && ok || bad "HAProxy retried $replayed_sh structure sets after a worker received them"

# every structure set on the PACS is one answered, each distinct key one set
cat "$work/sets1" "$work/sets2" | awk '$2 == 201 {print $3}' | sort -u >"$work/answered"
sed -n 's/^stored: .* RT Structure Set \([0-9.]*\): .*/\1/p' "$work/roi.log" >>"$work/answered"
sort -o "$work/answered" "$work/answered"
rt_sets >"$work/on-pacs"
keys=$(cat "$work/sets1" "$work/sets2" | awk '{print $1}' | sort -u | wc -l)
echo "RT Structure Sets on the series: $(wc -l <"$work/on-pacs") ($sets_before before the structure-set runs), $keys distinct keys"
[ "$(wc -l <"$work/on-pacs")" -eq $((sets_before + keys)) ] && ok ||
  bad "$(wc -l <"$work/on-pacs") sets on the PACS, wanted $sets_before + $keys keys: one stored twice?"
[ -z "$(comm -23 "$work/on-pacs" "$work/answered")" ] && ok ||
  bad "sets on the PACS no caller was answered with: $(comm -23 "$work/on-pacs" "$work/answered" | tr '\n' ' ')"
[ "$(sort -u "$work/answered" | wc -l)" -eq $((keys + 1)) ] && ok || bad "answered set UIDs are not one per key"

# 6. stop: nothing left behind
pids="$PG_PID $ORTHANC_PID $WORKER_1_PID $WORKER_2_PID $HAPROXY_PID $(pgrep -P "$PG_PID" | tr '\n' ' ')"
t0=$(date +%s%N)
bash "$SRC/scripts/cluster.sh" stop "$cluster" >"$work/stop.log" 2>&1 && ok || bad "cluster.sh stop: $(cat "$work/stop.log")"
echo "cluster stopped in $(ms_since "$t0") ms"
grep -q 'still running after' "$work/stop.log" && bad "a part needed SIGKILL to stop: $(cat "$work/stop.log")" || ok
left=''
for p in $pids; do
  if kill -0 "$p" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$p/stat" 2>/dev/null; then
    left="$left $p($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60))"
  fi
done
[ -z "$left" ] && ok || bad "still running after stop:$left"
[ -z "$(pgrep -f "$cluster" || true)" ] && ok || bad "processes naming $cluster after stop: $(pgrep -af "$cluster")"
[ ! -f "$cluster/env" ] && ok || bad "stop left $cluster/env"

echo "whole test: $(ms_since "$T0") ms"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
