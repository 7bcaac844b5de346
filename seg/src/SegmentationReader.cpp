// Reads any DICOM Segmentation (ours or another writer's) with plain dcmdata rather than dcmseg:
// one implementation of the 1-bit layout (PixelPacking.cpp) reads and writes, checked against
// pydicom (docs/seg.md), and every size the file declares is checked here against what it holds
// before anything is allocated from it.
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmiod/cielabutil.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "PixelPacking.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/seg/Segmentation.hpp"

namespace iodeep::seg {

namespace {

[[noreturn]] void malformed(const std::string& detail) {
  throw Error(ErrorCode::MalformedSegmentation, detail);
}

// Item @p index of sequence @p seq in @p parent; nullptr when there is none.
DcmItem* itemOf(DcmItem* parent, const DcmTagKey& seq, unsigned long index = 0) {
  if (parent == nullptr) return nullptr;
  DcmItem* out = nullptr;
  if (parent->findAndGetSequenceItem(seq, out, static_cast<signed long>(index)).bad()) return nullptr;
  return out;
}

// A functional group of one frame: in its per-frame item, else in the shared one.
DcmItem* groupOf(DcmItem* perFrame, DcmItem* shared, const DcmTagKey& seq) {
  if (DcmItem* item = itemOf(perFrame, seq)) return item;
  return itemOf(shared, seq);
}

std::optional<std::uint16_t> us(DcmItem& item, const DcmTagKey& key, unsigned long pos = 0) {
  Uint16 v = 0;
  if (item.findAndGetUint16(key, v, pos).bad()) return std::nullopt;
  return v;
}

// "DnnUID=<uid>" in AlgorithmParameters (as we write it), up to ';' or the end
std::string dnnUidOf(const std::string& parameters) {
  const auto at = parameters.find("DnnUID=");
  if (at == std::string::npos) return {};
  auto value = parameters.substr(
      at + 7, parameters.find(';', at) == std::string::npos ? std::string::npos : parameters.find(';', at) - at - 7);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return value;
}

std::array<std::uint8_t, 3> rgbOf(std::uint16_t l, std::uint16_t a, std::uint16_t b) {
  double r = 0;
  double g = 0;
  double bl = 0;
  IODCIELabUtil::dicomLab2RGB(r, g, bl, l, a, b);
  const auto byte = [](double v) { return static_cast<std::uint8_t>(std::clamp(std::lround(v * 255.0), 0L, 255L)); };
  return {byte(r), byte(g), byte(bl)};
}

// The (SOP Instance UID, Series Instance UID) pairs of a ReferencedSeriesSequence.
void addReferencedSeries(DcmItem& parent, std::vector<std::pair<std::string, std::string>>& out) {
  DcmSequenceOfItems* series = nullptr;
  if (parent.findAndGetSequence(DCM_ReferencedSeriesSequence, series).bad() || series == nullptr) return;
  for (unsigned long s = 0; s < series->card(); ++s) {
    DcmItem* item = series->getItem(s);
    const std::string seriesUid = iod::dcmtk::getString(*item, DCM_SeriesInstanceUID);
    DcmSequenceOfItems* instances = nullptr;
    if (item->findAndGetSequence(DCM_ReferencedInstanceSequence, instances).bad() || instances == nullptr) continue;
    for (unsigned long i = 0; i < instances->card(); ++i) {
      const std::string sop = iod::dcmtk::getString(*instances->getItem(i), DCM_ReferencedSOPInstanceUID);
      if (!sop.empty()) out.emplace_back(sop, seriesUid);
    }
  }
}

SegmentationInfo readDataset(DcmDataset& ds, const std::string& transferSyntax) {
  const std::string modality = iod::dcmtk::getString(ds, DCM_Modality);
  const std::string sopClass = iod::dcmtk::getString(ds, DCM_SOPClassUID);
  if (sopClass != UID_SegmentationStorage) {
    throw Error(ErrorCode::NotSegmentation,
                "not a Segmentation (Modality '" + modality + "', SOP Class " + sopClass + ")");
  }
  iod::dcmtk::Utf8Text utf8(ds);
  const auto textOf = [&](DcmItem& item, const DcmTagKey& key) { return utf8(iod::dcmtk::getString(item, key)); };
  const auto personOf = [&](DcmItem& item, const DcmTagKey& key) {
    return utf8(iod::dcmtk::getString(item, key), true);
  };

  SegmentationInfo info;
  info.sopInstanceUid = iod::dcmtk::getString(ds, DCM_SOPInstanceUID);
  info.seriesInstanceUid = iod::dcmtk::getString(ds, DCM_SeriesInstanceUID);
  info.studyInstanceUid = iod::dcmtk::getString(ds, DCM_StudyInstanceUID);
  info.frameOfReferenceUid = iod::dcmtk::getString(ds, DCM_FrameOfReferenceUID);
  info.seriesDescription = textOf(ds, DCM_SeriesDescription);
  info.contentLabel = iod::dcmtk::getString(ds, DCM_ContentLabel);
  info.contentDescription = textOf(ds, DCM_ContentDescription);
  info.contentCreatorName = personOf(ds, DCM_ContentCreatorName);
  info.contentDate = iod::dcmtk::getString(ds, DCM_ContentDate);
  info.contentTime = iod::dcmtk::getString(ds, DCM_ContentTime);
  info.approvalStatus = iod::dcmtk::getString(ds, DCM_ApprovalStatus);
  info.reviewerName = personOf(ds, DCM_ReviewerName);
  info.reviewDate = iod::dcmtk::getString(ds, DCM_ReviewDate);
  info.reviewTime = iod::dcmtk::getString(ds, DCM_ReviewTime);
  info.segmentationType = iod::dcmtk::getString(ds, DCM_SegmentationType);

  // the pixel module: sizes checked before anything is allocated from them
  const bool binary = info.segmentationType == "BINARY";
  if (!binary && info.segmentationType != "FRACTIONAL") {
    malformed("SegmentationType '" + info.segmentationType + "' is neither BINARY nor FRACTIONAL");
  }
  const auto rows = us(ds, DCM_Rows);
  const auto columns = us(ds, DCM_Columns);
  if (!rows || !columns || *rows == 0 || *columns == 0) malformed("no Rows/Columns");
  info.rows = *rows;
  info.columns = *columns;
  const auto bitsAllocated = us(ds, DCM_BitsAllocated);
  if (bitsAllocated != std::optional<std::uint16_t>(binary ? 1 : 8)) {
    malformed("BitsAllocated " + (bitsAllocated ? std::to_string(*bitsAllocated) : std::string("(none)")) + " for a " +
              info.segmentationType + " segmentation (" + (binary ? "1" : "8") + " expected)");
  }
  std::uint16_t maximum = 1;
  if (!binary) {
    maximum = us(ds, DCM_MaximumFractionalValue).value_or(0);
    if (maximum == 0 || maximum > 255) malformed("MaximumFractionalValue missing or not 1-255");
  }
  Sint32 frameCount = 0;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frameCount).bad() || frameCount < 1) {
    malformed("NumberOfFrames missing or below 1");
  }
  const auto frames = static_cast<std::size_t>(frameCount);
  const std::size_t pixelsPerFrame = static_cast<std::size_t>(info.rows) * info.columns;
  if (pixelsPerFrame > iod::SliceLimits::kMaxFrameSamples ||
      frames > iod::SliceLimits::kMaxDecodedBytes / pixelsPerFrame) {
    throw Error(ErrorCode::ResourceLimit, std::to_string(frames) + " frames of " + std::to_string(info.rows) + "x" +
                                              std::to_string(info.columns) + " are beyond the slice limits");
  }
  if (DcmXfer(transferSyntax.c_str()).isEncapsulated()) {
    iod::dcmtk::registerDecoders();
    const OFCondition cond = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    if (cond.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit)) {
      throw Error(ErrorCode::UnsupportedImage, "compressed Pixel Data (" + transferSyntax +
                                                   ") that DCMTK cannot decode here" +
                                                   (cond.bad() ? std::string(": ") + cond.text() : ""));
    }
  }
  DcmElement* pixelData = nullptr;
  Uint8* pixels = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixelData).bad() || pixelData == nullptr ||
      pixelData->getUint8Array(pixels).bad()) {
    malformed("no Pixel Data");
  }
  const std::size_t have = pixels == nullptr ? 0 : pixelData->getLength();
  const std::size_t need = binary ? (frames * pixelsPerFrame + 7) / 8 : frames * pixelsPerFrame;
  if (have < need) {
    malformed("Pixel Data holds " + std::to_string(have) + " bytes; " + std::to_string(frames) + " frames of " +
              std::to_string(info.rows) + "x" + std::to_string(info.columns) + " at " + (binary ? "1 bit" : "8 bits") +
              " need " + std::to_string(need));
  }

  // the segments
  DcmSequenceOfItems* segments = nullptr;
  if (ds.findAndGetSequence(DCM_SegmentSequence, segments).bad() || segments == nullptr || segments->card() == 0) {
    malformed("no SegmentSequence");
  }
  std::map<std::uint16_t, std::size_t> byNumber;
  for (unsigned long s = 0; s < segments->card(); ++s) {
    DcmItem& item = *segments->getItem(s);
    SegmentInfo segment;
    const auto n = us(item, DCM_SegmentNumber);
    if (!n) malformed("segment " + std::to_string(s + 1) + " of the SegmentSequence has no SegmentNumber");
    if (!byNumber.emplace(*n, info.segments.size()).second) {
      malformed("SegmentNumber " + std::to_string(*n) + " is used twice");
    }
    segment.number = *n;
    segment.label = textOf(item, DCM_SegmentLabel);
    segment.algorithmType = iod::dcmtk::getString(item, DCM_SegmentAlgorithmType);
    segment.algorithmName = textOf(item, DCM_SegmentAlgorithmName);
    const auto l = us(item, DCM_RecommendedDisplayCIELabValue, 0);
    const auto a = us(item, DCM_RecommendedDisplayCIELabValue, 1);
    const auto b = us(item, DCM_RecommendedDisplayCIELabValue, 2);
    if (l && a && b) segment.color = rgbOf(*l, *a, *b);
    if (DcmItem* algorithm = itemOf(&item, DCM_SegmentationAlgorithmIdentificationSequence);
        algorithm != nullptr && info.networkName.empty()) {
      info.networkName = textOf(*algorithm, DCM_AlgorithmName);
      info.networkVersion = textOf(*algorithm, DCM_AlgorithmVersion);
      info.networkDnnUid = dnnUidOf(iod::dcmtk::getString(*algorithm, DCM_AlgorithmParameters));
    }
    info.segments.push_back(std::move(segment));
  }

  // the frames: segment and source image from the functional groups
  DcmItem* shared = itemOf(&ds, DCM_SharedFunctionalGroupsSequence);
  DcmSequenceOfItems* perFrame = nullptr;
  if (ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrame).good() && perFrame != nullptr &&
      perFrame->card() != frames) {
    malformed("PerFrameFunctionalGroupsSequence has " + std::to_string(perFrame->card()) + " items for " +
              std::to_string(frames) + " frames");
  }
  std::set<std::string> listed;
  addReferencedSeries(ds, info.referencedImages);
  DcmSequenceOfItems* otherStudies = nullptr;
  if (ds.findAndGetSequence(DCM_StudiesContainingOtherReferencedInstancesSequence, otherStudies).good() &&
      otherStudies != nullptr) {
    for (unsigned long s = 0; s < otherStudies->card(); ++s)
      addReferencedSeries(*otherStudies->getItem(s), info.referencedImages);
  }
  for (const auto& [sop, series] : info.referencedImages) listed.insert(sop);
  for (std::size_t f = 0; f < frames; ++f) {
    DcmItem* own = perFrame != nullptr ? perFrame->getItem(static_cast<unsigned long>(f)) : nullptr;
    DcmItem* identification = groupOf(own, shared, DCM_SegmentIdentificationSequence);
    const auto n = identification != nullptr ? us(*identification, DCM_ReferencedSegmentNumber) : std::nullopt;
    if (!n) malformed("frame " + std::to_string(f + 1) + " names no segment (SegmentIdentificationSequence)");
    const auto it = byNumber.find(*n);
    if (it == byNumber.end()) {
      malformed("frame " + std::to_string(f + 1) + " references segment " + std::to_string(*n) +
                " that the SegmentSequence does not define");
    }
    SegmentFrame frame;
    frame.rows = info.rows;
    frame.columns = info.columns;
    DcmItem* source = itemOf(groupOf(own, shared, DCM_DerivationImageSequence), DCM_SourceImageSequence);
    if (source != nullptr)
      frame.referencedSopInstanceUid = iod::dcmtk::getString(*source, DCM_ReferencedSOPInstanceUID);
    if (!frame.referencedSopInstanceUid.empty() && listed.insert(frame.referencedSopInstanceUid).second) {
      info.referencedImages.emplace_back(frame.referencedSopInstanceUid, std::string());
    }
    if (binary) {
      frame.mask = unpackBinaryFrame(pixels, f, pixelsPerFrame);
    } else {
      frame.mask.resize(pixelsPerFrame);
      const Uint8* values = pixels + f * pixelsPerFrame;
      for (std::size_t i = 0; i < pixelsPerFrame; ++i) {
        frame.mask[i] = static_cast<std::uint8_t>(values[i] != 0 && 2U * values[i] >= maximum ? 1 : 0);
      }
    }
    info.segments[it->second].frames.push_back(std::move(frame));
  }
  return info;
}

}  // namespace

