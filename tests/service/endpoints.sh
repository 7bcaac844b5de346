#!/usr/bin/env bash
# `iodeep serve` route by route, against a private Orthanc this script starts (and stops), every
# JSON answer validated against docs/openapi.json (tests/service/openapi_check.py). Proves:
#  1. the probes answer without a token (/livez, /readyz, /metrics); /readyz is 200 once the PACS
#     answers C-ECHO and the inference module is loaded;
#  2. every route's success: GET /v1/networks (the brain U-Net, with its DnnUID), POST /v1/select
#     (matched and not matched), POST /v1/predict by reference (the selection chooses) and by value
#     (network named by DnnUID and by SOP Instance UID), POST /v1/structure-sets 201, then the same
#     Idempotency-Key and body replayed (201, Idempotent-Replayed: true, byte-identical body); the
#     key is the caller's own (the other token's same key stores a set of its own);
#  3. every error, with the field named: 400 (bad JSON, instance missing, Modality not a string,
#     SamplesPerPixel 2, an unknown key, frame not a number, a bad Idempotency-Key), 401 (no token,
#     a wrong token; WWW-Authenticate), 404 (unknown route, unknown network DnnUID by value and in a
#     review, an instance the PACS does not have), 405 (Allow), 413 (a 2 MiB body to a service with
#     "max_body_mb": 1), 415, 422 (a by-value body that is not DICOM, a slice no network matches
#     with its selection, a point outside the slice, a reused Idempotency-Key with another body),
#     502 and /readyz 503 (the PACS killed; ready again once it is back), 503 with Retry-After
#     (the PACS worker pool full while the PACS is frozen; and while draining), 504 (deadline);
#  4. X-Request-Id echoed, keep-alive (two requests on one connection);
#  5. the audit log: each network_run and rtstruct_stored the service wrote names the token's
#     identity as "caller" (token:alice, token:bob);
#  6. `iodeep roi --service URL --service-token-file F` exit 0, its structure set stored, and
#     libtorch never mapped by it (LD_DEBUG=files, as tests/cli/no_torch.sh);
#  7. the configuration's refusals: allow_anonymous off loopback, no way to authenticate (exit 2);
#  8. SIGTERM: the service drains (503 to new requests while one is in flight), exits 0 and
#     prints "stopped".
# A missing Orthanc, curl or python3-jsonschema is a failure, not a skip.
# Usage: endpoints.sh IODEEP SOURCE_DIR
# shellcheck disable=SC2015  # `check && ok || bad`: ok never fails
set -uo pipefail
IODEEP=$(realpath "${1:?IODEEP binary}")
SRC=$(cd "${2:?SOURCE_DIR}" && pwd)
PY=/usr/bin/python3
OPENAPI=$SRC/docs/openapi.json
CHECK=$SRC/tests/service/openapi_check.py
work=$(mktemp -d)
serve_pids=()
cleanup() {
  [ -n "${ORTHANC_PID:-}" ] && kill -CONT "$ORTHANC_PID" 2>/dev/null
  for p in "${serve_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  bash "$SRC/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }

for p in curl storescu dcmodify "$PY"; do
  command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/install-deps.sh)"; exit 1; }
done
if ! "$PY" -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  echo "FAIL: python3-jsonschema with Draft 2020-12 is not installed (scripts/install-deps.sh)"; exit 1
fi
"$PY" "$CHECK" "$OPENAPI" lint "GET /livez" "GET /readyz" "GET /metrics" "GET /v1/networks" "POST /v1/select" \
  "POST /v1/predict" "POST /v1/structure-sets" && ok || bad "docs/openapi.json does not pass its lint"

# ---- the PACS: a private Orthanc with the brain U-Net and one slice of its series ----------------
if ! bash "$SRC/scripts/orthanc.sh" start "$work/orthanc" >"$work/orthanc.out" 2>&1; then
  cat "$work/orthanc.out"; echo "FAIL: Orthanc does not start (scripts/orthanc.sh)"; exit 1
