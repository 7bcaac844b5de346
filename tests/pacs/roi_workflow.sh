#!/usr/bin/env bash
# The PACS workflow end to end with the iodeep commands against a real peer (the CTest fixture's
# Orthanc or dcmqrscp): echo; upload (three networks packed here with random weights, the trained
# brain model, a file that is not DICOM); the example MR series stored with storescu; models;
# studies/series/instances; select; roi (cold, then warm from the model cache); rtstruct list and
# show of what the PACS returns; several slices in one set; a REJECTED set; C-GET; no match.
# The peers: the fixture's Orthanc or dcmqrscp over DIMSE, or a private Orthanc with Debian's
# DICOMweb plugin over DICOMweb (QIDO-RS, WADO-RS, STOW-RS): plain HTTP without authentication
# (dicomweb), or HTTPS with HTTP Basic authentication (dicomweb-https: SERVER_DIR is then the
# test PKI); the DICOMweb runs end by comparing the proposals with those over DIMSE.
# Usage: roi_workflow.sh IODEEP SERVER_DIR SOURCE_DIR orthanc|dcmqrscp|dicomweb|dicomweb-https
set -uo pipefail
IODEEP=$1 SDIR=$2 SRC=$3 PEER=$4
work=$(mktemp -d)
cleanup() {
  [ ! -f "$work/orthanc/env" ] || bash "$SRC/scripts/orthanc.sh" stop "$work/orthanc" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
# the default audit log ($XDG_DATA_HOME/iodeep/audit.log) of every command below: this run's own
export XDG_DATA_HOME=$work/xdg-data
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

WEB='' PKI=''
case $PEER in
  dicomweb | dicomweb-https)
    extra=(--dicomweb)
    if [ "$PEER" = dicomweb-https ]; then PKI=$SDIR; extra+=(--https "$PKI" --http-user "doctor:s3cret-Pass"); fi
    bash "$SRC/scripts/orthanc.sh" start "$work/orthanc" "${extra[@]}" >"$work/orthanc.out" 2>&1 ||
      { echo "FAIL: cannot start Orthanc with DICOMweb: $(cat "$work/orthanc.out")"; exit 1; }
    SDIR=$work/orthanc ;;
esac
# shellcheck disable=SC1091
. "$SDIR/env" || { echo "FAIL: no $PEER fixture env in $SDIR"; exit 1; }
case $PEER in
  orthanc) AEC=$ORTHANC_AET PORT=$ORTHANC_DICOM_PORT ;;
  dcmqrscp) AEC=$DCMQR_AET PORT=$DCMQR_PORT ;;
  dicomweb | dicomweb-https) AEC=$ORTHANC_AET PORT=$ORTHANC_DICOM_PORT WEB=$DICOMWEB_URL ;;
  *) echo "FAIL: unknown peer $PEER"; exit 1 ;;
esac
PACS_NAME="$AEC@127.0.0.1:$PORT"
CONFIG=()
if [ -n "$WEB" ]; then
  # the DICOMweb peer is an Orthanc: what Orthanc says at C-FIND, it says at QIDO-RS
  PACS_NAME=$WEB
  if [ -n "$PKI" ]; then
    printf 's3cret-Pass\n' >"$work/password"
    cat >"$work/web.json" <<EOF
{"tls": {"enabled": true, "trusted_certificates": ["$PKI/ca.pem"]},
 "dicomweb": {"user": "doctor", "password_file": "$work/password"}}
EOF
    CONFIG=(--config "$work/web.json")
  fi
