#!/usr/bin/env bash
# The cost of signatures on a large network (trust issue): the paper's DNN-parser U-Net (31.4 M
# parameters, random weights from `iodeep arch init`, packed: a ~126 MB object) and a test PKI
# (tests/fixtures/make_pki.sh). RUNS (default 5) alternating runs of each step as whole processes;
# medians of wall time:
#   sign            `iodeep sign` (reads, hashes the whole data set, signs, writes atomically)
#   inspect         `iodeep inspect` of the unsigned object (reads, SHA-256 of the payload)
#   inspect signed  `iodeep inspect` of the signed one (the same, plus the signature's MAC)
#   dcmsign verify  DCMTK's own `dcmsign --verify` of the signed one, for reference
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
IODEEP=${IODEEP:-$root/build/client/cli/iodeep}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$root/tests/fixtures/make_pki.sh" "$work/pki" >/dev/null
cp "$root/examples/dnn-parser-unet/architecture.json" "$work/paper.json"
"$IODEEP" arch init "$work/paper.json" --seed 1 -o "$work/paper.safetensors" >/dev/null
"$IODEEP" pack -a "$work/paper.json" -w "$work/paper.safetensors" -n "Paper UNet (random weights, bench)" \
  -m CT -b CHEST -o "$work/paper.dcm" >/dev/null
echo "object: $(stat -c %s "$work/paper.dcm") bytes"
now() { date +%s%N; }
step() {  # NAME COMMAND...
  local name=$1
  shift
  local t
  t=$(now)
  "$@" >/dev/null 2>"$work/step.err" || { cat "$work/step.err" >&2; return 1; }
  echo "$name $(( ($(now) - t) / 1000 ))" >>"$work/runs"
}
for _ in $(seq 1 "$RUNS"); do
  rm -f "$work/signed.dcm"
  step sign "$IODEEP" sign "$work/paper.dcm" --key "$work/pki/signer.key" --certificate "$work/pki/signer.pem" \
    -o "$work/signed.dcm"
  step inspect "$IODEEP" inspect "$work/paper.dcm"
  step inspect_signed "$IODEEP" inspect "$work/signed.dcm" --trusted "$work/pki/ca.pem"
  step dcmsign_verify dcmsign --verify "$work/signed.dcm" +cf "$work/pki/ca.pem"
done
/usr/bin/python3 - "$work/runs" "$RUNS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {k: statistics.median(float(r[1]) / 1000.0 for r in rows if r[0] == k) for k in {r[0] for r in rows}}
for k, label in (("sign", "iodeep sign"), ("inspect", "iodeep inspect (unsigned)"),
                 ("inspect_signed", "iodeep inspect (signed, --trusted)"), ("dcmsign_verify", "dcmsign --verify")):
    print(f"{label}: {med[k]:.0f} ms (median of {sys.argv[2]})")
print(f"verification adds {med['inspect_signed'] - med['inspect']:.0f} ms to inspect "
      f"({med['inspect_signed'] / med['inspect']:.2f}x)")
PY
