#pragma once
/// @file Segmentation.hpp
/// DICOM Segmentations (SEG) of approved (or rejected) ROIs, beside the RT Structure Set: writer
/// and reader, plain types only. Written with DCMTK's dcmseg classes, Pixel Data packed here
/// (docs/seg.md).

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "iodeep/iod/Slice.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::seg {

struct SegmentationOptions {
  /// The SEG's SOP and Series Instance UIDs; empty: new random ones. A caller that may write the
  /// same segmentation again (a retried store) passes its own.
  std::string sopInstanceUid, seriesInstanceUid;
  /// Empty: "IODEEP AI SEG" ("IODEEP REJECTED SEG" when the set is rejected).
  std::string seriesDescription;
};

struct WrittenSegmentation {
  std::string sopInstanceUid, seriesInstanceUid;
  std::size_t segments{0}, frames{0};
};

/// Writes a binary Segmentation of @p input's ROIs (atomically: temporary file, then rename).
/// One segment per ROI, numbered 1, 2, ... in the order of input.rois: SegmentLabel = ROI name,
/// its colour as RecommendedDisplayCIELabValue, SegmentAlgorithmType from RoiInput::generation,
/// SegmentAlgorithmName = the network's name (none for MANUAL, as the standard has it), and the
/// network in the Segmentation Algorithm Identification (AlgorithmName, AlgorithmVersion,
/// AlgorithmParameters "DnnUID=..."). One
/// frame per (segment, image) on which the ROI has rings: the ROI's rings on that image filled
/// even-odd (iod::fillEvenOdd), each frame referencing its source image (Derivation Image,
/// Source Image) with the image's plane position, orientation and pixel spacing. Patient,
/// study and frame of reference come from the images, which must share one frame of reference
/// and study, carry geometry and have one size (Rows x Columns). The approval goes into the
/// Approval attributes (ApprovalStatus, ReviewDate, ReviewTime, ReviewerName) and the Content
/// Identification (ContentDescription "APPROVED by ...", ContentCreatorName = the reviewer).
/// Throws Error(InvalidArgument: no ROI, no ring, ring with < 3 points, no reviewer, ROI name
/// not 1-64 characters, ROI number negative or used twice, invalid UID; MissingGeometry;
/// IncompatibleImage: frames of reference, studies or image sizes differ; ResourceLimit: more
/// frames than readSegmentation takes (iod::SliceLimits); OutputError).
WrittenSegmentation writeSegmentation(const rtstruct::StructureSetInput& input, const std::filesystem::path& path,
                                      const SegmentationOptions& options = {});

/// One frame of a segment: its mask on one image.
struct SegmentFrame {
  std::string referencedSopInstanceUid;  ///< the source image; empty when the frame names none
  std::uint16_t rows{0}, columns{0};
  std::vector<std::uint8_t> mask;  ///< rows * columns, row-major, 0/1
};

struct SegmentInfo {
  std::uint16_t number{0};
  std::string label, algorithmType, algorithmName;
  std::array<std::uint8_t, 3> color{255, 0, 0};  ///< from RecommendedDisplayCIELabValue (sRGB)
  std::vector<SegmentFrame> frames;
};

struct SegmentationInfo {
  std::string sopInstanceUid, seriesInstanceUid, studyInstanceUid, frameOfReferenceUid, seriesDescription;
  std::string contentLabel, contentDescription, contentCreatorName, contentDate, contentTime;
  std::string approvalStatus, reviewerName, reviewDate, reviewTime;  ///< as written (empty when absent)
  std::string networkName, networkVersion, networkDnnUid;            ///< from the Algorithm Identification
  std::string segmentationType;                                      ///< BINARY or FRACTIONAL
  std::uint16_t rows{0}, columns{0};
  /// The images the SEG references (ReferencedSeriesSequence, then frames' source images not
  /// listed there with an empty series), as (SOP Instance UID, Series Instance UID).
  std::vector<std::pair<std::string, std::string>> referencedImages;
  std::vector<SegmentInfo> segments;
};

/// Reads any binary (or fractional: a pixel is inside at half the MaximumFractionalValue or
/// more) DICOM Segmentation, ours or another writer's. Throws Error(FileNotFound, NotDicom,
/// TruncatedDicom, NotSegmentation for other DICOM, MalformedSegmentation for a segmentation
/// with missing or inconsistent attributes or Pixel Data shorter than its frames,
/// UnsupportedImage for Pixel Data that cannot be decompressed, ResourceLimit for frames beyond
/// iod::SliceLimits), each with the file as context.
SegmentationInfo readSegmentation(const std::filesystem::path& path);

/// One segment's mask on an image: the frames referencing the image by SOP Instance UID,
/// combined (a pixel is inside when it is inside in any of them).
struct SegmentOnImage {
  SegmentInfo segment;  ///< frames left empty
  std::vector<std::uint8_t> mask;
};

/// The segments that have frames on @p image, in segment order. Throws Error(IncompatibleImage)
/// when such a frame's size is not the image's Rows x Columns.
std::vector<SegmentOnImage> segmentsOnImage(const SegmentationInfo& seg, const iod::SliceAttributes& image);

}  // namespace iodeep::seg
