#!/usr/bin/python3
"""An independent reader agrees: dicompyler-core (Debian python3-dicompylercore) reads an RT
Structure Set written by `iodeep predict --rtstruct` and must find the ROI names, the contours per
plane and the coordinates that `iodeep predict --json` reported.
Usage: dicompyler_check.py RTSTRUCT PREDICTION_JSON [PREDICTION_JSON...] (one per slice, same order
of proposals, all approved)."""
import collections
import json
import sys

from dicompylercore import dicomparser

rs, predictions = sys.argv[1], sys.argv[2:]
dp = dicomparser.DicomParser(rs)
structures = dp.GetStructures()
fails = passes = 0


def check(ok, what):
    global fails, passes
    if ok:
        passes += 1
    else:
        fails += 1
        print("FAIL:", what)


expected_names, expected_rings = [], []
for path in predictions:
    for p in json.load(open(path))["proposals"]:
        expected_names.append(p["label"])
        expected_rings.append([r["patientMm"] for r in p["rings"]])
names = [structures[k]["name"] for k in sorted(structures)]
check([n.split(" (")[0] for n in names] == expected_names, f"ROI names {names} != {expected_names}")
for number, rings in zip(sorted(structures), expected_rings):
    planes = dp.GetStructureCoordinates(number)
    got = collections.Counter({z: len(c) for z, c in planes.items()})
    want = collections.Counter()
    for ring in rings:
        want[f"{ring[0][2]:.2f}"] += 1
    check(got == want, f"ROI {number}: contours per plane {dict(got)} != {dict(want)}")
    got_points = sorted(tuple(round(float(v), 2) for v in pt) for c in planes.values() for contour in c for pt in contour["data"])
    want_points = sorted(tuple(round(v, 2) for v in pt) for ring in rings for pt in ring)
    check(len(got_points) == len(want_points) and all(abs(a - b) < 1e-2 for p, q in zip(got_points, want_points) for a, b in zip(p, q)),
          f"ROI {number}: coordinates differ")
print(f"{passes} passed, {fails} failed")
sys.exit(1 if fails else 0)
