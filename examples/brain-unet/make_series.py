#!/usr/bin/python3
"""Writes the T1 volume of Debian's insighttoolkit5-examples as a DICOM MR series (one file per
coronal slice, 128x128, 2x2 mm pixels, 3 mm apart) with correct patient geometry, and the brain
mask of each slice as raw bytes (mask_NNN.u8, row-major, 1 = brain) for the tests.

  /usr/bin/python3 make_series.py OUTDIR

Geometry: the NIfTI affine maps voxel (i, j, k) to RAS (-2i, 3k - 254, 2j). Image column c = i,
row r = 127 - j, so in DICOM's LPS: ImagePositionPatient = (0, 254 - 3k, 254), row direction
(1, 0, 0), column direction (0, 0, -1); PixelSpacing 2\\2; BodyPartExamined HEAD. UIDs are derived
from a fixed name, so the series is the same every time it is written.
"""
import hashlib
import os
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data/"


def uid(name, seed="iodeep brain example "):
    return "2.25." + str(int.from_bytes(hashlib.sha256((seed + name).encode()).digest()[:16], "big"))


def write_series(out, transform=None, seed="iodeep brain example ", patient=("Example^Brain", "ITK-KMEANS-T1"),
                 study_fields=("20260101", "120000", "1", "Brain T1 (ITK example volume)"),
                 institution="iodeep example data", manufacturer="unknown (ITK example data)"):
    """The volume as a series in OUT; @p transform(image 128x128 uint16) -> image changes the pixels
    (make_ward_series.py); the other arguments name another patient and study."""
    os.makedirs(out, exist_ok=True)
    nii = nib.load(DATA + "KmeansTest_T1UCharRaw.nii.gz")
    t1 = nii.get_fdata().astype(np.uint16)
    mask = nib.load(DATA + "KmeansTest_T1RawSkullStrip.nii.gz").get_fdata() > 0
    study, series, frame = uid("study", seed), uid("series", seed), uid("frame of reference", seed)
    for k in range(t1.shape[2]):
        img = np.ascontiguousarray(t1[:, ::-1, k].T)
        if transform is not None:
            img = transform(img)
        m = np.ascontiguousarray(mask[:, ::-1, k].T).astype(np.uint8)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
        meta.MediaStorageSOPInstanceUID = uid(f"slice {k}", seed)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient[0], patient[1], "", "O"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = study_fields[0], study_fields[1], study_fields[2], ""
        ds.ReferringPhysicianName, ds.InstitutionName = "", institution
        ds.StudyDescription = study_fields[3]
        ds.SeriesDescription = "T1 coronal"
        ds.Modality, ds.BodyPartExamined, ds.Manufacturer = "MR", "HEAD", manufacturer
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.PositionReferenceIndicator = ""
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "GR", "NONE", "", "3D"
        ds.EchoTrainLength = 1
        # acquisition details the example volume does not record: present and empty (Type 2/2C)
        ds.EchoTime, ds.RepetitionTime, ds.PatientPosition = "", "", ""
        ds.SliceThickness = 3.0
        ds.ImagePositionPatient = [0.0, 254.0 - 3.0 * k, 254.0]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
        ds.SliceLocation = 254.0 - 3.0 * k
        ds.PixelSpacing = [2.0, 2.0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = img.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 8, 7, 0
        ds.WindowCenter, ds.WindowWidth = 128, 256
        ds.PixelData = img.astype("<u2").tobytes()
        path = os.path.join(out, f"slice_{k:03d}.dcm")
        ds.save_as(path + ".tmp", write_like_original=False)
        os.replace(path + ".tmp", path)
        m.tofile(os.path.join(out, f"mask_{k:03d}.u8"))
    return t1.shape[2]


def main():
    print(f"{write_series(sys.argv[1])} slices written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
