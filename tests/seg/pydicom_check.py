#!/usr/bin/python3
"""pydicom as an independent reader and writer of DICOM Segmentations (Debian's /usr/bin/python3:
pydicom and numpy).

  pydicom_check.py check SEG.dcm EXPECTED.json
      Reads SEG.dcm with pydicom (ds.pixel_array) and compares it with what the C++ test expects:
      each frame's (ReferencedSegmentNumber, source SOP Instance UID) must be one expected frame and
      its pixels that frame's mask; every expected frame must be there once; the segment labels,
      the approval (ApprovalStatus, ReviewerName, ContentCreatorName) and the Pixel Data length of
      frames packed back to back (ceil(frames x rows x columns / 8), padded to even) must match.
      Exit 1 on any difference, with what differs.

  pydicom_check.py make DIR
      Writes two segmentations as another system would (pydicom's own bit packing, no DCMTK):
      DIR/other_binary.dcm (Explicit VR, 3 frames of 5x7, the segment in the shared functional
      groups) and DIR/other_fractional.dcm (Implicit VR, PROBABILITY up to 200, 2 segments), and
      DIR/other_expected.json: each file's frames in order, as 0/1 masks (fractional: at half the
      maximum or more).

EXPECTED.json: {"rows": R, "columns": C, "approvalStatus": "...", "reviewerName": "...",
"contentCreatorName": "...", "labels": {"1": "Brain", ...},
"frames": [{"segment": 1, "sop": "2.25...", "mask": "0110..."}, ...]}.
"""
import json
import math
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian, SegmentationStorage,
                         generate_uid)


def group(ds, index, name):
    """The functional group `name` of frame `index`: per-frame first, then shared."""
    items = []
    if 'PerFrameFunctionalGroupsSequence' in ds:
        items.append(ds.PerFrameFunctionalGroupsSequence[index])
    if 'SharedFunctionalGroupsSequence' in ds:
        items.append(ds.SharedFunctionalGroupsSequence[0])
    for item in items:
        if name in item and len(item[name].value) > 0:
            return item[name].value[0]
    return None


def check(seg_path, expected_path):
    with open(expected_path, encoding='utf-8') as f:
        expected = json.load(f)
    ds = pydicom.dcmread(seg_path)
    problems = []
    rows, columns = expected['rows'], expected['columns']
    if ds.SOPClassUID != SegmentationStorage:
        problems.append(f'SOPClassUID {ds.SOPClassUID}')
    if ds.SegmentationType != 'BINARY' or ds.BitsAllocated != 1:
        problems.append(f'SegmentationType {ds.SegmentationType}, BitsAllocated {ds.BitsAllocated}')
    if (ds.Rows, ds.Columns) != (rows, columns):
        problems.append(f'Rows x Columns {ds.Rows}x{ds.Columns}, expected {rows}x{columns}')
    frames = int(ds.NumberOfFrames)
    if frames != len(expected['frames']):
        problems.append(f'NumberOfFrames {frames}, expected {len(expected["frames"])}')
    packed = math.ceil(frames * rows * columns / 8)
    packed += packed % 2
    if len(ds.PixelData) != packed:
        problems.append(f'Pixel Data is {len(ds.PixelData)} bytes; {frames} frames of {rows}x{columns} '
                        f'packed back to back are {packed}')
    for key in ('approvalStatus', 'reviewerName', 'contentCreatorName'):
        keyword = key[0].upper() + key[1:]
        have = str(ds.get(keyword, ''))
        if have != expected.get(key, ''):
            problems.append(f'{keyword} {have!r}, expected {expected.get(key, "")!r}')
    labels = {str(int(s.SegmentNumber)): str(s.SegmentLabel) for s in ds.SegmentSequence}
    if labels != expected['labels']:
        problems.append(f'segment labels {labels}, expected {expected["labels"]}')
    if problems:
        return problems

    arr = ds.pixel_array.reshape(frames, rows, columns)
    wanted = {}
    for f in expected['frames']:
        mask = np.frombuffer(f['mask'].encode('ascii'), dtype=np.uint8) - ord('0')
        wanted[(int(f['segment']), f['sop'])] = mask.reshape(rows, columns)
    seen = set()
    for i in range(frames):
        segment = int(group(ds, i, 'SegmentIdentificationSequence').ReferencedSegmentNumber)
        derivation = group(ds, i, 'DerivationImageSequence')
        sop = str(derivation.SourceImageSequence[0].ReferencedSOPInstanceUID)
        key = (segment, sop)
        if key not in wanted:
            problems.append(f'frame {i + 1}: segment {segment} on {sop} was not expected')
            continue
        if key in seen:
            problems.append(f'frame {i + 1}: segment {segment} on {sop} twice')
        seen.add(key)
        diff = np.argwhere(arr[i] != wanted[key])
        if len(diff) > 0:
            r, c = diff[0]
            problems.append(f'frame {i + 1} (segment {segment} on {sop}): {len(diff)} pixel(s) differ, first at '
                            f'row {r} column {c}: {arr[i][r][c]} instead of {wanted[key][r][c]}')
    for key in wanted:
        if key not in seen:
            problems.append(f'no frame for segment {key[0]} on {key[1]}')
    return problems


