#pragma once
/// @file Dataset.hpp
/// Training sets from the PACS (`iodeep dataset`, docs/finetuning.md): the approved structure sets
/// a network's proposals led to, found by C-FIND and read, the slices they contour retrieved, and
/// image/mask pairs written with a manifest a Python user reads as easily as our trainer.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

/// How a sample's mask came to be.
enum class SampleSource { Accepted, Corrected, Drawn };
[[nodiscard]] std::string toString(SampleSource source);

/// One row of the manifest: a slice and one label's mask on it.
struct DatasetSample {
  std::string split;  ///< "train" or "validation"
  std::string patientId, studyInstanceUid, seriesInstanceUid, sopInstanceUid;
  std::string image;  ///< relative to the dataset directory: images/<SOP Instance UID>.dcm
  std::string mask;   ///< masks/<SOP Instance UID>_<label>.png (0 outside, 255 inside)
  std::string label;  ///< the network's label name
  SampleSource source{SampleSource::Accepted};
  std::string reviewer, reviewDate, structureSetUid;
  std::string originalMask;  ///< corrected: the network's proposal, originals/...png; else empty
};

/// A training set as written (and as readDataset reads it back).
struct Dataset {
  std::string network;  ///< the DnnUID whose proposals the sets came from
  std::vector<DatasetSample> samples;
  std::size_t validationPatients{0}, trainingPatients{0};
};

struct DatasetOptions {
  std::string network;             ///< DnnUID (required)
  std::filesystem::path output;    ///< the dataset directory: must not exist (made atomically)
  std::string since;               ///< YYYYMMDD: only sets reviewed on or after it; empty: all
  unsigned validationPercent{20};  ///< patients put aside for validation (by a hash of PatientID)
};

/// What `iodeep dataset` found and wrote.
struct DatasetReport {
  Dataset dataset;
  std::size_t setsFound{0};      ///< our approved structure sets on the PACS (any network)
  std::size_t setsUsed{0};       ///< of the network, reviewed since the date
  std::size_t otherNetworks{0};  ///< approved sets of other networks, skipped
  std::size_t olderReviews{0};   ///< slices reviewed again later: the older review skipped
  std::size_t unreadable{0};     ///< sets or slices that could not be read, skipped (warned)
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Finds the IODeep structure sets on the PACS (a SERIES-level C-FIND for "IODEEP AI*" RTSTRUCT
/// series, or a walk of the studies when the PACS refuses the relational query), retrieves and
/// reads them, keeps the APPROVED ones whose proposing network is @p options.network, retrieves
/// the slices they contour and writes, per slice and label, the image, the approved mask and (for
/// a corrected ROI) the network's original proposal from the set the approved one names as its
/// predecessor. The split into training and validation is by patient. Written into a temporary
/// directory beside @p options.output and renamed into place: nothing partial. Throws
/// Error(InvalidArgument: no network, an existing output, nothing found) and PACS errors.
[[nodiscard]] DatasetReport buildDataset(Workstation& ws, const DatasetOptions& options);

/// Reads a dataset directory back (manifest.csv, dataset.json). Throws Error(FileNotFound,
/// InvalidArgument) naming the file and line.
[[nodiscard]] Dataset readDataset(const std::filesystem::path& directory);

/// The split of @p patientId for @p validationPercent (0-100): "validation" or "train". When the
/// dataset has one patient only, that patient trains (see buildDataset).
[[nodiscard]] std::string splitOf(const std::string& patientId, unsigned validationPercent);

}  // namespace iodeep::client
