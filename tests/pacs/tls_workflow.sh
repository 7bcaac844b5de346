#!/usr/bin/env bash
# DICOM TLS with the iodeep commands (docs/security.md, "DICOM TLS") against peers this script
# starts on free loopback ports with the test PKI (the CTest fixture "pki"):
# - a TLS-only Orthanc: echo, upload (C-STORE), the example series stored with storescu +tls,
#   models/studies (C-FIND), AI ROI end to end with TLS from the configuration file (C-MOVE: the
#   PACS connects to our storage SCP over TLS), then with the flags by C-GET, the RT Structure Sets
#   read back (rtstruct list), dciodvfy-clean; our plain client refused (exit 6, one line, fast);
#   --tls-* without --tls refused (exit 2);
# - storescp over TLS: C-STORE (upload); with the rogue CA's certificate: refused (TlsFailure);
#   with only the retired AES profile's weak cipher: refused (TlsFailure);
# - dcmqrscp behind TLS (scripts/dcmqrscp.sh --tls): C-FIND, C-MOVE and the AI ROI.
# A missing server is a failure. Usage: tls_workflow.sh IODEEP SOURCE_DIR PKI_DIR
set -uo pipefail
IODEEP=$1 SRC=$2 PKI=$3
work=$(mktemp -d)
SCP_PIDS=()
cleanup() {
  for p in "${SCP_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  bash "$SRC/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1
  bash "$SRC/scripts/dcmqrscp.sh" stop "$work/dcmqrscp" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"
[ -r "$PKI/ca.pem" ] || { echo "FAIL: no test PKI in $PKI (the pki fixture)"; exit 1; }

SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
BRAIN_SOP=$(dicom_value "$BRAIN" SOPInstanceUID)
SERIES=$(dicom_value "$SERIES_DIR/slice_022.dcm" SeriesInstanceUID)
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)
TLS=(--tls --tls-certificate "$PKI/client.pem" --tls-key "$PKI/client.key" --tls-trusted "$PKI/ca.pem")
STORESCU_TLS=(+tls "$PKI/client.key" "$PKI/client.pem" +cf "$PKI/ca.pem")
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# elapsed WHAT START MAX: the step took at most MAX seconds
elapsed() {
  local took; took=$(echo "$EPOCHREALTIME - $2" | bc)
  [ "$(echo "$took <= $3" | bc)" -eq 1 ] && ok || bad "$1: took $took s, more than $3 s"
}
# storescp_tls PORT CERT [OPTIONS...]: storescp in DICOM TLS mode with PKI/CERT.pem, into
# $work/received; waits until it listens
storescp_tls() {
  local port=$1 cert=$2; shift 2
  mkdir -p "$work/received"
  storescp +tls "$PKI/$cert.key" "$PKI/$cert.pem" +cf "$PKI/ca.pem" "$@" -od "$work/received" "$port" \
    >"$work/storescp-$port.log" 2>&1 &
  SCP_PIDS+=($!)
  for _ in $(seq 1 50); do
    $PY -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && return
    sleep 0.1
  done
  bad "storescp on port $port did not start: $(cat "$work/storescp-$port.log")"
}

