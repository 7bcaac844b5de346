#pragma once
/// @file StoreReview.hpp
/// The physician's review, stored: RT Structure Sets (and/or DICOM Segmentations) written into the
/// outbox, then C-STORE'd to the PACS and read back; each store (or wait in the outbox) audited.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

/// What happened to one structure set.
struct StoredSet {
  std::string sopInstanceUid, seriesInstanceUid, approvalStatus;
  std::size_t rois{0}, contours{0};
  bool stored{false};                ///< the PACS answered the C-STORE with success
  std::filesystem::path outboxFile;  ///< where it waits when not stored
  std::string storeError;            ///< why the store failed
  bool foundOnPacs{false};           ///< read back by C-FIND under the slices' study
  std::string signedBy;              ///< the signer's certificate subject when signed, else empty
};

/// The review, stored: the approved proposals (and, with @p storeRejected, the others) written
/// as RT Structure Sets into the outbox (when proposals were corrected, first the set of their
/// original form that the approved set names as its predecessor) (signed first with @p signing: writeReview), then
/// C-STORE'd, then read back by C-FIND; each set's store (or its wait in the outbox) is appended
/// to the audit log. A failed store leaves the set in the outbox and is reported in the
/// StoredSet, never thrown. Throws Error(InvalidArgument) without a reviewer, and the writer's
/// and signer's errors (FileNotFound, SigningFailed) before anything is stored.
/// With ReviewDecision::format Seg or Both, each set is (also) written as a DICOM Segmentation
/// and stored the same way (in the outbox first, then stored, read back): the *Seg fields; with
/// Seg alone the structure-set fields stay empty.
struct StoreReport {
  std::optional<StoredSet> approvedSet, rejectedSet;
  std::optional<StoredSet> originalSet;  ///< the corrected proposals as the network proposed them
  double rtstructMs{0}, storeMs{0};      ///< writing (RT Structure Sets and Segmentations), storing
  std::optional<StoredSet> approvedSeg, rejectedSeg, originalSeg;
};
[[nodiscard]] StoreReport storeReview(Workstation& ws, std::span<const PredictResult> predictions,
                                      const ReviewDecision& decision, bool storeRejected = false,
                                      const std::optional<iod::SigningCredentials>& signing = std::nullopt);

}  // namespace iodeep::client
