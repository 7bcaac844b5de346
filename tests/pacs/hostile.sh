#!/usr/bin/env bash
# The iodeep commands against a hostile PACS (issue 17, "Tests (real peers, no mocks)"):
# tests/pacs/HostilePacs.cpp, our own DCMTK Query/Retrieve SCP, started here on free loopback ports
# with one misbehaviour per case and stopped by PID. Each case ends with one line naming the problem
# and a documented exit code (docs/cli.md: 0, 6 PACS problem, 7 no match), never a crash or a hang
# (every command bounded by `timeout`), and never a run of a network nobody selected (the audit
# log, `roi --json`, what is on disk):
#   - a C-MOVE / C-GET answered with another instance than the one asked for (the slice, the network);
#   - the instance asked for plus one more;
#   - a third AE C-STOREs a network to our move port during the retrieval;
#   - 100,000 C-FIND responses (--max-find-results, max_find_results, C-CANCEL, peak RSS);
#   - C-FIND responses dribbled one per second, or per 0.7 s (--find-deadline, find_deadline);
#   - a CT ABDOMEN network described at C-FIND as MR HEAD (refused on retrieval; the next one, or 7).
# Usage: hostile.sh IODEEP HOSTILE_PACS SOURCE_DIR
set -uo pipefail
IODEEP_BIN=$1 HOSTILE=$2 SRC=$3
work=$(mktemp -d)
PACS_PID=
# stop_pacs: the running hostile_pacs, by PID (SIGTERM, then SIGKILL after 10 s); it must stop cleanly
stop_pacs() {
  [ -n "$PACS_PID" ] || return 0
  local rc
  kill -TERM "$PACS_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$PACS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PACS_PID" 2>/dev/null
  wait "$PACS_PID" 2>/dev/null; rc=$?
  PACS_PID=
  [ "$rc" -eq 0 ] || bad "hostile_pacs did not stop cleanly on SIGTERM (exit $rc): $(tail -3 "$PACS_LOG")"
}
cleanup() {
  stop_pacs
  rm -rf "$work"
}
trap cleanup EXIT
# nothing of the user's: configuration, caches and audit log default under $work
export HOME=$work/home XDG_CONFIG_HOME=$work/xdg-config XDG_CACHE_HOME=$work/xdg-cache XDG_DATA_HOME=$work/xdg-data
unset IODEEP_CONFIG
# shellcheck source=tests/pacs/lib.sh
. "$(dirname "$0")/lib.sh"

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port) MOVE_PORT=$(free_port)
while [ "$MOVE_PORT" = "$PORT" ]; do MOVE_PORT=$(free_port); done
PEER_NAME="HOSTILE@127.0.0.1:$PORT"
SERIES_DIR=$SRC/examples/brain-unet/series
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
# the client, every call bounded in time (LIMIT seconds, default 60): a hang fails the test, not the suite
mkdir -p "$work/bin"
# shellcheck disable=SC2016  # expanded by the wrapper, when it runs
printf '#!/bin/sh\nexec timeout -k 5 "${LIMIT:-60}" "%s" "$@"\n' "$IODEEP_BIN" >"$work/bin/iodeep"
chmod +x "$work/bin/iodeep"
IODEEP=$work/bin/iodeep
iod() { "$IODEEP" "$@"; }