# --- a TLS-only Orthanc ---------------------------------------------------------------------------
mkdir -p "$work/orthanc"
bash "$SRC/scripts/orthanc.sh" start "$work/orthanc" --tls "$PKI" >"$work/orthanc-start.log" 2>&1 ||
  { echo "FAIL: cannot start the TLS Orthanc: $(cat "$work/orthanc-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$work/orthanc/env"
PEER="$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT"
BASE=(--pacs "$PEER" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5 --dimse-timeout 30
      --outbox-dir "$work/outbox")

run 0 "echo over TLS" "$work/echo" -- "$IODEEP" echo "${BASE[@]}" "${TLS[@]}"
grep -qF "$PEER answers" "$work/echo" && ok || bad "echo output: $(cat "$work/echo")"
pack_net "$work/knee.dcm" "Tiny MR knee (random weights)" MR KNEE 3 31
run 0 "upload over TLS" "$work/upload.json" -- "$IODEEP" upload "${BASE[@]}" "${TLS[@]}" --json "$BRAIN" "$work/knee.dcm"
check "upload over TLS: both stored" "$work/upload.json" 'd["stored"] == 2 and d["failed"] == 0'
storescu "${STORESCU_TLS[@]}" -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" \
  "$SERIES_DIR"/slice_02[123].dcm >"$work/storescu.log" 2>&1 && ok || bad "storescu +tls: $(tail -3 "$work/storescu.log")"
run 0 "models over TLS" "$work/models.json" -- "$IODEEP" models "${BASE[@]}" "${TLS[@]}" --cache-dir "$work/c0" --json
check "models over TLS" "$work/models.json" "'$BRAIN_SOP' in {m['sopInstanceUid'] for m in d} and len(d) == 2"

# the AI ROI with TLS from the configuration file (C-MOVE: Orthanc connects to our SCP over TLS)
cat >"$work/client.json" <<JSON
{"tls": {"enabled": true, "certificate": "$PKI/client.pem", "private_key": "$PKI/client.key",
         "trusted_certificates": ["$PKI/ca.pem"], "verify_peer": true}}
JSON
run 0 "roi over TLS (configuration file, C-MOVE)" "$work/roi1.json" -- "$IODEEP" roi --config "$work/client.json" \
  "${BASE[@]}" --cache-dir "$work/cache-move" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi over TLS: model retrieved, set stored and found" "$work/roi1.json" \
  "d['exitCode'] == 0 and not d['model']['fromCache'] and d['model']['bytesMoved'] > 0 and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and d['approvedSet']['approvalStatus'] == 'APPROVED'"
SET1=$(jval "$work/roi1.json" "d['approvedSet']['sopInstanceUid']")
run 0 "roi over TLS (flags, C-GET)" "$work/roi2.json" -- "$IODEEP" roi "${BASE[@]}" "${TLS[@]}" --retrieve get \
  --cache-dir "$work/cache-get" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi over TLS by C-GET" "$work/roi2.json" \
  "not d['model']['fromCache'] and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs']"
dnn_uid() { "$IODEEP" inspect --json "$1" | $PY -c 'import json, sys; print(json.load(sys.stdin)["dnn"]["uid"])'; }
[ "$(dnn_uid "$work/cache-move/$BRAIN_SOP.dcm")" = "$(dnn_uid "$BRAIN")" ] &&
  [ "$(dnn_uid "$work/cache-get/$BRAIN_SOP.dcm")" = "$(dnn_uid "$BRAIN")" ] && ok ||
  bad "the model retrieved over TLS is not the uploaded one"
SET2=$(jval "$work/roi2.json" "d['approvedSet']['sopInstanceUid']")
run 0 "rtstruct list over TLS" "$work/list.json" -- "$IODEEP" rtstruct list --config "$work/client.json" "${BASE[@]}" \
  --cache-dir "$work/c1" --series "$SERIES" --json --retrieve-to "$work/rt"
check "rtstruct list over TLS: both sets" "$work/list.json" \
  "{s['sopInstanceUid'] for s in d if s['approvalStatus'] == 'APPROVED' and s['reviewerName'] == 'Doe^Jane'} >= {'$SET1', '$SET2'}"
dciodvfy_clean "$work/rt/$SET1.dcm" "structure set read back over TLS"
[ -z "$(ls -A "$work/outbox" 2>/dev/null)" ] && ok || bad "outbox not empty: $(ls "$work/outbox")"

# our plain client against the TLS-only Orthanc: one line, exit 6, at once
t=$EPOCHREALTIME
run 6 "plain client, TLS-only peer" "$work/plain" -- "$IODEEP" echo "${BASE[@]}"
elapsed "plain client, TLS-only peer" "$t" 4
one_error "$work/plain" AssociationRejected "plain client, TLS-only peer" "DICOM TLS"
grep -qF "$PEER" "$work/plain.err" && ok || bad "the error does not name the peer: $(cat "$work/plain.err")"
# --tls-* options without TLS on
run 2 "--tls-certificate without --tls" "$work/notls" -- "$IODEEP" echo "${BASE[@]}" --tls-certificate "$PKI/client.pem"
one_error "$work/notls" InvalidArgument "--tls-certificate without --tls" "--tls"
# a key file that is not there
run 3 "missing key" "$work/nokey" -- "$IODEEP" echo "${BASE[@]}" --tls --tls-certificate "$PKI/client.pem" \
  --tls-key "$work/absent.key" --tls-trusted "$PKI/ca.pem"
one_error "$work/nokey" FileNotFound "missing key" "absent.key"
# no peer verification: works, and says so
run 0 "--tls-no-verify-peer" "$work/noverify" -- "$IODEEP" echo "${BASE[@]}" --tls --tls-certificate "$PKI/client.pem" \
  --tls-key "$PKI/client.key" --tls-no-verify-peer
grep -q "warning: DICOM TLS without peer verification" "$work/noverify.err" && ok ||
  bad "no warning without peer verification: $(cat "$work/noverify.err")"

# --- storescp over TLS ---------------------------------------------------------------------------------
port=$(free_port)
storescp_tls "$port" server
run 0 "upload to storescp over TLS" "$work/up-scp.json" -- "$IODEEP" upload --pacs "STORESCP@127.0.0.1:$port" \
  --timeout 5 "${TLS[@]}" --json "$BRAIN"
check "storescp over TLS: stored" "$work/up-scp.json" 'd["stored"] == 1'
n=$(find "$work/received" -type f | wc -l)
[ "$n" -eq 1 ] && ok || bad "storescp received $n files, wanted the model"
# a peer whose certificate the rogue CA issued (CN=localhost)
port=$(free_port)
storescp_tls "$port" rogue-server
run 6 "untrusted peer certificate" "$work/rogue" -- "$IODEEP" echo --pacs "STORESCP@127.0.0.1:$port" --timeout 5 "${TLS[@]}"
one_error "$work/rogue" TlsFailure "untrusted peer certificate" "certificate verify failed"
# a peer offering only the retired AES profile (TLS_RSA_WITH_AES_128_CBC_SHA: no forward secrecy)
port=$(free_port)
storescp_tls "$port" server +pa
run 6 "weak-cipher peer" "$work/weak" -- "$IODEEP" echo --pacs "STORESCP@127.0.0.1:$port" --timeout 5 "${TLS[@]}"
one_error "$work/weak" TlsFailure "weak-cipher peer" "cipher suite"

# --- dcmqrscp behind TLS: C-FIND, C-MOVE ---------------------------------------------------------------
mkdir -p "$work/dcmqrscp"
bash "$SRC/scripts/dcmqrscp.sh" start "$work/dcmqrscp" --tls "$PKI" >"$work/dcmqrscp-start.log" 2>&1 ||
  { echo "FAIL: cannot start dcmqrscp with TLS: $(cat "$work/dcmqrscp-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$work/dcmqrscp/env"
Q=(--pacs "$DCMQR_AET@127.0.0.1:$DCMQR_PORT" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5
   --dimse-timeout 30 --outbox-dir "$work/outbox" "${TLS[@]}")
run 0 "upload to dcmqrscp over TLS" "$work/up-qr.json" -- "$IODEEP" upload "${Q[@]}" --json "$BRAIN"
storescu "${STORESCU_TLS[@]}" -aet "$CLIENT_AET" -aec "$DCMQR_AET" 127.0.0.1 "$DCMQR_PORT" "$SERIES_DIR"/slice_022.dcm \
  >"$work/storescu-qr.log" 2>&1 && ok || bad "storescu +tls to dcmqrscp: $(tail -3 "$work/storescu-qr.log")"
run 0 "studies from dcmqrscp over TLS (C-FIND)" "$work/studies-qr.json" -- "$IODEEP" studies "${Q[@]}" --cache-dir "$work/c2" --json
check "studies over TLS" "$work/studies-qr.json" "any(s['patientName'] == 'Example^Brain' for s in d)"
run 0 "roi on dcmqrscp over TLS (C-MOVE)" "$work/roi-qr.json" -- "$IODEEP" roi "${Q[@]}" --cache-dir "$work/cache-qr" \
  --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi on dcmqrscp over TLS" "$work/roi-qr.json" \
  "d['exitCode'] == 0 and d['model']['sopInstanceUid'] == '$BRAIN_SOP' and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs']"
no_partial "$work" "end"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