fi
# shellcheck disable=SC1091
. "$work/orthanc/env"
PACS=$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT
SLICE=$SRC/examples/brain-unet/series/slice_022.dcm
"$IODEEP" upload --pacs "$PACS" "$SRC/examples/brain-unet/brain-unet.dcm" >"$work/upload.out" 2>&1 \
  || { cat "$work/upload.out"; echo "FAIL: upload of the brain U-Net"; exit 1; }
storescu -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$SLICE" \
  || { echo "FAIL: storescu of the slice"; exit 1; }
uid() { dcmdump +P "$1" "$SLICE" | sed -n 's/.*\[\(.*\)\].*/\1/p'; }
STUDY=$(uid StudyInstanceUID) SERIES=$(uid SeriesInstanceUID) INSTANCE=$(uid SOPInstanceUID)
REF="{\"study\": \"$STUDY\", \"series\": \"$SERIES\", \"instance\": \"$INSTANCE\"}"

# ---- the service ---------------------------------------------------------------------------------
TA=$("$IODEEP" serve token --name alice --append "$work/tokens") && TB=$("$IODEEP" serve token --name bob \
  --append "$work/tokens") || { echo "FAIL: iodeep serve token"; exit 1; }
[ "$(grep -c '^sha256:[0-9a-f]\{64\} \(alice\|bob\)$' "$work/tokens")" = 2 ] && ok || bad "tokens file: $(cat "$work/tokens")"
[ "$(stat -c %a "$work/tokens")" = 600 ] && ok || bad "tokens file mode $(stat -c %a "$work/tokens"), wanted 600"
echo "$TB" >"$work/token-bob"
AUTH_A="Authorization: Bearer $TA" AUTH_B="Authorization: Bearer $TB"

# config FILE SERVICE_JSON: the client configuration with its "service" object
config() {
  cat >"$1" <<EOF
{"pacs": "$PACS", "aet": "$CLIENT_AET", "retrieve": "get", "cache_dir": "$work/cache",
 "outbox_dir": "$work/outbox", "audit_log": "$work/audit.log",
 "service": $2}
EOF
}
# start_serve NAME CONFIG [flags...]: sets PORT, BASE, SERVE_PID; waits for /readyz 200
start_serve() {
  local name=$1 conf=$2; shift 2
  PORT=$(bash "$SRC/scripts/orthanc.sh" ports 1)
  BASE=http://127.0.0.1:$PORT
  "$IODEEP" serve --config "$conf" --listen "127.0.0.1:$PORT" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  SERVE_PID=$!
  serve_pids+=("$SERVE_PID")
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: $name: /readyz did not answer 200 within 60 s; log:"; tail -20 "$work/$name.log"; exit 1
}
# stop_serve NAME [signalled]: SIGTERM (unless sent already: once the service has stopped, a second
# one is not caught any more), exit 0 within 60 s, "stopped" in its log
stop_serve() {
  local name=$1 rc
  [ "${2:-}" = signalled ] || kill -TERM "$SERVE_PID"
  for _ in $(seq 1 600); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVE_PID" 2>/dev/null; then bad "$name: still running 60 s after SIGTERM"; kill -KILL "$SERVE_PID"; fi
  wait "$SERVE_PID"; rc=$?
  [ "$rc" = 0 ] && ok || bad "$name: exit $rc after SIGTERM, wanted 0; log: $(tail -5 "$work/$name.log")"
  grep -q "^iodeep serve: stopped" "$work/$name.log" && ok || bad "$name: no 'stopped' in its log"
}

