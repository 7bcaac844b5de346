#include "iodeep/client/Browse.hpp"

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "iodeep/client/ModelCache.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::client {

namespace {

// The C-FIND convention (docs/iodeep-iod.md): "IODEEP <name> [<version>]". Our own RT Structure
// Sets are described "IODEEP AI ROI" / "IODEEP REJECTED ROI": their modality tells them apart.
bool isModelSeries(const std::string& description, const std::string& modality) {
  if (modality == "RTSTRUCT") return false;
  return description.rfind(iod::kSeriesDescriptionPrefix, 0) == 0 || description == "IODEEP";
}

InstanceInfo instanceOf(const DicomRecord& r) {
  return {r.get(tags::kStudyInstanceUid), r.get(tags::kSeriesInstanceUid), r.get(tags::kSopInstanceUid),
          r.get(tags::kSopClassUid),      r.get(tags::kInstanceNumber),    r.get(tags::kRows),
          r.get(tags::kColumns),          r.get(tags::kSamplesPerPixel),   r.get(tags::kModality)};
}

Query imageQuery(const std::string& study, const std::string& series, const std::string& sop = {}) {
  return {QueryLevel::Image,
          {{tags::kStudyInstanceUid, study},
           {tags::kSeriesInstanceUid, series},
           {tags::kSopInstanceUid, sop},
           {tags::kSopClassUid, ""},
           {tags::kInstanceNumber, ""},
           {tags::kRows, ""},
           {tags::kColumns, ""},
           {tags::kSamplesPerPixel, ""},
           {tags::kModality, ""}}};
}

}  // namespace

StudyList listStudies(const Pacs& pacs, const StudyFilter& f) {
  const Query q{QueryLevel::Study,
                {{tags::kStudyInstanceUid, ""},
                 {tags::kPatientName, f.patientName},
                 {tags::kPatientId, f.patientId},
                 {tags::kPatientBirthDate, ""},
                 {tags::kPatientSex, ""},
                 {tags::kStudyDate, f.studyDate},
                 {tags::kStudyTime, ""},
                 {tags::kStudyDescription, f.studyDescription},
                 {tags::kAccessionNumber, ""},
                 {tags::kStudyId, ""},
                 {tags::kModalitiesInStudy, f.modality},
                 {tags::kNumberOfStudyRelatedSeries, ""}}};
  StudyList out;
  out.truncated = pacs.find(q,
                            [&](const DicomRecord& r) {
                              out.studies.push_back(
                                  {r.get(tags::kStudyInstanceUid), r.get(tags::kPatientName), r.get(tags::kPatientId),
                                   r.get(tags::kPatientBirthDate), r.get(tags::kPatientSex), r.get(tags::kStudyDate),
                                   r.get(tags::kStudyTime), r.get(tags::kStudyDescription),
                                   r.get(tags::kAccessionNumber), r.get(tags::kStudyId),
                                   r.get(tags::kModalitiesInStudy), r.get(tags::kNumberOfStudyRelatedSeries)});
                              return true;
                            })
                      .truncated;
  return out;
}

std::vector<StudyInfo> findStudies(const Pacs& pacs, const StudyFilter& f) {
  return listStudies(pacs, f).studies;
}

std::vector<SeriesInfo> findSeries(const Pacs& pacs, const std::string& studyUid) {
  const Query q{QueryLevel::Series,
                {{tags::kStudyInstanceUid, studyUid},
                 {tags::kSeriesInstanceUid, ""},
                 {tags::kModality, ""},
                 {tags::kSeriesNumber, ""},
                 {tags::kSeriesDescription, ""},
                 {tags::kBodyPartExamined, ""},
                 {tags::kNumberOfSeriesRelatedInstances, ""}}};
  std::vector<SeriesInfo> out;
  (void)pacs.find(q, [&](const DicomRecord& r) {
    SeriesInfo s{r.get(tags::kStudyInstanceUid),
                 r.get(tags::kSeriesInstanceUid),
                 r.get(tags::kModality),
                 r.get(tags::kSeriesNumber),
                 r.get(tags::kSeriesDescription),
                 r.get(tags::kBodyPartExamined),
                 r.get(tags::kNumberOfSeriesRelatedInstances)};
    if (s.studyInstanceUid.empty()) s.studyInstanceUid = studyUid;
    s.iodeepModels = isModelSeries(s.seriesDescription, s.modality);
    out.push_back(std::move(s));
    return true;
  });
  return out;
}

