// Decoding one frame: DCMTK codecs or OpenJPEG, frame fragments, stored bits, modality LUT or rescale, RGB.
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "Jpeg2000.hpp"
#include "SliceSupport.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::iod::detail {

namespace {

float ybrToRgb(float y, float cb, float cr, int channel) {
  // PS3.3 C.7.6.3.1.2 (YBR_FULL), 8-bit full range
  const float v = channel == 0   ? y + 1.402F * (cr - 128.0F)
                  : channel == 1 ? y - 0.344136F * (cb - 128.0F) - 0.714136F * (cr - 128.0F)
                                 : y + 1.772F * (cb - 128.0F);
  return std::clamp(v, 0.0F, 255.0F);
}

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

}  // namespace

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

}  // namespace iodeep::iod::detail
