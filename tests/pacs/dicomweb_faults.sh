#!/usr/bin/env bash
# DICOMweb faults, each one line and nothing lost: a private Orthanc with Debian's DICOMweb plugin,
# and in front of it tests/pacs/hostile_dicomweb.py (a proxy that lies on demand). Nothing
# listening; a server that wants a bearer token (refused without, the AI ROI story with it); 404;
# a truncated multipart body; a body with an instance that was not asked for; a body that never
# ends; an answer that is not multipart; a STOW-RS refusal (the set waits in the outbox, then
# is flushed to the real server). And the inference service (`iodeep serve`) with a DICOMweb PACS:
# `iodeep roi --service` end to end, its structure set stored over STOW-RS and found by QIDO-RS.
# Usage: dicomweb_faults.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d)
proxy_pid='' serve_pid=''
cleanup() {
  [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null
  [ -z "$serve_pid" ] || kill -KILL "$serve_pid" 2>/dev/null
  [ ! -f "$work/orthanc/env" ] || bash "$SRC/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
export XDG_DATA_HOME=$work/xdg-data
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

bash "$SRC/scripts/orthanc.sh" start "$work/orthanc" --dicomweb >"$work/orthanc.out" 2>&1 ||
  { echo "FAIL: cannot start Orthanc with DICOMweb: $(cat "$work/orthanc.out")"; exit 1; }
# shellcheck disable=SC1091
. "$work/orthanc/env"
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)
storescu -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$SERIES_DIR"/slice_02*.dcm \
  >"$work/storescu.log" 2>&1 && ok || bad "storescu: $(tail -3 "$work/storescu.log")"
BASE=(--timeout 3 --dimse-timeout 10 --cache-dir "$work/cache" --outbox-dir "$work/outbox")
run 0 "upload over STOW-RS" "$work/upload.json" -- "$IODEEP" upload --pacs "$DICOMWEB_URL" "${BASE[@]}" --json "$BRAIN"
check "upload over STOW-RS: stored" "$work/upload.json" 'd["stored"] == 1 and d["failed"] == 0'

# proxy FAULT [ARGS...]: (re)starts the hostile proxy; sets HOSTILE to its DICOMweb URL
proxy() {
  [ -z "$proxy_pid" ] || { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; }
  rm -f "$work/port"
  $PY "$SRC/tests/pacs/hostile_dicomweb.py" "$work/port" "http://127.0.0.1:$ORTHANC_HTTP_PORT" "$@" \
    >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || { echo "FAIL: the hostile proxy did not start: $(cat "$work/proxy.log")"; exit 1; }
  HOSTILE="http://127.0.0.1:$(cat "$work/port")/dicom-web"
}
ROI=(roi "${BASE[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane')

# --- nothing listening ------------------------------------------------------------------------------
read -r nobody < <(bash "$SRC/scripts/orthanc.sh" ports 1)
run 6 "roi, nothing listening" "$work/down" -- "$IODEEP" "${ROI[@]}" --pacs "http://127.0.0.1:$nobody/dicom-web"
one_error "$work/down" PacsUnreachable "roi, nothing listening" "http://127.0.0.1:$nobody/dicom-web"

# --- a bearer token: refused without it, the AI ROI story with it (from the environment) ----------------
proxy none --token "t0ken-$$"
run 6 "echo without the token" "$work/noauth" -- "$IODEEP" echo --pacs "$HOSTILE" "${BASE[@]}"
one_error "$work/noauth" AssociationRejected "echo without the token" "wants credentials (HTTP 401)"
IODEEP_DICOMWEB_TOKEN=wrong run 6 "echo with a wrong token" "$work/badauth" -- "$IODEEP" echo --pacs "$HOSTILE" "${BASE[@]}"
# (a warning first: credentials over plain http://)
grep -q "error \[AssociationRejected\].*refused our credentials (HTTP 401)" "$work/badauth.err" &&
  grep -q "warning: DICOMweb credentials over plain http://" "$work/badauth.err" && ok ||
  bad "echo with a wrong token: $(cat "$work/badauth.err")"
IODEEP_DICOMWEB_TOKEN="t0ken-$$" run 0 "roi with the token" "$work/roi-token.json" -- "$IODEEP" "${ROI[@]}" \
  --pacs "$HOSTILE" --json
check "roi with the token: stored and found" "$work/roi-token.json" \
  "d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and not d['model']['fromCache'] and d['model']['bytesMoved'] > 0"
rm -rf "$work/cache"

# --- a server that answers only hierarchical QIDO-RS queries (as dcmqrscp answers C-FIND) ------------------
proxy hierarchical
run 0 "roi, hierarchical QIDO-RS only" "$work/roi-hier.json" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE" --json
check "roi, hierarchical QIDO-RS only: the network found study by study, the set stored" "$work/roi-hier.json" \
  "d['matched'] and d['model']['name'] == 'Brain UNet (ITK T1 example)' and d['discovery']['path'] == 'hierarchical' and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs']"
rm -rf "$work/cache"

# --- 404 everywhere ---------------------------------------------------------------------------------------
proxy status:404
run 6 "echo, 404" "$work/404" -- "$IODEEP" echo --pacs "$HOSTILE" "${BASE[@]}"
one_error "$work/404" DimseFailure "echo, 404" "HTTP 404"

# --- WADO-RS answers that are not what was asked for: nothing of them kept ----------------------------------
proxy truncate
run 6 "roi, truncated multipart" "$work/trunc" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE"
one_error "$work/trunc" NetworkError "roi, truncated multipart" "truncated"
no_partial "$work" "truncated multipart"

proxy other-instance --file "$SERIES_DIR/slice_021.dcm"
run 6 "roi, another instance" "$work/other" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE"
grep -q "error \[DimseFailure\].*nothing that was asked for arrived" "$work/other.err" && ok ||
  bad "roi, another instance: $(cat "$work/other.err")"
grep -q "warning: discarded .* not requested" "$work/other.err" && ok ||
  bad "roi, another instance: the discarded instance is not reported: $(cat "$work/other.err")"
[ -z "$(find "$work/cache" -name '*.dcm' 2>/dev/null)" ] && ok || bad "another instance was kept: $(find "$work/cache")"

echo '{"dicomweb": {"max_retrieve_mb": 8}}' >"$work/small.json"
proxy huge
t0=$EPOCHREALTIME
run 6 "roi, a body that never ends" "$work/huge" -- "$IODEEP" "${ROI[@]}" --config "$work/small.json" --pacs "$HOSTILE"
one_error "$work/huge" NetworkError "roi, a body that never ends" "larger than 8388608 bytes"
no_partial "$work" "a body that never ends"
secs=$(echo "$EPOCHREALTIME - $t0" | bc)
[ "$(echo "$secs < 30" | bc)" = 1 ] && ok || bad "the endless body took $secs s to stop"

proxy dribble
t0=$EPOCHREALTIME
run 6 "roi, a body dribbled" "$work/dribble" -- "$IODEEP" roi --timeout 3 --dimse-timeout 3 --cache-dir "$work/cache" \
  --outbox-dir "$work/outbox" --instance "$S22" --approve all --reviewer 'Doe^Jane' --pacs "$HOSTILE"
one_error "$work/dribble" NetworkError "roi, a body dribbled" "took too long"
secs=$(echo "$EPOCHREALTIME - $t0" | bc)
[ "$(echo "$secs < 20" | bc)" = 1 ] && ok || bad "the dribbled body held us $secs s (dimse_timeout 3)"
no_partial "$work" "a body dribbled"

proxy many-parts
run 6 "roi, 50 parts for one instance" "$work/parts" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE"
one_error "$work/parts" NetworkError "roi, 50 parts for one instance" "more than 8 parts"
no_partial "$work" "50 parts for one instance"

proxy qido-flood
run 0 "studies, a server that ignores limit" "$work/flood.json" -- "$IODEEP" studies --pacs "$HOSTILE" "${BASE[@]}" \
  --max-find-results 100 --json
check "studies, a server that ignores limit: the first 100 kept" "$work/flood.json" \
  "len(d) == 100 and d[0]['patientName'] == 'Flood^0' and d[99]['patientName'] == 'Flood^99'"
grep -q "warning: QIDO-RS /studies stopped after 100 matches" "$work/flood.json.err" && ok ||
  bad "no truncation warning: $(cat "$work/flood.json.err")"

proxy not-multipart
run 6 "roi, not multipart" "$work/html" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE"
one_error "$work/html" NetworkError "roi, not multipart" "text/html, not multipart/related"

# --- STOW-RS refused: the approved set waits in the outbox, then goes to the real server ---------------------
proxy stow-refuse
run 6 "roi, store refused" "$work/refused.json" -- "$IODEEP" "${ROI[@]}" --pacs "$HOSTILE" --json
check "roi, store refused: in the outbox" "$work/refused.json" \
  "d['exitCode'] == 6 and not d['approvedSet']['stored'] and d['approvedSet']['outboxFile'] != '' and 'HTTP 409' in d['approvedSet']['storeError']"
WFILE=$(jval "$work/refused.json" "d['approvedSet']['outboxFile']")
[ -f "$WFILE" ] && ok || bad "the refused set is not in the outbox: $(ls "$work/outbox")"
run 0 "outbox flush to the real server" "$work/flush.json" -- "$IODEEP" outbox flush --pacs "$DICOMWEB_URL" \
  "${BASE[@]}" --json
[ ! -e "$WFILE" ] && ok || bad "the flushed set is still in the outbox"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty after the flush: $(ls "$work/outbox")"

# --- the inference service with a DICOMweb PACS --------------------------------------------------------------
kill "$proxy_pid" 2>/dev/null; proxy_pid=''
TOKEN=$("$IODEEP" serve token --name alice --append "$work/tokens") || bad "iodeep serve token"
echo "$TOKEN" >"$work/token"
read -r sport < <(bash "$SRC/scripts/orthanc.sh" ports 1)
cat >"$work/serve.json" <<EOF
{"pacs": "$DICOMWEB_URL", "cache_dir": "$work/svc-cache", "outbox_dir": "$work/svc-outbox",
 "audit_log": "$work/svc-audit.log",
 "service": {"listen": "127.0.0.1:$sport", "tokens_file": "$work/tokens", "work_dir": "$work/svc"}}
EOF
"$IODEEP" serve --config "$work/serve.json" >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sport/readyz")" = 200 ] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
curl -s "http://127.0.0.1:$sport/readyz" >"$work/readyz.json"
check "service ready with a DICOMweb PACS" "$work/readyz.json" 'd["status"] == "ready" and d["checks"]["pacs"]["ok"]'
echo "{\"pacs\": \"$DICOMWEB_URL\", \"outbox_dir\": \"$work/ws-outbox\", \"cache_dir\": \"$work/ws-cache\"}" >"$work/ws.json"
run 0 "roi --service over DICOMweb" "$work/roi-service.json" -- "$IODEEP" roi --service "http://127.0.0.1:$sport" \
  --service-token-file "$work/token" --config "$work/ws.json" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi --service over DICOMweb: stored and found" "$work/roi-service.json" \
  "d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and d['approvedSet']['approvalStatus'] == 'APPROVED'"
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null; serve_pid=''
no_partial "$work" "end"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
