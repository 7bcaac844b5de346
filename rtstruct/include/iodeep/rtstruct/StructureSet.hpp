#pragma once
/// @file StructureSet.hpp
/// RT Structure Sets of approved (or rejected) ROI proposals: writer and reader, plain types
/// only. Written with DCMTK's dcmrt classes (docs/rtstruct.md).

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/Polygon.hpp"
#include "iodeep/iod/Slice.hpp"

namespace iodeep::rtstruct {

/// The rings of one ROI on one image, in that image's pixel coordinates (iod/Polygon.hpp).
struct ImageContours {
  iod::SliceAttributes image;
  std::vector<iod::Ring> rings;
};

/// How an ROI came to be (ROI Generation Algorithm, 3006,0036): the network's proposal accepted
/// as it was, the proposal corrected by the physician, or drawn by the physician.
enum class RoiGeneration { Automatic, Semiautomatic, Manual };

struct RoiInput {
  std::string name;
  std::array<std::uint8_t, 3> color{255, 0, 0};
  std::string interpretedType{"ORGAN"};
  RoiGeneration generation{RoiGeneration::Automatic};
  std::vector<ImageContours> contours;
  /// ROINumber; 0: the ROI's place in the set (1, 2, ...). Numbers must be unique in a set: a
  /// set of original proposals numbers its ROIs as the corrected ROIs of the approved set.
  std::int32_t number{0};
};

/// The network that proposed the ROIs (ROIGenerationDescription, Contributing Equipment).
struct NetworkInfo {
  std::string name, version, dnnUid, sopInstanceUid;
};

enum class ApprovalStatus { Approved, Rejected, Unapproved };

struct StructureSetInput {
  std::vector<RoiInput> rois;
  NetworkInfo network;
  ApprovalStatus approval{ApprovalStatus::Approved};
  std::string reviewerName;  ///< PN, e.g. "Doe^Jane"; required for APPROVED and REJECTED
  std::string reviewDate;    ///< YYYYMMDD; empty: today
  std::string reviewTime;    ///< HHMMSS; empty: now
  std::string label{"IODEEP AI ROI"};
  std::string seriesDescription{};  ///< empty: "IODEEP AI ROI" ("IODEEP REJECTED ROI" when rejected)
  /// The structure set this one was derived from (PredecessorStructureSetSequence): an approved
  /// set with corrected ROIs names the set of the network's original proposals. Empty: none.
  std::string predecessorSopInstanceUid{};
  /// The set's SOP and Series Instance UIDs; empty: new random ones. A caller that may write the
  /// same set again (a retried request) passes its own, so that the PACS gets one instance.
  std::string sopInstanceUid{}, seriesInstanceUid{};
};

struct WrittenStructureSet {
  std::string sopInstanceUid;
  std::string seriesInstanceUid;
  std::size_t contours{0};
  std::size_t rois{0};
};

/// The refusals of writeStructureSet, made before anything is written (the Segmentation writer
/// makes them too, `seg/`): no ROI; APPROVED or REJECTED without a reviewer; an ROI number negative
/// or used twice, an ROI name not 1-64 characters, an ROI without contour, a ring of fewer than 3
/// points (InvalidArgument); an image without geometry or FrameOfReferenceUID (MissingGeometry);
/// images of different frames of reference or studies (IncompatibleImage). @p object names what is
/// written in the messages ("RT Structure Set: ..."). Returns the first image: the set's patient,
/// study and frame of reference.
const iod::SliceAttributes& checkStructureSetInput(const StructureSetInput& input, std::string_view object);

/// Writes @p input as an RT Structure Set (atomically). Patient, study and frame of reference come
/// from the images, which must share one FrameOfReferenceUID and carry geometry. Throws
/// Error(InvalidArgument: no ROI, ring with < 3 points, no reviewer; MissingGeometry;
/// IncompatibleImage: frames of reference differ; OutputError).
WrittenStructureSet writeStructureSet(const StructureSetInput& input, const std::filesystem::path& path);

/// One ROI of a stored structure set.
struct StoredRoi {
  std::int32_t number{0};
  std::string name;
  std::array<std::uint8_t, 3> color{255, 0, 0};
  std::string interpretedType, generationAlgorithm, generationDescription, interpreter;
  /// contours per referenced SOP Instance UID, as patient-space point lists (mm)
  std::vector<std::pair<std::string, std::vector<std::array<double, 3>>>> contours;
};

struct StructureSetInfo {
  std::string sopInstanceUid, seriesInstanceUid, studyInstanceUid, frameOfReferenceUid;
  std::string label, name, date, time;
  std::string approvalStatus, reviewerName, reviewDate, reviewTime;
  std::string contributingAlgorithm;                       ///< from Contributing Equipment (the proposing network)
  std::string networkName, networkVersion, networkDnnUid;  ///< the same equipment's model, versions, serial
  std::string seriesDescription;
  std::string predecessorSopInstanceUid;  ///< PredecessorStructureSetSequence's set, empty when none
  /// The images the set references (Referenced Frame of Reference -> study -> series -> Contour
  /// Image), as (SOP Instance UID, Series Instance UID).
  std::vector<std::pair<std::string, std::string>> referencedImages;
  std::vector<StoredRoi> rois;
};

/// Reads any RT Structure Set. Throws Error(FileNotFound, NotDicom, TruncatedDicom,
/// NotRtStructureSet for other DICOM, MalformedRtStructureSet for a malformed structure set).
StructureSetInfo readStructureSet(const std::filesystem::path& path);

/// The ROIs' rings on @p image, in its pixel coordinates: contours referencing the image by SOP
/// Instance UID, or (when a contour has no reference) lying in its plane within half a pixel.
/// Holes are the rings nested inside an odd number of others (even-odd), as written.
struct RoiOnImage {
  StoredRoi roi;  ///< contours left empty
  std::vector<iod::Ring> rings;
};
std::vector<RoiOnImage> roisOnImage(const StructureSetInfo& set, const iod::SliceAttributes& image);

[[nodiscard]] std::string toString(ApprovalStatus status);
[[nodiscard]] std::string toString(RoiGeneration generation);

}  // namespace iodeep::rtstruct
