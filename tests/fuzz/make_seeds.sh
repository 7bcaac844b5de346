#!/usr/bin/env bash
# Seeds for the DICOM fuzz targets that only iodeep itself writes: small IODeep objects (the
# fixture DNN-parser network, the fixture Tiny network) and the approved and rejected RT Structure Sets `iodeep predict`
# writes for slice 30 of the example series; tiny images in every syntax DCMTK decodes here.
# Usage: make_seeds.sh IODEEP FIXTURES_DIR SOURCE_DIR OUT_DIR
set -euo pipefail
IODEEP=$1 FIX=$2 SRC=$3 OUT=$4
mkdir -p "$OUT"
rm -f "$OUT"/*.dcm
"$IODEEP" pack -a "$FIX/ref_dnnparser.json" -w "$FIX/ref_dnnparser.safetensors" -n "fuzz seed" -m MR -b HEAD \
  -o "$OUT/small.dcm" >/dev/null
# and the smallest we can make (plain.pt: 4-channel conv, BN, 1x1 head): mutations reach the payload
"$IODEEP" pack -a "$FIX/plain.arch.json" -w "$FIX/plain.pt" -n "tiny seed" -m MR -b HEAD -o "$OUT/tiny_iodeep.dcm" >/dev/null
BRAIN=$SRC/examples/brain-unet/brain-unet.dcm
"$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --rtstruct "$OUT/approved.dcm" --approve all \
  --reviewer "Doe^Jane" >/dev/null
"$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --approve none --reviewer "Doe^Jane" \
  --rejected-rtstruct "$OUT/rejected.dcm" >/dev/null
# our DICOM Segmentation of the same approved proposals (docs/seg.md)
"$IODEEP" predict -m "$BRAIN" -i "$FIX/brain-series/slice_030.dcm" --rtstruct "$OUT/approved_seg.dcm" --approve all \
  --reviewer "Doe^Jane" --format seg >/dev/null


# Tiny images (a few hundred bytes): a mutation lands on Rows, Columns, BitsAllocated, ... far
# more often than in a 40 KB seed. Uncompressed by pydicom, compressed by DCMTK's own tools.
/usr/bin/python3 - "$OUT" <<'PY'
import sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

def tiny(name, rows, columns, frames=1, samples=1, bits=16, signed=False, photometric="MONOCHROME2"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, columns, samples, photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, int(signed)
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    dtype = {8: np.uint8, 16: np.int16 if signed else np.uint16}[bits]
    pixels = (np.arange(frames * rows * columns * samples) * 7 % (1 << min(bits, 12))).astype(dtype)
    ds.PixelData = pixels.tobytes()
    ds.save_as(f"{sys.argv[1]}/{name}", write_like_original=False)

tiny("tiny_mono16.dcm", 8, 8)
tiny("tiny_signed16.dcm", 6, 5, signed=True)
tiny("tiny_mono8.dcm", 8, 8, bits=8)
tiny("tiny_rgb8.dcm", 4, 4, samples=3, bits=8, photometric="RGB")
tiny("tiny_2frame.dcm", 4, 4, frames=2)
PY
dcmcrle "$OUT/tiny_mono16.dcm" "$OUT/tiny_rle.dcm"
dcmcjpls "$OUT/tiny_mono16.dcm" "$OUT/tiny_jpegls.dcm"
dcmcjpeg "$OUT/tiny_mono16.dcm" "$OUT/tiny_jpeg_lossless.dcm"
dcmcjpeg +eb "$OUT/tiny_mono8.dcm" "$OUT/tiny_jpeg_baseline.dcm"
dcmcjpeg +eb "$OUT/tiny_rgb8.dcm" "$OUT/tiny_jpeg_rgb.dcm"
ls -l "$OUT"

# Seeds that start where issue 17's hostile files were (mutations near the limits, not far from
# them): an IODeep object whose architecture nests 80 levels (the limit is 64), and tiny images
# that declare 65535 x 65535, a million frames, and a JPEG stream larger than its attributes.
/usr/bin/python3 - "$OUT" <<'PY'
import sys
import pydicom
out = sys.argv[1]
m = pydicom.dcmread(f"{out}/tiny_iodeep.dcm")
m[0x00171001].value = "[" * 80 + "]" * 80
m.save_as(f"{out}/deep_json_iodeep.dcm")
s = pydicom.dcmread(f"{out}/tiny_mono16.dcm")
s.Rows = s.Columns = 65535
s.save_as(f"{out}/huge_header.dcm")
s = pydicom.dcmread(f"{out}/tiny_mono16.dcm")
s.NumberOfFrames = 1000000
s.save_as(f"{out}/million_frames.dcm")
j = pydicom.dcmread(f"{out}/tiny_jpeg_lossless.dcm")
j.Rows = 2
j.save_as(f"{out}/jpeg_larger_than_attributes.dcm")
PY
