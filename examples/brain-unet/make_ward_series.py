#!/usr/bin/python3
"""Writes the example T1 volume as another ward's MR series, on which the brain U-Net is visibly
imperfect: the same anatomy through another scanner's contrast (intensities through a gamma curve
of 0.35, which lifts the dark tissue) and a smooth bias field (a receive coil's sensitivity:
x1.0 +- 0.5 left to right, +- 0.25 top to bottom). Another patient, study, series, instances and
frame of reference; the same geometry (make_series.py writes both). The brain mask of each slice
is written beside it (mask_NNN.u8, row-major, 1 = brain): the reference the fine-tuning story
corrects some slices from and scores the others against (scripts/finetune-story.sh).

  /usr/bin/python3 make_ward_series.py OUTDIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_series import write_series  # noqa: E402

GAMMA, BIAS = 0.35, 1.0


def ward(img):
    rows, cols = np.mgrid[0:img.shape[0], 0:img.shape[1]] / (np.array(img.shape)[:, None, None] - 1.0)
    field = 1.0 + BIAS * (cols - 0.5) + 0.5 * BIAS * (rows - 0.5)
    return np.clip(255.0 * ((img / 255.0) ** GAMMA) * field, 0, 255).astype(np.uint16)


def main():
    count = write_series(sys.argv[1], transform=ward, seed="iodeep ward example ", patient=("Ward^Example", "WARD-T1"),
                         study_fields=("20261201", "090000", "2", "Brain T1 (ward scanner)"),
                         institution="iodeep example data (ward scanner)",
                         manufacturer="unknown (ITK example data, remapped)")
    print(f"{count} ward slices written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
