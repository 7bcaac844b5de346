#include "iodeep/iod/Slice.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include "Jpeg2000.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::iod {

namespace {

std::optional<double> getDouble(DcmItem& item, const DcmTagKey& key, unsigned long pos = 0) {
  Float64 v = 0;
  if (item.findAndGetFloat64(key, v, pos).good() && std::isfinite(v)) return v;
  return std::nullopt;
}

template <std::size_t N>
std::optional<std::array<double, N>> getVector(DcmItem& item, const DcmTagKey& key) {
  std::array<double, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const auto v = getDouble(item, key, i);
    if (!v) return std::nullopt;
    out[i] = *v;
  }
  return out;
}

std::uint16_t getUS(DcmItem& item, const DcmTagKey& key, std::uint16_t fallback = 0) {
  Uint16 v = 0;
  return item.findAndGetUint16(key, v).good() ? v : fallback;
}

// A value of the LUT Descriptor (0028,3002), whose VR is US or SS: its 16 bits.
std::optional<std::uint16_t> lutDescriptorValue(DcmItem& item, unsigned long pos) {
  Uint16 u = 0;
  if (item.findAndGetUint16(DCM_LUTDescriptor, u, pos).good()) return u;
  Sint16 v = 0;
  if (item.findAndGetSint16(DCM_LUTDescriptor, v, pos).good()) return static_cast<std::uint16_t>(v);
  return std::nullopt;
}

SliceAttributes attributesOf(DcmDataset& ds, DcmMetaInfo& meta) {
  SliceAttributes a;
  const auto s = [&](const DcmTagKey& k) { return dcmtk::getString(ds, k); };
  dcmtk::Utf8Text utf8(ds);  // text values as UTF-8, from the slice's SpecificCharacterSet
  const auto text = [&](const DcmTagKey& k, bool personName = false) { return utf8(s(k), personName); };
  a.sopClassUid = s(DCM_SOPClassUID);
  a.sopInstanceUid = s(DCM_SOPInstanceUID);
  a.studyInstanceUid = s(DCM_StudyInstanceUID);
  a.seriesInstanceUid = s(DCM_SeriesInstanceUID);
  a.frameOfReferenceUid = s(DCM_FrameOfReferenceUID);
  a.transferSyntaxUid = dcmtk::getString(meta, DCM_TransferSyntaxUID);
  if (a.transferSyntaxUid.empty()) a.transferSyntaxUid = DcmXfer(ds.getOriginalXfer()).getXferID();  // no meta
  a.modality = s(DCM_Modality);
  a.bodyPartExamined = s(DCM_BodyPartExamined);
  a.studyDescription = text(DCM_StudyDescription);
  a.seriesDescription = text(DCM_SeriesDescription);
  a.patientName = text(DCM_PatientName, true);
  a.patientId = text(DCM_PatientID);
  a.patientBirthDate = s(DCM_PatientBirthDate);
  a.patientSex = s(DCM_PatientSex);
  a.accessionNumber = text(DCM_AccessionNumber);
  a.institutionName = text(DCM_InstitutionName);
  a.referringPhysicianName = text(DCM_ReferringPhysicianName, true);
  a.studyDate = s(DCM_StudyDate);
  a.studyTime = s(DCM_StudyTime);
  a.studyId = text(DCM_StudyID);
  a.seriesNumber = s(DCM_SeriesNumber);
  a.instanceNumber = s(DCM_InstanceNumber);
  a.samplesPerPixel = getUS(ds, DCM_SamplesPerPixel);
  a.rows = getUS(ds, DCM_Rows);
  a.columns = getUS(ds, DCM_Columns);
  a.bitsAllocated = getUS(ds, DCM_BitsAllocated);
  a.bitsStored = getUS(ds, DCM_BitsStored, a.bitsAllocated);
  a.highBit = getUS(ds, DCM_HighBit, static_cast<std::uint16_t>(a.bitsStored > 0 ? a.bitsStored - 1 : 0));
  a.pixelRepresentation = getUS(ds, DCM_PixelRepresentation);
  a.planarConfiguration = getUS(ds, DCM_PlanarConfiguration);
  a.photometricInterpretation = s(DCM_PhotometricInterpretation);
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0) a.numberOfFrames = frames;
  a.rescaleSlope = getDouble(ds, DCM_RescaleSlope).value_or(1.0);
  a.rescaleIntercept = getDouble(ds, DCM_RescaleIntercept).value_or(0.0);
  if (a.rescaleSlope == 0.0) a.rescaleSlope = 1.0;
  DcmItem* lut = nullptr;
  if (ds.findAndGetSequenceItem(DCM_ModalityLUTSequence, lut, 0).good() && lut != nullptr) {
    ModalityLut m;
    const std::uint32_t entries = lutDescriptorValue(*lut, 0).value_or(0);
    m.entries = entries == 0 ? 65536U : entries;
    const std::uint16_t first = lutDescriptorValue(*lut, 1).value_or(0);
    m.firstMapped = a.pixelRepresentation == 1 ? static_cast<std::int16_t>(first) : first;
    m.bitsPerEntry = lutDescriptorValue(*lut, 2).value_or(0);
    m.type = dcmtk::getString(*lut, DCM_ModalityLUTType);
    a.modalityLut = m;
    a.rescaleSlope = 1.0;  // the sequence takes precedence (PS3.3 C.11.1)
    a.rescaleIntercept = 0.0;
  }
  for (unsigned long i = 0;; ++i) {
    const auto c = getDouble(ds, DCM_WindowCenter, i);
    const auto w = getDouble(ds, DCM_WindowWidth, i);
    if (!c || !w) break;
    if (*w > 0) {
      OFString explanation;
      ds.findAndGetOFString(DCM_WindowCenterWidthExplanation, explanation, i);
      a.windows.push_back({*c, *w, utf8(std::string(explanation.c_str(), explanation.length()))});
    }
  }
  a.pixelSpacing = getVector<2>(ds, DCM_PixelSpacing);
  a.imagePositionPatient = getVector<3>(ds, DCM_ImagePositionPatient);
  a.imageOrientationPatient = getVector<6>(ds, DCM_ImageOrientationPatient);
  if (utf8.failed()) {
    warn("text of instance " + a.sopInstanceUid + " in SpecificCharacterSet '" + utf8.charset() +
         "' could not be converted to UTF-8: characters beyond ASCII replaced by U+FFFD");
  }
  return a;
}

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(ErrorCode::UnsupportedImage, what);
}

