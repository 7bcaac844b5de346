#!/usr/bin/python3
"""The Python peer of the service benchmark: the prediction service a Python team would write with
Debian's packages (FastAPI on uvicorn, pydicom, PyTorch eager, scipy, scikit-image), to compare
`iodeep serve` with.

  /usr/bin/python3 bench/python_service.py --model M.dcm --port P [--threads N] [--host H]

One endpoint, POST /predict: the body is a DICOM Part 10 slice (Content-Type application/dicom);
the answer is JSON with the proposals' contour polygons in pixel coordinates. The network is built
once at start from the IODeep object: its architecture JSON (DnnArchitecture, (0017,xx01) of the
"IODEEP 1" block) and its embedded safetensors weights (DnnWeightsPayload), as
bench/predict_vs_python.py reads them, with its building blocks (tests/fixtures/paper_unet.py:
the safetensors reader, the paper's U-Net and its doubleConv block). Our architecture format
(docs/architecture-json.md) is built by a small interpreter of its layer list (the layer types the
examples use, and a few more); a DNN-parser architecture is taken to be the paper's U-Net, as
bench/predict_vs_python.py does. Each request runs in FastAPI's thread pool under
torch.inference_mode, with N intra-op threads (--threads, default: the cores).

The steps, after docs/prediction.md, and where they differ from `iodeep predict`:
  decode      pydicom (with its pixel handlers) and apply_modality_lut (rescale or LUT sequence);
              MONOCHROME1 is not inverted; frame 0 only.
  pre-process window none/fixed/percentile/dicom (fixed and dicom as center +- width/2, not
              DICOM's exact linear formula), normalize none/minmax/zscore/fixed, resize pad or
              stretch (bilinear, align_corners=False; the padded size rounded, which may differ by
              a pixel from ours), channels strict/replicate/luminance/adapt. DNN-parser: as
              bench/predict_vs_python.py (min-max, stretched to the input, grey replicated).
  forward     PyTorch eager, no batch-norm folding or channels-last.
  output      sigmoid (each channel a label) or softmax (argmax, channel 0 background unless the
              labels name it), probabilities mapped back to the slice grid, then the threshold.
  post-process 4-connected regions (scipy.ndimage.label), min_area_mm2 (PixelSpacing) or
              min_area_px, keep_largest, fill_holes (scipy.ndimage.binary_fill_holes), as ours.
  contours    scikit-image's marching squares at 0.5 on the mask: rings through the midpoints
              between inside and outside pixel centres, so corners are cut diagonally (each
              ring's area is smaller than the pixel count by about a quarter pixel per convex
              corner); ours trace the pixel edges exactly. simplify_px: Douglas-Peucker
              (skimage.measure.approximate_polygon). No patient coordinates, no RT Structure Set.
"""
import argparse
import io
import json
import os
import sys
import time

import numpy as np
import pydicom
import torch
import torch.nn.functional as F
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydicom.pixel_data_handlers.util import apply_modality_lut
from scipy import ndimage
from skimage import measure

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from paper_unet import DoubleConv, PaperUNet, tensors_from_safetensors  # noqa: E402

ACTIVATIONS = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
               "identity": torch.nn.Identity, "dropout": torch.nn.Identity}


class ArchitectureNet(torch.nn.Module):
    """Our architecture JSON's layer list as a PyTorch module: each layer takes the previous one's
    output, or its "inputs"; modules are named by layer id, so the IODeep weights bind by name."""

    def __init__(self, arch):
        super().__init__()
        self.layers = torch.nn.ModuleDict()
        self.plan = []
        channels = {"input": arch["input"]["channels"]}
        prev = "input"
        for layer in arch["layers"]:
            lid, kind = layer["id"], layer["type"]
            inputs = layer.get("inputs", [prev])
            cin = channels[inputs[0]]
            cout, module = cin, None
            if kind == "conv2d":
                cout = layer["out_channels"]
                groups = cin if layer.get("depthwise") else layer.get("groups", 1)
                module = torch.nn.Conv2d(cin, cout, layer["kernel_size"], layer.get("stride", 1),
                                         layer.get("padding", 0), layer.get("dilation", 1), groups,
                                         layer.get("bias", True))
            elif kind == "conv_transpose2d":
                cout = layer["out_channels"]
                module = torch.nn.ConvTranspose2d(cin, cout, layer["kernel_size"], layer.get("stride", 1),
                                                  layer.get("padding", 0), layer.get("output_padding", 0),
                                                  layer.get("groups", 1), layer.get("bias", True),
                                                  layer.get("dilation", 1))
            elif kind == "double_conv":
                extra = set(layer) - {"id", "type", "out_channels", "inputs"}
                if extra - {"kernel_size", "padding", "batch_norm", "activation"} or \
                        layer.get("kernel_size", 3) != 3 or layer.get("padding", 1) != 1 or \
                        not layer.get("batch_norm", True) or layer.get("activation", "relu") != "relu":
                    raise ValueError(f"layer {lid}: only the default double_conv (3x3, BN, ReLU) here")
                cout = layer["out_channels"]
                module = DoubleConv(cin, cout)
            elif kind == "batchnorm2d":
                module = torch.nn.BatchNorm2d(cin, eps=layer.get("eps", 1e-5), affine=layer.get("affine", True))
            elif kind == "leaky_relu":
                module = torch.nn.LeakyReLU(layer.get("negative_slope", 0.01))
            elif kind in ACTIVATIONS:
                module = ACTIVATIONS[kind]()
            elif kind in ("maxpool2d", "avgpool2d"):
                pool = torch.nn.MaxPool2d if kind == "maxpool2d" else torch.nn.AvgPool2d
                module = pool(layer["kernel_size"], layer.get("stride"), layer.get("padding", 0),
                              ceil_mode=layer.get("ceil_mode", False))
            elif kind == "upsample":
                mode = layer.get("mode", "nearest")
                module = torch.nn.Upsample(scale_factor=layer.get("scale_factor", 2), mode=mode,
                                           align_corners=layer.get("align_corners", False) if mode != "nearest" else None)
            elif kind == "concat":
                cout = sum(channels[i] for i in inputs)
            elif kind != "add":
                raise ValueError(f"layer {lid}: type {kind} is not built by the Python peer")
            if module is not None:
                self.layers[lid] = module
            self.plan.append((lid, kind, inputs))
            channels[lid] = cout
            prev = lid

    def forward(self, x):
        values = {"input": x}
        y = x
        for lid, kind, inputs in self.plan:
            xs = [values[i] for i in inputs]
            if kind == "concat":
                y = torch.cat(xs, 1)
            elif kind == "add":
                y = xs[0]
                for t in xs[1:]:
                    y = y + t
            else:
                y = self.layers[lid](xs[0])
            values[lid] = y
        return y


