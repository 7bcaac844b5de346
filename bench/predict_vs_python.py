"""The Python side of bench/predict_vs_python.sh: the same one-shot prediction as `iodeep predict`
with pydicom and PyTorch eager (Debian's python3-pydicom, python3-torch): read the IODeep object and
its embedded safetensors weights, build the paper's U-Net (tests/fixtures/paper_unet.py) with those
weights, read and decode the slice with its modality LUT, fit it to the network's 224x224x3 input
(grey replicated, as our pre-processing does), forward, probabilities back on the slice grid,
threshold, outer contour. Prints one JSON line: forward ms and the number of inside pixels."""
import json
import os
import sys
import time

import numpy as np
import pydicom
import torch
from pydicom.pixel_data_handlers.util import apply_modality_lut

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from paper_unet import PaperUNet, tensors_from_safetensors  # noqa: E402

model_path, slice_path = sys.argv[1], sys.argv[2]
torch.set_num_threads(os.cpu_count())

# the model: the private block's payload (safetensors) -> state dict
obj = pydicom.dcmread(model_path)
block = obj.private_block(0x0017, "IODEEP 1")
payload = block[0x10].value
state = {"blocks." + k: v for k, v in tensors_from_safetensors(payload).items()}
net = PaperUNet()
net.load_state_dict(state)
net.eval()

# the slice
ds = pydicom.dcmread(slice_path)
img = apply_modality_lut(ds.pixel_array, ds).astype(np.float32)
rows, cols = img.shape
lo, hi = float(img.min()), float(img.max())
x = torch.from_numpy((img - lo) / (hi - lo if hi > lo else 1.0))[None, None]
x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)

with torch.inference_mode():
    t = time.perf_counter()
    y = net(x)
    forward_ms = (time.perf_counter() - t) * 1000.0
    p = torch.sigmoid(torch.nn.functional.interpolate(y, size=(rows, cols), mode="bilinear", align_corners=False))
mask = (p[0, 0] > 0.5).numpy()
# the outer contour's pixel edges (what our tracer walks): inside pixels with an outside neighbour
padded = np.pad(mask, 1)
edge = mask & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
print(json.dumps({"forwardMs": forward_ms, "inside": int(mask.sum()), "edgePixels": int(edge.sum())}))
