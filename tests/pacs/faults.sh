#!/usr/bin/env bash
# Bad input and faults of the PACS workflow against a private Orthanc that this script starts in
# its own directory (its own ports and storage: parallel tests are not disturbed), refuses, kills,
# restarts and stops: unreachable peer, a peer that never answers, wrong called AE title, C-FIND
# without answers, a calling AE or move destination the PACS does not know, our move port taken, a PACS that
# refuses our C-STORE (the set waits in the outbox), a PACS killed
# (then the outbox flushed after its restart), a C-FIND the PACS never answers and our process
# killed after approval while the PACS holds its C-STORE (Lua filters that busy-wait), a model
# whose payload does not match its hash, and the PACS killed in the middle of a 126 MB model
# transfer. (A C-STORE answered with a failure status: faults_dcmqrscp.sh.)
# Usage: faults.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d)
ODIR=$work/orthanc
HOLDER_PID=
cleanup() {
  [ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null
  bash "$SRC/scripts/orthanc.sh" stop "$ODIR" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$ODIR"
bash "$SRC/scripts/orthanc.sh" start "$ODIR" >"$work/orthanc-start.log" 2>&1 ||
  { echo "FAIL: cannot start Orthanc: $(cat "$work/orthanc-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$ODIR/env"
PEER_NAME="$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT"
# the options but --pacs and --aet (given once each)
BASE=(--move-port "$CLIENT_PORT" --timeout 3 --dimse-timeout 10 --cache-dir "$work/cache" --outbox-dir "$work/outbox")
P=(--pacs "$PEER_NAME" --aet "$CLIENT_AET" "${BASE[@]}")
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
SERIES=$(dicom_value "$SERIES_DIR/slice_022.dcm" SeriesInstanceUID)
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# elapsed WHAT START MAX: the step took at most MAX seconds
elapsed() {
  local took; took=$(echo "$EPOCHREALTIME - $2" | bc)
  [ "$(echo "$took <= $3" | bc)" -eq 1 ] && ok || bad "$1: took $took s, more than $3 s"
}
# listen PORT MODE: a Python socket listening on PORT (MODE accept: accepts and never answers);
# waits until it listens; sets HOLDER_PID
listen() {
  rm -f "$work/listening"
  $PY - "$1" "$2" "$work/listening" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("", int(sys.argv[1])))
s.listen(8)
open(sys.argv[3], "w").close()
held = []
while True:
    if sys.argv[2] == "accept":
        held.append(s.accept()[0])
    else:
        time.sleep(1)
PY
  HOLDER_PID=$!
  for _ in $(seq 1 50); do [ -e "$work/listening" ] && return; sleep 0.1; done
  bad "the Python listener on port $1 did not start"
}
unlisten() { kill "$HOLDER_PID" 2>/dev/null; wait "$HOLDER_PID" 2>/dev/null; HOLDER_PID=; }
# cache_clean WHAT: the model cache holds no model, index or partial file
cache_clean() {
  local left; left=$(find "$work/cache" -mindepth 1 2>/dev/null | head -3)
  [ -z "$left" ] && ok || bad "$1: the model cache is not empty: $left"
}

# the PACS: the brain model, a second MR HEAD network, the example series
pack_net "$work/head.dcm" "Tiny MR head (random weights)" MR HEAD 0.5 21
run 0 "upload" "$work/upload.json" -- "$IODEEP" upload "${P[@]}" --json "$BRAIN" "$work/head.dcm"
storescu -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$SERIES_DIR"/slice_*.dcm \
  >"$work/storescu.log" 2>&1 && ok || bad "storescu: $(tail -3 "$work/storescu.log")"

# --- nothing listening on the port: PacsUnreachable at once, naming the peer -------------------------
nobody=$(free_port)
t=$EPOCHREALTIME
run 6 "echo, nothing listening" "$work/unreach" -- "$IODEEP" echo --pacs "ORTHANC@127.0.0.1:$nobody" --aet "$CLIENT_AET" "${BASE[@]}"
one_error "$work/unreach" PacsUnreachable "echo, nothing listening" "ORTHANC@127.0.0.1:$nobody"
elapsed "echo, nothing listening" "$t" 3
run 6 "roi, nothing listening" "$work/unreach-roi" -- "$IODEEP" roi --pacs "ORTHANC@127.0.0.1:$nobody" --aet "$CLIENT_AET" "${BASE[@]}" \
  --instance "$S22" --approve all --reviewer 'Doe^Jane'
one_error "$work/unreach-roi" PacsUnreachable "roi, nothing listening" "ORTHANC@127.0.0.1:$nobody"

# --- a peer that accepts the connection and never answers: an error within the timeout, no hang ------------
silent=$(free_port)
listen "$silent" accept
t=$EPOCHREALTIME
run 6 "echo, silent peer" "$work/silent" -- "$IODEEP" echo --pacs "ORTHANC@127.0.0.1:$silent" --aet "$CLIENT_AET" \
  --timeout 2 --dimse-timeout 2
grep -qF "ORTHANC@127.0.0.1:$silent" "$work/silent.err" && [ "$(wc -l <"$work/silent.err")" -eq 1 ] && ok ||
  bad "silent peer: stderr: $(cat "$work/silent.err")"
elapsed "echo, silent peer (timeout 2 s)" "$t" 6
unlisten

# --- wrong called AE title: the association is rejected --------------------------------------------------
run 6 "echo, wrong called AE" "$work/wrongae" -- "$IODEEP" echo --pacs "NOTORTHANC@127.0.0.1:$ORTHANC_DICOM_PORT" --aet "$CLIENT_AET" "${BASE[@]}"
one_error "$work/wrongae" AssociationRejected "echo, wrong called AE" "NOTORTHANC@127.0.0.1:$ORTHANC_DICOM_PORT"

# --- C-FIND without an answer: an empty list, not an error ---------------------------------------------------
run 0 "studies, no match" "$work/nostudy.json" -- "$IODEEP" studies "${P[@]}" --patient-name 'NOBODY^HERE' --json
check "studies, no match" "$work/nostudy.json" 'd == []'

# --- a calling AE title the PACS does not know: Orthanc aborts the association at the C-MOVE ------------
run 6 "roi, unknown calling AE" "$work/stranger" -- "$IODEEP" roi --pacs "$PEER_NAME" --aet STRANGER "${BASE[@]}" \
  --instance "$S22" --approve all --reviewer 'Doe^Jane'
one_error "$work/stranger" NetworkError "roi, unknown calling AE" "$PEER_NAME: C-MOVE failed: Peer aborted"
grep -q "does the peer know our AE title" "$work/stranger.err" && ok ||
  bad "roi, unknown calling AE: no hint about our AE title: $(cat "$work/stranger.err")"
cache_clean "unknown calling AE"
# --- a move destination the PACS does not know: C-MOVE answered with a failure status --------------------------
run 6 "roi, unknown move destination" "$work/dest" -- "$IODEEP" roi "${P[@]}" --move-aet STRANGER --instance "$S22" \
  --approve all --reviewer 'Doe^Jane'
one_error "$work/dest" DimseFailure "roi, unknown move destination" "does the PACS know our AE title"
grep -qF "$PEER_NAME" "$work/dest.err" && grep -q "status 0x" "$work/dest.err" && ok ||
  bad "unknown move destination: no peer or status: $(cat "$work/dest.err")"
cache_clean "unknown move destination"

# --- our move destination port already taken -------------------------------------------------------------------
listen "$CLIENT_PORT" hold
run 6 "roi, move port taken" "$work/taken" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane'
one_error "$work/taken" NetworkError "roi, move port taken" "port $CLIENT_PORT"
unlisten
cache_clean "move port taken"
no_partial "$work" "move port taken"

# --- a good run, then the PACS refuses our stores -------------------------------------------------------------------
# Orthanc 1.10 answers success to a duplicate instance and to one its Lua filter drops, and gives up
# a storage limit it cannot enforce at start: what it refuses reliably is a store from an AE title
# that may not store (it aborts the association). Retrieval still works, so roi gets as far as the store.
run 0 "roi" "$work/roi1.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi stored" "$work/roi1.json" "d['approvedSet']['stored'] and not d['model']['fromCache']"
allow_store() {  # allow_store true|false: our AE title may store or not, applied by a restart
  bash "$SRC/scripts/orthanc.sh" kill "$ODIR" >/dev/null
  $PY - "$ODIR/orthanc.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["DicomAlwaysAllowStore"] = False
m = c["DicomModalities"]["iodeep"]
if isinstance(m, list):
    m = {"AET": m[0], "Host": m[1], "Port": m[2]}
m["AllowStore"] = sys.argv[2] == "true"
c["DicomModalities"]["iodeep"] = m
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
  bash "$SRC/scripts/orthanc.sh" restart "$ODIR" >"$work/restart.log" 2>&1 || bad "restart: $(cat "$work/restart.log")"
}
allow_store false
run 6 "roi, store refused" "$work/refused.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all \
  --reviewer 'Doe^Jane' --json
check "roi, store refused: in the outbox" "$work/refused.json" \
  "d['exitCode'] == 6 and not d['approvedSet']['stored'] and not d['approvedSet']['foundOnPacs'] and 'C-STORE' in d['approvedSet']['storeError'] and '$PEER_NAME' in d['approvedSet']['storeError'] and d['approvedSet']['outboxFile'] != '' and d['model']['fromCache']"
[ "$(wc -l <"$work/refused.json.err")" -eq 1 ] && grep -q "waits in the outbox" "$work/refused.json.err" &&
  grep -qF "$PEER_NAME" "$work/refused.json.err" && ok || bad "roi, store refused: stderr: $(cat "$work/refused.json.err")"
WAITING=$(jval "$work/refused.json" "d['approvedSet']['sopInstanceUid']")
WFILE=$(jval "$work/refused.json" "d['approvedSet']['outboxFile']")
[ -f "$WFILE" ] && ok || bad "the refused set is not in the outbox: $(ls "$work/outbox")"
run 0 "outbox list" "$work/list1.json" -- "$IODEEP" outbox list --outbox-dir "$work/outbox" --json
check "outbox list: one waiting" "$work/list1.json" \
  "[(e['sopInstanceUid'], e['approvalStatus'], e['attempts']) for e in d] == [('$WAITING', 'APPROVED', 1)] and 'C-STORE' in d[0]['lastError']"
# the administrator's upload fails the same way: failed, exit 6
pack_net "$work/knee.dcm" "Tiny MR knee (random weights)" MR KNEE 1 22
run 6 "upload, store refused" "$work/upfail.json" -- "$IODEEP" upload "${P[@]}" --json "$work/knee.dcm"
check "upload, store refused" "$work/upfail.json" \
  "d['failed'] == 1 and d['stored'] == 0 and d['items'][0]['code'] == 'NetworkError' and '$PEER_NAME' in d['items'][0]['reason']"

# --- the PACS killed: roi fails at once naming it (nothing approved yet); the outbox keeps its set ---------------------
bash "$SRC/scripts/orthanc.sh" kill "$ODIR" >/dev/null
run 6 "roi, PACS killed" "$work/killed" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane'
one_error "$work/killed" PacsUnreachable "roi, PACS killed" "$PEER_NAME"
run 6 "outbox flush, PACS killed" "$work/flush1.json" -- "$IODEEP" outbox flush "${P[@]}" --json
check "outbox flush, PACS killed" "$work/flush1.json" \
  "d['stored'] == [] and [(e['sopInstanceUid'], e['attempts']) for e in d['failed']] == [('$WAITING', 2)] and 'cannot connect' in d['failed'][0]['lastError']"
[ "$(find "$work/outbox" -name '*.dcm' | wc -l)" -eq 1 ] && ok || bad "outbox after a failed flush: $(ls "$work/outbox")"

# --- restarted, allowed to store: flush stores it, the outbox is empty, the PACS returns it ---------------------------
allow_store true
run 0 "outbox flush" "$work/flush2.json" -- "$IODEEP" outbox flush "${P[@]}" --json
check "outbox flush: stored" "$work/flush2.json" "d['stored'] == ['$WAITING'] and d['failed'] == []"
run 0 "outbox list, empty" "$work/list2.json" -- "$IODEEP" outbox list --outbox-dir "$work/outbox" --json
check "outbox list, empty" "$work/list2.json" "d == []"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty after the flush: $(ls -A "$work/outbox")"
run 0 "rtstruct list" "$work/rtlist.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json
check "rtstruct list: the flushed set" "$work/rtlist.json" \
  "[(s['approvalStatus'], s['reviewerName']) for s in d if s['sopInstanceUid'] == '$WAITING'] == [('APPROVED', 'Doe^Jane')]"

# --- Lua filters that hold a request: a C-FIND never answered, a C-STORE answered late ----------------
# Orthanc 1.10 runs them before it answers, one at a time (its Lua context is locked meanwhile). The
# C-FIND of calling AE HOLDFIND and the C-STORE of any structure set are held for 8 s.
cat >"$work/hold.lua" <<'LUA'
local function hold(seconds)
  local t = os.time()
  while os.time() - t < seconds do end
end
function IncomingFindRequestFilter(query, origin)
  if origin['RemoteAet'] == 'HOLDFIND' then
    print('iodeep test: holding a C-FIND')
    hold(8)
  end
  return query
end
function ReceivedInstanceFilter(dicom, origin, info)
  if dicom.Modality == 'RTSTRUCT' then
    print('iodeep test: holding the C-STORE of a structure set')
    hold(8)
  end
  return true
end
LUA
lua_scripts() {  # lua_scripts [FILE]: Orthanc runs the Lua script FILE (none without it), applied by a restart
  bash "$SRC/scripts/orthanc.sh" kill "$ODIR" >/dev/null
  $PY - "$ODIR/orthanc.json" "${1:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["LuaScripts"] = [sys.argv[2]] if sys.argv[2] else []
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
  bash "$SRC/scripts/orthanc.sh" restart "$ODIR" >"$work/restart.log" 2>&1 || bad "restart: $(cat "$work/restart.log")"
}
lua_scripts "$work/hold.lua"
# the association is accepted, the C-FIND never answered: one error after the DIMSE timeout (2 s)
# and the wait for the stuck peer to acknowledge our A-ABORT (the ACSE timeout, --timeout 1 s)
HOLD=(--pacs "$PEER_NAME" --aet HOLDFIND --timeout 1 --dimse-timeout 2)
t=$EPOCHREALTIME
run 6 "studies, C-FIND not answered" "$work/holdfind" -- "$IODEEP" studies "${HOLD[@]}" --json
one_error "$work/holdfind" NetworkError "studies, C-FIND not answered" "$PEER_NAME: C-FIND failed"
elapsed "studies, C-FIND not answered (timeouts 2 + 1 s)" "$t" 5
[ ! -s "$work/holdfind" ] && ok || bad "studies, C-FIND not answered: output: $(head -c 300 "$work/holdfind")"
grep -q "holding a C-FIND" "$ODIR/orthanc.log" && ok || bad "the C-FIND was not held: the filter did not run"
t=$EPOCHREALTIME
run 6 "roi, C-FIND not answered" "$work/holdroi" -- "$IODEEP" roi "${HOLD[@]}" --move-port "$CLIENT_PORT" \
  --cache-dir "$work/cache" --outbox-dir "$work/outbox" --instance "$S22" --approve all --reviewer 'Doe^Jane'
one_error "$work/holdroi" NetworkError "roi, C-FIND not answered" "$PEER_NAME: C-FIND failed"
elapsed "roi, C-FIND not answered (timeouts 2 + 1 s)" "$t" 5

# --- our process killed after approval while the PACS holds the C-STORE: nothing approved is lost --------------
# roi writes the approved set to the outbox before it stores it; it is killed (SIGKILL) while
# Orthanc's filter holds the store, then Orthanc too, before its filter lets the set in: the outbox
# has the only copy, and the flush after Orthanc's restart (without the filters) stores it.
lua_scripts "$work/hold.lua"  # a fresh Orthanc: the held C-FINDs are gone
"$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json >"$work/killroi" 2>"$work/killroi.err" &
roi_pid=$!
held=
for _ in $(seq 1 400); do
  if grep -q "holding the C-STORE" "$ODIR/orthanc.log" && [ -n "$(find "$work/outbox" -name '*.dcm')" ]; then held=1; break; fi
  kill -0 "$roi_pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "$roi_pid" 2>/dev/null
wait "$roi_pid" 2>/dev/null
[ -n "$held" ] && ok || bad "roi killed after approval: the store was never held: $(cat "$work/killroi.err")"
[ ! -s "$work/killroi" ] && ok || bad "roi killed after approval: it finished before the kill: $(head -c 300 "$work/killroi")"
bash "$SRC/scripts/orthanc.sh" kill "$ODIR" >/dev/null
lua_scripts
run 0 "outbox list after the kill" "$work/list3.json" -- "$IODEEP" outbox list --outbox-dir "$work/outbox" --json
check "outbox list: the approved set of the killed roi" "$work/list3.json" \
  "[(e['approvalStatus'], e['attempts'], e['lastError']) for e in d] == [('APPROVED', 0, '')]"
KILLED=$(jval "$work/list3.json" "d[0]['sopInstanceUid']")
run 0 "rtstruct list before the flush" "$work/rtkill1.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json
check "rtstruct list: the set is not on the PACS" "$work/rtkill1.json" "'$KILLED' not in [s['sopInstanceUid'] for s in d]"
run 0 "outbox flush after the kill" "$work/flush3.json" -- "$IODEEP" outbox flush "${P[@]}" --json
check "outbox flush after the kill: stored" "$work/flush3.json" "d['stored'] == ['$KILLED'] and d['failed'] == []"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty after the flush: $(ls -A "$work/outbox")"
run 0 "rtstruct list after the flush" "$work/rtkill2.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json
check "rtstruct list: the set of the killed roi" "$work/rtkill2.json" \
  "[(s['approvalStatus'], s['reviewerName']) for s in d if s['sopInstanceUid'] == '$KILLED'] == [('APPROVED', 'Doe^Jane')]"
no_partial "$work/cache" "roi killed after approval"
# its run directory (the retrieved slice) could not be removed by the killed process: the next roi does
[ -n "$(find "$work" -maxdepth 1 -name "run-$roi_pid-*")" ] && ok || bad "roi killed after approval: no run directory left?"
run 0 "roi after the killed one" "$work/roi-next.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve none --json
no_partial "$work" "roi after the killed one"

# --- a model whose payload does not match its SHA-256, stored behind upload's back, preferred by selection ----------------
pack_net "$work/tampered.dcm" "Tiny MR head (random weights)" MR HEAD 9 23
$PY - "$work/tampered.dcm" <<'PY' || bad "cannot flip a payload bit"
import sys, struct, pydicom
p = sys.argv[1]
payload = bytes(pydicom.dcmread(p).private_block(0x0017, "IODEEP 1")[0x10].value)
b = bytearray(open(p, "rb").read())
i = b.index(payload[:256])
n = struct.unpack("<Q", payload[:8])[0]
b[i + 8 + n + 100] ^= 0x01  # a bit of tensor data
open(p, "wb").write(b)
PY
TAMPERED=2.25.$((RANDOM))$((RANDOM))$((RANDOM))$((RANDOM))
dcmodify -nb -m "SOPInstanceUID=$TAMPERED" "$work/tampered.dcm" >"$work/dcmodify.log" 2>&1 || bad "dcmodify: $(cat "$work/dcmodify.log")"
run 4 "upload refuses the tampered model" "$work/uptampered.json" -- "$IODEEP" upload "${P[@]}" --json "$work/tampered.dcm"
check "upload refuses the tampered model" "$work/uptampered.json" "d['refused'] == 1 and d['items'][0]['code'] == 'ChecksumMismatch'"
storescu -aet "$CLIENT_AET" -aec "$ORTHANC_AET" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$work/tampered.dcm" >"$work/storescu2.log" 2>&1 &&
  ok || bad "storescu of the tampered model: $(tail -3 "$work/storescu2.log")"
run 0 "select prefers the tampered model" "$work/sel.json" -- "$IODEEP" select "${P[@]}" --instance "$S22" --json
check "select prefers the tampered model" "$work/sel.json" "d['chosen']['sopInstanceUid'] == '$TAMPERED'"
rm -rf "$work/cache"
# refused as it enters the cache (its reason on its candidate), the next network that fits is used
run 0 "roi, tampered model" "$work/tampered.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve none --json
check "roi, tampered model: refused with its reason, the next one used" "$work/tampered.json" \
  "d['model']['sopInstanceUid'] != '$TAMPERED' and [c['reason'] for c in d['candidates'] if c['sopInstanceUid'] == '$TAMPERED'][0].startswith('rejected: refused by the model cache: SHA-256 mismatch') and 'payload has' in [c['reason'] for c in d['candidates'] if c['sopInstanceUid'] == '$TAMPERED'][0] and not [c for c in d['candidates'] if c['sopInstanceUid'] == '$TAMPERED'][0]['matched']"
[ ! -e "$work/cache/$TAMPERED.dcm" ] && ok || bad "roi, tampered model: it entered the cache"
no_partial "$work" "tampered model"
# the only network for the slice damaged: the others deleted from the PACS (Orthanc's REST API),
# roi finds no match (exit 7) and says why
$PY - "http://127.0.0.1:$ORTHANC_HTTP_PORT" "$(dicom_value "$BRAIN" SOPInstanceUID)" "$(dicom_value "$work/head.dcm" SOPInstanceUID)" <<'PY' ||
import json, sys, urllib.request
http = sys.argv[1]
for sop in sys.argv[2:]:
    found = json.load(urllib.request.urlopen(urllib.request.Request(f"{http}/tools/lookup", data=sop.encode(), method="POST")))
    for f in found:
        urllib.request.urlopen(urllib.request.Request(f"{http}/instances/{f['ID']}", method="DELETE"))
PY
  bad "cannot delete the other networks from Orthanc"
rm -rf "$work/cache"
run 7 "roi, the only network tampered" "$work/tampered-only.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" \
  --approve all --reviewer 'Doe^Jane' --json
check "roi, the only network tampered: no match with its reason" "$work/tampered-only.json" \
  "d['exitCode'] == 7 and not d['matched'] and ['SHA-256 mismatch' in c['reason'] for c in d['candidates'] if c['sopInstanceUid'] == '$TAMPERED'] == [True] and 'approvedSet' not in d"
cache_clean "the only network tampered"

# --- the PACS killed in the middle of a model transfer --------------------------------------------------------------
# The paper's 126 MB U-Net (random weights), preferred by selection (version 99): the test waits
# until more than 1 MB of it has arrived in the run's receiving directory, then kills Orthanc.
"$IODEEP" arch init "$SRC/examples/dnn-parser-unet/architecture.json" --seed 3 -o "$work/big.safetensors" \
  >"$work/big-init.log" 2>&1 || bad "arch init of the paper U-Net: $(cat "$work/big-init.log")"
"$IODEEP" pack -a "$SRC/examples/dnn-parser-unet/architecture.json" -w "$work/big.safetensors" \
  -n "Paper UNet (random weights)" -m MR -b HEAD --version 99 -o "$work/big.dcm" >"$work/big-pack.log" 2>&1 ||
  bad "pack of the paper U-Net: $(cat "$work/big-pack.log")"
rm -f "$work/big.safetensors"
run 0 "upload the 126 MB network" "$work/upbig.json" -- "$IODEEP" upload "${P[@]}" --json "$work/big.dcm"
rm -rf "$work/cache"
"$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' >"$work/midkill" 2>"$work/midkill.err" &
roi_pid=$!
arrived=
for _ in $(seq 1 1000); do
  arrived=$(find "$work" -path '*/.receiving-*' -name '*.part' -size +1M 2>/dev/null | head -1)
  [ -n "$arrived" ] && break
  kill -0 "$roi_pid" 2>/dev/null || break
  sleep 0.01
done
bash "$SRC/scripts/orthanc.sh" kill "$ODIR" >/dev/null
wait "$roi_pid"; rc=$?
[ -n "$arrived" ] && ok || bad "mid-transfer kill: the model never started to arrive (roi exit $rc: $(cat "$work/midkill.err"))"
[ "$rc" -eq 6 ] && ok || bad "mid-transfer kill: exit $rc, wanted 6: $(cat "$work/midkill.err")"
one_error "$work/midkill" NetworkError "roi, PACS killed mid-transfer" "$PEER_NAME"
cache_clean "PACS killed mid-transfer"
no_partial "$work" "PACS killed mid-transfer"
[ -z "$(find "$work/outbox" -name '*.dcm' -newer "$work/big.dcm" 2>/dev/null)" ] && ok ||
  bad "mid-transfer kill: a structure set was written although nothing was predicted"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