ans=$work/answers manifest=$work/manifest
mkdir -p "$ans"
# call NAME STATUS METHOD DOCPATH TARGET [curl args...]: the answer in $ans/NAME.body and .hdr,
# listed for openapi_check under DOCPATH ("-": a route the document does not have)
call() {
  local name=$1 want=$2 method=$3 docpath=$4 target=$5 code; shift 5
  code=$(curl -s -o "$ans/$name.body" -D "$ans/$name.hdr" -w '%{http_code}' -X "$method" "$@" "$BASE$target")
  if [ "$code" = 000 ]; then bad "$name: $method $target: no answer"; return 1; fi
  echo "$method $docpath $code $ans/$name.body $ans/$name.hdr" >>"$manifest"
  if [ "$code" != "$want" ]; then
    bad "$name: $method $target: HTTP $code, wanted $want: $(head -c 400 "$ans/$name.body")"; return 1
  fi
  ok
}
# get NAME EXPR: a Python expression on the answer's JSON as d
get() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$ans/$1.body" "$2" 2>&1; }
# expect_eq NAME EXPR WANT
expect_eq() {
  local got; got=$(get "$1" "$2")
  [ "$got" = "$3" ] && ok || bad "$1: $2 is '$got', wanted '$3'"
}
header() { sed -n "s/^$2: *\(.*\)\r$/\1/Ip" "$ans/$1.hdr" | tail -1; }
# problem NAME FIELD [CODE]: the answer is a problem naming FIELD ("" for none) and CODE
problem() {
  expect_eq "$1" 'd.get("field", "")' "$2"
  [ -z "${3:-}" ] || expect_eq "$1" 'd.get("code", "")' "$3"
}

config "$work/client.json" "{\"listen\": \"127.0.0.1:0\", \"tokens_file\": \"$work/tokens\", \"work_dir\": \"$work/svc\"}"
start_serve serve1 "$work/client.json"
JSON=(-H "Content-Type: application/json")
DICOM=(-H "Content-Type: application/dicom")

# 1. the probes, without a token
call livez 200 GET /livez /livez
expect_eq livez 'd["status"]' alive
call readyz 200 GET /readyz /readyz
expect_eq readyz 'd["status"], d["checks"]["pacs"]["ok"], d["checks"]["inference"]["ok"]' "('ready', True, True)"
call metrics0 200 GET /metrics /metrics
call livez-post 405 POST /livez /livez
[ "$(header livez-post Allow)" = GET ] && ok || bad "405 without 'Allow: GET'"

# 2. the routes
call networks 200 GET /v1/networks /v1/networks -H "$AUTH_A"
expect_eq networks '[n["name"] for n in d["networks"]]' "['Brain UNet (ITK T1 example)']"
DNN=$(get networks 'd["networks"][0]["dnnUid"]')
MODEL=$(get networks 'd["networks"][0]["sopInstanceUid"]')
[[ $DNN =~ ^2\.25\.[0-9]+$ ]] && ok || bad "networks: no DnnUID ($DNN): build_ahead should have cached it"
call select 200 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" \
  -d '{"Modality": "MR", "BodyPartExamined": "HEAD", "SamplesPerPixel": 1}'
expect_eq select 'd["matched"], d["chosen"]["sopInstanceUid"]' "(True, '$MODEL')"
call select-none 200 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" -d '{"Modality": "CT"}'
expect_eq select-none 'd["matched"], "chosen" in d' "(False, False)"
call predict-ref 200 POST /v1/predict /v1/predict -H "$AUTH_A" "${JSON[@]}" -H 'X-Request-Id: endpoints-1' -d "$REF"
expect_eq predict-ref 'd["slice"]["sopInstanceUid"], d["network"]["dnnUid"], d["selection"]["matched"]' \
  "('$INSTANCE', '$DNN', True)"
expect_eq predict-ref 'len(d["proposals"]) >= 1 and d["proposals"][0]["label"]' Brain
[ "$(header predict-ref X-Request-Id)" = endpoints-1 ] && ok || bad "X-Request-Id not echoed: $(header predict-ref X-Request-Id)"
call predict-value 200 POST /v1/predict "/v1/predict?network=$DNN&frame=0" -H "$AUTH_B" "${DICOM[@]}" --data-binary "@$SLICE"
expect_eq predict-value '"selection" in d, d["network"]["dnnUid"], len(d["proposals"])' "(False, '$DNN', 1)"
call predict-value-sop 200 POST /v1/predict "/v1/predict?network=$MODEL" -H "$AUTH_B" "${DICOM[@]}" --data-binary "@$SLICE"
expect_eq predict-value-sop 'd["network"]["sopInstanceUid"]' "$MODEL"
# keep-alive: curl reuses the connection for the second URL
curl -sv -o /dev/null -o /dev/null "$BASE/livez" "$BASE/readyz" 2>"$work/keepalive.err"
grep -qi "re-using existing connection" "$work/keepalive.err" && ok || bad "keep-alive: the connection was not reused"