fi
# each run has its own model cache and outbox
NET=(--pacs "$PACS_NAME" "${CONFIG[@]}" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5 --dimse-timeout 30)
P=("${NET[@]}" --cache-dir "$work/cache" --outbox-dir "$work/outbox")
# the same without the configuration file (the trust policy's run brings its own)
PT=(--pacs "$PACS_NAME" --aet "$CLIENT_AET" --move-port "$CLIENT_PORT" --timeout 5 --dimse-timeout 30
    --cache-dir "$work/cache" --outbox-dir "$work/outbox")
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
BRAIN_NAME="Brain UNet (ITK T1 example)"
BRAIN_SOP=$(dicom_value "$BRAIN" SOPInstanceUID)
BRAIN_DNN=$("$IODEEP" inspect --json "$BRAIN" | $PY -c 'import json, sys; print(json.load(sys.stdin)["dnn"]["uid"])')
STUDY=$(dicom_value "$SERIES_DIR/slice_022.dcm" StudyInstanceUID)
SERIES=$(dicom_value "$SERIES_DIR/slice_022.dcm" SeriesInstanceUID)
S21=$(dicom_value "$SERIES_DIR/slice_021.dcm" SOPInstanceUID)
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)
S23=$(dicom_value "$SERIES_DIR/slice_023.dcm" SOPInstanceUID)
for u in "$BRAIN_SOP" "$BRAIN_DNN" "$STUDY" "$SERIES" "$S21" "$S22" "$S23"; do
  [[ "$u" =~ ^[0-9]+(\.[0-9]+)+$ ]] || { echo "FAIL: not a UID: '$u'"; exit 1; }
done

# --- echo ---------------------------------------------------------------------------------------
run 0 "echo" "$work/echo" -- "$IODEEP" echo "${P[@]}"
grep -qF "$PACS_NAME answers" "$work/echo" && ok || bad "echo output: $(cat "$work/echo")"

if [ -n "$PKI" ]; then
  # HTTPS: the server's certificate is checked against the trusted certificates (the system's
  # store does not know the test CA); turning verification off works, with a warning
  run 6 "echo over HTTPS, the CA not trusted" "$work/echo-untrusted" -- "$IODEEP" echo --pacs "$WEB" --timeout 5
  one_error "$work/echo-untrusted" TlsFailure "echo over HTTPS, the CA not trusted" "$WEB"
  printf '{"tls": {"enabled": true, "verify_peer": false}, "dicomweb": {"user": "doctor", "password_file": "%s"}}' \
    "$work/password" >"$work/noverify.json"
  run 0 "echo over HTTPS without verification" "$work/echo-noverify" -- "$IODEEP" echo --pacs "$WEB" \
    --config "$work/noverify.json" --timeout 5
  grep -q "warning: HTTPS without peer verification" "$work/echo-noverify.err" && ok ||
    bad "no warning without verification: $(cat "$work/echo-noverify.err")"
  printf '{"tls": {"enabled": true, "trusted_certificates": ["%s/ca.pem"]}}' "$PKI" >"$work/nocreds.json"
  run 6 "echo over HTTPS without credentials" "$work/echo-nocreds" -- "$IODEEP" echo --pacs "$WEB" \
    --config "$work/nocreds.json" --timeout 5
  one_error "$work/echo-nocreds" AssociationRejected "echo over HTTPS without credentials" "wants credentials (HTTP 401)"
fi

# --- upload: the brain model, three packed networks, one file that is not DICOM ------------------
pack_net "$work/ct.dcm" "Tiny CT chest (random weights)" CT CHEST 2 11
pack_net "$work/knee.dcm" "Tiny MR knee (random weights)" MR KNEE 3 12
pack_net "$work/head.dcm" "Tiny MR head (random weights)" MR HEAD 0.5 13   # older than the brain model's 1
echo "not a DICOM file" >"$work/invalid.dcm"
run 4 "upload with one invalid file" "$work/upload.json" -- "$IODEEP" upload "${P[@]}" --json "$BRAIN" \
  "$work/ct.dcm" "$work/knee.dcm" "$work/head.dcm" "$work/invalid.dcm"
check "upload summary" "$work/upload.json" 'd["stored"] == 4 and d["refused"] == 1 and d["failed"] == 0'
check "upload refusal" "$work/upload.json" \
  '[(i["outcome"], i.get("code")) for i in d["items"] if i["file"].endswith("invalid.dcm")] == [("refused", "NotDicom")]'
declare -A SOP
for n in ct knee head; do SOP[$n]=$(dicom_value "$work/$n.dcm" SOPInstanceUID); done

# --- the example MR series, with DCMTK's storescu ---------------------------------------------------
storescu -aet "$CLIENT_AET" -aec "$AEC" 127.0.0.1 "$PORT" "$SERIES_DIR"/slice_*.dcm >"$work/storescu.log" 2>&1 &&
  ok || bad "storescu of the series: $(tail -3 "$work/storescu.log")"

