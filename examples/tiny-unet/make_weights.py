#!/usr/bin/python3
"""Writes weights.safetensors for architecture.json: a 2-level U-Net in the published DNN-parser
format, randomly initialised (He normal, seed 20261122), so the demo and the tests have a network
to pack before a trained one exists. Only numpy is needed; the safetensors layout is written by
hand (8-byte little-endian header length, JSON header, raw little-endian data).

Tensor names: for a double-conv block at architecture key K: K.conv1.weight/bias,
K.bn1.weight/bias/running_mean/running_var/num_batches_tracked, then K.conv2.*, K.bn2.*; for a
plain cnn2d at key K: K.weight, K.bias.
"""
import json
import struct
import sys

import numpy as np

rng = np.random.default_rng(20261122)
tensors = {}


def conv(name, cin, cout, k):
    tensors[name + ".weight"] = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype("<f4")
    tensors[name + ".bias"] = np.zeros(cout, "<f4")


def bn(name, c):
    tensors[name + ".weight"] = np.ones(c, "<f4")
    tensors[name + ".bias"] = np.zeros(c, "<f4")
    tensors[name + ".running_mean"] = np.zeros(c, "<f4")
    tensors[name + ".running_var"] = np.ones(c, "<f4")
    tensors[name + ".num_batches_tracked"] = np.zeros((), "<i8")


def double(key, cin, cout):
    conv(f"{key}.conv1", cin, cout, 3)
    bn(f"{key}.bn1", cout)
    conv(f"{key}.conv2", cout, cout, 3)
    bn(f"{key}.bn2", cout)


double("1", 1, 8)
double("3", 8, 16)
double("5", 16, 32)
double("7", 32 + 16, 16)
double("9", 16 + 8, 8)
conv("10", 8, 1, 1)

dtypes = {"<f4": "F32", "<i8": "I64"}
header, offset, blobs = {}, 0, []
for name in sorted(tensors):
    a = tensors[name]  # tobytes() is C order; ascontiguousarray would make 0-d arrays 1-d
    b = a.tobytes()
    header[name] = {"dtype": dtypes[a.dtype.str], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
    offset += len(b)
    blobs.append(b)
header["__metadata__"] = {"format": "pt", "note": "random He-normal init, seed 20261122"}
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
out = sys.argv[1] if len(sys.argv) > 1 else "weights.safetensors"
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print(f"{out}: {len(tensors)} tensors, {sum(t.size for t in tensors.values())} values")