# the review of the prediction by reference, stored; replayed; another body under the same key
"$PY" - "$ans/predict-ref.body" "$work" <<'EOF'
import copy, json, sys
p = json.load(open(sys.argv[1])); w = sys.argv[2]; s = p["slice"]; n = p["network"]
review = {"slice": {"study": s["studyInstanceUid"], "series": s["seriesInstanceUid"], "instance": s["sopInstanceUid"],
                    "frame": s["frame"]},
          "network": {k: n[k] for k in ("dnnUid", "name", "version", "sopInstanceUid")},
          "proposals": p["proposals"], "approved": [0], "reviewer": "Doe^Jane"}
json.dump(review, open(w + "/review.json", "w"))
other = copy.deepcopy(review); other["reviewer"] = "Roe^John"; json.dump(other, open(w + "/review-other.json", "w"))
unknown = copy.deepcopy(review); unknown["network"]["dnnUid"] = "2.25.1"; json.dump(unknown, open(w + "/review-unknown.json", "w"))
outside = copy.deepcopy(review); outside["proposals"][0]["rings"][0]["pixels"][0] = [100000, 5]
json.dump(outside, open(w + "/review-outside.json", "w"))
for f in ("seg", "both", "png"):
    x = copy.deepcopy(review); x["format"] = f; json.dump(x, open(w + "/review-" + f + ".json", "w"))
EOF
# the review as a DICOM Segmentation, and as both (docs/seg.md); an unknown format is refused by name
call rtss-seg 201 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" -H 'Idempotency-Key: endpoints-seg' \
  --data-binary "@$work/review-seg.json"
expect_eq rtss-seg '"structureSet" in d, d["segmentation"]["stored"], d["segmentation"]["foundOnPacs"], d["segmentation"]["rois"]' \
  "(False, True, True, 1)"
call rtss-both 201 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" -H 'Idempotency-Key: endpoints-both' \
  --data-binary "@$work/review-both.json"
expect_eq rtss-both 'd["structureSet"]["stored"], d["segmentation"]["stored"], d["segmentation"]["sopInstanceUid"] != d["structureSet"]["sopInstanceUid"]' \
  "(True, True, True)"
call rtss-png 400 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" --data-binary "@$work/review-png.json"
problem rtss-png format
call rtss 201 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" -H 'Idempotency-Key: endpoints-k1' \
  --data-binary "@$work/review.json"
expect_eq rtss 'd["structureSet"]["stored"], d["structureSet"]["foundOnPacs"], d["structureSet"]["approvalStatus"]' \
  "(True, True, 'APPROVED')"
[ -z "$(header rtss Idempotent-Replayed)" ] && ok || bad "the first answer says Idempotent-Replayed"
call rtss-replay 201 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" -H 'Idempotency-Key: endpoints-k1' \
  --data-binary "@$work/review.json"
[ "$(header rtss-replay Idempotent-Replayed)" = true ] && ok || bad "the replay has no 'Idempotent-Replayed: true'"
cmp -s "$ans/rtss.body" "$ans/rtss-replay.body" && ok || bad "the replay's body differs from the first answer's"
call rtss-reused 422 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" -H 'Idempotency-Key: endpoints-k1' \
  --data-binary "@$work/review-other.json"
problem rtss-reused Idempotency-Key
call rtss-bob 201 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_B" "${JSON[@]}" -H 'Idempotency-Key: endpoints-k1' \
  --data-binary "@$work/review-other.json"
[ -z "$(header rtss-bob Idempotent-Replayed)" ] && [ "$(get rtss-bob 'd["structureSet"]["sopInstanceUid"]')" != \
  "$(get rtss 'd["structureSet"]["sopInstanceUid"]')" ] && ok || bad "another caller's same key was replayed"