float ybrToRgb(float y, float cb, float cr, int channel) {
  // PS3.3 C.7.6.3.1.2 (YBR_FULL), 8-bit full range
  const float v = channel == 0   ? y + 1.402F * (cr - 128.0F)
                  : channel == 1 ? y - 0.344136F * (cb - 128.0F) - 0.714136F * (cr - 128.0F)
                                 : y + 1.772F * (cb - 128.0F);
  return std::clamp(v, 0.0F, 255.0F);
}

std::unique_ptr<DcmFileFormat> loadImage(const std::filesystem::path& path) {
  dcmtk::registerDecoders();
  return dcmtk::loadFile(path);
}

SliceImage decodeSlice(DcmFileFormat& file, std::int32_t frame);
void checkDecodable(DcmDataset& ds, const SliceAttributes& a, std::int32_t frame);

bool isJpeg2000Syntax(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000;
}

bool isDcmjpegSyntax(E_TransferSyntax xfer) {
  switch (xfer) {
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess3_5:
    case EXS_JPEGProcess6_8:
    case EXS_JPEGProcess7_9:
    case EXS_JPEGProcess10_12:
    case EXS_JPEGProcess11_13:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess15:
    case EXS_JPEGProcess16_18:
    case EXS_JPEGProcess17_19:
    case EXS_JPEGProcess20_22:
    case EXS_JPEGProcess21_23:
    case EXS_JPEGProcess24_26:
    case EXS_JPEGProcess25_27:
    case EXS_JPEGProcess28:
    case EXS_JPEGProcess29:
    case EXS_JPEGProcess14SV1: return true;
    default: return false;
  }
}

// The JPEG (or JPEG-LS) header at the start of one frame: the dimensions and components its
// start-of-frame declares, or nothing when the bytes hold no start-of-frame.
struct JpegFrameHeader {
  unsigned rows{0}, columns{0}, components{0};
};

// DCMTK's JPEG decoder (3.6.7) first walks the markers of the first fragment to find the sample
// precision, and that walk never advances past a TEM marker (FF01): a hostile or corrupt file would
// hang the caller (found by the slice fuzzer). Walk the same way first and refuse such a stream.
// TEM is a stand-alone marker no DICOM JPEG header needs before its SOF. The start-of-frame found
// (SOF0-15, or SOF55 for JPEG-LS) says how large the decoded frame is.
std::optional<JpegFrameHeader> walkJpegHeader(const Uint8* data, std::uint64_t length, bool jpegLs) {
  const auto word = [&](std::uint64_t at) { return static_cast<unsigned>((data[at] << 8U) | data[at + 1]); };
  std::uint64_t offset = 0;
  while (offset + 4 < length) {
    const unsigned marker = word(offset);
    // SOF55 (FFF7) starts a JPEG-LS frame; in the other JPEG syntaxes DCMTK skips it as a segment
    const bool startOfFrame =
        (marker >= 0xFFC0 && marker <= 0xFFCF && marker != 0xFFC4 && marker != 0xFFC8 && marker != 0xFFCC) ||
        (jpegLs && marker == 0xFFF7);
    if (startOfFrame) {
      // length (2), precision (1), lines (2), samples per line (2), components (1)
      if (offset + 10 > length) return std::nullopt;
      return JpegFrameHeader{word(offset + 5), word(offset + 7), data[offset + 9]};
    }
    if (marker == 0xFF01) {
      unsupported("JPEG stream has a TEM marker (FF01) at byte " + std::to_string(offset) +
                  " before its start-of-frame (corrupt header)");
    }
    if (marker == 0xFFFF) {
      offset += 1;
    } else if ((marker >= 0xFFD0 && marker <= 0xFFD9) || (marker >= 0xFF03 && marker <= 0xFFBF)) {
      offset += 2;
    } else if (marker >= 0xFFC4) {
      offset += word(offset + 2) + 2ULL;  // segment with a length
    } else {
      return std::nullopt;  // DCMTK stops here with a syntax error
    }
  }
  return std::nullopt;
}

