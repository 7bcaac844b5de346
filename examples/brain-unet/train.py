#!/usr/bin/python3
"""Trains the brain U-Net of architecture.json on the T1 volume and brain mask that Debian's
insighttoolkit5-examples ships, and writes weights.safetensors (names bound by iodeep's rules).
Reproducible: fixed seeds, single-threaded determinism is not guaranteed by PyTorch on every CPU,
so re-training gives weights whose Dice matches within a few thousandths, not identical bytes.

  /usr/bin/python3 train.py [--epochs N] [--out weights.safetensors]

Data: KmeansTest_T1UCharRaw.nii.gz (T1 MR, 128x128x62, 2x2x3 mm) and
KmeansTest_T1RawSkullStrip.nii.gz (labels 4, 5, 6 inside the brain -> mask = label > 0).
Slices are the third axis (coronal). Held out for validation: slices 20-25 and 44-47 (two
contiguous blocks). Inside a block both neighbours of a slice are held out too, but each block's
end slices have one trained neighbour 3 mm away: 19 (of 20), 26 (of 25), 43 (of 44) and 48 (of 47)
are in training. The report lists them ("trained_neighbours_of_validation").
"""
import argparse
import json
import os
import struct

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data/"
VALIDATION = list(range(20, 26)) + list(range(44, 48))
here = os.path.dirname(os.path.abspath(__file__))


def load():
    t1 = nib.load(DATA + "KmeansTest_T1UCharRaw.nii.gz").get_fdata().astype(np.float32)
    mask = (nib.load(DATA + "KmeansTest_T1RawSkullStrip.nii.gz").get_fdata() > 0).astype(np.float32)
    # slice k as an image: rows = superior->inferior (j reversed), columns = i (towards the left)
    images = np.stack([t1[:, ::-1, k].T for k in range(t1.shape[2])])
    masks = np.stack([mask[:, ::-1, k].T for k in range(mask.shape[2])])
    return images, masks


def preprocess(img):
    """architecture.json "preprocessing": percentile window 1-99, then min-max to [0, 1]."""
    lo, hi = np.percentile(img, [1.0, 99.0])
    if hi <= lo:
        return np.zeros_like(img)
    return (np.clip(img, lo, hi) - lo) / (hi - lo)


class DoubleConv(torch.nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class BrainUNet(torch.nn.Module):
    """Attribute names = the layer ids of architecture.json."""

    def __init__(self):
        super().__init__()
        self.enc1, self.enc2, self.bott = DoubleConv(1, 16), DoubleConv(16, 32), DoubleConv(32, 64)
        self.up2 = torch.nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec2 = DoubleConv(64, 32)
        self.up1 = torch.nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = DoubleConv(32, 16)
        self.head = torch.nn.Conv2d(16, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bott(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        return self.head(self.dec1(torch.cat([self.up1(d2), e1], 1)))


def dice(pred, truth):
    inter = (pred * truth).sum()
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * inter / total)


def write_safetensors(path, state):
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt", "trained_by": "examples/brain-unet/train.py"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", default=os.path.join(here, "weights.safetensors"))
    args = ap.parse_args()
    torch.manual_seed(20261122)
    np.random.seed(20261122)
    torch.set_num_threads(os.cpu_count() or 1)
    images, masks = load()
    x = torch.from_numpy(np.stack([preprocess(i) for i in images]))[:, None]
    y = torch.from_numpy(masks)[:, None]
    train = [k for k in range(len(x)) if k not in VALIDATION]
    model = BrainUNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
    for epoch in range(args.epochs):
        model.train()
        perm = np.random.permutation(train)
        for start in range(0, len(perm), 8):
            idx = perm[start:start + 8]
            xb, yb = x[idx], y[idx]
            if np.random.rand() < 0.5:  # augmentation: left-right flip, intensity gain
                xb, yb = xb.flip(3), yb.flip(3)
            xb = xb * float(np.random.uniform(0.9, 1.1))
            logits = model(xb)
            p = torch.sigmoid(logits)
            loss = F.binary_cross_entropy_with_logits(logits, yb) + 1 - (2 * (p * yb).sum() + 1) / (p.sum() + yb.sum() + 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            model.eval()
            with torch.no_grad():
                pv = (torch.sigmoid(model(x[VALIDATION])) > 0.5).float()
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, validation Dice {dice(pv, y[VALIDATION]):.4f}", flush=True)
    model.eval()
    with torch.no_grad():
        pv = (torch.sigmoid(model(x[VALIDATION])) > 0.5).float()
        per_slice = {k: dice(pv[i], y[VALIDATION][i]) for i, k in enumerate(VALIDATION)}
    write_safetensors(args.out, model.state_dict())
    report = {"validation_slices": VALIDATION, "dice_overall": dice(pv, y[VALIDATION]),
              "dice_per_slice": per_slice, "epochs": args.epochs,
              "parameters": sum(p.numel() for p in model.parameters()),
              "trained_neighbours_of_validation": sorted({n for k in VALIDATION for n in (k - 1, k + 1)} - set(VALIDATION))}
    with open(os.path.join(here, "training-report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