# 3. errors
call bad-json 400 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" -d '{"Modality": '
problem bad-json body
call no-instance 400 POST /v1/predict /v1/predict -H "$AUTH_A" "${JSON[@]}" -d "{\"study\": \"$STUDY\", \"series\": \"$SERIES\"}"
problem no-instance instance
call modality-number 400 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" -d '{"Modality": 3}'
problem modality-number Modality
call spp-2 400 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" -d '{"Modality": "MR", "SamplesPerPixel": 2}'
problem spp-2 SamplesPerPixel
call unknown-key 400 POST /v1/select /v1/select -H "$AUTH_A" "${JSON[@]}" -d '{"Modality": "MR", "Modalty": "MR"}'
problem unknown-key Modalty
call bad-frame 400 POST /v1/predict "/v1/predict?frame=x" -H "$AUTH_A" "${DICOM[@]}" --data-binary "@$SLICE"
problem bad-frame frame
call no-reviewer 400 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" \
  -d "{\"slice\": $REF, \"network\": {\"dnnUid\": \"$DNN\"}, \"proposals\": [], \"approved\": [0]}"
problem no-reviewer reviewer
call bad-key 400 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" \
  -H "Idempotency-Key: $(printf 'k%.0s' $(seq 1 300))" --data-binary "@$work/review.json"
problem bad-key Idempotency-Key
call no-token 401 POST /v1/select /v1/select "${JSON[@]}" -d '{"Modality": "MR"}'
problem no-token Authorization
[ -n "$(header no-token WWW-Authenticate)" ] && ok || bad "401 without WWW-Authenticate"
call wrong-token 401 GET /v1/networks /v1/networks -H "Authorization: Bearer 0123456789abcdef"
problem wrong-token Authorization
call no-token-unknown-route 401 GET - /v1/nothing
call unknown-route 404 GET - /v1/nothing -H "$AUTH_A"
call unknown-dnn 404 POST /v1/predict "/v1/predict?network=2.25.1" -H "$AUTH_A" "${DICOM[@]}" --data-binary "@$SLICE"
problem unknown-dnn network
call unknown-dnn-review 404 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" \
  --data-binary "@$work/review-unknown.json"
call unknown-instance 404 POST /v1/predict /v1/predict -H "$AUTH_A" "${JSON[@]}" \
  -d "{\"study\": \"$STUDY\", \"series\": \"$SERIES\", \"instance\": \"1.2.3.4.5\"}"
problem unknown-instance instance ""
call get-predict 405 GET /v1/predict /v1/predict -H "$AUTH_A"
[ "$(header get-predict Allow)" = POST ] && ok || bad "405 without 'Allow: POST'"
call delete-networks 405 DELETE /v1/networks /v1/networks -H "$AUTH_A"
call text-plain 415 POST /v1/predict /v1/predict -H "$AUTH_A" -H 'Content-Type: text/plain' -d 'a slice'
problem text-plain Content-Type
call not-dicom 422 POST /v1/predict /v1/predict -H "$AUTH_A" "${DICOM[@]}" --data-binary 'not a DICOM file'
problem not-dicom body
cp "$SLICE" "$work/foot.dcm" && dcmodify -nb -m Modality=CT -m BodyPartExamined=FOOT "$work/foot.dcm"
call no-match 422 POST /v1/predict /v1/predict -H "$AUTH_A" "${DICOM[@]}" --data-binary "@$work/foot.dcm"
expect_eq no-match 'd["code"], d["selection"]["matched"], d["selection"]["slice"]["modality"]' "('NoMatch', False, 'CT')"
call outside 422 POST /v1/structure-sets /v1/structure-sets -H "$AUTH_A" "${JSON[@]}" --data-binary "@$work/review-outside.json"
problem outside proposals/0/rings/0/pixels

# 5. the audit log: the callers' identities
"$IODEEP" audit --log "$work/audit.log" --json >"$work/audit.json" 2>"$work/audit.err" && ok || bad "iodeep audit: $(cat "$work/audit.err")"
"$PY" - "$work/audit.json" "$INSTANCE" <<'EOF' && ok || bad "audit log callers (above)"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = [e for e in events if e["event"] == "network_run" and sys.argv[2] in e.get("sliceUids", [])]
stored = [e for e in events if e["event"] == "rtstruct_stored"]
bad = 0
for want, got in [(["token:alice", "token:bob", "token:bob"], sorted(e.get("caller") for e in runs)),
                  # alice: the structure set, the SEG, and both (a set and a SEG)
                  (["token:alice"] * 4 + ["token:bob"], sorted(e.get("caller") for e in stored))]:
    if got != want:
        print(f"FAIL: audit callers {got}, wanted {want}"); bad = 1
sys.exit(bad)
EOF

# 6. the workstation's AI ROI through the service, without libtorch
cat >"$work/ws.json" <<EOF
{"pacs": "$PACS", "aet": "$CLIENT_AET", "retrieve": "get", "cache_dir": "$work/ws/cache",
 "outbox_dir": "$work/ws/outbox", "audit_log": "$work/ws/audit.log"}
EOF
mkdir -p "$work/ld"
LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld/ld" "$IODEEP" roi --service "$BASE" --service-token-file "$work/token-bob" \
  --instance "$INSTANCE" --approve all --reviewer 'Doe^Jane' --config "$work/ws.json" --json >"$work/roi.json" 2>"$work/roi.err"
rc=$?
[ "$rc" = 0 ] && ok || bad "roi --service: exit $rc: $(cat "$work/roi.err")"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["approvedSet"]["stored"] and d["approvedSet"]["foundOnPacs"] else 1)' \
  "$work/roi.json" 2>/dev/null && ok || bad "roi --service: the structure set is not stored: $(head -c 600 "$work/roi.json")"