# --- models ---------------------------------------------------------------------------------------
# (on the shared fixture Orthanc, pacs_store_find_get_move may have stored its "PACS test net": ignored)
run 0 "models" "$work/models.json" -- "$IODEEP" models "${P[@]}" --json
MINE="{'$BRAIN_SOP', '${SOP[ct]}', '${SOP[knee]}', '${SOP[head]}'}"
check "models: our four networks" "$work/models.json" \
  "{m['sopInstanceUid'] for m in d if m['name'] != 'PACS test net'} == $MINE"
check "models: fields" "$work/models.json" \
  "all({'name', 'version', 'modality', 'bodyPartExamined', 'samplesPerPixel', 'sopInstanceUid', 'seriesInstanceUid', 'studyInstanceUid', 'cached'} <= set(m) for m in d)"
check "models: none cached yet" "$work/models.json" 'not any(m["cached"] for m in d)'
check "models: modalities" "$work/models.json" \
  "{m['sopInstanceUid']: m['modality'] for m in d if m['sopInstanceUid'] in $MINE} == {'$BRAIN_SOP': 'MR', '${SOP[ct]}': 'CT', '${SOP[knee]}': 'MR', '${SOP[head]}': 'MR'}"
if [ "$PEER" != dcmqrscp ]; then
  # Orthanc returns the convention's SeriesDescription and BodyPartExamined at C-FIND
  check "models: described by the PACS" "$work/models.json" \
    "{m['sopInstanceUid']: (m['name'], m['version'], m['bodyPartExamined'], m['samplesPerPixel']) for m in d if m['sopInstanceUid'] in $MINE} == {'$BRAIN_SOP': ('$BRAIN_NAME', '1', 'HEAD', 1), '${SOP[ct]}': ('Tiny CT chest (random weights)', '2', 'CHEST', 1), '${SOP[knee]}': ('Tiny MR knee (random weights)', '3', 'KNEE', 1), '${SOP[head]}': ('Tiny MR head (random weights)', '0.5', 'HEAD', 1)}"
fi

# --- browse ----------------------------------------------------------------------------------------
run 0 "studies" "$work/studies.json" -- "$IODEEP" studies "${P[@]}" --json
check "studies: the example study" "$work/studies.json" \
  "[(s['patientName'], s['studyDescription']) for s in d if s['studyInstanceUid'] == '$STUDY'] == [('Example^Brain', 'Brain T1 (ITK example volume)')]"
check "studies: the models' studies" "$work/studies.json" \
  "sum(1 for s in d if s['studyDescription'] == 'IODEEP MODELS') >= 4"
run 0 "series" "$work/series.json" -- "$IODEEP" series "${P[@]}" --study "$STUDY" --json
check "series: the MR series, not models" "$work/series.json" \
  "[(s['modality'], s['iodeepModels']) for s in d if s['seriesInstanceUid'] == '$SERIES'] == [('MR', False)]"
BRAIN_STUDY=$(dicom_value "$BRAIN" StudyInstanceUID)
BRAIN_SERIES=$(dicom_value "$BRAIN" SeriesInstanceUID)
run 0 "series of the brain model's study" "$work/mseries.json" -- "$IODEEP" series "${P[@]}" --study "$BRAIN_STUDY" --json
if [ "$PEER" != dcmqrscp ]; then
  check "series: the IODeep series flagged" "$work/mseries.json" \
    "[(s['seriesDescription'], s['iodeepModels']) for s in d if s['seriesInstanceUid'] == '$BRAIN_SERIES'] == [('IODEEP $BRAIN_NAME 1', True)]"
else
  # dcmqrscp does not return SeriesDescription: the series is listed, not recognised as models
  check "series: the model series listed" "$work/mseries.json" \
    "[s['modality'] for s in d if s['seriesInstanceUid'] == '$BRAIN_SERIES'] == ['MR']"
fi
run 0 "instances" "$work/instances.json" -- "$IODEEP" instances "${P[@]}" --study "$STUDY" --series "$SERIES" --json
check "instances: 62 slices with slice 22" "$work/instances.json" \
  "len(d) == 62 and len({i['sopInstanceUid'] for i in d}) == 62 and '$S22' in {i['sopInstanceUid'] for i in d}"
