#pragma once
/// @file Query.hpp
/// The C-FIND services the client uses: what the physician browses on the PACS (studies, series,
/// instances), the IODeep models on it, and where an instance or a series lives. Each function
/// is one association unless it says otherwise.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/network/Pacs.hpp"

namespace iodeep::client {

struct StudyInfo {
  std::string studyInstanceUid, patientName, patientId, patientBirthDate, patientSex;
  std::string studyDate, studyTime, studyDescription, accessionNumber, studyId, modalitiesInStudy;
  std::string numberOfSeries;
};

struct SeriesInfo {
  std::string studyInstanceUid, seriesInstanceUid, modality, seriesNumber, seriesDescription, bodyPartExamined;
  std::string numberOfInstances;
  bool iodeepModels{false};  ///< an IODeep model series (the C-FIND convention): not images to read
};

struct InstanceInfo {
  std::string studyInstanceUid, seriesInstanceUid, sopInstanceUid, sopClassUid, instanceNumber;
  std::string rows, columns, samplesPerPixel;
  std::string modality;  ///< when the PACS returns it at IMAGE level (Orthanc and dcmqrscp do)
};

/// STUDY-level filter; empty fields do not restrict. DICOM wildcards (*, ?) allowed.
struct StudyFilter {
  std::string patientName, patientId, studyDate, studyDescription, modality;
};

[[nodiscard]] std::vector<StudyInfo> findStudies(const Pacs& pacs, const StudyFilter& filter = {});

/// The studies that match @p filter, and whether the PACS had more than the client takes from
/// one C-FIND (NetworkOptions::maxFindResults: the list is then incomplete).
struct StudyList {
  std::vector<StudyInfo> studies;
  bool truncated{false};
};
[[nodiscard]] StudyList listStudies(const Pacs& pacs, const StudyFilter& filter = {});
[[nodiscard]] std::vector<SeriesInfo> findSeries(const Pacs& pacs, const std::string& studyUid);
[[nodiscard]] std::vector<InstanceInfo> findInstances(const Pacs& pacs, const std::string& studyUid,
                                                      const std::string& seriesUid);

/// Where an instance lives. Tries an IMAGE-level C-FIND by SOP Instance UID alone (Orthanc
/// answers it); a PACS that insists on the hierarchy (dcmqrscp) is walked study by study.
/// @p studyUid / @p seriesUid narrow the search when known. Throws Error(DimseFailure) when the
/// instance is not on the PACS.
[[nodiscard]] InstanceInfo locateInstance(const Pacs& pacs, const std::string& sopInstanceUid,
                                          const std::string& studyUid = {}, const std::string& seriesUid = {});

/// The series of the PACS (of @p studyUid only, when given), walked study by study with STUDY and
/// SERIES C-FINDs: the way to find something on a PACS that refuses relational queries
/// (dcmqrscp). @p visit returns false to stop the walk.
void walkSeries(const Pacs& pacs, const std::string& studyUid, const std::function<bool(const SeriesInfo&)>& visit);

/// The study of @p seriesUid: a SERIES-level C-FIND by SeriesInstanceUID, or walkSeries when the
/// PACS refuses it. Throws Error(DimseFailure) when the series is not on the PACS.
[[nodiscard]] std::string studyOfSeries(const Pacs& pacs, const std::string& seriesUid);

/// An IODeep model on the PACS as C-FIND describes it (docs/iodeep-iod.md, C-FIND convention).
struct RemoteModel {
  std::string studyInstanceUid, seriesInstanceUid, sopInstanceUid, sopClassUid;
  std::string seriesDescription;  ///< "IODEEP <name> [<version>]"
  std::string modality, bodyPartExamined, photometricInterpretation, contentDate, contentTime;
  std::uint16_t samplesPerPixel{0};  ///< 0 when the PACS did not say
};

/// What the IMAGE-level queries of findModels ask for.
enum class ModelDetail {
  /// SOP Instance UID and instance creation date/time only: what a PACS answers from its index.
  /// Orthanc reads the whole stored file to answer SOPClassUID, SamplesPerPixel or
  /// PhotometricInterpretation at IMAGE level (not in its index): 240 ms per query for a 125 MB
  /// network (bench/README.md). The SOP class is then checked when the object is read.
  Index,
  /// Also SOPClassUID, SamplesPerPixel, PhotometricInterpretation, ContentDate/Time (`iodeep models`).
  Full,
};

/// How a PACS lets the client list its IODeep models, found out at run time from its answers
/// (never from its name; docs/selection.md, "Discovery").
enum class DiscoveryPath {
  /// One IMAGE-level C-FIND without study or series UID, matching SeriesDescription IODEEP* and
  /// Modality and returning them (Orthanc): one query, whatever the number of models.
  Relational,
  /// The convention's studies by StudyDescription (STUDY level), then their instances by
  /// IMAGE-level C-FINDs on lists of study UIDs (dcmqrscp: relational queries and UID lists, but
  /// SeriesDescription neither matched nor returned): 1 + ceil(studies / kStudiesPerQuery) queries
  /// on two associations.
  StudyList,
  /// Study by study, series by series, for a PACS that refuses relational queries: a STUDY query,
  /// a SERIES query per study, an IMAGE query per series (per series not already known, when a
  /// previous listing is given).
  Hierarchical,
};

/// "relational", "study-list", "hierarchical".
[[nodiscard]] std::string_view toString(DiscoveryPath path) noexcept;
/// The path named by toString; nothing for another text.
[[nodiscard]] std::optional<DiscoveryPath> discoveryPathFrom(std::string_view text) noexcept;

/// Study UIDs per IMAGE-level query on the StudyList path (a UID list of at most 13 KB).
inline constexpr std::size_t kStudiesPerQuery = 200;

/// A listing of the IODeep models on the PACS and what it cost.
struct ModelDiscovery {
  std::vector<RemoteModel> models;
  DiscoveryPath path{DiscoveryPath::Relational};
  /// Whether the PACS's answers showed that @p path works with it (a relational query that
  /// returned nothing proves nothing: then false, and the next listing finds out again).
  bool pathConfirmed{false};
  std::size_t queries{0};       ///< C-FIND requests sent
  std::size_t associations{0};  ///< associations opened
  std::size_t reused{0};        ///< models taken from the previous listing without asking again
  bool truncated{false};        ///< a C-FIND stopped at max_find_results: the list may be incomplete
};

/// The IODeep models on the PACS (@p modality only, when not empty), with as few C-FINDs as the
/// PACS allows: DiscoveryPath::Relational when its answers show that it matches and returns
/// SeriesDescription and Modality at IMAGE level, else StudyList when it answers relational
/// IMAGE queries on study UID lists, else Hierarchical. @p path: the path found before (tried
/// first; when the PACS no longer answers it the others are tried). @p known: a previous listing
/// (for this modality): on the Hierarchical path a series it covers is not queried at IMAGE level
/// again. BodyPartExamined is asked at IMAGE level when the SERIES level does not return it;
/// only Raw Data Storage instances are models (when the PACS returns the SOP class). Throws the
/// errors of Pacs::find.
[[nodiscard]] ModelDiscovery discoverModels(const Pacs& pacs, const std::string& modality,
                                            ModelDetail detail = ModelDetail::Index,
                                            std::optional<DiscoveryPath> path = std::nullopt,
                                            const std::vector<RemoteModel>& known = {});

/// The IODeep models on the PACS: discoverModels(pacs, modality, detail).models. See
/// queryImageAttributes for SamplesPerPixel when @p detail is Index.
[[nodiscard]] std::vector<RemoteModel> findModels(const Pacs& pacs, const std::string& modality = {},
                                                  ModelDetail detail = ModelDetail::Full);

/// Whether @p model (its study, series and SOP Instance UIDs) is still on the PACS: one
/// IMAGE-level C-FIND asking index attributes only. Throws the errors of Pacs::find.
[[nodiscard]] bool isOnPacs(const Pacs& pacs, const RemoteModel& model);

/// SamplesPerPixel and PhotometricInterpretation of @p models by IMAGE-level C-FINDs on one
/// association (fills them in; samplesPerPixel stays 0 when the PACS does not return it).
void queryImageAttributes(const Pacs& pacs, const std::vector<RemoteModel*>& models);

/// Name and version as the series description carries them ("IODEEP <name> <version>": the
/// last word is the version when it starts with a digit or 'v').
[[nodiscard]] std::pair<std::string, std::string> nameAndVersion(const std::string& seriesDescription);

}  // namespace iodeep::client
