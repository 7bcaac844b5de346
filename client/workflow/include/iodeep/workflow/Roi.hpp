#pragma once
/// @file Roi.hpp
/// AI ROI over DICOM, end to end (docs/pacs-workflow.md): retrieve the slice(s), find the IODeep
/// networks on the PACS, select one (Selection.hpp), make it local once (ModelFetch.hpp),
/// predict, review, store the review (StoreReview.hpp). The CLI (`iodeep select`, `iodeep roi`)
/// and the viewer call these with one Workstation.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/workflow/ModelFetch.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Selection.hpp"
#include "iodeep/workflow/StoreReview.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

/// Time spent in each step, ms.
struct RoiTimings {
  double locateMs{0}, sliceRetrieveMs{0}, discoveryMs{0}, selectMs{0}, modelRetrieveMs{0};
  /// Waiting for the inference module (libtorch) to finish loading after the model was local:
  /// what of the load's ~0.4 s the retrieval did not hide (a process's first network only).
  double inferenceLoadMs{0};
  double buildMs{0}, inferenceMs{0}, contourMs{0}, rtstructMs{0}, storeMs{0}, totalMs{0};
};

struct RoiOptions {
  SliceRequest slices;
  std::string approve{"none"};  ///< "all", "none" or "1,3" (1-based over all proposals, as printed)
  std::string reviewer;         ///< ReviewerName; the configuration's when empty
  bool storeRejected{false};    ///< also store the rejected proposals as a REJECTED set
  /// Corrections before approval, "N=FILE": proposal N (1-based, as printed) becomes the region of
  /// FILE, a mask at the slice's pixel grid (PNG or JSON polygon: Masks.hpp's readMaskFile).
  std::vector<std::string> corrections{};
  /// Drawn ROIs, "LABEL=FILE" or "LABEL@K=FILE" (slice K, 1-based, in the order retrieved; the
  /// first when omitted) for a label the network knows.
  std::vector<std::string> drawings{};
  /// Sign the structure sets (the reviewer's approval) before they enter the outbox: what is
  /// stored, now or by a later outbox flush, is the signed file. Checked before anything moves.
  std::optional<iod::SigningCredentials> signing;
  ResultFormat format{ResultFormat::RtStruct};  ///< RT Structure Sets, DICOM Segmentations or both
};

struct RoiResult {
  SelectionReport selection;
  std::optional<CachedModel> model;
  bool modelFromCache{false};  ///< no model bytes moved
  std::uint64_t modelBytesMoved{0};
  std::vector<PredictResult> predictions;
  std::vector<std::size_t> approved;  ///< flat proposal indices
  std::optional<StoredSet> approvedSet, rejectedSet;
  std::optional<StoredSet> originalSet;  ///< the corrected proposals as proposed (StoreReport)
  /// The same sets as DICOM Segmentations (RoiOptions::format seg or both)
  std::optional<StoredSet> approvedSeg, rejectedSeg, originalSeg;
  std::vector<std::size_t> corrected;  ///< flat proposal indices the physician corrected
  std::size_t drawn{0};                ///< ROIs the physician drew
  RoiTimings timings;

  /// kExitOk; kExitNoMatch when no network matched; kExitPacs when a set waits in the outbox.
  [[nodiscard]] int exitCode() const noexcept;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// The physician's decision on @p predictions from @p options: approve, corrections and drawings
/// read (each mask checked against its slice and traced exactly). Throws Error(InvalidArgument,
/// FileNotFound) naming the option and file.
[[nodiscard]] ReviewDecision reviewDecisionFor(std::span<const PredictResult> predictions, const RoiOptions& options,
                                               const std::string& reviewer);

/// The whole AI ROI. Throws iodeep::Error for PACS and content problems before a structure set
/// exists; once approved proposals exist they are in the outbox before the first store attempt,
/// and a failed store is reported in the result (exit code 6), never lost.
[[nodiscard]] RoiResult runRoi(Workstation& ws, const RoiOptions& options);

}  // namespace iodeep::client
