#!/usr/bin/python3
"""Dice of `iodeep predict --series DIR --json P.json` against the reference masks beside the
slices (mask_NNN.u8 beside slice_NNN.dcm, matched by SOP Instance UID), per slice: the rings
filled with the even-odd rule at pixel centres, as iodeep's own rasteriser does. Prints one line
per slice "k dice", k the NNN of its file.

  /usr/bin/python3 score.py P.json DIR
"""
import glob
import json
import os
import sys

import numpy as np
from pydicom import dcmread


def fill(rings, rows, cols):
    yy, xx = np.mgrid[0:rows, 0:cols]
    inside = np.zeros((rows, cols), bool)
    for ring in rings:
        pts = ring["pixels"]
        for i in range(len(pts)):
            (c0, r0), (c1, r1) = pts[i], pts[(i + 1) % len(pts)]
            crosses = (r0 > yy) != (r1 > yy)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = c0 + (yy - r0) * (c1 - c0) / (r1 - r0)
            inside ^= crosses & (xx < x)
    return inside


def main():
    prediction, directory = json.load(open(sys.argv[1])), sys.argv[2]
    index = {}
    for f in glob.glob(os.path.join(directory, "slice_*.dcm")):
        index[dcmread(f, stop_before_pixels=True).SOPInstanceUID] = int(os.path.basename(f)[6:9])
    for s in sorted(prediction["slices"], key=lambda s: index[s["slice"]["sopInstanceUid"]]):
        k = index[s["slice"]["sopInstanceUid"]]
        rows, cols = s["slice"]["rows"], s["slice"]["columns"]
        p = np.zeros((rows, cols), bool)
        for proposal in s["proposals"]:
            p |= fill(proposal["rings"], rows, cols)
        m = np.fromfile(f"{directory}/mask_{k:03d}.u8", np.uint8).reshape(rows, cols) > 0
        total = p.sum() + m.sum()
        print(k, round(float(2 * (p & m).sum() / total) if total else 1.0, 4))


if __name__ == "__main__":
    main()