if [ "$PEER" != dcmqrscp ]; then
  check "instances: MR image storage 128x128" "$work/instances.json" \
    "all((i['sopClassUid'], i['rows'], i['columns']) == ('1.2.840.10008.5.1.4.1.1.4', '128', '128') for i in d)"
fi

# --- select: the brain model for slice 22 (the MR HEAD 0.5 loses on version; KNEE is rejected) ------
run 0 "select" "$work/select.json" -- "$IODEEP" select "${P[@]}" --instance "$S22" --json
check "select: matched, brain model" "$work/select.json" \
  "d['matched'] and d['chosen']['name'] == '$BRAIN_NAME' and d['chosen']['sopInstanceUid'] == '$BRAIN_SOP' and d['chosen']['rule'] == 'BodyPartExact'"
check "select: the other candidates" "$work/select.json" \
  "{c['sopInstanceUid']: c['matched'] for c in d['candidates'] if c['sopInstanceUid'] in $MINE} == {'$BRAIN_SOP': True, '${SOP[head]}': True, '${SOP[knee]}': False}"
check "select: reasons" "$work/select.json" \
  "all('lost to' in c['reason'] and 'version' in c['reason'] for c in d['candidates'] if c['sopInstanceUid'] == '${SOP[head]}') and all('KNEE' in c['reason'] for c in d['candidates'] if c['sopInstanceUid'] == '${SOP[knee]}')"
no_partial "$work" "select"
if [ "$PEER" != dcmqrscp ]; then
  [ -z "$(ls -A "$work/cache")" ] && ok || bad "select moved model bytes into the cache: $(ls "$work/cache")"
fi

# --- roi, cold then warm -------------------------------------------------------------------------------
run 0 "roi (cold)" "$work/roi1.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi: approved set stored and found" "$work/roi1.json" \
  "d['exitCode'] == 0 and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and d['approvedSet']['approvalStatus'] == 'APPROVED' and d['approvedSet']['contours'] == 1 and 'rejectedSet' not in d"
check "roi: the brain model" "$work/roi1.json" "d['model']['name'] == '$BRAIN_NAME' and d['model']['dnnUid'] == '$BRAIN_DNN'"
if [ "$PEER" != dcmqrscp ]; then
  # exactly the chosen model's bytes moved, nothing retrieved to describe candidates
  check "roi (cold): model retrieved" "$work/roi1.json" \
    "not d['model']['fromCache'] and d['model']['bytesMoved'] > 0 and d['model']['describedCandidates'] == 0 and d['model']['describeBytes'] == 0"
  # verified (SHA-256) once, as it entered the cache
  check "roi (cold): model hashed on entry" "$work/roi1.json" "d['model']['hashed']"
  moved=$(jval "$work/roi1.json" "d['model']['bytesMoved']")
  [ "$moved" = "$(stat -c %s "$work/cache/$BRAIN_SOP.dcm" 2>/dev/null)" ] && ok || bad "bytesMoved $moved is not the cached model's size"
  cached=$(cd "$work/cache" && ls | sort | tr '\n' ' ')
  [ "$cached" = "$BRAIN_SOP.dcm $BRAIN_SOP.json " ] && ok || bad "cache after the cold roi: $cached"
else
  # dcmqrscp returns neither SeriesDescription nor BodyPartExamined: select already retrieved the
  # three MR candidates once into the cache to describe them, so the chosen one is there
  check "roi (cold): candidates described from the cache" "$work/roi1.json" \
    "d['model']['describedCandidates'] == 3 and d['model']['describeBytes'] == 0 and d['model']['fromCache'] and d['model']['bytesMoved'] == 0"
  n=$(find "$work/cache" -name '*.dcm' | wc -l)
  [ "$n" -eq 3 ] && ok || bad "cache after the cold roi holds $n models, wanted the 3 MR candidates"
fi
SET1=$(jval "$work/roi1.json" "d['approvedSet']['sopInstanceUid']")
run 0 "roi (warm)" "$work/roi2.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi (warm): from the cache, no bytes" "$work/roi2.json" \
  "d['model']['fromCache'] and d['model']['bytesMoved'] == 0 and d['model']['describeBytes'] == 0 and d['approvedSet']['stored']"