grep -qs "file=libtorch_cpu\.so" "$work"/ld/ld.* && bad "roi --service mapped libtorch" || ok
ls "$work"/ld/ld.* >/dev/null 2>&1 && ok || bad "LD_DEBUG wrote no trace (the libtorch check proves nothing)"
grep -q '"caller":"token:bob".*"event":"network_run"' "$work/audit.log" && [ "$(grep -c '"event":"network_run"' "$work/audit.log")" -ge 4 ] \
  && ok || bad "the service's audit log has no run for roi --service"

# metrics after all this
call metrics 200 GET /metrics /metrics
grep -q '^iodeep_http_requests_total{route="/v1/predict",status="200"} [1-9]' "$ans/metrics.body" && ok || bad "metrics: no predict 200 counted"
grep -q '^iodeep_idempotent_replays_total 1$' "$ans/metrics.body" && ok || bad "metrics: idempotent replays not 1"
grep -q '^iodeep_ready 1$' "$ans/metrics.body" && ok || bad "metrics: not ready"

# 3. (the PACS) killed: /readyz 503, predict by reference 502; back: ready again
bash "$SRC/scripts/orthanc.sh" kill "$work/orthanc" >/dev/null 2>&1
code=
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz"); [ "$code" = 503 ] && break; sleep 0.1
done
call readyz-down 503 GET /readyz /readyz
expect_eq readyz-down 'd["status"], d["checks"]["pacs"]["ok"], d["reason"].startswith("PACS")' "('not ready', False, True)"
call pacs-down 502 POST /v1/predict /v1/predict -H "$AUTH_A" "${JSON[@]}" \
  -d "{\"study\": \"$STUDY\", \"series\": \"$SERIES\", \"instance\": \"1.2.3.4.6\"}"
bash "$SRC/scripts/orthanc.sh" restart "$work/orthanc" >/dev/null 2>&1 || bad "Orthanc restart"
# shellcheck disable=SC1091
. "$work/orthanc/env"
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz"); [ "$code" = 200 ] && break; sleep 0.1
done
[ "$code" = 200 ] && ok || bad "/readyz is $code after the PACS is back, wanted 200"

# 8. drain: a request in flight (the PACS frozen), SIGTERM, new requests 503, then exit 0
kill -STOP "$ORTHANC_PID"
curl -s -o "$work/inflight.body" -w '%{http_code}' -X POST -H "$AUTH_A" "${JSON[@]}" \
  -d "{\"study\": \"$STUDY\", \"series\": \"$SERIES\", \"instance\": \"1.2.3.4.7\"}" "$BASE/v1/predict" >"$work/inflight.code" &
