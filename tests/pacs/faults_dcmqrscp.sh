#!/usr/bin/env bash
# A PACS that answers our C-STORE with a failure status, against a private dcmqrscp (DCMTK) that
# this script starts in its own directory, stops, reconfigures and restarts (Orthanc 1.10 answers
# success even to an instance its Lua filter drops). dcmqrscp refuses an instance larger than its
# per-study quota with 0xA700 (Refused: Out of resources) before it deletes anything to make room:
# with a quota of 1 KB, smaller than any structure set, roi exits with 6 naming the peer and the
# status, the approved set waits in the outbox, an upload fails the same way, and every slice is
# still on the PACS; with the quota lifted, the flush stores the set and the PACS returns it.
# Usage: faults_dcmqrscp.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d)
QDIR=$work/dcmqrscp
cleanup() {
  bash "$SRC/scripts/dcmqrscp.sh" stop "$QDIR" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$QDIR"
bash "$SRC/scripts/dcmqrscp.sh" start "$QDIR" >"$work/dcmqrscp-start.log" 2>&1 ||
  { echo "FAIL: cannot start dcmqrscp: $(cat "$work/dcmqrscp-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$QDIR/env"
PEER_NAME="$DCMQR_AET@127.0.0.1:$DCMQR_PORT"
P=(--pacs "$PEER_NAME" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 3 --dimse-timeout 10
   --cache-dir "$work/cache" --outbox-dir "$work/outbox")
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
STUDY=$(dicom_value "$SERIES_DIR/slice_022.dcm" StudyInstanceUID)
SERIES=$(dicom_value "$SERIES_DIR/slice_022.dcm" SeriesInstanceUID)
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)

# quota SIZE: dcmqrscp's per-study quota (the AETable line of its configuration), applied by a restart
quota() {
  bash "$SRC/scripts/dcmqrscp.sh" stop "$QDIR" >/dev/null
  sed -i "s/^\($DCMQR_AET .*(1000, \)[^)]*)/\1$1)/" "$QDIR/dcmqrscp.cfg"
  grep -q "^$DCMQR_AET .*(1000, $1)" "$QDIR/dcmqrscp.cfg" || bad "quota $1 not set: $(grep "^$DCMQR_AET" "$QDIR/dcmqrscp.cfg")"
  bash "$SRC/scripts/dcmqrscp.sh" restart "$QDIR" >"$work/restart.log" 2>&1 || bad "restart: $(cat "$work/restart.log")"
}
# slices WHAT: the 62 slices of the example series are on the PACS
slices() {
  run 0 "instances, $1" "$work/instances.json" -- "$IODEEP" instances "${P[@]}" --study "$STUDY" --series "$SERIES" --json
  check "instances, $1: the 62 slices" "$work/instances.json" "len({i['sopInstanceUid'] for i in d}) == 62"
}

# the PACS: the brain model (dcmqrscp finds it by the models' StudyDescription), the example series
run 0 "upload" "$work/upload.json" -- "$IODEEP" upload "${P[@]}" --json "$BRAIN"
# (TCP_NODELAY: DCMTK's tools leave Nagle's algorithm on otherwise, which doubles the time)
TCP_NODELAY=1 storescu -aet "$CLIENT_AET" -aec "$DCMQR_AET" 127.0.0.1 "$DCMQR_PORT" "$SERIES_DIR"/slice_*.dcm \
  >"$work/storescu.log" 2>&1 && ok || bad "storescu: $(tail -3 "$work/storescu.log")"
slices "stored"

# --- a quota of 1 KB: the structure set is refused with 0xA700 and waits in the outbox ---------------------
quota 1kb
run 6 "roi, store refused with a status" "$work/refused.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" \
  --approve all --reviewer 'Doe^Jane' --json
check "roi, store refused: in the outbox" "$work/refused.json" \
  "d['exitCode'] == 6 and not d['approvedSet']['stored'] and not d['approvedSet']['foundOnPacs'] and d['approvedSet']['outboxFile'] != '' and '$PEER_NAME' in d['approvedSet']['storeError'] and 'refused to store' in d['approvedSet']['storeError'] and '(status 0xA700)' in d['approvedSet']['storeError']"
WAITING=$(jval "$work/refused.json" "d['approvedSet']['sopInstanceUid']")
WFILE=$(jval "$work/refused.json" "d['approvedSet']['outboxFile']")
[ -f "$WFILE" ] && ok || bad "the refused set is not in the outbox: $(ls "$work/outbox")"
# one stderr line: why (the peer, the status) and which file waits
if [ "$(wc -l <"$work/refused.json.err")" -eq 1 ] && grep -qF "$PEER_NAME" "$work/refused.json.err" &&
   grep -qF "(status 0xA700)" "$work/refused.json.err" && grep -qF "it waits in the outbox: $WFILE" "$work/refused.json.err"; then
  ok
else
  bad "roi, store refused: stderr is not one line naming the peer, the status and the file: $(cat "$work/refused.json.err")"
fi
run 0 "outbox list" "$work/list1.json" -- "$IODEEP" outbox list --outbox-dir "$work/outbox" --json
check "outbox list: the refused set" "$work/list1.json" \
  "[(e['sopInstanceUid'], e['approvalStatus'], e['attempts']) for e in d] == [('$WAITING', 'APPROVED', 1)] and '(status 0xA700)' in d[0]['lastError'] and '$PEER_NAME' in d[0]['lastError']"
# the administrator's upload is refused the same way: failed, exit 6
pack_net "$work/knee.dcm" "Tiny MR knee (random weights)" MR KNEE 1 22
run 6 "upload, store refused with a status" "$work/upfail.json" -- "$IODEEP" upload "${P[@]}" --json "$work/knee.dcm"
check "upload, store refused with a status" "$work/upfail.json" \
  "d['failed'] == 1 and d['stored'] == 0 and d['items'][0]['code'] == 'DimseFailure' and '(status 0xA700)' in d['items'][0]['reason'] and '$PEER_NAME' in d['items'][0]['reason']"
# the PACS deleted nothing to make room, and holds no structure set for the series
slices "after the refusal"
run 0 "rtstruct list, refused" "$work/rtnone.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json
check "rtstruct list: nothing stored" "$work/rtnone.json" "d == []"

# --- the quota lifted: the flush stores the set, the outbox is empty, the PACS returns it ---------------------
quota 2048mb
run 0 "outbox flush" "$work/flush.json" -- "$IODEEP" outbox flush "${P[@]}" --json
check "outbox flush: stored" "$work/flush.json" "d['stored'] == ['$WAITING'] and d['failed'] == []"
run 0 "outbox list, empty" "$work/list2.json" -- "$IODEEP" outbox list --outbox-dir "$work/outbox" --json
check "outbox list, empty" "$work/list2.json" "d == []"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty after the flush: $(ls -A "$work/outbox")"
run 0 "rtstruct list" "$work/rtlist.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json
check "rtstruct list: the flushed set" "$work/rtlist.json" \
  "[(s['sopInstanceUid'], s['approvalStatus'], s['reviewerName']) for s in d] == [('$WAITING', 'APPROVED', 'Doe^Jane')]"
slices "after the flush"
no_partial "$work" "end"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