SegmentationInfo readSegmentation(const std::filesystem::path& path) {
  const auto file = iod::dcmtk::loadFile(path);
  try {
    return readDataset(*file->getDataset(), iod::dcmtk::transferSyntaxOf(*file));
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
}

std::vector<SegmentOnImage> segmentsOnImage(const SegmentationInfo& seg, const iod::SliceAttributes& image) {
  std::vector<SegmentOnImage> out;
  for (const auto& segment : seg.segments) {
    SegmentOnImage on;
    for (const auto& frame : segment.frames) {
      if (frame.referencedSopInstanceUid.empty() || frame.referencedSopInstanceUid != image.sopInstanceUid) continue;
      if (frame.rows != image.rows || frame.columns != image.columns) {
        throw Error(ErrorCode::IncompatibleImage,
                    "segment " + std::to_string(segment.number) + " has a frame of " + std::to_string(frame.rows) +
                        "x" + std::to_string(frame.columns) + " on an image of " + std::to_string(image.rows) + "x" +
                        std::to_string(image.columns),
                    ErrorContext{.uid = image.sopInstanceUid});
      }
      if (on.mask.empty()) on.mask.assign(frame.mask.size(), 0);
      for (std::size_t i = 0; i < frame.mask.size(); ++i)
        on.mask[i] = static_cast<std::uint8_t>(on.mask[i] | frame.mask[i]);
    }
    if (on.mask.empty()) continue;
    on.segment =
        SegmentInfo{segment.number, segment.label, segment.algorithmType, segment.algorithmName, segment.color, {}};
    out.push_back(std::move(on));
  }
  return out;
}

}  // namespace iodeep::seg
