"""The PyTorch side of bench/train_vs_pytorch.sh (Debian's python3-torch, the same libtorch as
ours): the brain U-Net of examples/brain-unet/train.py with the weights of WEIGHTS.safetensors,
BATCH samples filled as bench/TrainBench.cpp fills them (input i of sample s = ((i + 97 s) % 251)
/ 251, target = input > 0.5), trained as iodeep finetune trains: Adam (lr 1e-3), BCE-with-logits +
(1 - soft Dice), batch norms frozen (evaluation mode, affine parameters trained). STEPS + 1 steps
(zero_grad, forward, loss, backward, step), the first untimed. Prints one JSON line.

  train_vs_pytorch.py WEIGHTS.safetensors BATCH THREADS STEPS"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "fixtures"))
sys.path.insert(0, os.path.join(here, "..", "examples", "brain-unet"))
from paper_unet import tensors_from_safetensors  # noqa: E402
from train import BrainUNet  # noqa: E402


def main():
    weights, batch, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model = BrainUNet()
    with open(weights, "rb") as f:
        model.load_state_dict(tensors_from_safetensors(f.read()))
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()  # frozen statistics, as iodeep finetune's default
    n = 128 * 128
    i = torch.arange(n, dtype=torch.int64)
    x = torch.stack([((i + 97 * s) % 251).float().div(251.0) for s in range(batch)]).reshape(batch, 1, 128, 128)
    t = (x > 0.5).float()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimiser.zero_grad()
        out = model(x)
        p = torch.sigmoid(out)
        dice = ((2 * (p * t).sum((0, 2, 3)) + 1) / (p.sum((0, 2, 3)) + t.sum((0, 2, 3)) + 1)).mean()
        loss = F.binary_cross_entropy_with_logits(out, t) + (1 - dice)
        loss.backward()
        optimiser.step()

    times = []
    for s in range(steps + 1):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000.0)
    print(json.dumps({"threads": torch.get_num_threads(), "firstStepMs": times[0], "stepMs": times[1:]}))


if __name__ == "__main__":
    main()
