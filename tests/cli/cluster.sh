#!/usr/bin/env bash
# scripts/cluster.sh end to end: PostgreSQL 15 + Orthanc with the PostgreSQL index + 2 workers +
# HAProxy, on free loopback ports, in a directory of its own. Proves:
#  - HAProxy forwards to the workers, and both receive requests (leastconn, 12 requests in flight);
#  - a predict by reference whose worker closes the connection unanswered is replayed on the other
#    worker and answered; a POST to another route (a structure set) and a predict by value meeting
#    the same failure are not replayed (one arrival, 502);
#  - SIGKILL of one worker in the middle of 30 predicts by reference (6 in flight): every one is
#    answered 200; HAProxy's health check marks that worker DOWN; what follows goes to the other;
#  - Orthanc answers C-ECHO, stores an instance (storescu) and finds it (findscu), and its index is
#    in PostgreSQL (the instance's SOPInstanceUID is in Orthanc's table there);
#  - `cluster.sh stop` leaves no process behind (each recorded PID, PostgreSQL's backends included).
# The workers are tests/fixtures/stand_in_worker.py, a stand-in for `iodeep serve` (issue 19) that
# answers /livez, /readyz and echoes POSTs, misbehaving on request headers: ONLY until the real
# service exists; then IODEEP below goes (the routing assertions stay, the misbehaviour needs a
# way to make a real worker drop a connection, e.g. SIGKILL as below).
# A missing program is a failure, not a skip. Usage: cluster.sh SOURCE_DIR
set -uo pipefail
SRC=$(cd "${1:?SOURCE_DIR}" && pwd)
work=$(mktemp -d)
chmod o+x "$work"   # PostgreSQL runs as the postgres user: it must reach $work/cluster/pg
cluster=$work/cluster
trap 'bash "$SRC/scripts/cluster.sh" stop "$cluster" >/dev/null 2>&1; rm -rf "$work"' EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
PY=/usr/bin/python3
SLICE=$SRC/examples/brain-unet/series/slice_022.dcm

for p in curl echoscu storescu findscu dcmdump psql haproxy "$PY"; do
  command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/install-deps.sh)"; exit 1; }
done

# the stand-in, started by cluster.sh exactly as it will start `iodeep serve`
printf '#!/bin/sh\nexec %s %s "$@"\n' "$PY" "$SRC/tests/fixtures/stand_in_worker.py" >"$work/worker"
chmod +x "$work/worker"
t0=$(date +%s%N)
if ! IODEEP=$work/worker bash "$SRC/scripts/cluster.sh" start "$cluster" --workers 2 >"$work/start.log" 2>&1; then
  cat "$work/start.log"; echo "FAIL: cluster.sh start"; exit 1
fi
echo "cluster started in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# shellcheck disable=SC1091
. "$cluster/env"
URL=$SERVICE_URL

# burst N CONCURRENCY DELAY_MS [HEADER:VALUE]: N predicts by reference through HAProxy; prints
# "<status> <worker>" per request
burst() {
  $PY - "$URL" "$@" <<'PY'
import http.client, json, sys, concurrent.futures
url, n, conc, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
host, port = url.split("//")[1].split(":")
def one(i):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    body = json.dumps({"study": "1.2.3", "series": "1.2.3.4", "instance": f"1.2.3.4.{i}", "frame": 0})
    try:
        c.request("POST", "/v1/predict", body, {"Content-Type": "application/json", "X-Stand-In-Delay-Ms": delay})
        r = c.getresponse()
        data = r.read()
        worker = json.loads(data).get("worker", "-") if r.status == 200 else "-"
        return f"{r.status} {worker}"
    except Exception as e:
        return f"000 {type(e).__name__}"
with concurrent.futures.ThreadPoolExecutor(conc) as ex:
    print("\n".join(ex.map(one, range(n))))
PY
}
arrivals() {  # PATH: requests for PATH the workers received, all workers together
  cat "$cluster"/workers/w*/requests.log 2>/dev/null | grep -c "\"path\": \"$1\"" || true
}
retried() {  # requests HAProxy logged with retries (the "+N" of its retries field)
  grep -cE 'iodeep workers/w[0-9]+ .*/\+[1-9][0-9]* [0-9]+/[0-9]+ "' "$cluster/haproxy.log" || true
}
server_status() {  # wN: its status in HAProxy (stats CSV: svname field 2, status field 18)
  curl -fsS -m 2 "$STATS_URL;csv" | awk -F, -v s="$1" '$1 == "workers" && $2 == s {print $18}'
}

# 1. forwarding, both workers used (leastconn with requests in flight)
burst 12 12 300 >"$work/b1"
[ "$(grep -c '^200 ' "$work/b1")" -eq 12 ] && ok || bad "forwarding: $(sort "$work/b1" | uniq -c | tr '\n' ' ')"
n1=$(grep -c '^200 w1' "$work/b1"); n2=$(grep -c '^200 w2' "$work/b1")
{ [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ]; } && ok || bad "leastconn: w1 answered $n1, w2 $n2 of 12 concurrent"
echo "leastconn: 12 concurrent predicts, w1 answered $n1, w2 $n2"

