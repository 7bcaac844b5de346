# Sourced by the PACS test scripts: pass/fail counting, exit-code checks, JSON assertions and
# the strict dciodvfy check. Needs $work (a temporary directory) set by the caller.
# shellcheck shell=bash
PY=/usr/bin/python3
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }

# run RC WHAT OUT -- command...: runs the command (stdout to OUT, stderr to OUT.err) and checks its
# exit code.
run() {
  local want=$1 what=$2 out=$3 rc t=$EPOCHREALTIME; shift 4
  "$@" >"$out" 2>"$out.err"; rc=$?
  [ -z "${IODEEP_TEST_TIMING:-}" ] || echo "time: $what: $(echo "$EPOCHREALTIME - $t" | bc) s"
  if [ "$rc" -ne "$want" ]; then
    bad "$what: exit $rc, wanted $want; stderr: $(head -c 600 "$out.err"); stdout: $(head -c 600 "$out")"; return 1
  fi
  ok
}

# one_error OUT CODE WHAT [TEXT]: stderr (OUT.err) is one line "iodeep ...: error [CODE]: ..."
# (containing TEXT when given).
one_error() {
  local out=$1 code=$2 what=$3 text=${4:-}
  if [ "$(wc -l <"$out.err")" -ne 1 ] || ! grep -q "error \[$code\]" "$out.err"; then
    bad "$what: stderr is not one [$code] line: $(head -c 600 "$out.err")"; return
  fi
  if [ -n "$text" ] && ! grep -qF -- "$text" "$out.err"; then bad "$what: stderr does not say '$text': $(cat "$out.err")"; return; fi
  ok
}

# check WHAT FILE EXPR: the JSON document in FILE (as d) satisfies the Python expression EXPR.
check() {
  local what=$1 file=$2 expr=$3
  if $PY - "$file" "$expr" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"not JSON: {e}"); sys.exit(1)
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
  then ok; else bad "$what: $expr is false for: $(head -c 1500 "$file")"; fi
}

# jval FILE EXPR: prints the Python expression EXPR evaluated on the JSON in FILE (as d).
jval() {
  $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# dicom_value FILE KEYWORD: a top-level string value of a DICOM file (dcmdump).
dicom_value() {
  dcmdump +P "$2" "$1" 2>/dev/null | head -1 | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p'
}

# shellcheck source=tests/dciodvfy.sh
. "$(dirname "${BASH_SOURCE[0]}")/../dciodvfy.sh"

# no_partial DIR WHAT: no temporary or partial file anywhere under DIR.
no_partial() {
  local left
  left=$(find "$1" \( -name '*.part' -o -name '*.tmp*' -o -name '.receiving-*' -o -name 'run-*' \) 2>/dev/null | head -3)
  [ -z "$left" ] && ok || bad "$2: partial files left: $left"
}

# pack_net OUT NAME MODALITY BODYPART VERSION SEED: the tiny U-Net with random weights (arch init).
pack_net() {
  local out=$1 name=$2 modality=$3 part=$4 version=$5 seed=$6
  "$IODEEP" arch init "$SRC/examples/tiny-unet/architecture.json" --seed "$seed" -o "$out.safetensors" >/dev/null &&
    "$IODEEP" pack -a "$SRC/examples/tiny-unet/architecture.json" -w "$out.safetensors" -n "$name" -m "$modality" \
      -b "$part" --version "$version" --description "random weights: segments nothing" -o "$out" >/dev/null ||
    { echo "FAIL: cannot pack $name"; exit 1; }
}