// Before DCMTK decodes anything: each fragment that starts a JPEG or JPEG-LS stream (SOI) must
// declare, in its start-of-frame, the Rows, Columns and SamplesPerPixel of the attributes (the
// decoder sizes its buffers from the stream's header, which a hostile file sets as it likes).
void checkJpegHeaders(DcmPixelSequence& sequence, const SliceAttributes& a, bool jpegLs) {
  const unsigned long items = sequence.card();
  for (unsigned long i = 1; i < items; ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* data = nullptr;
    if (sequence.getItem(item, i).bad() || item == nullptr || item->getLength() < 4 ||
        item->getUint8Array(data).bad() || data == nullptr) {
      continue;  // DCMTK reports these itself
    }
    // DCMTK walks the first fragment from its first byte, SOI or not (and hangs on a TEM there):
    // walked in any case; a later fragment when it starts a stream
    const bool startsStream = data[0] == 0xFF && data[1] == 0xD8;
    if (i > 1 && !startsStream) continue;
    const auto header = walkJpegHeader(data, item->getLength(), jpegLs);
    if (!header && !startsStream) continue;  // no stream: DCMTK reports it
    if (!header) {
      unsupported("fragment " + std::to_string(i) + " starts a JPEG stream without a start-of-frame in it");
    }
    if (header->rows != a.rows || header->columns != a.columns || header->components != a.samplesPerPixel) {
      unsupported("the JPEG stream in fragment " + std::to_string(i) + " is " + std::to_string(header->columns) + "x" +
                  std::to_string(header->rows) + " with " + std::to_string(header->components) +
                  " component(s); the attributes say " + std::to_string(a.columns) + "x" + std::to_string(a.rows) +
                  " with " + std::to_string(a.samplesPerPixel));
    }
  }
}

bool isDcmjplsSyntax(E_TransferSyntax xfer) {
  return xfer == EXS_JPEGLSLossless || xfer == EXS_JPEGLSLossy;
}

// Every size a header declares, checked before anything is allocated from it (SliceLimits):
// one frame's samples; for native Pixel Data, its length against NumberOfFrames frames; for
// compressed Pixel Data that DCMTK decodes (all frames at once), the fragments against
// NumberOfFrames, the decoded size against kMaxDecodedBytes, and JPEG headers against the
// attributes.
void checkDeclaredSizes(DcmDataset& ds, const SliceAttributes& a, const DcmXfer& original) {
  const std::uint64_t pixels = static_cast<std::uint64_t>(a.rows) * a.columns;
  const std::uint64_t samples = pixels * a.samplesPerPixel;
  const auto frames = static_cast<std::uint64_t>(a.numberOfFrames);
  if (samples > SliceLimits::kMaxFrameSamples) {
    unsupported("a frame of " + std::to_string(a.columns) + "x" + std::to_string(a.rows) + "x" +
                std::to_string(a.samplesPerPixel) + " samples (at most " +
                std::to_string(SliceLimits::kMaxFrameSamples) + " are decoded)");
  }
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) unsupported("no Pixel Data");
  if (!original.isEncapsulated()) {
    const bool ybr422 = a.photometricInterpretation == "YBR_FULL_422";
    const std::uint64_t frameSamples = ybr422 ? pixels * 2 : samples;
    const std::uint64_t needed =
        a.bitsAllocated == 1 ? (frameSamples * frames + 7) / 8 : frameSamples * (a.bitsAllocated / 8U) * frames;
    const std::uint64_t present = element->getLength();
    if (present < needed) {
      throw Error(ErrorCode::TruncatedDicom, "Pixel Data holds " + std::to_string(present) + " bytes; " +
                                                 std::to_string(frames) + " frame(s) of " + std::to_string(a.columns) +
                                                 "x" + std::to_string(a.rows) + " need " + std::to_string(needed));
    }
    return;
  }
  auto* pixelData = dynamic_cast<DcmPixelData*>(element);
  DcmPixelSequence* sequence = nullptr;
  if (pixelData == nullptr || pixelData->getEncapsulatedRepresentation(original.getXfer(), nullptr, sequence).bad() ||
      sequence == nullptr) {
    unsupported(std::string("no encapsulated Pixel Data in ") + original.getXferName());
  }
  const std::uint64_t fragments = sequence->card() > 0 ? sequence->card() - 1 : 0;
  if (fragments < frames) {
    throw Error(ErrorCode::TruncatedDicom, "encapsulated Pixel Data has " + std::to_string(fragments) +
                                               " fragment(s) for " + std::to_string(frames) + " frame(s)");
  }
  if (isJpeg2000Syntax(original.getXfer())) return;  // decoded a frame at a time, its header checked first
  const std::uint64_t decoded = samples * std::max<std::uint64_t>(1, a.bitsAllocated / 8U) * frames;
  if (decoded > SliceLimits::kMaxDecodedBytes) {
    unsupported(std::to_string(frames) + " compressed frame(s) of " + std::to_string(a.columns) + "x" +
                std::to_string(a.rows) + " decode to " + std::to_string(decoded) + " bytes (at most " +
                std::to_string(SliceLimits::kMaxDecodedBytes) + ")");
  }
  if (isDcmjpegSyntax(original.getXfer()) || isDcmjplsSyntax(original.getXfer())) {
    checkJpegHeaders(*sequence, a, isDcmjplsSyntax(original.getXfer()));
  }
}

}  // namespace