check "roi (warm): the cached model is not hashed again" "$work/roi2.json" \
  "not d['model']['hashed'] and not any(p['network']['modelHashed'] for p in d['predictions'])"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty after stored sets: $(ls "$work/outbox")"
no_partial "$work" "roi"
if [ "$PEER" = dcmqrscp ]; then
  # what the PACS did not say, models now takes from the cache
  run 0 "models after roi" "$work/models2.json" -- "$IODEEP" models "${P[@]}" --json
  check "models: described from the cache" "$work/models2.json" \
    "[(m['name'], m['bodyPartExamined'], m['cached'], m.get('dnnUid')) for m in d if m['sopInstanceUid'] == '$BRAIN_SOP'] == [('$BRAIN_NAME', 'HEAD', True, '$BRAIN_DNN')]"
fi

# --- the structure set as the PACS returns it ---------------------------------------------------------------
run 0 "rtstruct list" "$work/list.json" -- "$IODEEP" rtstruct list "${P[@]}" --series "$SERIES" --json --retrieve-to "$work/rt"
check "rtstruct list: the approved set" "$work/list.json" \
  "[(s['approvalStatus'], s['reviewerName'], s['studyInstanceUid'], s['rois'], s['contoursOnSeries']) for s in d if s['sopInstanceUid'] == '$SET1'] == [('APPROVED', 'Doe^Jane', '$STUDY', ['Brain'], 1)]"
check "rtstruct list: proposing network" "$work/list.json" \
  "all('$BRAIN_DNN' in s['proposedBy'] and '$BRAIN_NAME' in s['proposedBy'] for s in d if s['sopInstanceUid'] == '$SET1')"
RT1=$work/rt/$SET1.dcm
[ -f "$RT1" ] && ok || bad "the structure set was not retrieved to $RT1"
dciodvfy_clean "$RT1" "retrieved structure set"
run 0 "rtstruct show" "$work/show1.json" -- "$IODEEP" rtstruct show "$RT1" --json
check "rtstruct show: approval" "$work/show1.json" \
  "d['approvalStatus'] == 'APPROVED' and d['reviewerName'] == 'Doe^Jane' and len(d['reviewDate']) == 8 and d['reviewTime'] != ''"
check "rtstruct show: network" "$work/show1.json" "'$BRAIN_DNN' in d['proposedBy'] and '$BRAIN_SOP' in d['proposedBy']"
check "rtstruct show: referenced image" "$work/show1.json" \
  "[r['name'] for r in d['rois']] == ['Brain'] and set(d['rois'][0]['contoursPerImage']) == {'$S22'}"

# --- several slices, one structure set, signed by the reviewer (a self-signed EC certificate) ---------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/reviewer.key" \
  -subj "/CN=Workflow Reviewer" -days 2 -out "$work/reviewer.pem" 2>/dev/null && ok || bad "openssl: no reviewer certificate"
run 0 "roi on 3 slices, signed" "$work/roi3.json" -- "$IODEEP" roi "${P[@]}" --instance "$S21" --instance "$S22" \
  --instance "$S23" --approve all --reviewer 'Doe^Jane' --json \
  --sign-key "$work/reviewer.key" --sign-certificate "$work/reviewer.pem"
check "roi 3 slices: signed" "$work/roi3.json" "d['approvedSet']['signedBy'] == 'CN=Workflow Reviewer'"
check "roi 3 slices: one set, 3 contours" "$work/roi3.json" \
  "len(d['predictions']) == 3 and d['approved'] == [0, 1, 2] and d['approvedSet']['contours'] == 3 and d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and 'rejectedSet' not in d"
SET3=$(jval "$work/roi3.json" "d['approvedSet']['sopInstanceUid']")

# --- DICOM Segmentation (--format both): stored beside the structure set, found again, retrieved, valid -----
run 0 "roi --format both" "$work/roi-seg.json" -- "$IODEEP" roi "${P[@]}" --instance "$S21" --instance "$S22" \
  --approve all --reviewer 'Doe^Jane' --format both --json
check "roi --format both: structure set and SEG stored and found again" "$work/roi-seg.json" \
  "d['approvedSet']['stored'] and d['approvedSet']['foundOnPacs'] and d['approvedSeg']['stored'] and d['approvedSeg']['foundOnPacs'] and d['approvedSeg']['rois'] == 1 and d['approvedSeg']['contours'] == 2 and d['approvedSeg']['sopInstanceUid'] != d['approvedSet']['sopInstanceUid']"
