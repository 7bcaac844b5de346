#include "iodeep/network/Query.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"

namespace iodeep::client {

namespace {

// The C-FIND convention (docs/iodeep-iod.md): "IODEEP <name> [<version>]". Our own RT Structure
// Sets are described "IODEEP AI ROI" / "IODEEP REJECTED ROI", our Segmentations "IODEEP AI SEG" /
// "IODEEP REJECTED SEG": their modality tells them apart.
bool isModelSeries(const std::string& description, const std::string& modality) {
  if (modality == "RTSTRUCT" || modality == "SEG") return false;
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

namespace {

// ---- model discovery (docs/selection.md, "Discovery") -----------------------------------------------

bool startsWithIodeep(const std::string& description) {
  return description.rfind(iod::kSeriesDescriptionPrefix.substr(0, 6), 0) == 0;
}

// The return keys of an IMAGE-level model query beyond the UIDs.
void addInstanceKeys(Query& q, ModelDetail detail, bool bodyPart) {
  q.keys.emplace_back(tags::kInstanceCreationDate, "");
  q.keys.emplace_back(tags::kInstanceCreationTime, "");
  if (bodyPart) q.keys.emplace_back(tags::kBodyPartExamined, "");
  if (detail == ModelDetail::Full) {
    q.keys.emplace_back(tags::kSopClassUid, "");
    q.keys.emplace_back(tags::kSamplesPerPixel, "");
    q.keys.emplace_back(tags::kPhotometricInterpretation, "");
    q.keys.emplace_back(tags::kContentDate, "");
    q.keys.emplace_back(tags::kContentTime, "");
  }
}

// A model from an IMAGE-level answer @p r, with what its SERIES-level answer @p s said (when the
// IMAGE level does not say it); nothing when it is not a model (another SOP class, no UID).
std::optional<RemoteModel> modelOf(const DicomRecord& r, const DicomRecord& s) {
  if (r.get(tags::kSopClassUid) != iod::kRawDataStorageUid && !r.get(tags::kSopClassUid).empty()) return std::nullopt;
  const auto either = [&](Tag tag) {
    auto v = r.get(tag);
    return v.empty() ? s.get(tag) : v;
  };
  RemoteModel m;
  m.studyInstanceUid = either(tags::kStudyInstanceUid);
  m.seriesInstanceUid = either(tags::kSeriesInstanceUid);
  m.sopInstanceUid = r.get(tags::kSopInstanceUid);
  m.sopClassUid = r.get(tags::kSopClassUid);
  m.seriesDescription =
      s.get(tags::kSeriesDescription).empty() ? r.get(tags::kSeriesDescription) : s.get(tags::kSeriesDescription);
  m.modality = s.get(tags::kModality).empty() ? r.get(tags::kModality) : s.get(tags::kModality);
  m.bodyPartExamined = s.get(tags::kBodyPartExamined);
  if (m.bodyPartExamined.empty()) m.bodyPartExamined = r.get(tags::kBodyPartExamined);
  m.photometricInterpretation = r.get(tags::kPhotometricInterpretation);
  // IODeep objects carry their content date/time as instance creation date/time too, which a
  // PACS keeps in its index
  m.contentDate = r.get(tags::kContentDate).empty() ? r.get(tags::kInstanceCreationDate) : r.get(tags::kContentDate);
  m.contentTime = r.get(tags::kContentTime).empty() ? r.get(tags::kInstanceCreationTime) : r.get(tags::kContentTime);
  const std::string spp = r.get(tags::kSamplesPerPixel);
  m.samplesPerPixel = spp == "1" ? 1 : spp == "3" ? 3 : 0;
  if (m.sopInstanceUid.empty()) return std::nullopt;
  return m;
}

bool isDimseFailure(const Error& e) {
  return e.code() == ErrorCode::DimseFailure;
}

// One FindResult's share of the listing's cost.
void account(ModelDiscovery& d, const FindResult& f) {
  ++d.queries;
  d.truncated = d.truncated || f.truncated;
}

// Relational: one IMAGE-level query matching SeriesDescription and Modality. False when the PACS
// refuses it or shows that it does not match those keys (an answer without them or with other
// values: the query is then cancelled at that answer). @p d counts the queries either way.
bool relational(const Pacs& pacs, const std::string& modality, ModelDetail detail, ModelDiscovery& d) {
  d.path = DiscoveryPath::Relational;
  Query q{QueryLevel::Image,
          {{tags::kStudyInstanceUid, ""},
           {tags::kSeriesInstanceUid, ""},
           {tags::kSopInstanceUid, ""},
           {tags::kModality, modality},
           {tags::kSeriesDescription, std::string(iod::kSeriesDescriptionPrefix.substr(0, 6)) + "*"}}};
  addInstanceKeys(q, detail, true);
  bool unsupported = false;
  const DicomRecord none;
  try {
    ++d.associations;
    account(d, pacs.find(q, [&](const DicomRecord& r) {
      const std::string description = r.get(tags::kSeriesDescription);
      if (!r.has(tags::kSeriesDescription) || !startsWithIodeep(description) ||
          (!modality.empty() && r.get(tags::kModality) != modality)) {
        unsupported = true;  // the PACS ignored a key: its answers are not the models
        return false;
      }
      if (!isModelSeries(description, r.get(tags::kModality))) return true;  // our RT structure sets
      if (auto m = modelOf(r, none)) d.models.push_back(std::move(*m));
      return true;
    }));
  } catch (const Error& e) {
    if (!isDimseFailure(e)) throw;
    return false;  // a PACS that refuses relational queries
  }
  if (unsupported) {
    d.models.clear();
    return false;
  }
  d.pathConfirmed = !d.models.empty();
  if (!d.pathConfirmed) {
    // Nothing for this modality proves nothing; one answer of any modality does (cancelled then).
    Query probe{QueryLevel::Image,
                {{tags::kStudyInstanceUid, ""},
                 {tags::kSeriesInstanceUid, ""},
                 {tags::kSopInstanceUid, ""},
                 {tags::kModality, ""},
                 {tags::kSeriesDescription, std::string(iod::kSeriesDescriptionPrefix.substr(0, 6)) + "*"}}};
    ++d.associations;
    account(d, pacs.find(probe, [&](const DicomRecord& r) {
      if (r.has(tags::kSeriesDescription) && startsWithIodeep(r.get(tags::kSeriesDescription))) {
        d.pathConfirmed = true;
      } else {
        unsupported = true;
      }
      return false;
    }));
    // no IODeep series at all (the other paths then cost a query with no answer), or not matched
    if (unsupported || !d.pathConfirmed) return false;
  }
  return true;
}

// The convention's studies (STUDY level, by StudyDescription).
std::vector<std::string> modelStudies(const Pacs& pacs, ModelDiscovery& d) {
  std::vector<std::string> studies;
  ++d.associations;
  account(d,
          pacs.find({QueryLevel::Study,
                     {{tags::kStudyInstanceUid, ""}, {tags::kStudyDescription, std::string(iod::kStudyDescription)}}},
                    [&](const DicomRecord& r) {
                      if (r.get(tags::kStudyDescription) == iod::kStudyDescription &&
                          !r.get(tags::kStudyInstanceUid).empty()) {
                        studies.push_back(r.get(tags::kStudyInstanceUid));
                      }
                      return true;
                    }));
  return studies;
}

// StudyList: IMAGE-level queries on lists of the convention's study UIDs. False when the PACS
// refuses them or answers an instance of a study it was not asked for.
bool studyList(const Pacs& pacs, const std::string& modality, ModelDetail detail,
               const std::vector<std::string>& studies, ModelDiscovery& d) {
  d.path = DiscoveryPath::StudyList;
  d.pathConfirmed = false;
  if (studies.empty()) return true;
  std::vector<Query> queries;
  std::vector<std::set<std::string>> asked;
  for (std::size_t i = 0; i < studies.size(); i += kStudiesPerQuery) {
    std::string list;
    std::set<std::string> these;
    for (std::size_t j = i; j < std::min(studies.size(), i + kStudiesPerQuery); ++j) {
      list += (list.empty() ? "" : "\\") + studies[j];
      these.insert(studies[j]);
    }
    Query q{QueryLevel::Image,
            {{tags::kStudyInstanceUid, list},
             {tags::kSeriesInstanceUid, ""},
             {tags::kSopInstanceUid, ""},
             {tags::kModality, modality},
             {tags::kSeriesDescription, ""}}};
    addInstanceKeys(q, detail, true);
    queries.push_back(std::move(q));
    asked.push_back(std::move(these));
  }
  bool unsupported = false;
  std::vector<RemoteModel> found;
  const DicomRecord none;
  try {
    ++d.associations;
    for (const auto& f : pacs.findEach(queries, [&](std::size_t qi, const DicomRecord&r) {
           if (asked[qi].count(r.get(tags::kStudyInstanceUid)) == 0) {
             unsupported = true;  // the UID list was not matched
             return false;
           }
           const std::string m = r.get(tags::kModality);
           if (!modality.empty() && !m.empty() && m != modality) return true;
           const std::string description = r.get(tags::kSeriesDescription);
           if (!description.empty() && !isModelSeries(description, m)) return true;
           if (auto model = modelOf(r, none)) found.push_back(std::move(*model));
           return true;
         })) {
      account(d, f);
    }
  } catch (const Error& e) {
    if (!isDimseFailure(e)) throw;
    return false;
  }
  if (unsupported) return false;
  d.pathConfirmed = true;
  d.models = std::move(found);
  return true;
}

// Hierarchical: per study its series, per series not in @p known its instances.
void hierarchical(const Pacs& pacs, const std::string& modality, ModelDetail detail,
                  const std::vector<std::string>& studies, const std::vector<RemoteModel>& known, ModelDiscovery& d) {
  d.path = DiscoveryPath::Hierarchical;
  d.pathConfirmed = true;
  if (studies.empty()) return;
  std::vector<Query> perStudy;
  perStudy.reserve(studies.size());
  for (const auto& study : studies) {
    perStudy.push_back({QueryLevel::Series,
                        {{tags::kStudyInstanceUid, study},
                         {tags::kSeriesInstanceUid, ""},
                         {tags::kModality, modality},
                         {tags::kSeriesDescription, ""},
                         {tags::kBodyPartExamined, ""}}});
  }
  std::vector<DicomRecord> seriesFound;
  ++d.associations;
  for (const auto& f : pacs.findEach(perStudy, [&](std::size_t qi, const DicomRecord&r) {
         DicomRecord s = r;
         if (s.get(tags::kStudyInstanceUid).empty()) s.values.emplace_back(tags::kStudyInstanceUid, studies[qi]);
         const std::string m = s.get(tags::kModality);
         if (!modality.empty() && !m.empty() && m != modality) return true;
         const std::string description = s.get(tags::kSeriesDescription);
         if (!description.empty() && !isModelSeries(description, m)) return true;
         if (!s.get(tags::kSeriesInstanceUid).empty()) seriesFound.push_back(std::move(s));
         return true;
       })) {
    account(d, f);
  }
  std::map<std::string, std::vector<const RemoteModel*>> knownBySeries;
  for (const auto& m : known) knownBySeries[m.seriesInstanceUid].push_back(&m);
  std::vector<Query> images;
  std::vector<const DicomRecord*> imageSeries;
  for (const auto& s : seriesFound) {
    const auto k = knownBySeries.find(s.get(tags::kSeriesInstanceUid));
    if (k != knownBySeries.end()) {
      for (const RemoteModel* m : k->second) {
        RemoteModel again = *m;
        // what the SERIES level says now replaces what it said before
        for (const auto& [tag, field] : {std::pair{tags::kModality, &RemoteModel::modality},
                                         std::pair{tags::kSeriesDescription, &RemoteModel::seriesDescription},
                                         std::pair{tags::kBodyPartExamined, &RemoteModel::bodyPartExamined}}) {
          if (!s.get(tag).empty()) again.*field = s.get(tag);
        }
        d.models.push_back(std::move(again));
        ++d.reused;
      }
      continue;
    }
    Query q{QueryLevel::Image,
            {{tags::kStudyInstanceUid, s.get(tags::kStudyInstanceUid)},
             {tags::kSeriesInstanceUid, s.get(tags::kSeriesInstanceUid)},
             {tags::kSopInstanceUid, ""}}};
    addInstanceKeys(q, detail, s.get(tags::kBodyPartExamined).empty());
    images.push_back(std::move(q));
    imageSeries.push_back(&s);
  }
  if (images.empty()) return;
  ++d.associations;
  for (const auto& f : pacs.findEach(images, [&](std::size_t qi, const DicomRecord&r) {
         if (auto m = modelOf(r, *imageSeries[qi])) d.models.push_back(std::move(*m));
         return true;
       })) {
    account(d, f);
  }
}

}  // namespace

std::string_view toString(DiscoveryPath path) noexcept {
  switch (path) {
    case DiscoveryPath::Relational: return "relational";
    case DiscoveryPath::StudyList: return "study-list";
    case DiscoveryPath::Hierarchical: return "hierarchical";
  }
  return "relational";
}

std::optional<DiscoveryPath> discoveryPathFrom(std::string_view text) noexcept {
  for (const auto p : {DiscoveryPath::Relational, DiscoveryPath::StudyList, DiscoveryPath::Hierarchical}) {
    if (toString(p) == text) return p;
  }
  return std::nullopt;
}

ModelDiscovery discoverModels(const Pacs& pacs, const std::string& modality, ModelDetail detail,
                              std::optional<DiscoveryPath> path, const std::vector<RemoteModel>& known) {
  ModelDiscovery d;
  if ((!path || *path == DiscoveryPath::Relational) && relational(pacs, modality, detail, d)) return d;
  // the convention's studies, then their instances by lists of study UIDs or study by study
  const auto studies = modelStudies(pacs, d);
  if (path != DiscoveryPath::Hierarchical && studyList(pacs, modality, detail, studies, d)) return d;
  hierarchical(pacs, modality, detail, studies, known, d);
  return d;
}

bool isOnPacs(const Pacs& pacs, const RemoteModel& model) {
  bool found = false;
  (void)pacs.find({QueryLevel::Image,
                   {{tags::kStudyInstanceUid, model.studyInstanceUid},
                    {tags::kSeriesInstanceUid, model.seriesInstanceUid},
                    {tags::kSopInstanceUid, model.sopInstanceUid}}},
                  [&](const DicomRecord& r) {
                    found = found || r.get(tags::kSopInstanceUid) == model.sopInstanceUid;
                    return !found;
                  });
  return found;
}

std::vector<RemoteModel> findModels(const Pacs& pacs, const std::string& modality, ModelDetail detail) {
  return discoverModels(pacs, modality, detail).models;
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