# --- the PACS's content: the example MR series, the brain network (MR HEAD, version 1), a second
# MR HEAD network (older: 0.5), a CT ABDOMEN network (version 99) -------------------------------------
mkdir -p "$work/nets" "$work/logs"
pack_net "$work/nets/head.dcm" "Tiny MR head (random weights)" MR HEAD 0.5 21
pack_net "$work/nets/ctabd.dcm" "Tiny CT abdomen (random weights)" CT ABDOMEN 99 22
rm -f "$work"/nets/*.safetensors
S22=$(dicom_value "$SERIES_DIR/slice_022.dcm" SOPInstanceUID)
S23=$(dicom_value "$SERIES_DIR/slice_023.dcm" SOPInstanceUID)
BRAIN_SOP=$(dicom_value "$BRAIN" SOPInstanceUID)
HEAD_SOP=$(dicom_value "$work/nets/head.dcm" SOPInstanceUID)
CTABD_SOP=$(dicom_value "$work/nets/ctabd.dcm" SOPInstanceUID)
for u in "$S22" "$S23" "$BRAIN_SOP" "$HEAD_SOP" "$CTABD_SOP"; do
  [[ "$u" =~ ^[0-9]+(\.[0-9]+)+$ ]] || { echo "FAIL: not a UID: '$u'"; exit 1; }
done
# pacs_dir DIR FILE...: a directory the PACS serves: the series and the files given
pacs_dir() {
  local d=$1; shift
  mkdir -p "$d/series" && cp "$SERIES_DIR"/slice_*.dcm "$d/series/" && cp "$@" "$d/" || { echo "FAIL: cannot fill $d"; exit 1; }
}
BASIC=$work/pacs-basic DESCRIBED=$work/pacs-described DESCRIBED_ONLY=$work/pacs-described-only
pacs_dir "$BASIC" "$BRAIN" "$work/nets/head.dcm"             # brain and head: wrong, extra, third AE
pacs_dir "$DESCRIBED" "$BRAIN" "$work/nets/ctabd.dcm"        # brain and the CT network
pacs_dir "$DESCRIBED_ONLY" "$work/nets/ctabd.dcm"            # the CT network alone

# start_pacs CASE DIR FLAGS...: hostile_pacs on $PORT serving DIR, moving to our $MOVE_PORT, its log
# in $work/logs/CASE.pacs.log; waits until it listens. Also gives the case its own directory
# ($CASE_DIR: model cache, outbox, run directories, audit log) and the client's options (P).
start_pacs() {
  local name=$1 dir=$2; shift 2
  stop_pacs
  PACS_LOG=$work/logs/$name.pacs.log
  rm -f "$work/ready"
  "$HOSTILE" --port "$PORT" --aet HOSTILE --dir "$dir" --move-destination "IODEEP=127.0.0.1:$MOVE_PORT" \
    --dimse-timeout 20 --ready "$work/ready" "$@" 2>"$PACS_LOG" &
  PACS_PID=$!
  for _ in $(seq 1 100); do [ -e "$work/ready" ] && break; kill -0 "$PACS_PID" 2>/dev/null || break; sleep 0.05; done
  [ -e "$work/ready" ] || { echo "FAIL: hostile_pacs did not start ($name): $(cat "$PACS_LOG")"; exit 1; }
  CASE_DIR=$work/case-$name
  OUT=$work/logs/$name
  mkdir -p "$CASE_DIR"
  config "$name" ''
  P=("${NET[@]}" --config "$work/logs/$name.config.json")
}
# config NAME MORE: writes $work/logs/NAME.config.json: the case's audit log and MORE (JSON members);
# NET is the client's options but --config
config() {
  printf '{"audit_log": "%s"%s}\n' "$CASE_DIR/audit.log" "${2:+, $2}" >"$work/logs/$1.config.json"
  NET=(--pacs "$PEER_NAME" --aet IODEEP --move-port "$MOVE_PORT" --timeout 3 --dimse-timeout 10
       --cache-dir "$CASE_DIR/cache" --outbox-dir "$CASE_DIR/outbox")
}
# pacs_said WHAT PATTERN: the hostile PACS's log has a line matching the extended regex PATTERN
pacs_said() {
  grep -qE -- "$2" "$PACS_LOG" && ok || bad "$1: the hostile PACS's log has no line like '$2': $(cat "$PACS_LOG")"
}
# fails_with OUT CODE WHAT TEXT...: stderr (OUT.err) has exactly one error line, "error [CODE]",
# containing each TEXT (extended regexes); its other lines are warnings ("iodeep: warning: ...")
fails_with() {
  local out=$1 code=$2 what=$3 t; shift 3
  local errors others
  errors=$(grep -c 'error \[' "$out.err")
  others=$(grep -v 'error \[' "$out.err" | grep -vc '^iodeep: warning: ')
  if [ "$errors" -ne 1 ] || ! grep -q "error \[$code\]" "$out.err" || [ "$others" -ne 0 ]; then
    bad "$what: stderr is not one [$code] error line (and warnings): $(head -c 1500 "$out.err")"; return
  fi
  for t in "$@"; do
    grep 'error \[' "$out.err" | grep -qE -- "$t" || { bad "$what: the error line does not say '$t': $(cat "$out.err")"; return; }
  done
  ok
}
# only_warnings OUT WHAT: stderr holds nothing but warning lines
only_warnings() {
  local others; others=$(grep -vc '^iodeep: warning: ' "$1.err")
  [ "$others" -eq 0 ] && ok || bad "$2: stderr has more than warnings: $(head -c 1500 "$1.err")"
}
# discarded OUT WHAT UID: a warning line "iodeep: warning: discarded ..." names UID
discarded() {
  grep '^iodeep: warning: discarded' "$1.err" | grep -qF -- "$3" && ok ||
    bad "$2: no 'iodeep: warning: discarded ...' line naming $3: $(head -c 1500 "$1.err")"
}
# nowhere WHAT UID: no file of the case directory is named after UID or is the DICOM instance UID
nowhere() {
  local f found=
  while IFS= read -r -d '' f; do
    case $f in *"$2"*) found=$f; break ;; esac
    [ "$f" = "$CASE_DIR/audit.log" ] && continue
    if [ "$(dicom_value "$f" SOPInstanceUID)" = "$2" ]; then found=$f; break; fi
  done < <(find "$CASE_DIR" -type f -print0)
  [ -z "$found" ] && ok || bad "$1: the unrequested instance $2 is on disk: $found"
}
# audit_runs WHAT EXPR: the audit log's network_run events (as r, a list of dicts) satisfy EXPR
audit_runs() {
  iod audit --log "$CASE_DIR/audit.log" --json >"$OUT.audit" 2>"$OUT.audit.err" ||
    { bad "$1: iodeep audit failed: $(cat "$OUT.audit.err")"; return; }
  $PY - "$OUT.audit" "$2" <<'PY' && ok || bad "$1: network runs: $2 is false for: $(head -c 1500 "$OUT.audit")"
import json, sys
r = [e for e in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if e.get("event") == "network_run"]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
# cache_models WHAT UID...: the model cache holds exactly these models (<UID>.dcm; docs/pacs-workflow.md)
cache_models() {
  local what=$1 got want; shift
  got=$(find "$CASE_DIR/cache" -maxdepth 1 -name '*.dcm' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
  want=$(for u in "$@"; do echo "$u.dcm"; done | sort | tr '\n' ' ')
  [ "$got" = "$want" ] && ok || bad "$what: the model cache holds '$got', wanted '$want'"
}

# --- 0. well-behaved (no flag): the brain network on slice_022, nothing to warn about ------------------------------
start_pacs well-behaved "$BASIC"
run 0 "echo" "$OUT.echo" -- iod echo "${P[@]}"
run 0 "well-behaved" "$OUT" -- iod roi "${P[@]}" --instance "$S22" --approve none --json
check "well-behaved: the brain network on slice_022" "$OUT" \
  "d['model']['sopInstanceUid'] == '$BRAIN_SOP' and [p['slice']['sopInstanceUid'] for p in d['predictions']] == ['$S22']"
[ ! -s "$OUT.err" ] && ok || bad "well-behaved: stderr: $(head -c 600 "$OUT.err")"
audit_runs "well-behaved: the brain network ran" "[(e['modelUid'], e['sliceUids']) for e in r] == [('$BRAIN_SOP', ['$S22'])]"
cache_models "well-behaved" "$BRAIN_SOP"

# --- 1. a retrieval answered with another instance: fails (6), nothing arrived that was asked for ------------
# the slice: slice_023 comes instead of slice_022; the network is never fetched
start_pacs wrong-slice "$BASIC" --move-wrong --only images
run 6 "wrong slice (C-MOVE)" "$OUT" -- iod roi "${P[@]}" --instance "$S22" --approve none --json
pacs_said "wrong slice" "move-wrong: sends $S23 .* instead of $S22"
fails_with "$OUT" DimseFailure "wrong slice (C-MOVE)" "$PEER_NAME" "C-MOVE" "received|arrived"
discarded "$OUT" "wrong slice (C-MOVE)" "$S23"
nowhere "wrong slice (C-MOVE)" "$S23"
audit_runs "wrong slice (C-MOVE): no network ran" "r == []"
cache_models "wrong slice (C-MOVE)"
no_partial "$CASE_DIR" "wrong slice (C-MOVE)"
# the network: the older head network comes instead of the brain network that selection chose
for mode in move get; do
  start_pacs "wrong-net-$mode" "$BASIC" --move-wrong --only models
  what="wrong network (C-${mode^^})"
  run 6 "$what" "$OUT" -- iod roi "${P[@]}" --retrieve "$mode" --instance "$S22" --approve none --json
  pacs_said "$what" "move-wrong: sends $HEAD_SOP .* instead of $BRAIN_SOP"
  fails_with "$OUT" DimseFailure "$what" "$PEER_NAME" "C-${mode^^}" "received|arrived"
  discarded "$OUT" "$what" "$HEAD_SOP"
  nowhere "$what" "$HEAD_SOP"
  audit_runs "$what: no network ran" "r == []"
  cache_models "$what"
  no_partial "$CASE_DIR" "$what"
done

# --- 2. the instance asked for and one more: the one asked for is used, the other discarded ----------------
# (for the slice slice_023 comes too, for the network the head network)
for mode in move get; do
  start_pacs "extra-$mode" "$BASIC" --move-extra
  what="extra instance (C-${mode^^})"
  run 0 "$what" "$OUT" -- iod roi "${P[@]}" --retrieve "$mode" --instance "$S22" --approve none --json
  pacs_said "$what" "move-extra: sends $S23 .* as well as $S22"
  pacs_said "$what" "move-extra: sends $HEAD_SOP .* as well as $BRAIN_SOP"
  check "$what: the brain network on slice_022" "$OUT" \
    "d['model']['sopInstanceUid'] == '$BRAIN_SOP' and [p['slice']['sopInstanceUid'] for p in d['predictions']] == ['$S22']"
  only_warnings "$OUT" "$what"
  discarded "$OUT" "$what" "$S23"
  discarded "$OUT" "$what" "$HEAD_SOP"
  nowhere "$what" "$S23"
  nowhere "$what" "$HEAD_SOP"
  audit_runs "$what: only the brain network ran, on slice_022" \
    "[(e['modelUid'], e['sliceUids']) for e in r] == [('$BRAIN_SOP', ['$S22'])]"
  cache_models "$what" "$BRAIN_SOP"
  no_partial "$CASE_DIR" "$what"
done

# --- 3. a third AE C-STOREs to our move port during each retrieval: rejected, the real instances used -------
# (during the slice's C-MOVE it pushes slice_023, during the network's the head network)
start_pacs third-ae "$BASIC" --third-ae ROGUE
run 0 "third AE" "$OUT" -- iod roi "${P[@]}" --instance "$S22" --approve none --json
[ "$(grep -c "third-ae ROGUE -> IODEEP@127.0.0.1:$MOVE_PORT: association rejected" "$PACS_LOG")" -eq 2 ] && ok ||
  bad "third AE: its two associations were not both rejected: $(grep third-ae "$PACS_LOG")"
grep -q "third-ae ROGUE .*association accepted" "$PACS_LOG" && bad "third AE: an association was accepted: $(grep third-ae "$PACS_LOG")" || ok
check "third AE: the brain network on slice_022" "$OUT" \
  "d['model']['sopInstanceUid'] == '$BRAIN_SOP' and [p['slice']['sopInstanceUid'] for p in d['predictions']] == ['$S22']"
only_warnings "$OUT" "third AE"
nowhere "third AE" "$S23"
nowhere "third AE" "$HEAD_SOP"
audit_runs "third AE: only the brain network ran, on slice_022" \
  "[(e['modelUid'], e['sliceUids']) for e in r] == [('$BRAIN_SOP', ['$S22'])]"
cache_models "third AE" "$BRAIN_SOP"

# --- 3b. move_from_host: the move port takes the PACS's associations only from the configured host ------------
# (hostile_pacs connects from 127.0.0.1: with 127.0.0.2 configured it is refused, with 127.0.0.1 accepted)
start_pacs move-from-host "$BASIC"
config move-from-host '"move_from_host": "127.0.0.2"'
run 6 "move_from_host elsewhere" "$OUT" -- iod roi "${NET[@]}" --config "$work/logs/move-from-host.config.json" \
  --instance "$S22" --approve none --json
fails_with "$OUT" DimseFailure "move_from_host elsewhere" "C-MOVE"
grep -q "^iodeep: warning: refused an association to our move port from AE 'HOSTILE' at 127.0.0.1: .*move_from_host" \
  "$OUT.err" && ok || bad "move_from_host elsewhere: no refusal warning: $(head -c 1500 "$OUT.err")"
audit_runs "move_from_host elsewhere: nothing ran" "r == []"
config move-from-host '"move_from_host": "127.0.0.1"'
run 0 "move_from_host the PACS's" "$OUT" -- iod roi "${NET[@]}" --config "$work/logs/move-from-host.config.json" \
  --instance "$S22" --approve none --json
only_warnings "$OUT" "move_from_host the PACS's"
cache_models "move_from_host the PACS's" "$BRAIN_SOP"

# --- 4. 100,000 C-FIND responses: the client stops at its cap, cancels, keeps what it has -----------------------
# Peak RSS: 343 MB for all 100,000 studies as JSON, 49 MB for 10,000 (measured, client of 2026-12-03):
# bounded at 100 MB.
start_pacs flood "$BASIC" --find-flood 100000
/usr/bin/time -f %M -o "$OUT.rss" timeout -k 5 60 "$IODEEP_BIN" studies "${P[@]}" --json >"$OUT" 2>"$OUT.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "C-FIND flood: exit $rc, wanted 0: $(head -c 600 "$OUT.err")"
check "C-FIND flood: the first 10,000 (the default cap)" "$OUT" "len(d) == 10000"
[ "$(wc -l <"$OUT.err")" -eq 1 ] && grep -qE '^iodeep: warning: C-FIND.* stopped after 10000 responses' "$OUT.err" && ok ||
  bad "C-FIND flood: stderr is not one 'iodeep: warning: C-FIND ... stopped after 10000 responses' line: $(head -c 600 "$OUT.err")"
pacs_said "C-FIND flood: the client cancelled" "C-CANCEL received after [0-9]+ responses: answered Cancel"
rss=$(tail -1 "$OUT.rss")
[[ "$rss" =~ ^[0-9]+$ ]] && [ "$rss" -lt 102400 ] && ok || bad "C-FIND flood: peak RSS ${rss} KB, not under 100 MB"
cancels=$(grep -c "C-CANCEL received" "$PACS_LOG")
run 0 "C-FIND flood, --max-find-results 50" "$OUT.50" -- iod studies "${P[@]}" --json --max-find-results 50
check "C-FIND flood: --max-find-results 50" "$OUT.50" "len(d) == 50"
[ "$(wc -l <"$OUT.50.err")" -eq 1 ] && grep -qE '^iodeep: warning: C-FIND.* stopped after 50 responses' "$OUT.50.err" && ok ||
  bad "C-FIND flood, --max-find-results 50: stderr: $(head -c 600 "$OUT.50.err")"
[ "$(grep -c "C-CANCEL received" "$PACS_LOG")" -gt "$cancels" ] && ok || bad "C-FIND flood, 50: no C-CANCEL: $(tail -3 "$PACS_LOG")"
config flood.20 '"max_find_results": 20'
run 0 "C-FIND flood, max_find_results 20" "$OUT.20" -- iod studies "${NET[@]}" --config "$work/logs/flood.20.config.json" --json
check "C-FIND flood: max_find_results 20 (configuration)" "$OUT.20" "len(d) == 20"
grep -qE '^iodeep: warning: C-FIND.* stopped after 20 responses' "$OUT.20.err" && ok ||
  bad "C-FIND flood, max_find_results 20: stderr: $(head -c 600 "$OUT.20.err")"

# --- 5. responses dribbled one per second: the overall deadline ends the query (6), in time -----------------------
start_pacs dribble "$BASIC" --find-dribble 1
t=$EPOCHREALTIME
LIMIT=20 run 6 "C-FIND dribble, --find-deadline 3" "$OUT" -- iod studies "${P[@]}" --json --find-deadline 3
took=$(echo "$EPOCHREALTIME - $t" | bc)
fails_with "$OUT" NetworkError "C-FIND dribble, --find-deadline 3" "$PEER_NAME" "did not finish within 3 s"
[ "$(echo "$took < 6" | bc)" -eq 1 ] && ok || bad "C-FIND dribble, --find-deadline 3: took $took s"
# one per 0.7 s: the deadline falls between two responses, the next one arriving after it (where a
# client that checks the deadline only while it waits would take the late response as the end)
start_pacs dribble-0.7 "$BASIC" --find-dribble 0.7
config dribble.2 '"find_deadline": 2'
t=$EPOCHREALTIME
LIMIT=20 run 6 "C-FIND dribble, find_deadline 2" "$OUT.2" -- iod studies "${NET[@]}" --config "$work/logs/dribble.2.config.json" --json
took=$(echo "$EPOCHREALTIME - $t" | bc)
fails_with "$OUT.2" NetworkError "C-FIND dribble, find_deadline 2 (configuration)" "did not finish within 2 s"
[ "$(echo "$took < 5" | bc)" -eq 1 ] && ok || bad "C-FIND dribble, find_deadline 2: took $took s"

# --- 5b. one C-FIND response of 8 MB: refused past 1 MiB on the wire, inside DCMTK's receive loop -----------------
start_pacs huge-response "$BASIC" --find-huge 8000000
/usr/bin/time -f %M -o "$OUT.rss" timeout -k 5 60 "$IODEEP_BIN" studies "${P[@]}" --json >"$OUT" 2>"$OUT.err"
rc=$?
[ "$rc" -eq 6 ] && ok || bad "C-FIND response of 8 MB: exit $rc, wanted 6: $(head -c 600 "$OUT.err")"
fails_with "$OUT" NetworkError "C-FIND response of 8 MB" "a response larger than 1048576 bytes"
rss=$(tail -1 "$OUT.rss")
[[ "$rss" =~ ^[0-9]+$ ]] && [ "$rss" -lt 102400 ] && ok || bad "C-FIND response of 8 MB: peak RSS ${rss} KB, not under 100 MB"

# --- 6. a CT ABDOMEN network (version 99) described at C-FIND as MR HEAD: chosen from the C-FIND answer,
# refused once its own attributes are read; the brain network is used, or, alone, no match (7) ----------------
start_pacs described "$DESCRIBED" --describe "$work/nets/ctabd.dcm:Modality=MR,BodyPartExamined=HEAD"
pacs_said "described network" "describe: C-FIND answers $CTABD_SOP .* as Modality=MR,BodyPartExamined=HEAD"
run 0 "described network" "$OUT" -- iod roi "${P[@]}" --instance "$S22" --approve none --json
check "described network: refused with the reason, the brain network used" "$OUT" \
  "d['model']['sopInstanceUid'] == '$BRAIN_SOP' and [(c['matched'], 'does not match' in c['reason']) for c in d['candidates'] if c['sopInstanceUid'] == '$CTABD_SOP'] == [(False, True)]"
only_warnings "$OUT" "described network"
audit_runs "described network: only the brain network ran" "[e['modelUid'] for e in r] == ['$BRAIN_SOP']"
cache_models "described network" "$BRAIN_SOP"
no_partial "$CASE_DIR" "described network"

start_pacs described-only "$DESCRIBED_ONLY" --describe "$CTABD_SOP:Modality=MR,BodyPartExamined=HEAD"
run 7 "described network alone" "$OUT" -- iod roi "${P[@]}" --instance "$S22" --approve all --reviewer 'Doe^Jane' --json
check "described network alone: no match, with the reason" "$OUT" \
  "d['exitCode'] == 7 and not d['matched'] and [(c['matched'], 'does not match' in c['reason']) for c in d['candidates'] if c['sopInstanceUid'] == '$CTABD_SOP'] == [(False, True)] and 'approvedSet' not in d"
only_warnings "$OUT" "described network alone"
audit_runs "described network alone: no network ran" "r == []"
cache_models "described network alone"
no_partial "$CASE_DIR" "described network alone"

stop_pacs
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
