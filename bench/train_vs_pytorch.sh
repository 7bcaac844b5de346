#!/usr/bin/env bash
# Our training step against PyTorch's on the same network, weights, batch, input size and thread
# count, in one run (issue 20): the brain U-Net (examples/brain-unet: architecture.json and
# weights.safetensors, read by both sides) on BATCH 1x128x128 samples; ROUNDS rounds, each one
# process of ours (bench/TrainBench.cpp: STEPS timed steps after a first one) then one Python
# process (bench/train_vs_pytorch.py: the same). A step: gradients cleared, forward, BCE + soft
# Dice, backward, Adam (lr 1e-3); batch norms frozen on both sides (iodeep finetune's default).
# Medians over every timed step; the ratio ours / PyTorch (<= 1.0 the target).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
BUILD=${BUILD:-$root/build}
BENCH=${BENCH:-$BUILD/bench/iodeep_train_bench}
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-15}
BATCH=${BATCH:-4}
THREADS=${THREADS:-$(nproc)}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ex="$root/examples/brain-unet"
for r in $(seq 1 "$ROUNDS"); do
  "$BENCH" "$ex/architecture.json" "$ex/weights.safetensors" "$BATCH" "$THREADS" "$STEPS" >>"$work/ours.jsonl"
  "$PY" "$here/train_vs_pytorch.py" "$ex/weights.safetensors" "$BATCH" "$THREADS" "$STEPS" >>"$work/py.jsonl"
  echo "round $r of $ROUNDS done" >&2
done
"$PY" - "$work" "$BATCH" "$THREADS" "$ROUNDS" "$STEPS" <<'PY'
import json, statistics, sys
work, batch, threads, rounds, steps = sys.argv[1:6]
ours = [json.loads(l) for l in open(f"{work}/ours.jsonl")]
py = [json.loads(l) for l in open(f"{work}/py.jsonl")]
med = lambda rows: statistics.median(v for r in rows for v in r["stepMs"])
per_round = [statistics.median(o["stepMs"]) / statistics.median(p["stepMs"]) for o, p in zip(ours, py)]
o, p = med(ours), med(py)
print(f"brain U-Net training step, batch {batch} x 1x128x128, {threads} thread(s) each (ours: {ours[0]['threads']}, "
      f"PyTorch: {py[0]['threads']}); medians of {int(rounds) * int(steps)} timed steps in {rounds} alternating rounds")
print(f"  ours                 {o:8.1f} ms   (first step {statistics.median(r['firstStepMs'] for r in ours):.0f} ms)")
print(f"  PyTorch              {p:8.1f} ms   (first step {statistics.median(r['firstStepMs'] for r in py):.0f} ms)")
print(f"  ours / PyTorch       {o / p:8.3f}   (<= 1.0 the target); per round: "
      + ", ".join(f"{x:.3f}" for x in per_round))
PY
