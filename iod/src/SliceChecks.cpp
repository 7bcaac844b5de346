// What a slice is refused for before decoding: its pixel module, SliceLimits, frames, fragments, JPEG headers.
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <algorithm>
#include <optional>
#include <string>

#include "SliceSupport.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::iod::detail {

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(ErrorCode::UnsupportedImage, what);
}

bool isJpeg2000Syntax(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000;
}

namespace {

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

}  // namespace iodeep::iod::detail