SliceAttributes readSliceAttributes(const std::filesystem::path& path) {
  auto file = dcmtk::loadFileUntil(path, DCM_PixelData);  // nothing of the pixels is read
  return attributesOf(*file->getDataset(), *file->getMetaInfo());
}

void checkSlice(const std::filesystem::path& path, std::int32_t frame) {
  auto file = loadImage(path);
  try {
    DcmDataset& ds = *file->getDataset();
    checkDecodable(ds, attributesOf(ds, *file->getMetaInfo()), frame);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

SliceImage readSlice(const std::filesystem::path& path, std::int32_t frame) {
  auto file = loadImage(path);
  try {
    return decodeSlice(*file, frame);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

namespace {

// The table of the Modality LUT Sequence, checked (PS3.3 C.11.1.1): one item; 8 to 16 bits per
// entry; LUT Data with one value per entry in 16-bit words, or 8-bit entries packed two to a word.
std::vector<float> modalityLutTable(DcmDataset& ds, const SliceAttributes& a) {
  const ModalityLut& m = *a.modalityLut;
  DcmSequenceOfItems* sequence = nullptr;
  if (ds.findAndGetSequence(DCM_ModalityLUTSequence, sequence).bad() || sequence == nullptr) {
    unsupported("Modality LUT Sequence unreadable");
  }
  if (sequence->card() != 1) {
    unsupported("Modality LUT Sequence with " + std::to_string(sequence->card()) + " items (one is applied)");
  }
  DcmItem& item = *sequence->getItem(0);
  for (unsigned long k = 0; k < 3; ++k) {
    if (!lutDescriptorValue(item, k))
      unsupported("Modality LUT Sequence: LUT Descriptor (0028,3002) has no value " + std::to_string(k + 1));
  }
  if (m.bitsPerEntry < 8 || m.bitsPerEntry > 16) {
    unsupported("Modality LUT Sequence: " + std::to_string(m.bitsPerEntry) + " bits per entry (8 to 16 are applied)");
  }
  DcmElement* element = nullptr;
  Uint16* words = nullptr;
  if (item.findAndGetElement(DCM_LUTData, element).bad() || element == nullptr ||
      element->getUint16Array(words).bad() || words == nullptr) {
    unsupported("Modality LUT Sequence: no LUT Data (0028,3006)");
  }
  const std::size_t count = element->getLength() / 2;
  std::vector<float> table(m.entries);
  if (count == m.entries) {
    // one entry per 16-bit word; 8-bit entries in the low byte (as pydicom reads them)
    const unsigned mask = m.bitsPerEntry == 16 ? 0xFFFFU : (1U << m.bitsPerEntry) - 1U;
    for (std::size_t k = 0; k < count; ++k) table[k] = static_cast<float>(words[k] & mask);
  } else if (m.bitsPerEntry == 8 && count == (m.entries + 1) / 2) {
    // 8-bit entries packed two to a word, in the order of the file's bytes
    const bool bigEndian = DcmXfer(ds.getOriginalXfer()).isBigEndian();
    for (std::size_t k = 0; k < m.entries; ++k) {
      const unsigned word = words[k / 2];
      const bool high = (k % 2 == 1) != bigEndian;
      table[k] = static_cast<float>(high ? word >> 8U : word & 0xFFU);
    }
  } else {
    unsupported("Modality LUT Sequence: LUT Data holds " + std::to_string(count) + " 16-bit values for " +
                std::to_string(m.entries) + " entries of " + std::to_string(m.bitsPerEntry) + " bits");
  }
  return table;
}

// The bytes of frame @p frame of encapsulated Pixel Data: its fragments concatenated. Where a
// frame starts comes from the Basic Offset Table; without one, a single frame is every fragment,
// as many fragments as frames are one each, and otherwise a frame starts at each fragment that
// starts a JPEG 2000 codestream (SOC then SIZ: FF4F FF51), when there are as many as frames.
std::vector<std::uint8_t> frameFragments(DcmPixelSequence& sequence, std::int32_t frame, std::int32_t frames) {
  struct Fragment {
    const Uint8* data;
    std::size_t length;
    std::uint64_t offset;  // from the first fragment's item tag, as the offset table counts
  };
  std::vector<Fragment> fragments;
  std::uint64_t offset = 0;
  const unsigned long items = sequence.card();
  for (unsigned long i = 1; i < items; ++i) {
    DcmPixelItem* item = nullptr;
    if (sequence.getItem(item, i).bad() || item == nullptr)
      unsupported("fragment " + std::to_string(i) + " unreadable");
    Uint8* data = nullptr;
    const std::size_t length = item->getLength();
    if (length > 0 && (item->getUint8Array(data).bad() || data == nullptr)) {
      unsupported("fragment " + std::to_string(i) + " unreadable");
    }
    fragments.push_back({data, length, offset});
    offset += 8U + length;
  }
  if (fragments.empty()) unsupported("encapsulated Pixel Data without fragments");
  const auto frameCount = static_cast<std::size_t>(frames);
  const auto f = static_cast<std::size_t>(frame);
  std::size_t first = 0;
  std::size_t last = fragments.size();  // [first, last)
  DcmPixelItem* table = nullptr;
  Uint8* tableBytes = nullptr;
  const std::size_t tableLength =
      sequence.getItem(table, 0).good() && table != nullptr ? static_cast<std::size_t>(table->getLength()) : 0U;
  if (tableLength > 0) {
    if (table->getUint8Array(tableBytes).bad() || tableBytes == nullptr) unsupported("Basic Offset Table unreadable");
    if (tableLength % 4 != 0 || tableLength / 4 != frameCount) {
      unsupported("the Basic Offset Table has " + std::to_string(tableLength / 4) + " entries for " +
                  std::to_string(frameCount) + " frame(s)");
    }
    const auto entry = [&](std::size_t k) {
      const Uint8* p = tableBytes + 4 * k;
      return static_cast<std::uint64_t>(p[0]) | (static_cast<std::uint64_t>(p[1]) << 8U) |
             (static_cast<std::uint64_t>(p[2]) << 16U) | (static_cast<std::uint64_t>(p[3]) << 24U);
    };
    const auto fragmentAt = [&](std::uint64_t at) {
      const auto it =
          std::find_if(fragments.begin(), fragments.end(), [&](const Fragment& x) { return x.offset == at; });
      if (it == fragments.end()) {
        unsupported("the Basic Offset Table points at byte " + std::to_string(at) + ", where no fragment starts");
      }
      return static_cast<std::size_t>(it - fragments.begin());
    };
    first = fragmentAt(entry(f));
    if (f + 1 < frameCount) last = fragmentAt(entry(f + 1));
    if (last <= first) unsupported("the Basic Offset Table is not in increasing order");
  } else if (frameCount == fragments.size()) {
    first = f;
    last = f + 1;
  } else if (frameCount > 1) {
    std::vector<std::size_t> starts;
    for (std::size_t k = 0; k < fragments.size(); ++k) {
      const Fragment& x = fragments[k];
      if (x.length >= 4 && x.data[0] == 0xFF && x.data[1] == 0x4F && x.data[2] == 0xFF && x.data[3] == 0x51) {
        starts.push_back(k);
      }
    }
    if (starts.size() != frameCount || starts[0] != 0) {
      unsupported("no Basic Offset Table and " + std::to_string(fragments.size()) + " fragments for " +
                  std::to_string(frameCount) + " frames: where frame " + std::to_string(frame) + " starts is unknown");
    }
    first = starts[f];
    last = f + 1 < frameCount ? starts[f + 1] : fragments.size();
  }
  std::size_t total = 0;
  for (std::size_t k = first; k < last; ++k) total += fragments[k].length;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(total);
  for (std::size_t k = first; k < last; ++k)
    bytes.insert(bytes.end(), fragments[k].data, fragments[k].data + fragments[k].length);
  return bytes;
}

// Frame @p frame of JPEG 2000 Pixel Data (OpenJPEG), as signed values, colour as RGB.
std::vector<std::int32_t> decodeJpeg2000(DcmDataset& ds, SliceAttributes& a, std::int32_t frame) {
  DcmElement* element = nullptr;
  auto* pixelData =
      ds.findAndGetElement(DCM_PixelData, element).good() ? dynamic_cast<DcmPixelData*>(element) : nullptr;
  DcmPixelSequence* sequence = nullptr;
  if (pixelData == nullptr || pixelData->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, sequence).bad() ||
      sequence == nullptr) {
    unsupported("JPEG 2000 transfer syntax without encapsulated Pixel Data");
  }
  if (a.bitsAllocated != 8 && a.bitsAllocated != 16) {
    unsupported("JPEG 2000 with BitsAllocated " + std::to_string(a.bitsAllocated) + " (8 or 16 are decoded)");
  }
  const auto codestream = frameFragments(*sequence, frame, a.numberOfFrames);
  auto decoded = jpeg2000::decode(codestream, {a.rows, a.columns, a.samplesPerPixel, a.bitsAllocated});
  // The codestream says how its samples are signed. Unsigned samples where PixelRepresentation is
  // 1 are read as two's complement of the codestream's precision, as pydicom and GDCM do
  // (J2K_pixelrep_mismatch.dcm); signed samples in an unsigned image have no such reading.
  if (decoded.isSigned && a.pixelRepresentation == 0) {
    unsupported("JPEG 2000 components are signed but PixelRepresentation is 0 (unsigned)");
  }
  if (!decoded.isSigned && a.pixelRepresentation == 1) {
    const std::int32_t half = std::int32_t{1} << (decoded.precision - 1U);
    for (auto& v : decoded.samples) {
      if (v >= half) v -= 2 * half;
    }
  }
  const std::string& pi = a.photometricInterpretation;
  if (a.samplesPerPixel == 3) {
    if (pi == "YBR_RCT" || pi == "YBR_ICT") {
      // the component transform is the codestream's: OpenJPEG undoes it when the codestream says so
      if (!decoded.colourTransformed) {
        unsupported("PhotometricInterpretation " + pi + " but the codestream has no multiple component transform");
      }
      a.photometricInterpretation = "RGB";
    } else if (decoded.colourTransformed) {
      // RCT/ICT undone: RGB whatever the attribute says (PS3.5 8.2.4 allows only RGB or YBR_RCT/ICT then)
      a.photometricInterpretation = "RGB";
    }
  }
  return std::move(decoded.samples);
}

// Everything about frame @p frame that can be refused before a pixel is decoded: the pixel
// module is one we decode, and every size the header declares fits SliceLimits and the file.
void checkDecodable(DcmDataset& ds, const SliceAttributes& a, std::int32_t frame) {
  if (!ds.tagExists(DCM_PixelData)) unsupported("no Pixel Data (7FE0,0010)");
  if (a.rows == 0 || a.columns == 0) unsupported("Rows or Columns is 0");
  if (a.samplesPerPixel != 1 && a.samplesPerPixel != 3) {
    unsupported("SamplesPerPixel " + std::to_string(a.samplesPerPixel) + " (1 or 3 are decoded)");
  }
  if (a.bitsAllocated != 1 && a.bitsAllocated != 8 && a.bitsAllocated != 16 && a.bitsAllocated != 32) {
    unsupported("BitsAllocated " + std::to_string(a.bitsAllocated) + " (1, 8, 16 or 32 are decoded)");
  }
  if (a.bitsAllocated == 1 && a.samplesPerPixel != 1) unsupported("1-bit colour data");
  if (a.bitsStored == 0 || a.bitsStored > a.bitsAllocated || a.highBit >= a.bitsAllocated ||
      a.highBit + 1 < a.bitsStored) {
    unsupported("inconsistent BitsStored/HighBit");
  }
  if (frame < 0 || frame >= a.numberOfFrames) {
    throw Error(ErrorCode::InvalidArgument,
                "frame " + std::to_string(frame) + " out of range (" + std::to_string(a.numberOfFrames) + " frame(s))");
  }
  const DcmXfer original(ds.getOriginalXfer());
  const bool jpeg2000 = isJpeg2000Syntax(original.getXfer());
  const std::string& pi = a.photometricInterpretation;
  const bool mono = pi == "MONOCHROME1" || pi == "MONOCHROME2";
  const bool ybrFull = pi == "YBR_FULL";
  const bool ybr422 = pi == "YBR_FULL_422";
  const bool componentTransform = jpeg2000 && (pi == "YBR_RCT" || pi == "YBR_ICT");
  if (!(mono && a.samplesPerPixel == 1) &&
      !((pi == "RGB" || ybrFull || ybr422 || componentTransform) && a.samplesPerPixel == 3)) {
    unsupported("PhotometricInterpretation " + pi + " with " + std::to_string(a.samplesPerPixel) +
                " sample(s) is not decoded (MONOCHROME1/2, RGB, YBR_FULL, YBR_FULL_422 are; YBR_RCT and YBR_ICT in "
                "JPEG 2000)");
  }

  checkDeclaredSizes(ds, a, original);
}

SliceImage decodeSlice(DcmFileFormat& file, std::int32_t frame) {
  DcmDataset& ds = *file.getDataset();
  SliceImage img;
  img.attributes = attributesOf(ds, *file.getMetaInfo());
  auto& a = img.attributes;
  checkDecodable(ds, a, frame);
  const DcmXfer original(ds.getOriginalXfer());
  const bool jpeg2000 = isJpeg2000Syntax(original.getXfer());
  const std::string& pi = a.photometricInterpretation;
  const bool mono = pi == "MONOCHROME1" || pi == "MONOCHROME2";

  img.frame = frame;
  img.rows = a.rows;
  img.columns = a.columns;
  img.samples = a.samplesPerPixel;
  img.monochrome1 = a.photometricInterpretation == "MONOCHROME1";
  const std::size_t pixelsPerFrame = static_cast<std::size_t>(a.rows) * a.columns;
  img.pixels.resize(pixelsPerFrame * img.samples);
  // grey: the modality LUT; colour: interleaved RGB, YBR converted
  const std::vector<float> lut = mono && a.modalityLut ? modalityLutTable(ds, a) : std::vector<float>{};
  const auto finish = [&](const auto& sampleAt, bool ybr, bool ybrHalf) {
    if (mono && !lut.empty()) {
      // below the first value mapped: the first entry; beyond the last: the last (C.11.1.1)
      const double first = a.modalityLut->firstMapped;
      const double last = static_cast<double>(lut.size() - 1);
      for (std::size_t i = 0; i < pixelsPerFrame; ++i) {
        img.pixels[i] = lut[static_cast<std::size_t>(std::clamp(sampleAt(i) - first, 0.0, last))];
      }
      return;
    }
    if (mono) {
      for (std::size_t i = 0; i < pixelsPerFrame; ++i) {
        img.pixels[i] = static_cast<float>(sampleAt(i) * a.rescaleSlope + a.rescaleIntercept);
      }
      return;
    }
    for (std::size_t i = 0; i < pixelsPerFrame; ++i) {
      std::array<float, 3> v{};
      if (ybrHalf) {
        const std::size_t pair = i / 2;
        v = {static_cast<float>(sampleAt(pair * 4 + (i % 2))), static_cast<float>(sampleAt(pair * 4 + 2)),
             static_cast<float>(sampleAt(pair * 4 + 3))};
      } else {
        for (std::size_t c = 0; c < 3; ++c) {
          const std::size_t index = a.planarConfiguration == 1 ? c * pixelsPerFrame + i : i * 3 + c;
          v[c] = static_cast<float>(sampleAt(index));
        }
      }
      for (int c = 0; c < 3; ++c) {
        img.pixels[i * 3 + static_cast<std::size_t>(c)] =
            (ybr || ybrHalf) ? ybrToRgb(v[0], v[1], v[2], c) : v[static_cast<std::size_t>(c)];
      }
    }
    a.photometricInterpretation = "RGB";
  };

  if (jpeg2000) {
    const auto samples = decodeJpeg2000(ds, a, frame);
    a.planarConfiguration = 0;  // the decoder interleaves
    finish([&](std::size_t i) { return static_cast<double>(samples[i]); }, a.photometricInterpretation == "YBR_FULL",
           false);
    return img;
  }

  // Decompress into Explicit VR Little Endian when needed.
  if (original.isEncapsulated()) {
    const OFCondition cond = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      unsupported(std::string("compressed pixel data in ") + original.getXferName() + " that DCMTK cannot decode here" +
                  (cond.bad() ? std::string(" (") + cond.text() + ")" : ""));
    }
    // the decoder may have converted YBR to RGB
    a.photometricInterpretation = dcmtk::getString(ds, DCM_PhotometricInterpretation);
    a.planarConfiguration = getUS(ds, DCM_PlanarConfiguration);
  }
  const bool nowYbrFull = a.photometricInterpretation == "YBR_FULL";
  const bool nowYbr422 = a.photometricInterpretation == "YBR_FULL_422";

  DcmElement* pixelData = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixelData).bad() || pixelData == nullptr) unsupported("no Pixel Data");
  Uint8* raw = nullptr;
  if (pixelData->getUint8Array(raw).bad() || raw == nullptr) unsupported("Pixel Data cannot be read");
  const std::size_t bytesPerSample = a.bitsAllocated / 8U;
  const std::size_t samplesPerFrame = nowYbr422 ? pixelsPerFrame * 2 : pixelsPerFrame * a.samplesPerPixel;
  const std::size_t available = pixelData->getLength();
  if (a.bitsAllocated == 1) {
    // bit-packed, least significant bit first, frames follow each other bit by bit
    const std::size_t firstBit = samplesPerFrame * static_cast<std::size_t>(frame);
    if ((firstBit + samplesPerFrame + 7) / 8 > available) {
      throw Error(ErrorCode::TruncatedDicom, "Pixel Data is too short for frame " + std::to_string(frame));
    }
    finish(
        [&](std::size_t i) {
          const std::size_t bit = firstBit + i;
          return static_cast<double>((raw[bit / 8] >> (bit % 8)) & 1U);
        },
        false, false);
    return img;
  }
  const std::size_t frameBytes = samplesPerFrame * bytesPerSample;
  if (available < frameBytes * static_cast<std::size_t>(frame + 1)) {
    throw Error(ErrorCode::TruncatedDicom, "Pixel Data holds " + std::to_string(available) + " bytes, frame " +
                                               std::to_string(frame) + " needs up to " +
                                               std::to_string(frameBytes * static_cast<std::size_t>(frame + 1)));
  }
  const Uint8* base = raw + frameBytes * static_cast<std::size_t>(frame);
  const unsigned shift = static_cast<unsigned>(a.highBit + 1 - a.bitsStored);
  const std::uint64_t mask = a.bitsStored >= 64 ? ~0ULL : ((1ULL << a.bitsStored) - 1);
  const bool isSigned = a.pixelRepresentation == 1;
  // DCMTK byte-swaps OW data from big endian files as 16-bit words: 32-bit samples then come with
  // their two halves exchanged (found by the pydicom comparison on rtdose_expb.dcm).
  const bool swapHalves = a.bitsAllocated == 32 && original.isBigEndian() && pixelData->getVR() == EVR_OW;
  const auto sampleAt = [&](std::size_t index) -> double {
    std::uint64_t v = 0;
    const Uint8* p = base + index * bytesPerSample;
    for (std::size_t b = 0; b < bytesPerSample; ++b) v |= static_cast<std::uint64_t>(p[b]) << (8U * b);  // host LE
    if (swapHalves) v = ((v & 0xFFFFU) << 16U) | (v >> 16U);
    v = (v >> shift) & mask;
    if (isSigned && (v >> (a.bitsStored - 1U)) != 0) {
      return static_cast<double>(static_cast<std::int64_t>(v) - static_cast<std::int64_t>(1ULL << a.bitsStored));
    }
    return static_cast<double>(v);
  };
  finish(sampleAt, nowYbrFull, nowYbr422);
  return img;
}

struct Frame {
  std::array<double, 3> origin, x, y;
  double rowSpacing, columnSpacing;
};

Frame frameOf(const SliceAttributes& s) {
  if (!s.pixelSpacing || !s.imagePositionPatient || !s.imageOrientationPatient) {
    throw Error(ErrorCode::MissingGeometry,
                "the slice has no geometry (ImagePositionPatient, ImageOrientationPatient, PixelSpacing)",
                ErrorContext{.uid = s.sopInstanceUid});
  }
  const auto& o = *s.imageOrientationPatient;
  return {*s.imagePositionPatient, {o[0], o[1], o[2]}, {o[3], o[4], o[5]}, (*s.pixelSpacing)[0], (*s.pixelSpacing)[1]};
}

}  // namespace

std::array<double, 3> pixelToPatient(const SliceAttributes& slice, double column, double row) {
  const Frame f = frameOf(slice);
  std::array<double, 3> p{};
  for (std::size_t i = 0; i < 3; ++i) {
    p[i] = f.origin[i] + column * f.columnSpacing * f.x[i] + row * f.rowSpacing * f.y[i];
  }
  return p;
}

std::array<double, 2> patientToPixel(const SliceAttributes& slice, const std::array<double, 3>& point) {
  const Frame f = frameOf(slice);
  std::array<double, 3> d{};
  for (std::size_t i = 0; i < 3; ++i) d[i] = point[i] - f.origin[i];
  const double dx = d[0] * f.x[0] + d[1] * f.x[1] + d[2] * f.x[2];
  const double dy = d[0] * f.y[0] + d[1] * f.y[1] + d[2] * f.y[2];
  return {dx / f.columnSpacing, dy / f.rowSpacing};
}

}  // namespace iodeep::iod
