// The structure sets on the PACS that contour a series: found by C-FIND, retrieved and read.
#include "iodeep/workflow/StructureSets.hpp"

#include <set>

#include "iodeep/iod/Error.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/seg/Segmentation.hpp"

namespace iodeep::client {

std::vector<StructureSetOnPacs> findStructureSets(const Pacs& pacs, const std::string& studyUidIn,
                                                  const std::string& seriesUid, const std::filesystem::path& directory,
                                                  bool withSegmentations) {
  const std::string studyUid = studyUidIn.empty() ? studyOfSeries(pacs, seriesUid) : studyUidIn;
  std::set<std::string> images;
  for (const auto& i : findInstances(pacs, studyUid, seriesUid)) images.insert(i.sopInstanceUid);
  std::vector<StructureSetOnPacs> out;
  const auto studySeries = findSeries(pacs, studyUid);  // one SERIES query for both kinds
  for (const auto& s : studySeries) {
    if (s.modality != "RTSTRUCT") continue;
    const auto got = pacs.retrieve(QueryLevel::Series, studyUid, s.seriesInstanceUid, {}, directory,
                                   {std::string("1.2.840.10008.5.1.4.1.1.481.3")});
    for (const auto& file : got.files) {
      rtstruct::StructureSetInfo info;
      try {
        info = rtstruct::readStructureSet(file);
      } catch (const Error& e) {  // another system's malformed set: listed as damaged, the others still listed
        StructureSetOnPacs damaged;
        damaged.studyInstanceUid = studyUid;
        damaged.seriesInstanceUid = s.seriesInstanceUid;
        damaged.sopInstanceUid = file.stem().string();  // retrieved as <SOPInstanceUID>.dcm
        damaged.file = file;
        damaged.damaged = std::string(toString(e.code())) + ": " + e.detail();
        out.push_back(std::move(damaged));
        continue;
      }
      StructureSetOnPacs set{studyUid,
                             s.seriesInstanceUid,
                             info.sopInstanceUid,
                             info.label,
                             info.approvalStatus,
                             info.reviewerName,
                             info.reviewDate,
                             info.reviewTime,
                             info.contributingAlgorithm,
                             {},
                             0,
                             file,
                             {}};
      for (const auto& roi : info.rois) {
        set.roiNames.push_back(roi.name);
        for (const auto& [uid, points] : roi.contours) set.contoursOnSeries += images.count(uid);
      }
      if (set.contoursOnSeries > 0) out.push_back(std::move(set));
    }
  }
  if (!withSegmentations) return out;
  for (const auto& s : studySeries) {
    if (s.modality != "SEG") continue;
    const auto got = pacs.retrieve(QueryLevel::Series, studyUid, s.seriesInstanceUid, {}, directory,
                                   {std::string("1.2.840.10008.5.1.4.1.1.66.4")});
    for (const auto& file : got.files) {
      StructureSetOnPacs set;
      set.studyInstanceUid = studyUid;
      set.seriesInstanceUid = s.seriesInstanceUid;
      set.file = file;
      set.modality = "SEG";
      try {
        const auto info = seg::readSegmentation(file);
        set.sopInstanceUid = info.sopInstanceUid;
        set.label = info.contentLabel;
        set.approvalStatus = info.approvalStatus;
        set.reviewerName = info.reviewerName;
        set.reviewDate = info.reviewDate;
        set.reviewTime = info.reviewTime;
        set.proposedBy = info.networkName + (info.networkVersion.empty() ? "" : " " + info.networkVersion) +
                         (info.networkDnnUid.empty() ? "" : " (DnnUID " + info.networkDnnUid + ")");
        for (const auto& segment : info.segments) {
          set.roiNames.push_back(segment.label);
          for (const auto& frame : segment.frames) set.contoursOnSeries += images.count(frame.referencedSopInstanceUid);
        }
      } catch (const Error& e) {  // another system's malformed Segmentation: listed as damaged
        set.sopInstanceUid = file.stem().string();
        set.damaged = std::string(toString(e.code())) + ": " + e.detail();
        out.push_back(std::move(set));
        continue;
      }
      if (set.contoursOnSeries > 0) out.push_back(std::move(set));
    }
  }
  return out;
}

}  // namespace iodeep::client