std::vector<InstanceInfo> findInstances(const Pacs& pacs, const std::string& studyUid, const std::string& seriesUid) {
  std::vector<InstanceInfo> out;
  (void)pacs.find(imageQuery(studyUid, seriesUid), [&](const DicomRecord& r) {
    auto i = instanceOf(r);
    if (i.studyInstanceUid.empty()) i.studyInstanceUid = studyUid;
    if (i.seriesInstanceUid.empty()) i.seriesInstanceUid = seriesUid;
    out.push_back(std::move(i));
    return true;
  });
  return out;
}

InstanceInfo locateInstance(const Pacs& pacs, const std::string& sopUid, const std::string& studyUid,
                            const std::string& seriesUid) {
  const ErrorContext where{.uid = sopUid, .peer = pacs.options().pacs.toString()};
  std::vector<InstanceInfo> found;
  const auto collect = [&](const DicomRecord& r) {
    auto i = instanceOf(r);
    if (i.sopInstanceUid == sopUid) found.push_back(std::move(i));
    return found.empty();
  };
  if (!studyUid.empty() && !seriesUid.empty()) {
    (void)pacs.find(imageQuery(studyUid, seriesUid, sopUid), collect);
  } else {
    try {
      (void)pacs.find(imageQuery(studyUid, seriesUid, sopUid), collect);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::DimseFailure) throw;  // a hierarchical PACS refuses the relational query
    }
    if (found.empty()) {
      // walk the hierarchy: the studies (or the one given), their series, then one IMAGE query each
      std::vector<std::string> studies;
      if (!studyUid.empty()) {
        studies.push_back(studyUid);
      } else {
        for (const auto& s : findStudies(pacs)) studies.push_back(s.studyInstanceUid);
      }
      std::vector<Query> queries;
      for (const auto& study : studies) {
        for (const auto& s : findSeries(pacs, study)) {
          if (!seriesUid.empty() && s.seriesInstanceUid != seriesUid) continue;
          queries.push_back(imageQuery(study, s.seriesInstanceUid, sopUid));
        }
      }
      if (!queries.empty()) {
        pacs.findEach(queries, [&](std::size_t qi, const DicomRecord& r) {
          auto i = instanceOf(r);
          if (i.sopInstanceUid != sopUid) return true;
          if (i.studyInstanceUid.empty()) i.studyInstanceUid = queries[qi].keys[0].second;
          if (i.seriesInstanceUid.empty()) i.seriesInstanceUid = queries[qi].keys[1].second;
          found.push_back(std::move(i));
          return false;
        });
      }
    }
  }
  if (found.empty()) throw Error(ErrorCode::DimseFailure, "no such instance on the PACS", where);
  auto i = found.front();
  if (i.studyInstanceUid.empty()) i.studyInstanceUid = studyUid;
  if (i.seriesInstanceUid.empty()) i.seriesInstanceUid = seriesUid;
  return i;
}

