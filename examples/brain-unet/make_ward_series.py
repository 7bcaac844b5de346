#!/usr/bin/python3
"""Writes the example T1 volume as another ward's MR series, on which the brain U-Net is visibly
imperfect: the same anatomy through another scanner's contrast (intensities through a gamma curve
of 0.35, which lifts the dark tissue) and a smooth bias field (a receive coil's sensitivity:
x1.0 +- 0.5 left to right, +- 0.25 top to bottom). Other study, series, instance and frame of
reference UIDs and another patient ID; the same geometry as make_series.py. The brain mask of each
slice is written beside it (mask_NNN.u8, row-major, 1 = brain): the reference the fine-tuning
story corrects some slices from and scores the others against (scripts/finetune-story.sh).

  /usr/bin/python3 make_ward_series.py OUTDIR
"""
import hashlib
import os
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data/"
GAMMA, BIAS = 0.35, 1.0


def uid(name):
    return "2.25." + str(int.from_bytes(hashlib.sha256(("iodeep ward example " + name).encode()).digest()[:16], "big"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    t1 = nib.load(DATA + "KmeansTest_T1UCharRaw.nii.gz").get_fdata()
    mask = nib.load(DATA + "KmeansTest_T1RawSkullStrip.nii.gz").get_fdata() > 0
    rows, cols = np.mgrid[0:128, 0:128] / 127.0
    field = 1.0 + BIAS * (cols - 0.5) + 0.5 * BIAS * (rows - 0.5)
    for k in range(t1.shape[2]):
        img = np.ascontiguousarray(t1[:, ::-1, k].T) / 255.0
        img = np.clip(255.0 * (img ** GAMMA) * field, 0, 255).astype(np.uint16)
        m = np.ascontiguousarray(mask[:, ::-1, k].T).astype(np.uint8)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
        meta.MediaStorageSOPInstanceUID = uid(f"slice {k}")
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Ward^Example", "WARD-T1", "", "O"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uid("study"), uid("series"), uid("frame")
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20261201", "090000", "2", ""
        ds.ReferringPhysicianName, ds.InstitutionName = "", "iodeep example data (ward scanner)"
        ds.StudyDescription, ds.SeriesDescription = "Brain T1 (ward scanner)", "T1 coronal"
        ds.Modality, ds.BodyPartExamined, ds.Manufacturer = "MR", "HEAD", "unknown (ITK example data, remapped)"
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.PositionReferenceIndicator = ""
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "GR", "NONE", "", "3D"
        ds.EchoTrainLength = 1
        ds.EchoTime, ds.RepetitionTime, ds.PatientPosition = "", "", ""
        ds.SliceThickness = 3.0
        ds.ImagePositionPatient = [0.0, 254.0 - 3.0 * k, 254.0]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
        ds.SliceLocation = 254.0 - 3.0 * k
        ds.PixelSpacing = [2.0, 2.0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = img.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 8, 7, 0
        ds.PixelData = img.astype("<u2").tobytes()
        path = os.path.join(out, f"slice_{k:03d}.dcm")
        ds.save_as(path + ".tmp", write_like_original=False)
        os.replace(path + ".tmp", path)
        m.tofile(os.path.join(out, f"mask_{k:03d}.u8"))
    print(f"{t1.shape[2]} ward slices written to {out}")


if __name__ == "__main__":
    main()
