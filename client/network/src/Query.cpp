#include "iodeep/network/Query.hpp"

#include <cctype>
#include <map>
#include <set>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"

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
      std::vector<Query> queries;
      walkSeries(pacs, studyUid, [&](const SeriesInfo& s) {
        if (seriesUid.empty() || s.seriesInstanceUid == seriesUid) {
          queries.push_back(imageQuery(s.studyInstanceUid, s.seriesInstanceUid, sopUid));
        }
        return true;
      });
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

void walkSeries(const Pacs& pacs, const std::string& studyUid, const std::function<bool(const SeriesInfo&)>& visit) {
  std::vector<std::string> studies;
  if (!studyUid.empty()) {
    studies.push_back(studyUid);
  } else {
    for (const auto& s : findStudies(pacs)) studies.push_back(s.studyInstanceUid);
  }
  for (const auto& study : studies) {
    for (const auto& s : findSeries(pacs, study)) {
      if (!visit(s)) return;
    }
  }
}

std::string studyOfSeries(const Pacs& pacs, const std::string& seriesUid) {
  std::string studyUid;
  try {
    (void)pacs.find({QueryLevel::Series, {{tags::kStudyInstanceUid, ""}, {tags::kSeriesInstanceUid, seriesUid}}},
                    [&](const DicomRecord& r) {
                      studyUid = r.get(tags::kStudyInstanceUid);
                      return false;
                    });
  } catch (const Error& e) {
    if (e.code() != ErrorCode::DimseFailure) throw;  // a hierarchical PACS refuses the relational query
  }
  if (studyUid.empty()) {
    walkSeries(pacs, {}, [&](const SeriesInfo& s) {
      if (s.seriesInstanceUid == seriesUid) studyUid = s.studyInstanceUid;
      return studyUid.empty();
    });
  }
  if (studyUid.empty()) {
    throw Error(ErrorCode::DimseFailure, "no such series on the PACS",
                ErrorContext{.uid = seriesUid, .peer = pacs.options().pacs.toString()});
  }
  return studyUid;
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

}  // namespace iodeep::client