SEG_SOP=$(jval "$work/roi-seg.json" "d['approvedSeg']['sopInstanceUid']")
SEG_SERIES=$(jval "$work/roi-seg.json" "d['approvedSeg']['seriesInstanceUid']")
mkdir -p "$work/segdir"
# (dcmqrscp finds the SEG by C-FIND but answers getscu's C-GET of it with no sub-operation: retrieved
# from the Orthanc peers only)
[ "$PEER" = dcmqrscp ] || getscu -aet "$CLIENT_AET" -aec "$AEC" 127.0.0.1 "$PORT" -k QueryRetrieveLevel=IMAGE -k "StudyInstanceUID=$STUDY" \
  -k "SeriesInstanceUID=$SEG_SERIES" -k "SOPInstanceUID=$SEG_SOP" -od "$work/segdir" >"$work/getscu.log" 2>&1 ||
  bad "getscu of the SEG: $(tail -3 "$work/getscu.log")"
SEGFILE=$(find "$work/segdir" -type f | head -1)
if [ "$PEER" = dcmqrscp ]; then
  :
elif [ -n "$SEGFILE" ]; then
  ok
  dciodvfy_clean "$SEGFILE" "the SEG as the PACS returns it"
  run 0 "seg show" "$work/segshow.json" -- "$IODEEP" seg show "$SEGFILE" --json
  check "seg show: approval, network, frames on the two slices" "$work/segshow.json" \
    "d['sopInstanceUid'] == '$SEG_SOP' and d['approvalStatus'] == 'APPROVED' and d['reviewerName'] == 'Doe^Jane' and d['network']['dnnUid'] == '$BRAIN_DNN' and {r['sopInstanceUid'] for r in d['referencedImages']} == {'$S21', '$S22'} and len(d['segments']) == 1 and d['segments'][0]['algorithmType'] == 'AUTOMATIC'"
else
  bad "the SEG $SEG_SOP was not retrieved from the PACS: $(tail -3 "$work/getscu.log")"
fi

# --- C-GET, a cold cache, and the rejected proposals as their own set --------------------------------------------
G=("${NET[@]}" --retrieve get --cache-dir "$work/cache-get" --outbox-dir "$work/outbox")
run 0 "roi by C-GET, approve 2, rejected" "$work/roi4.json" -- "$IODEEP" roi "${G[@]}" --instance "$S21" \
  --instance "$S22" --instance "$S23" --approve 2 --rejected --reviewer 'Doe^Jane' --json
check "roi by C-GET: sets" "$work/roi4.json" \
  "d['approved'] == [1] and d['approvedSet']['contours'] == 1 and d['approvedSet']['stored'] and d['rejectedSet']['approvalStatus'] == 'REJECTED' and d['rejectedSet']['contours'] == 2 and d['rejectedSet']['stored'] and d['rejectedSet']['foundOnPacs']"
if [ "$PEER" != dcmqrscp ]; then
  check "roi by C-GET: model retrieved by C-GET" "$work/roi4.json" "not d['model']['fromCache'] and d['model']['bytesMoved'] > 0"
else
  check "roi by C-GET: candidates retrieved by C-GET" "$work/roi4.json" "d['model']['describeBytes'] > 0"
fi
[ -f "$work/cache-get/$BRAIN_SOP.json" ] && ok || bad "C-GET: the brain model is not in the cache"
SET4=$(jval "$work/roi4.json" "d['approvedSet']['sopInstanceUid']")
REJ4=$(jval "$work/roi4.json" "d['rejectedSet']['sopInstanceUid']")
run 0 "rtstruct list by C-GET" "$work/list2.json" -- "$IODEEP" rtstruct list "${G[@]}" --series "$SERIES" --json --retrieve-to "$work/rt2"
check "rtstruct list: every set" "$work/list2.json" \
  "{s['sopInstanceUid']: (s['approvalStatus'], s['contoursOnSeries']) for s in d if s['sopInstanceUid'] in ('$SET1', '$SET3', '$SET4', '$REJ4')} == {'$SET1': ('APPROVED', 1), '$SET3': ('APPROVED', 3), '$SET4': ('APPROVED', 1), '$REJ4': ('REJECTED', 2)}"
