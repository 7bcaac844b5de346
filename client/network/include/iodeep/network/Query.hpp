#pragma once
/// @file Query.hpp
/// The C-FIND services the client uses: what the physician browses on the PACS (studies, series,
/// instances), the IODeep models on it, and where an instance or a series lives. Each function
/// is one association unless it says otherwise.

#include <cstdint>
#include <functional>
#include <string>
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

/// The IODeep models on the PACS: a SERIES-level C-FIND (SeriesDescription IODEEP*, and
/// @p modality when not empty), then IMAGE-level C-FINDs on one association for the instances
/// (BodyPartExamined from there when the SERIES level did not return it). Only Raw Data Storage
/// instances are models. See samplesOf for SamplesPerPixel when @p detail is Index.
[[nodiscard]] std::vector<RemoteModel> findModels(const Pacs& pacs, const std::string& modality = {},
                                                  ModelDetail detail = ModelDetail::Full);

/// SamplesPerPixel and PhotometricInterpretation of @p models by IMAGE-level C-FINDs on one
/// association (fills them in; samplesPerPixel stays 0 when the PACS does not return it).
void queryImageAttributes(const Pacs& pacs, const std::vector<RemoteModel*>& models);

/// Name and version as the series description carries them ("IODEEP <name> <version>": the
/// last word is the version when it starts with a digit or 'v').
[[nodiscard]] std::pair<std::string, std::string> nameAndVersion(const std::string& seriesDescription);

}  // namespace iodeep::client