std::vector<RemoteModel> findModels(const Pacs& pacs, const std::string& modality, ModelDetail detail) {
  // 1. SERIES level: the convention's series, with what the PACS tells about them
  const auto seriesQuery = [&](const std::string& study) {
    return Query{QueryLevel::Series,
                 {{tags::kStudyInstanceUid, study},
                  {tags::kSeriesInstanceUid, ""},
                  {tags::kModality, modality},
                  {tags::kSeriesDescription, std::string(iod::kSeriesDescriptionPrefix.substr(0, 6)) + "*"},
                  {tags::kBodyPartExamined, ""}}};
  };
  std::vector<DicomRecord> seriesFound;
  bool describes = false;  // the PACS returns SeriesDescription (and so matched on it)
  (void)pacs.find(seriesQuery(""), [&](const DicomRecord& r) {
    describes = describes || r.has(tags::kSeriesDescription);
    if (isModelSeries(r.get(tags::kSeriesDescription), r.get(tags::kModality))) seriesFound.push_back(r);
    return true;
  });
  if (!describes) {
    // A PACS that ignores SeriesDescription (dcmqrscp): the convention's studies by their
    // StudyDescription, then their series of the slice's modality.
    seriesFound.clear();
    std::vector<Query> perStudy;
    (void)pacs.find({QueryLevel::Study,
                     {{tags::kStudyInstanceUid, ""}, {tags::kStudyDescription, std::string(iod::kStudyDescription)}}},
                    [&](const DicomRecord& r) {
                      if (r.get(tags::kStudyDescription) == iod::kStudyDescription) {
                        perStudy.push_back(seriesQuery(r.get(tags::kStudyInstanceUid)));
                      }
                      return true;
                    });
    if (!perStudy.empty()) {
      pacs.findEach(perStudy, [&](std::size_t qi, const DicomRecord& r) {
        DicomRecord s = r;
        if (s.get(tags::kStudyInstanceUid).empty())
          s.values.emplace_back(tags::kStudyInstanceUid, perStudy[qi].keys[0].second);
        if (!modality.empty() && !s.get(tags::kModality).empty() && s.get(tags::kModality) != modality) return true;
        seriesFound.push_back(std::move(s));
        return true;
      });
    }
  }
  if (seriesFound.empty()) return {};
  // 2. IMAGE level, one association for all series: the instances and their selection keys
  std::vector<Query> images;
  images.reserve(seriesFound.size());
  for (const auto& s : seriesFound) {
    Query q{QueryLevel::Image,
            {{tags::kStudyInstanceUid, s.get(tags::kStudyInstanceUid)},
             {tags::kSeriesInstanceUid, s.get(tags::kSeriesInstanceUid)},
             {tags::kSopInstanceUid, ""},
             {tags::kInstanceCreationDate, ""},
             {tags::kInstanceCreationTime, ""}}};
    if (s.get(tags::kBodyPartExamined).empty()) q.keys.emplace_back(tags::kBodyPartExamined, "");
    if (detail == ModelDetail::Full) {
      q.keys.emplace_back(tags::kSopClassUid, "");
      q.keys.emplace_back(tags::kSamplesPerPixel, "");
      q.keys.emplace_back(tags::kPhotometricInterpretation, "");
      q.keys.emplace_back(tags::kContentDate, "");
      q.keys.emplace_back(tags::kContentTime, "");
    }
    images.push_back(std::move(q));
  }
  std::vector<RemoteModel> out;
  pacs.findEach(images, [&](std::size_t qi, const DicomRecord& r) {
    const DicomRecord& s = seriesFound[qi];
    if (r.get(tags::kSopClassUid) != iod::kRawDataStorageUid && !r.get(tags::kSopClassUid).empty()) return true;
    RemoteModel m;
    m.studyInstanceUid = s.get(tags::kStudyInstanceUid);
    m.seriesInstanceUid = s.get(tags::kSeriesInstanceUid);
    m.sopInstanceUid = r.get(tags::kSopInstanceUid);
    m.sopClassUid = r.get(tags::kSopClassUid);
    m.seriesDescription = s.get(tags::kSeriesDescription);
    m.modality = s.get(tags::kModality);
    m.bodyPartExamined = s.get(tags::kBodyPartExamined);
    if (m.bodyPartExamined.empty()) m.bodyPartExamined = r.get(tags::kBodyPartExamined);
    m.photometricInterpretation = r.get(tags::kPhotometricInterpretation);
    // IODeep objects carry their content date/time as instance creation date/time too, which a
    // PACS keeps in its index
    m.contentDate = r.get(tags::kContentDate).empty() ? r.get(tags::kInstanceCreationDate) : r.get(tags::kContentDate);
    m.contentTime = r.get(tags::kContentTime).empty() ? r.get(tags::kInstanceCreationTime) : r.get(tags::kContentTime);
    const std::string spp = r.get(tags::kSamplesPerPixel);
    m.samplesPerPixel = spp == "1" ? 1 : spp == "3" ? 3 : 0;
    if (!m.sopInstanceUid.empty()) out.push_back(std::move(m));
    return true;
  });
  return out;
}