# 2. a worker that closes the connection without answering (the first to receive the key)
post() {  # PATH CONTENT-TYPE KEY BODY-ARGS...: prints the HTTP status
  local path=$1 type=$2 key=$3; shift 3
  curl -s -o /dev/null -w '%{http_code}' -m 20 -X POST -H "Content-Type: $type" -H "X-Stand-In-Close-Once: $key" \
    -H "Idempotency-Key: $key" "$@" "$URL$path"
}
before=$(arrivals /v1/predict)
code=$(post /v1/predict application/json ref1 -d '{"study":"1","series":"2","instance":"3","frame":0}')
after=$(arrivals /v1/predict)
[ "$code" = 200 ] && ok || bad "predict by reference after a dropped connection: HTTP $code, wanted 200 (replayed)"
[ $((after - before)) -eq 2 ] && ok || bad "predict by reference: $((after - before)) arrivals, wanted 2 (the drop, the replay)"
code=$(post /v1/structure-sets application/json rt1 -d '{"study":"1","series":"2","rois":[]}')
[ "$code" = 502 ] && ok || bad "structure set after a dropped connection: HTTP $code, wanted 502 (not replayed)"
[ "$(arrivals /v1/structure-sets)" -eq 1 ] && ok || bad "structure set: $(arrivals /v1/structure-sets) arrivals, wanted 1 (no retry)"
before=$(arrivals /v1/predict)
code=$(post /v1/predict application/dicom val1 --data-binary "@$SLICE")
after=$(arrivals /v1/predict)
[ "$code" = 502 ] && ok || bad "predict by value after a dropped connection: HTTP $code, wanted 502 (not replayed)"
[ $((after - before)) -eq 1 ] && ok || bad "predict by value: $((after - before)) arrivals, wanted 1"

# 3. SIGKILL of worker 1 in the middle of a run: every predict by reference answered
retried_before=$(retried)
burst 30 6 250 >"$work/b3" &
bpid=$!
sleep 0.6
kill -KILL "$WORKER_1_PID"
killed_at=$(date +%s%N)
wait "$bpid"
[ "$(grep -c '^200 ' "$work/b3")" -eq 30 ] && ok ||
  bad "kill mid-run: $(sort "$work/b3" | uniq -c | tr '\n' ' ') (wanted 30 x 200)"
echo "kill mid-run: $(grep -c '^200 w1' "$work/b3") answered by w1 before its death, $(grep -c '^200 w2' "$work/b3") by w2; $(grep -c '^200 ' "$work/b3")/30 answered"
echo "kill mid-run: HAProxy retried $(( $(retried) - retried_before )) of the 30 (its log)"
# the health check takes it out
status=''
for _ in $(seq 1 50); do status=$(server_status w1); [ "$status" = DOWN ] && break; sleep 0.1; done
[ "$status" = DOWN ] && ok || bad "health check: w1 is '$status' 5 s after its death, wanted DOWN"
echo "health check: w1 DOWN $(( ($(date +%s%N) - killed_at) / 1000000 )) ms after SIGKILL (at most; polled every 100 ms)"
[ "$(server_status w2)" = UP ] && ok || bad "health check: w2 is not UP"
burst 6 3 0 >"$work/b4"
[ "$(grep -c '^200 w2' "$work/b4")" -eq 6 ] && ok || bad "after the kill: $(sort "$work/b4" | uniq -c | tr '\n' ' ') (wanted 6 x 200 by w2)"

# 4. the PACS: C-ECHO, C-STORE, C-FIND, the index in PostgreSQL
echoscu -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" && ok || bad "C-ECHO to Orthanc"
storescu -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$SLICE" && ok || bad "C-STORE to Orthanc"
study=$(dcmdump +P StudyInstanceUID "$SLICE" | sed 's/.*\[\(.*\)\].*/\1/')
sop=$(dcmdump +P SOPInstanceUID "$SLICE" | sed 's/.*\[\(.*\)\].*/\1/')
mkdir -p "$work/find"
findscu -S -X -od "$work/find" -aet IODEEP -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" \
  -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$study" -k SeriesInstanceUID -k "SOPInstanceUID=$sop" \
  >"$work/find.log" 2>&1 || bad "C-FIND: $(cat "$work/find.log")"
found=$(for f in "$work"/find/*; do [ -f "$f" ] && dcmdump +P SOPInstanceUID "$f"; done | grep -c "$sop" || true)
[ "$found" -eq 1 ] && ok || bad "C-FIND found the stored instance $found times, wanted 1"
in_pg=$(psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -Atc \
  "select count(*) from dicomidentifiers where value = '$sop'" 2>&1)
[ "$in_pg" = 1 ] && ok || bad "the instance is not in Orthanc's PostgreSQL index: $in_pg"

# 5. stop: nothing left behind
pids="$PG_PID $ORTHANC_PID $WORKER_1_PID $WORKER_2_PID $HAPROXY_PID $(pgrep -P "$PG_PID" | tr '\n' ' ')"
bash "$SRC/scripts/cluster.sh" stop "$cluster" >"$work/stop.log" 2>&1 && ok || bad "cluster.sh stop: $(cat "$work/stop.log")"
left=''
for p in $pids; do
  if kill -0 "$p" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$p/stat" 2>/dev/null; then
    left="$left $p($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60))"
  fi
done
[ -z "$left" ] && ok || bad "still running after stop:$left"
[ -z "$(pgrep -f "$cluster" || true)" ] && ok || bad "processes naming $cluster after stop: $(pgrep -af "$cluster")"
[ ! -f "$cluster/env" ] && ok || bad "stop left $cluster/env"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
