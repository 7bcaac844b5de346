#!/usr/bin/env bash
# Our forward pass against PyTorch's best on the same network, weights, input and thread count, in
# one run (issue 11, item 3). The paper's U-Net (examples/dnn-parser-unet/architecture.json, weights
# from `iodeep arch init --seed 1`, one safetensors file read by both sides) on a 3xSIZExSIZE input:
# ROUNDS rounds, each one process of ours (bench/ForwardBench.cpp: ITER timed passes after a first
# one) then one Python process (bench/forward_vs_pytorch.py: eager and
# torch.jit.optimize_for_inference(freeze(trace(model))) alternating, ITER timed passes each after a
# first one). Medians over every timed pass; the ratio ours / optimised (<= 1.0 required, 0.8 the
# goal); conv FLOP/s achieved (FLOPs from our static shapes) next to one big convolution timed alone
# (the machine's throughput); our output's largest difference from PyTorch's (the last round's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
BUILD=${BUILD:-$root/build}
IODEEP=${IODEEP:-$BUILD/client/cli/iodeep}
BENCH=${BENCH:-$BUILD/bench/iodeep_forward_bench}
ROUNDS=${ROUNDS:-5}
ITER=${ITER:-3}
SIZE=${SIZE:-256}
THREADS=${THREADS:-$(nproc)}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
arch="$root/examples/dnn-parser-unet/architecture.json"
"$IODEEP" arch init "$arch" --seed 1 -o "$work/w.safetensors" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  "$BENCH" "$arch" "$work/w.safetensors" "$SIZE" "$THREADS" "$ITER" "$work/ours.f32" >>"$work/ours.jsonl"
  "$PY" "$here/forward_vs_pytorch.py" "$work/w.safetensors" "$SIZE" "$THREADS" "$ITER" "$work/ours.f32" \
    >>"$work/py.jsonl"
  echo "round $r of $ROUNDS done" >&2
done
"$PY" "$here/forward_vs_pytorch.py" --conv "$THREADS" 5 >"$work/conv.json"
"$PY" - "$work" "$SIZE" "$THREADS" "$ROUNDS" "$ITER" <<'PY'
import json, statistics, sys
work, size, threads, rounds, it = sys.argv[1:6]
ours = [json.loads(l) for l in open(f"{work}/ours.jsonl")]
py = [json.loads(l) for l in open(f"{work}/py.jsonl")]
conv = json.load(open(f"{work}/conv.json"))
med = lambda key, rows: statistics.median(v for r in rows for v in r[key])
o, e, p = med("forwardMs", ours), med("eagerMs", py), med("optimisedMs", py)
flops = ours[0]["convFlops"]
print(f"paper U-Net, 3x{size}x{size}, {threads} thread(s) each (ours: {ours[0]['threads']}, PyTorch: "
      f"{py[0]['threads']}); medians of {int(rounds) * int(it)} timed passes in {rounds} alternating rounds")
print(f"  ours                      {o:8.1f} ms   {flops / o / 1e6:6.1f} GFLOP/s"
      f"   (build {statistics.median(r['buildMs'] for r in ours):.0f} ms, warm-up at build: "
      f"{ours[0]['warmedUp']}, first pass {statistics.median(r['firstForwardMs'] for r in ours):.0f} ms)")
print(f"  PyTorch eager             {e:8.1f} ms   {flops / e / 1e6:6.1f} GFLOP/s")
print(f"  PyTorch optimised         {p:8.1f} ms   {flops / p / 1e6:6.1f} GFLOP/s"
      f"   (trace+freeze+optimize {statistics.median(r['optimiseMs'] for r in py):.0f} ms)")
print(f"  conv FLOPs per pass       {flops / 1e9:8.2f} G")
print(f"  one 3x3 conv 256->256 on 128x128 alone: eager {conv['eagerGflops']:.1f} GFLOP/s, "
      f"optimised {conv['optimisedGflops']:.1f} GFLOP/s (the machine's conv throughput)")
print(f"  ours / optimised          {o / p:8.3f}   (<= 1.0 required, 0.8 the goal)")
print(f"  ours / eager              {o / e:8.3f}")
print(f"  largest |ours - PyTorch|: eager {py[-1]['oursVsEager']:.2e}, optimised {py[-1]['oursVsOptimised']:.2e}"
      f" (eager vs optimised {py[-1]['eagerVsOptimised']:.2e})")
PY