run 0 "rtstruct show (3 slices)" "$work/show3.json" -- "$IODEEP" rtstruct show "$work/rt2/$SET3.dcm" --json
check "rtstruct show: the 3 requested images" "$work/show3.json" \
  "set(d['rois'][0]['contoursPerImage']) == {'$S21', '$S22', '$S23'} and d['approvalStatus'] == 'APPROVED'"
# the signature survives the PACS: stored, found, retrieved, it verifies and covers the whole set
check "rtstruct show: signed set from the PACS" "$work/show3.json" \
  "d['signed'] and d['signaturesOk'] and d['signatures'][0]['signer']['subject'] == 'CN=Workflow Reviewer'"
run 0 "rtstruct show --trusted (the reviewer's certificate)" "$work/show3t.txt" -- "$IODEEP" rtstruct show \
  "$work/rt2/$SET3.dcm" --trusted "$work/reviewer.pem"
grep -q "trusted: the chain leads to CN=Workflow Reviewer" "$work/show3t.txt" && ok || bad "signed set not trusted: $(cat "$work/show3t.txt")"
dciodvfy_clean "$work/rt2/$REJ4.dcm" "retrieved REJECTED structure set"
run 0 "rtstruct show (rejected)" "$work/showr.json" -- "$IODEEP" rtstruct show "$work/rt2/$REJ4.dcm" --json
check "rtstruct show: rejected" "$work/showr.json" \
  "d['approvalStatus'] == 'REJECTED' and sum(d['rois'][0]['contoursPerImage'].values()) == 2 and '$S22' not in d['rois'][0]['contoursPerImage']"

# --- the trust policy: nothing on this PACS is signed, so with require_signed_networks nothing runs -----------
cat >"$work/trust.json" <<EOF
{"require_signed_networks": true, "trusted_signers": ["$work/reviewer.pem"], "audit_log": "$work/trust-audit.log"}
EOF
if [ -f "$work/web.json" ]; then  # the DICOMweb trust and credentials too
  $PY -c 'import json, sys; a = json.load(open(sys.argv[1])); a.update(json.load(open(sys.argv[2]))); json.dump(a, open(sys.argv[1], "w"))' \
    "$work/trust.json" "$work/web.json"
fi
run 7 "select: untrusted networks" "$work/select-trust.txt" -- "$IODEEP" select --config "$work/trust.json" "${PT[@]}" \
  --instance "$S22"
grep -q "^no match" "$work/select-trust.txt" && ok || bad "select with the trust policy: $(cat "$work/select-trust.txt")"
grep -q "rejected: not trusted: not signed" "$work/select-trust.txt" && ok ||
  bad "select: the refusal is not explained: $(cat "$work/select-trust.txt")"
run 7 "roi: untrusted networks" "$work/roi-trust.json" -- "$IODEEP" roi --config "$work/trust.json" "${PT[@]}" \
  --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "roi: nothing ran" "$work/roi-trust.json" "not d['matched'] and 'model' not in d and 'approvedSet' not in d"
[ ! -s "$work/trust-audit.log" ] && ok || bad "an untrusted network ran: $(cat "$work/trust-audit.log")"

# --- the audit trail of this run's commands -----------------------------------------------------------------
run 0 "audit" "$work/audit.jsonl" -- "$IODEEP" audit --json
$PY - "$work/audit.jsonl" "$BRAIN_DNN" "$S22" <<'PY' && ok || bad "audit trail: $(head -c 1500 "$work/audit.jsonl")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
runs = [e for e in events if e["event"] == "network_run"]
stored = [e for e in events if e["event"] == "rtstruct_stored"]
assert runs and all(e["dnnUid"] == sys.argv[2] and e["signerStatus"] == "unsigned" for e in runs), runs  # known from the cache
assert any(sys.argv[3] in e["sliceUids"] for e in runs), runs
assert stored and all(e["reviewer"] and e["structureSetUid"] and e["pacs"] for e in stored), stored
assert any(e.get("structureSetSigner") == "CN=Workflow Reviewer" for e in stored), stored
PY
run 0 "audit, text" "$work/audit.txt" -- "$IODEEP" audit --event rtstruct_stored --last 1
grep -q "rtstruct_stored .* by " "$work/audit.txt" && grep -q "^1 event(s) in $XDG_DATA_HOME/iodeep/audit.log" "$work/audit.txt" &&
  ok || bad "audit text: $(cat "$work/audit.txt")"