void queryImageAttributes(const Pacs& pacs, const std::vector<RemoteModel*>& models) {
  if (models.empty()) return;
  std::vector<Query> queries;
  queries.reserve(models.size());
  for (const RemoteModel* m : models) {
    queries.push_back({QueryLevel::Image,
                       {{tags::kStudyInstanceUid, m->studyInstanceUid},
                        {tags::kSeriesInstanceUid, m->seriesInstanceUid},
                        {tags::kSopInstanceUid, m->sopInstanceUid},
                        {tags::kSamplesPerPixel, ""},
                        {tags::kPhotometricInterpretation, ""}}});
  }
  pacs.findEach(queries, [&](std::size_t qi, const DicomRecord& r) {
    RemoteModel& m = *models[qi];
    if (r.get(tags::kSopInstanceUid) != m.sopInstanceUid) return true;
    const std::string spp = r.get(tags::kSamplesPerPixel);
    m.samplesPerPixel = spp == "1" ? 1 : spp == "3" ? 3 : 0;
    if (m.photometricInterpretation.empty()) m.photometricInterpretation = r.get(tags::kPhotometricInterpretation);
    return true;
  });
}

std::pair<std::string, std::string> nameAndVersion(const std::string& description) {
  std::string rest = description.rfind(iod::kSeriesDescriptionPrefix, 0) == 0
                         ? description.substr(iod::kSeriesDescriptionPrefix.size())
                         : description;
  const auto space = rest.rfind(' ');
  if (space != std::string::npos && space + 1 < rest.size()) {
    const char c = rest[space + 1];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == 'v' || c == 'V') {
      return {rest.substr(0, space), rest.substr(space + 1)};
    }
  }
  return {rest, ""};
}

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

std::vector<StructureSetOnPacs> findStructureSets(const Pacs& pacs, const std::string& studyUidIn,
                                                  const std::string& seriesUid,
                                                  const std::filesystem::path& directory) {
  std::string studyUid = studyUidIn;
  if (studyUid.empty()) {
    // the series' study: a SERIES-level query by SeriesInstanceUID (walk the studies if refused)
    try {
      (void)pacs.find({QueryLevel::Series, {{tags::kStudyInstanceUid, ""}, {tags::kSeriesInstanceUid, seriesUid}}},
                      [&](const DicomRecord& r) {
                        studyUid = r.get(tags::kStudyInstanceUid);
                        return false;
                      });
    } catch (const Error& e) {
      if (e.code() != ErrorCode::DimseFailure) throw;
    }
    if (studyUid.empty()) {
      for (const auto& st : findStudies(pacs)) {
        for (const auto& se : findSeries(pacs, st.studyInstanceUid)) {
          if (se.seriesInstanceUid == seriesUid) studyUid = st.studyInstanceUid;
        }
        if (!studyUid.empty()) break;
      }
    }
    if (studyUid.empty()) {
      throw Error(ErrorCode::DimseFailure, "no such series on the PACS",
                  ErrorContext{.uid = seriesUid, .peer = pacs.options().pacs.toString()});
    }
  }
  std::set<std::string> images;
  for (const auto& i : findInstances(pacs, studyUid, seriesUid)) images.insert(i.sopInstanceUid);
  std::vector<StructureSetOnPacs> out;
  for (const auto& s : findSeries(pacs, studyUid)) {
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
  return out;
}

std::string modelsReport(const std::vector<RemoteModel>& models, const ModelCache& cache, bool json) {
  nlohmann::json a = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (auto m : models) {
    const auto cached = cache.findBySopInstance(m.sopInstanceUid);
    if (cached) {  // what the PACS did not return, as verified in the cached object
      if (m.seriesDescription.empty()) m.seriesDescription = cached->seriesDescription;
      if (m.bodyPartExamined.empty()) m.bodyPartExamined = cached->bodyPartExamined;
      if (m.samplesPerPixel == 0) m.samplesPerPixel = cached->samplesPerPixel;
      if (m.photometricInterpretation.empty()) m.photometricInterpretation = cached->photometricInterpretation;
    }
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
