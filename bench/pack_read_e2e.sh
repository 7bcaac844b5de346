#!/usr/bin/env bash
# End-to-end: `iodeep pack` and `iodeep inspect` on a 100 MB safetensors payload, RUNS times each
# (default 5). Prints the median wall time, throughput and peak RSS (GNU time), and the ratio of
# peak RSS to payload size: the figure that tells whether the payload is copied more than needed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IODEEP=${IODEEP:-$here/../build/client/cli/iodeep}
RUNS=${RUNS:-5}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work/w.safetensors" <<'PY'
import json, struct, sys, numpy as np
a = np.random.default_rng(1).standard_normal(25 * 1024 * 1024).astype("<f4")
h = json.dumps({"big.weight": {"dtype": "F32", "shape": [a.size], "data_offsets": [0, a.nbytes]}}).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + a.tobytes())
PY
echo '{"layers": []}' >"$work/arch.json"
size=$(stat -c %s "$work/w.safetensors")
measure() {  # measure NAME command... (the first call, "startup", is the baseline)
  local name=$1; shift
  for _ in $(seq "$RUNS"); do /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null; cat "$work/t"; done >"$work/$name"
  /usr/bin/python3 - "$name" "$size" "$work/$name" <<'PY'
import statistics, sys
import os
name, size, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [tuple(map(float, l.split())) for l in open(path) if l.strip()]
t = statistics.median(r[0] for r in rows); rss = max(r[1] for r in rows) * 1024
base = os.path.join(os.path.dirname(path), "startup")
if name == "startup":
    print(f"startup  median {t:6.3f} s, peak RSS {rss / 1e6:6.1f} MB (process start, libraries loaded, no work)")
    sys.exit(0)
bt, brss = [float(x) for x in open(base + ".summary").read().split()]
net_t, net_rss = t - bt, rss - brss
print(f"{name:8s} median {t:6.3f} s over {len(rows)} runs; minus startup {net_t:6.3f} s = {size / net_t / 1e6:7.1f} MB/s; "
      f"peak RSS {rss / 1e6:6.1f} MB, {net_rss / 1e6:6.1f} MB above startup = {net_rss / size:4.2f} x payload")
PY
}
echo "payload: $((size / 1000000)) MB"
measure startup "$IODEEP" version
/usr/bin/python3 -c 'import statistics,sys; r=[tuple(map(float,l.split())) for l in open(sys.argv[1]) if l.strip()]; print(statistics.median(x[0] for x in r), max(x[1] for x in r)*1024)' "$work/startup" >"$work/startup.summary"
measure pack "$IODEEP" pack -a "$work/arch.json" -w "$work/w.safetensors" -n bench -m MR -b HEAD -o "$work/m.dcm"
measure inspect "$IODEEP" inspect "$work/m.dcm"