# --- no network for the slice: a FOOT slice (new SOP and series UIDs) ---------------------------------------------
cp "$SERIES_DIR/slice_030.dcm" "$work/foot.dcm"
dcmodify -nb -m "(0018,0015)=FOOT" -m "SeriesInstanceUID=$SERIES.9" -m "SOPInstanceUID=$S22.9" "$work/foot.dcm" >"$work/dcmodify.log" 2>&1 || bad "dcmodify: $(cat "$work/dcmodify.log")"
storescu -aet "$CLIENT_AET" -aec "$AEC" 127.0.0.1 "$PORT" "$work/foot.dcm" >"$work/storescu2.log" 2>&1 &&
  ok || bad "storescu of the FOOT slice: $(tail -3 "$work/storescu2.log")"
run 7 "select: no match" "$work/select-foot.txt" -- "$IODEEP" select "${P[@]}" --instance "$S22.9"
n=$(grep -c "rejected: BodyPartExamined: slice FOOT" "$work/select-foot.txt")
[ "$n" -ge 3 ] && ok || bad "select: not every candidate's reason printed: $(cat "$work/select-foot.txt")"
grep -q "^no match" "$work/select-foot.txt" && ok || bad "select: no 'no match' line: $(cat "$work/select-foot.txt")"
run 7 "roi: no match" "$work/roi-foot.json" -- "$IODEEP" roi "${P[@]}" --instance "$S22.9" --approve all \
  --reviewer 'Doe^Jane' --json
check "roi: no match, reasons" "$work/roi-foot.json" \
  "not d['matched'] and d['exitCode'] == 7 and 'model' not in d and 'approvedSet' not in d and len(d['candidates']) >= 3 and all(c['reason'].startswith('rejected: BodyPartExamined: slice FOOT') for c in d['candidates'])"
[ -z "$(ls -A "$work/outbox")" ] && ok || bad "outbox not empty: $(ls "$work/outbox")"

# --- DICOMweb: the same proposals as over DIMSE, on the same slice of the same Orthanc ------------------------------
if [ -n "$WEB" ]; then
  D=(--pacs "$AEC@127.0.0.1:$PORT" --aet "$CLIENT_AET" --retrieve get --cache-dir "$work/cache-dimse"
     --outbox-dir "$work/outbox" --timeout 5 --dimse-timeout 30)
  # the model developer's command too: a training set from the sets stored over DICOMweb
  run 0 "dataset over DICOMweb" "$work/dataset.json" -- "$IODEEP" dataset "${P[@]}" --json --network "$BRAIN_DNN" \
    -o "$work/ds"
  check "dataset over DICOMweb: the approved slices" "$work/dataset.json" \
    "d['samples'] >= 3 and d['sources']['accepted'] == d['samples'] and d['setsUsed'] >= 1"
  [ -f "$work/ds/manifest.csv" ] && [ "$(find "$work/ds" -name '*.png' | wc -l)" -ge 3 ] && ok ||
    bad "dataset over DICOMweb: no manifest or images in $work/ds"
  run 0 "roi over DIMSE on the same slice" "$work/roi-dimse.json" -- "$IODEEP" roi "${D[@]}" --instance "$S22" \
    --approve all --reviewer 'Doe^Jane' --json
  $PY - "$work/roi1.json" "$work/roi-dimse.json" <<'PY' && ok || bad "DICOMweb and DIMSE proposals differ"
import json, sys
web, dimse = (json.load(open(f)) for f in sys.argv[1:3])
strip = lambda d: [{k: v for k, v in p.items() if k not in ("network", "timingsMs")} for p in d["predictions"]]
assert web["model"]["sopInstanceUid"] == dimse["model"]["sopInstanceUid"], (web["model"], dimse["model"])
assert strip(web) == strip(dimse), (strip(web), strip(dimse))
PY
fi
no_partial "$work" "end"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
