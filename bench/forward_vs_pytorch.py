"""The PyTorch side of bench/forward_vs_pytorch.sh (Debian's python3-torch, the same libtorch as
ours): the paper's U-Net (tests/fixtures/paper_unet.py) with the weights of WEIGHTS.safetensors
(written by `iodeep arch init`: the values our side binds), on the same 3xSIZExSIZE input
((i % 251) / 251, as bench/ForwardBench.cpp fills it), timed as PyTorch eager and as
torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model.eval(), x))), alternating
one pass of each, ITERATIONS times, after one untimed pass of each. Prints one JSON line.

  forward_vs_pytorch.py WEIGHTS.safetensors SIZE THREADS ITERATIONS [OURS.f32]
  forward_vs_pytorch.py --conv THREADS ITERATIONS   (the machine's convolution throughput)

With OURS.f32 (our output for the same input) it adds the largest absolute difference of ours
from eager and from the optimised module. --conv times one big 3x3 convolution alone (256 -> 256
channels on 128x128, 19.3 GFLOP) eagerly and optimised, as the machine's reference throughput."""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from paper_unet import PaperUNet, tensors_from_safetensors  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        return tensors_from_safetensors(f.read())


def optimised(model, x):
    with torch.no_grad():
        return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model.eval(), x)))


def alternate(fns, x, iterations):
    times = {k: [] for k in fns}
    outs = {}
    with torch.no_grad():
        for k, f in fns.items():  # one untimed pass each: primitive creation, allocations
            outs[k] = f(x)
        for _ in range(iterations):
            for k, f in fns.items():
                t = time.perf_counter()
                outs[k] = f(x)
                times[k].append((time.perf_counter() - t) * 1000.0)
    return times, outs


def conv_throughput(iterations):
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).eval()
    x = torch.rand(1, 256, 128, 128)
    flops = 2.0 * 128 * 128 * 256 * 256 * 9
    times, _ = alternate({"eager": conv, "optimised": optimised(conv, x)}, x, iterations)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {"convFlops": flops, "eagerMs": med["eager"], "optimisedMs": med["optimised"],
            "eagerGflops": flops / med["eager"] / 1e6, "optimisedGflops": flops / med["optimised"] / 1e6}


def main():
    if sys.argv[1] == "--conv":
        torch.set_num_threads(int(sys.argv[2]))
        print(json.dumps(conv_throughput(int(sys.argv[3]))))
        return
    weights, size, threads, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    net = PaperUNet()
    net.load_state_dict({"blocks." + k: v for k, v in read_safetensors(weights).items()})
    net.eval()
    n = 3 * size * size
    x = torch.from_numpy((np.arange(n) % 251).astype(np.float32) / np.float32(251.0)).reshape(1, 3, size, size)
    t = time.perf_counter()
    opt = optimised(net, x)
    prepare_ms = (time.perf_counter() - t) * 1000.0
    times, outs = alternate({"eager": net, "optimised": opt}, x, iterations)
    result = {"threads": torch.get_num_threads(), "optimiseMs": prepare_ms, "eagerMs": times["eager"],
              "optimisedMs": times["optimised"],
              "eagerVsOptimised": float((outs["eager"] - outs["optimised"]).abs().max())}
    if len(sys.argv) > 5:
        ours = torch.from_numpy(np.fromfile(sys.argv[5], dtype=np.float32)).reshape(outs["eager"].shape)
        result["oursVsEager"] = float((ours - outs["eager"]).abs().max())
        result["oursVsOptimised"] = float((ours - outs["optimised"]).abs().max())
    print(json.dumps(result))


main()