def base(rows, columns, frames, binary):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SegmentationStorage
    ds.SOPClassUID = SegmentationStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Modality = 'SEG'
    ds.PatientName = 'Other^Writer'
    ds.ContentLabel = 'OTHER'
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.PixelRepresentation = 0
    ds.Rows, ds.Columns = rows, columns
    ds.NumberOfFrames = frames
    ds.BitsAllocated = ds.BitsStored = 1 if binary else 8
    ds.HighBit = ds.BitsStored - 1
    ds.SegmentationType = 'BINARY' if binary else 'FRACTIONAL'
    return ds


def segment(number, label):
    s = Dataset()
    s.SegmentNumber = number
    s.SegmentLabel = label
    s.SegmentAlgorithmType = 'MANUAL'
    return s


def per_frame(sop, segment_number=None):
    item = Dataset()
    derivation = Dataset()
    source = Dataset()
    source.ReferencedSOPClassUID = '1.2.840.10008.5.1.4.1.1.4'
    source.ReferencedSOPInstanceUID = sop
    derivation.SourceImageSequence = Sequence([source])
    item.DerivationImageSequence = Sequence([derivation])
    if segment_number is not None:
        ident = Dataset()
        ident.ReferencedSegmentNumber = segment_number
        item.SegmentIdentificationSequence = Sequence([ident])
    return item


def make(directory):
    rng = np.random.default_rng(20260505)
    expected = {}
    # binary: 3 frames of 5x7 (35 bits each: frames 2 and 3 start inside a byte), one segment named
    # in the shared functional groups
    rows, columns = 5, 7
    masks = (rng.random((3, rows, columns)) < 0.5).astype(np.uint8)
    ds = base(rows, columns, 3, True)
    ds.SegmentSequence = Sequence([segment(1, 'Other binary')])
    shared = Dataset()
    ident = Dataset()
    ident.ReferencedSegmentNumber = 1
    shared.SegmentIdentificationSequence = Sequence([ident])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    sops = [generate_uid() for _ in range(3)]
    ds.PerFrameFunctionalGroupsSequence = Sequence([per_frame(sop) for sop in sops])
    data = pack_bits(masks.ravel())
    ds.PixelData = data + (b'\0' if len(data) % 2 else b'')
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_implicit_VR, ds.is_little_endian = False, True
    ds.save_as(f'{directory}/other_binary.dcm', write_like_original=False)
    expected['other_binary.dcm'] = {
        'rows': rows, 'columns': columns,
        'frames': [{'segment': 1, 'sop': sops[i], 'mask': ''.join(map(str, masks[i].ravel()))} for i in range(3)]}
    # fractional: 2 segments x 2 images of 6x5, PROBABILITY up to 200, Implicit VR
    rows, columns = 6, 5
    values = rng.integers(0, 201, size=(4, rows, columns), dtype=np.uint8)
    ds = base(rows, columns, 4, False)
    ds.SegmentationFractionalType = 'PROBABILITY'
    ds.MaximumFractionalValue = 200
    ds.SegmentSequence = Sequence([segment(1, 'Other A'), segment(2, 'Other B')])
    sops = [generate_uid() for _ in range(2)]
    order = [(1, sops[0]), (1, sops[1]), (2, sops[0]), (2, sops[1])]
    ds.PerFrameFunctionalGroupsSequence = Sequence([per_frame(sop, n) for n, sop in order])
    ds.PixelData = values.tobytes()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.is_implicit_VR, ds.is_little_endian = True, True
    ds.save_as(f'{directory}/other_fractional.dcm', write_like_original=False)
    inside = (values.astype(np.int32) * 2 >= 200).astype(np.uint8)
    expected['other_fractional.dcm'] = {
        'rows': rows, 'columns': columns,
        'frames': [{'segment': order[i][0], 'sop': order[i][1], 'mask': ''.join(map(str, inside[i].ravel()))}
                   for i in range(4)]}
    with open(f'{directory}/other_expected.json', 'w', encoding='utf-8') as f:
        json.dump(expected, f)
    return []


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'check':
        problems = check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == 'make':
        problems = make(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(f'pydicom_check: {p}', file=sys.stderr)
    if not problems:
        print(f'pydicom_check: {sys.argv[1]} {sys.argv[2]}: ok')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