class Model:
    """The IODeep object read once: the network built, its pre- and post-processing."""

    def __init__(self, path):
        obj = pydicom.dcmread(path)
        block = obj.private_block(0x0017, "IODEEP 1")
        self.name = str(block[0x03].value) if 0x03 in block else ""
        self.dnn_uid = str(block[0x04].value) if 0x04 in block else ""
        if str(block[0x07].value).strip() != "SAFETENSORS":
            raise ValueError("only safetensors payloads (not TorchScript) in the Python peer")
        tensors = tensors_from_safetensors(block[0x10].value)
        arch = json.loads(block[0x01].value)
        if arch.get("format") == "iodeep-architecture":
            self.arch = arch
            net = ArchitectureNet(arch)
            state = {"layers." + k: v for k, v in tensors.items()}
        else:  # DNN-parser: the paper's U-Net, as bench/predict_vs_python.py builds it
            self.arch = {"input": {"channels": 3, "height": 224, "width": 224},
                         "preprocessing": {"normalize": {"mode": "minmax"}, "resize": {"mode": "stretch"},
                                           "channels": "adapt"}}
            net = PaperUNet()
            state = {"blocks." + k: v for k, v in tensors.items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
        self.net = net.eval()
        self.pre = self.arch.get("preprocessing", {})
        self.out = self.arch.get("output", {})
        self.post = self.arch.get("postprocessing", {})

    def preprocess(self, ds, img):
        """img: rows x cols (grey) or rows x cols x 3 (colour), float32 -> 1 x C x H x W, and the
        region of the input the slice occupies (top, left, height, width)."""
        pre, inp = self.pre, self.arch["input"]
        win = pre.get("window", {"mode": "none"})
        mode = win.get("mode", "none")
        if mode == "dicom" and "WindowCenter" in ds and "WindowWidth" in ds:
            center = float(np.ravel([ds.WindowCenter])[0])
            width = float(np.ravel([ds.WindowWidth])[0])
            mode, win = "fixed", {"center": center, "width": width}
        elif mode == "dicom":
            mode, win = "percentile", {"low": 1.0, "high": 99.0}
        if mode == "fixed":
            lo, hi = win["center"] - win["width"] / 2, win["center"] + win["width"] / 2
            img = (np.clip(img, lo, hi) - lo) / max(hi - lo, 1e-12)
        elif mode == "percentile":
            lo, hi = np.percentile(img, [win.get("low", 1.0), win.get("high", 99.0)])
            img = np.zeros_like(img) if hi <= lo else (np.clip(img, lo, hi) - lo) / (hi - lo)
        norm = pre.get("normalize", {"mode": "none"})
        if norm.get("mode") == "minmax":
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo if hi > lo else 1.0)
        elif norm.get("mode") == "zscore":
            img = (img - img.mean()) / (img.std() or 1.0)
        elif norm.get("mode") == "fixed":
            img = (img - norm["mean"]) / norm["std"]
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
        want, have = inp["channels"], x.shape[1]
        policy = pre.get("channels", "strict")
        if have != want:
            if have == 1 and policy in ("replicate", "adapt"):
                x = x.repeat(1, want, 1, 1)
            elif have == 3 and want == 1 and policy in ("luminance", "adapt"):
                x = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
            else:
                raise ValueError(f"{have} samples per pixel cannot feed {want} input channels ({policy})")
        rows, cols = x.shape[2], x.shape[3]
        height, width = inp["height"], inp["width"]
        resize = pre.get("resize", {"mode": "pad"})
        if resize.get("mode", "pad") == "stretch":
            if (rows, cols) != (height, width):
                x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
            return x, (0, 0, height, width)
        scale = min(height / rows, width / cols)
        h, w = max(1, round(rows * scale)), max(1, round(cols * scale))
        if (h, w) != (rows, cols):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        top, left = (height - h) // 2, (width - w) // 2
        canvas = torch.full((1, x.shape[1], height, width), float(resize.get("pad_value", 0.0)))
        canvas[:, :, top:top + h, left:left + w] = x
        return canvas, (top, left, h, w)

    def predict(self, data):
        t = [time.perf_counter()]
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        pixels = ds.pixel_array
        if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
            pixels = pixels[0]
        img = apply_modality_lut(pixels, ds).astype(np.float32)
        rows, cols = img.shape[:2]
        t.append(time.perf_counter())
        x, (top, left, h, w) = self.preprocess(ds, img)
        t.append(time.perf_counter())
        with torch.inference_mode():
            y = self.net(x)
            t.append(time.perf_counter())
            y = y[:, :, top:top + h, left:left + w]
            if (h, w) != (rows, cols):
                y = F.interpolate(y, size=(rows, cols), mode="bilinear", align_corners=False)
            activation = self.out.get("activation", "sigmoid")
            p = torch.sigmoid(y) if activation == "sigmoid" else torch.softmax(y, 1) if activation == "softmax" else y
            p = p[0].numpy()
        threshold = self.out.get("threshold", 0.5)
        labels = self.out.get("labels") or [
            {"index": i, "name": f"Label {i}"} for i in range(p.shape[0]) if activation != "softmax" or i > 0]
        if activation == "softmax":
            winner = p.argmax(0)
        spacing = [float(v) for v in ds.PixelSpacing] if "PixelSpacing" in ds else None
        masks = []
        for label in labels:
            k = label["index"]
            mask = (p[k] >= threshold) & (winner == k) if activation == "softmax" else p[k] > threshold
            masks.append((label, self.postprocess(mask, spacing), p[k]))
        t.append(time.perf_counter())
        proposals = []
        for label, mask, prob in masks:
            if not mask.any():
                continue
            rings = []
            for c in measure.find_contours(np.pad(mask, 1).astype(np.float32), 0.5):
                c = c - 1.0  # undo the padding; (row, col) with pixel centres at integers
                if self.post.get("simplify_px", 0.0) > 0:
                    c = measure.approximate_polygon(c, self.post["simplify_px"])
                r, q = c[:, 0], c[:, 1]
                area = 0.5 * float(np.sum(q * np.roll(r, -1) - np.roll(q, -1) * r))
                if len(c) < 4 or area == 0.0:
                    continue
                rings.append({"hole": area < 0, "pixels": [[float(a), float(b)] for b, a in c[:-1]]})
            pixels_in = int(mask.sum())
            proposals.append({"label": label.get("name", ""), "labelIndex": label["index"],
                              "areaPixels": pixels_in,
                              "areaMm2": pixels_in * spacing[0] * spacing[1] if spacing else None,
                              "meanProbability": float(prob[mask].mean()), "rings": rings})
        t.append(time.perf_counter())
        ms = [1000.0 * (b - a) for a, b in zip(t, t[1:])]
        return {"network": {"name": self.name, "dnnUid": self.dnn_uid},
                "slice": {"rows": rows, "columns": cols, "sopInstanceUid": str(ds.get("SOPInstanceUID", ""))},
                "proposals": proposals,
                "timingsMs": dict(zip(("decode", "preprocess", "forward", "postprocess", "contours"), ms))}

    def postprocess(self, mask, spacing):
        """4-connected regions: smaller than the minimum area dropped, the largest kept, holes filled."""
        post = self.post
        regions, n = ndimage.label(mask)
        if n == 0:
            return mask
        areas = np.bincount(regions.ravel())[1:]
        if "min_area_mm2" in post and spacing:
            keep = areas * spacing[0] * spacing[1] >= post["min_area_mm2"]
        else:
            keep = areas >= post.get("min_area_px", 0)
        largest = post.get("keep_largest", 0)
        if largest:
            order = np.argsort(-areas, kind="stable")
            ranked = np.zeros(n, bool)
            ranked[order[:largest]] = True
            keep &= ranked
        mask = keep[regions - 1] & (regions > 0)
        if post.get("fill_holes", False):
            mask = ndimage.binary_fill_holes(mask)
        return mask


def make_app(model):
    app = FastAPI(title="Python peer of iodeep serve")

    @app.post("/predict")
    async def predict(request: Request):
        if not request.headers.get("content-type", "").startswith("application/dicom"):
            raise HTTPException(415, "send the slice as application/dicom")
        data = await request.body()
        try:
            return await run_in_threadpool(model.predict, data)
        except (pydicom.errors.InvalidDicomError, ValueError, AttributeError, KeyError) as e:
            raise HTTPException(400, f"{type(e).__name__}: {e}")

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="IODeep .dcm")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch intra-op threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Model(args.model)
    uvicorn.run(make_app(model), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
