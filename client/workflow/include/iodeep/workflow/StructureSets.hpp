#pragma once
/// @file StructureSets.hpp
/// The RT Structure Sets (and DICOM Segmentations) on the PACS that contour a series (the viewer's
/// list, `iodeep rtstruct list`): found by C-FIND, retrieved and read.

#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/network/Query.hpp"

namespace iodeep::client {

/// An RT Structure Set on the PACS that has contours on a series.
struct StructureSetOnPacs {
  std::string studyInstanceUid, seriesInstanceUid, sopInstanceUid;
  std::string label, approvalStatus, reviewerName, reviewDate, reviewTime, proposedBy;
  std::vector<std::string> roiNames;
  std::size_t contoursOnSeries{0};
  std::filesystem::path file;  ///< where it was retrieved to
  /// Empty, or why the set cannot be read ("<ErrorCode>: <detail>"): a damaged set is listed with
  /// its study, series, SOP Instance UID and file only, and nothing else of it is used.
  std::string damaged;
  /// "RTSTRUCT", or "SEG" for a DICOM Segmentation (listed with withSegmentations): then label is
  /// its ContentLabel, roiNames its segments' labels, contoursOnSeries its frames on the series.
  std::string modality{"RTSTRUCT"};
};

/// The structure sets of @p studyUid (found when empty) whose contours reference images of
/// @p seriesUid: RTSTRUCT series found by C-FIND, retrieved into @p directory (kept there) and
/// read. A set of the study that cannot be read (another system's, malformed) does not stop the
/// listing: it is listed as damaged (whichever series it was meant for). With @p withSegmentations,
/// the DICOM Segmentations (SEG series) whose frames reference images of the series too, after the
/// structure sets (the viewer). Throws iodeep::Error for PACS problems.
[[nodiscard]] std::vector<StructureSetOnPacs> findStructureSets(const Pacs& pacs, const std::string& studyUid,
                                                                const std::string& seriesUid,
                                                                const std::filesystem::path& directory,
                                                                bool withSegmentations = false);

}  // namespace iodeep::client
