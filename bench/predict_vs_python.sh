#!/usr/bin/env bash
# Cold one-shot prediction, side by side in one run: `iodeep predict` against the same pipeline in
# Python (bench/predict_vs_python.py: pydicom + PyTorch eager), on the paper's DNN-parser U-Net
# (31.4 M parameters, random weights from `iodeep arch init`, packed with `iodeep pack`) and
# pydicom's CT_small.dcm. RUNS (default 5) alternating runs of each as whole processes; medians of
# wall time, forward time and overhead (wall minus forward), and the ratio of the overheads.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
IODEEP=${IODEEP:-$root/build/client/cli/iodeep}
RUNS=${RUNS:-5}
SLICE=${SLICE:-/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/examples/dnn-parser-unet/architecture.json" "$work/paper.json"
"$IODEEP" arch init "$work/paper.json" --seed 1 -o "$work/paper.safetensors" >/dev/null
"$IODEEP" pack -a "$work/paper.json" -w "$work/paper.safetensors" -n "Paper UNet (random weights, bench)" \
  -m CT -b CHEST -o "$work/paper.dcm" >/dev/null
now() { date +%s%N; }
for i in $(seq 1 "$RUNS"); do
  t=$(now)
  "$IODEEP" predict --model "$work/paper.dcm" --image "$SLICE" --json "$work/cpp.json" >/dev/null
  echo "cpp $(( ($(now) - t) / 1000 )) $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timingsMs"]["forward"])' "$work/cpp.json")" >>"$work/runs"
  t=$(now)
  /usr/bin/python3 "$here/predict_vs_python.py" "$work/paper.dcm" "$SLICE" >"$work/py.json"
  echo "py $(( ($(now) - t) / 1000 )) $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forwardMs"])' "$work/py.json")" >>"$work/runs"
done
/usr/bin/python3 - "$work/runs" "$RUNS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def med(kind, i): return statistics.median(float(r[i]) for r in rows if r[0] == kind)
out = {}
for kind, name in (("cpp", "iodeep predict"), ("py", "Python (pydicom + PyTorch eager)")):
    wall = med(kind, 1) / 1000.0
    fwd = med(kind, 2)
    over = statistics.median(float(r[1]) / 1000.0 - float(r[2]) for r in rows if r[0] == kind)
    out[kind] = over
    print(f"{name}: wall {wall:.0f} ms, forward {fwd:.0f} ms, overhead (wall - forward) {over:.0f} ms  "
          f"(medians of {sys.argv[2]} runs)")
print(f"overhead ratio Python / iodeep: {out['py'] / out['cpp']:.2f} (target >= 5)")
PY
