// What C-FIND found, for the command line and the viewer: text tables and JSON arrays.
#include "iodeep/reports/BrowseReport.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/stores/ModelCache.hpp"

namespace iodeep::client {

namespace {

// A plain text table: a header row, then one row per record; columns as wide as their widest cell.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::ostringstream o;
  const auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      o << cells[c];
      if (c + 1 < cells.size()) o << std::string(width[c] - cells[c].size() + 2, ' ');
    }
    o << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return o.str();
}

std::string dump(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string modelsReport(const std::vector<RemoteModel>& models, const ModelCache& cache, bool json) {
  nlohmann::json a = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (auto m : models) {
    const auto cached = cache.findBySopInstance(m.sopInstanceUid);
    if (cached) fillBlanksFromCache(m, *cached);  // what the PACS did not return, as verified in the object
    const auto [name, version] = nameAndVersion(m.seriesDescription);
    const std::string spp = m.samplesPerPixel == 0 ? "" : std::to_string(m.samplesPerPixel);
    rows.push_back({name, version, m.modality, m.bodyPartExamined, spp, cached ? cached->dnnUid : "(not retrieved)",
                    cached ? std::to_string(cached->bytes) : "", m.sopInstanceUid});
    nlohmann::json j = {{"name", name},
                        {"version", version},
                        {"modality", m.modality},
                        {"bodyPartExamined", m.bodyPartExamined},
                        {"samplesPerPixel", m.samplesPerPixel},
                        {"photometricInterpretation", m.photometricInterpretation},
                        {"studyInstanceUid", m.studyInstanceUid},
                        {"seriesInstanceUid", m.seriesInstanceUid},
                        {"sopInstanceUid", m.sopInstanceUid},
                        {"cached", cached.has_value()}};
    if (cached) {
      j["dnnUid"] = cached->dnnUid;
      j["bytes"] = cached->bytes;
    }
    a.push_back(j);
  }
  if (json) return dump(a);
  return table({"Name", "Version", "Modality", "BodyPart", "SPP", "DnnUID", "Bytes", "SOPInstanceUID"}, rows) +
         std::to_string(models.size()) + " network(s)\n";
}

std::string toText(const std::vector<StudyInfo>& v) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(v.size());
  for (const auto& s : v) {
    rows.push_back({s.patientName, s.patientId, s.patientBirthDate, s.studyDate, s.studyDescription,
                    s.modalitiesInStudy, s.studyInstanceUid});
  }
  return table({"PatientName", "PatientID", "BirthDate", "StudyDate", "Description", "Modalities", "StudyInstanceUID"},
               rows);
}

std::string toJson(const std::vector<StudyInfo>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) {
    a.push_back({{"studyInstanceUid", s.studyInstanceUid},
                 {"patientName", s.patientName},
                 {"patientId", s.patientId},
                 {"patientBirthDate", s.patientBirthDate},
                 {"patientSex", s.patientSex},
                 {"studyDate", s.studyDate},
                 {"studyTime", s.studyTime},
                 {"studyDescription", s.studyDescription},
                 {"accessionNumber", s.accessionNumber},
                 {"studyId", s.studyId},
                 {"modalitiesInStudy", s.modalitiesInStudy},
                 {"numberOfSeries", s.numberOfSeries}});
  }
  return dump(a);
}

std::string toText(const std::vector<SeriesInfo>& v) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(v.size());
  for (const auto& s : v) {
    rows.push_back({s.seriesNumber, s.modality, s.seriesDescription + (s.iodeepModels ? " [IODeep models]" : ""),
                    s.numberOfInstances, s.seriesInstanceUid});
  }
  return table({"Number", "Modality", "Description", "Images", "SeriesInstanceUID"}, rows);
}

std::string toJson(const std::vector<SeriesInfo>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) {
    a.push_back({{"studyInstanceUid", s.studyInstanceUid},
                 {"seriesInstanceUid", s.seriesInstanceUid},
                 {"modality", s.modality},
                 {"seriesNumber", s.seriesNumber},
                 {"seriesDescription", s.seriesDescription},
                 {"bodyPartExamined", s.bodyPartExamined},
                 {"numberOfInstances", s.numberOfInstances},
                 {"iodeepModels", s.iodeepModels}});
  }
  return dump(a);
}

std::string toText(const std::vector<InstanceInfo>& v) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(v.size());
  for (const auto& i : v) rows.push_back({i.instanceNumber, i.rows + "x" + i.columns, i.sopInstanceUid});
  return table({"Number", "Size", "SOPInstanceUID"}, rows);
}

std::string toJson(const std::vector<InstanceInfo>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& i : v) {
    a.push_back({{"studyInstanceUid", i.studyInstanceUid},
                 {"seriesInstanceUid", i.seriesInstanceUid},
                 {"sopInstanceUid", i.sopInstanceUid},
                 {"sopClassUid", i.sopClassUid},
                 {"instanceNumber", i.instanceNumber},
                 {"rows", i.rows},
                 {"columns", i.columns},
                 {"samplesPerPixel", i.samplesPerPixel}});
  }
  return dump(a);
}

std::string toText(const std::vector<StructureSetOnPacs>& v) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : v) {
    std::string rois;
    for (const auto& n : s.roiNames) rois += (rois.empty() ? "" : ", ") + n;
    if (!s.damaged.empty()) {
      rows.push_back({"(damaged)", "", "", "", "", "", s.sopInstanceUid});
      continue;
    }
    rows.push_back({s.label, s.approvalStatus, s.reviewerName, s.reviewDate, rois, std::to_string(s.contoursOnSeries),
                    s.sopInstanceUid});
  }
  std::string out = table({"Label", "Approval", "Reviewer", "ReviewDate", "ROIs", "Contours", "SOPInstanceUID"}, rows);
  for (const auto& s : v) {
    if (!s.damaged.empty()) out += s.sopInstanceUid + ": damaged: " + s.damaged + " (skipped)\n";
  }
  return out;
}

std::string toJson(const std::vector<StructureSetOnPacs>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) {
    a.push_back({{"studyInstanceUid", s.studyInstanceUid},
                 {"seriesInstanceUid", s.seriesInstanceUid},
                 {"sopInstanceUid", s.sopInstanceUid},
                 {"label", s.label},
                 {"approvalStatus", s.approvalStatus},
                 {"reviewerName", s.reviewerName},
                 {"reviewDate", s.reviewDate},
                 {"reviewTime", s.reviewTime},
                 {"proposedBy", s.proposedBy},
                 {"rois", s.roiNames},
                 {"contoursOnSeries", s.contoursOnSeries},
                 {"file", s.file.string()},
                 {"damaged", s.damaged}});
  }
  return dump(a);
}

}  // namespace iodeep::client