inflight=$!
for _ in $(seq 1 100); do  # the scrape counts itself: 2 once the predict is in
  curl -s "$BASE/metrics" | grep -q '^iodeep_requests_in_flight [2-9]' && break; sleep 0.1
done
kill -TERM "$SERVE_PID"
sleep 0.3
call draining 503 GET /v1/networks /v1/networks -H "$AUTH_A"
call readyz-draining 503 GET /readyz /readyz
expect_eq readyz-draining 'd["checks"]["draining"], d["reason"]' "(True, 'shutting down')"
kill -CONT "$ORTHANC_PID"
wait "$inflight"
[ "$(cat "$work/inflight.code")" != 000 ] && ok || bad "the request in flight during the drain got no answer"
stop_serve serve1 signalled

# 7. configurations refused
"$IODEEP" serve --config "$work/client.json" --listen 0.0.0.0:0 --allow-anonymous >/dev/null 2>"$work/refused.err"
rc=$?
[ "$rc" = 2 ] && grep -q "allow_anonymous" "$work/refused.err" && ok || bad "anonymous off loopback: exit $rc: $(cat "$work/refused.err")"
config "$work/noauth.json" "{\"work_dir\": \"$work/svc\"}"
"$IODEEP" serve --config "$work/noauth.json" --listen 127.0.0.1:0 >/dev/null 2>"$work/refused.err"
rc=$?
[ "$rc" = 2 ] && grep -q "authenticate" "$work/refused.err" && ok || bad "no authentication: exit $rc: $(cat "$work/refused.err")"

# a second service: 1 MiB bodies, anonymous callers on loopback, one I/O thread (PACS pool: 2
# threads, 2 waiting), a 100 ms deadline
config "$work/small.json" "{\"listen\": \"127.0.0.1:0\", \"tokens_file\": \"$work/tokens\", \"allow_anonymous\": true,
  \"work_dir\": \"$work/svc2\", \"max_body_mb\": 1, \"io_threads\": 1, \"queue_limit\": 1, \"build_ahead\": false}"
start_serve serve2 "$work/small.json" --deadline-ms 100
head -c $((2 * 1024 * 1024)) /dev/zero >"$work/2mib"
call too-large 413 POST /v1/predict /v1/predict "${DICOM[@]}" --data-binary "@$work/2mib"
problem too-large body
call anonymous 200 POST /v1/select /v1/select "${JSON[@]}" -d '{"Modality": "MR", "BodyPartExamined": "HEAD"}'
call anonymous-wrong-token 401 POST /v1/select /v1/select -H "Authorization: Bearer nope" "${JSON[@]}" -d '{"Modality": "MR"}'
# the PACS frozen: each predict by reference waits for it past the deadline (504) and keeps a
# PACS worker busy; once the 2 workers and the 2 places are taken, the next one gets 503 at once
kill -STOP "$ORTHANC_PID"
call deadline 504 POST /v1/predict /v1/predict "${JSON[@]}" -d "$REF"
got503=
for i in 1 2 3 4 5 6; do
  code=$(curl -s -o "$ans/full.body" -D "$ans/full.hdr" -w '%{http_code}' -X POST "${JSON[@]}" -d "$REF" "$BASE/v1/predict")
  [ "$code" = 504 ] && continue
  echo "POST /v1/predict $code $ans/full.body $ans/full.hdr" >>"$manifest"
  [ "$code" = 503 ] && got503=$i
  break
done
[ -n "$got503" ] && ok || bad "no 503 with the PACS workers busy (last answer $code)"
[ -n "$(header full Retry-After)" ] && ok || bad "503 without Retry-After"
kill -CONT "$ORTHANC_PID"
stop_serve serve2

# every JSON answer against docs/openapi.json
"$PY" "$CHECK" "$OPENAPI" check "$manifest" && ok || bad "answers that do not match docs/openapi.json (above)"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
