#!/usr/bin/env bash
# libtorch only where a network runs: the commands that need none never map it (the dynamic
# loader's own trace, LD_DEBUG=files, lists every object it opens), and the ones that do, do.
# Usage: no_torch.sh IODEEP SOURCE_DIR
set -uo pipefail
IODEEP=$1 SRC=$2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fails=0 passes=0
ok()  { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }

MODEL=$SRC/examples/brain-unet/brain-unet.dcm
SLICE=$SRC/examples/brain-unet/series/slice_022.dcm

# maps WANT WHAT -- command...: runs it under LD_DEBUG=files; WANT is yes/no: libtorch opened
maps() {
  local want=$1 what=$2; shift 3
  LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  local opened=no
  if grep -qs "file=libtorch_cpu\.so" "$work"/ld.*; then opened=yes; fi
  rm -f "$work"/ld.*
  if [ "$opened" != "$want" ]; then bad "$what: libtorch mapped: $opened, wanted $want (exit $rc)"; return; fi
  ok
}

# the program itself does not depend on libtorch
if ldd "$IODEEP" | grep -q libtorch; then bad "iodeep links libtorch: $(ldd "$IODEEP" | grep libtorch)"; else ok; fi

# a structure set to show (written by predict, which runs the network)
maps yes "predict --rtstruct" -- "$IODEEP" predict --model "$MODEL" --image "$SLICE" --rtstruct "$work/rt.dcm" \
  --approve all --reviewer "Doe^Jane"
[ -s "$work/rt.dcm" ] && ok || bad "predict wrote no structure set"

maps no "version" -- "$IODEEP" --version
maps no "inspect" -- "$IODEEP" inspect "$MODEL"
maps no "inspect --json" -- "$IODEEP" inspect --json "$MODEL"
maps no "rtstruct show" -- "$IODEEP" rtstruct show "$work/rt.dcm"
maps no "arch check" -- "$IODEEP" arch check "$SRC/examples/brain-unet/architecture.json"
maps no "pack (safetensors)" -- "$IODEEP" pack --architecture "$SRC/examples/tiny-unet/architecture.json" \
  --weights "$SRC/examples/tiny-unet/weights.safetensors" --name "Tiny" --modality CT --body-part CHEST \
  -o "$work/tiny.dcm"
[ -s "$work/tiny.dcm" ] && ok || bad "pack wrote nothing"
# a PACS command (no PACS listens on port 1: exit 6, still no libtorch)
maps no "studies" -- "$IODEEP" studies --pacs "NONE@127.0.0.1:1"
maps no "outbox list" -- "$IODEEP" outbox list --outbox-dir "$work/outbox"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
