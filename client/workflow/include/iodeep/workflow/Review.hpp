#pragma once
/// @file Review.hpp
/// The physician's review of proposals, stored as RT Structure Sets (or DICOM Segmentations, or
/// both): approved proposals in one (ApprovalStatus APPROVED), optionally the rejected ones in
/// another (REJECTED).

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace iodeep::client {

/// What a review is stored as (`--format`, docs/seg.md): RT Structure Sets (the default), DICOM
/// Segmentations (one binary SEG per set, a segment per ROI), or both (each set as either).
enum class ResultFormat { RtStruct, Seg, Both };
/// "rtstruct", "seg", "both".
[[nodiscard]] std::string toString(ResultFormat format);
/// The format toString names. Throws Error(InvalidArgument) naming the three.
[[nodiscard]] ResultFormat resultFormatFrom(const std::string& text);

/// The physician's correction of one proposal before approving it: the region it becomes, as
/// rings along pixel edges of the slice (ringsOfMask of what was painted, Masks.hpp).
struct Correction {
  std::size_t proposal{0};  ///< 0-based over all proposals, as ReviewDecision::approved
  std::vector<iod::Ring> rings;
};

/// An ROI the physician drew on a slice for a label the network knows.
struct DrawnRoi {
  std::size_t slice{0};  ///< index into the predictions
  netparser::LabelSpec label;
  std::vector<iod::Ring> rings;
};

struct ReviewDecision {
  std::vector<std::size_t> approved;  ///< 0-based indices into the proposals
  std::string reviewer;               ///< PN, e.g. "Doe^Jane"
  /// Not empty: the sets' SOP and Series Instance UIDs derived from it (the same seed, the same
  /// UIDs: a retried store of one review is one instance on the PACS). Empty: random UIDs.
  std::string uidSeed{};
  std::string caller{};  ///< the inference service's caller, for the audit log; empty for local work
  /// Corrected proposals: approved as corrected (listed in approved or not). Stored SEMIAUTOMATIC,
  /// and the network's original proposals for them in a set of their own (docs/rtstruct.md).
  std::vector<Correction> corrections{};
  std::vector<DrawnRoi> drawn{};                ///< stored MANUAL in the approved set
  ResultFormat format{ResultFormat::RtStruct};  ///< what storeReview writes and stores
};

/// Parses "all", "none" or a list "1,3" (1-based, as printed) for @p count proposals.
/// Throws Error(InvalidArgument).
[[nodiscard]] std::vector<std::size_t> parseSelection(const std::string& text, std::size_t count);

/// The physician's verdict on one proposal.
enum class Verdict { Pending, Approved, Rejected };

/// Where proposal @p flat (0-based over all predictions, slice by slice) is.
struct ProposalRef {
  std::size_t prediction{0}, proposal{0};
};

/// The verdicts on the proposals of one or more slices, as the viewer's review panel keeps them.
class ReviewState {
 public:
  /// @p predictions' proposals, all pending.
  void reset(std::span<const PredictResult> predictions);
  [[nodiscard]] std::size_t size() const noexcept { return refs_.size(); }
  [[nodiscard]] const ProposalRef& at(std::size_t flat) const;
  [[nodiscard]] Verdict verdict(std::size_t flat) const;
  /// Throws Error(InvalidArgument) for an index out of range.
  void set(std::size_t flat, Verdict verdict);
  void approveAll();
  [[nodiscard]] std::size_t count(Verdict verdict) const noexcept;
  /// Proposal @p flat corrected to @p rings (non-empty, the slice's pixel edges): it is approved
  /// as corrected. Throws Error(InvalidArgument) for an index out of range or no rings.
  void setCorrection(std::size_t flat, std::vector<iod::Ring> rings);
  void clearCorrection(std::size_t flat);
  /// The correction of @p flat, or null.
  [[nodiscard]] const std::vector<iod::Ring>* correction(std::size_t flat) const;
  /// An ROI the physician drew; returns its index in drawn().
  std::size_t addDrawn(DrawnRoi roi);
  void setDrawn(std::size_t index, std::vector<iod::Ring> rings);
  void removeDrawn(std::size_t index);
  [[nodiscard]] const std::vector<DrawnRoi>& drawn() const noexcept { return drawn_; }
  /// Something would be stored: an approved proposal or a drawn ROI.
  [[nodiscard]] bool anythingToStore() const noexcept;
  /// The approved proposals (flat indices, ascending), the corrections and drawn ROIs, with
  /// @p reviewer.
  [[nodiscard]] ReviewDecision decision(const std::string& reviewer) const;

 private:
  std::vector<ProposalRef> refs_;
  std::vector<Verdict> verdicts_;
  std::vector<std::optional<std::vector<iod::Ring>>> corrections_;
  std::vector<DrawnRoi> drawn_;
};

struct ReviewFiles {
  std::optional<rtstruct::WrittenStructureSet> approved;
  std::optional<rtstruct::WrittenStructureSet> rejected;
  /// The network's original proposals for the corrected ROIs (REJECTED, "IODEEP AI PROPOSAL"),
  /// which the approved set names as its predecessor.
  std::optional<rtstruct::WrittenStructureSet> original;
  /// The signer's certificate subject when the sets were signed, else empty.
  std::string signedBy;
};

/// Writes the approved proposals (as corrected, with the drawn ROIs) to @p approvedPath and, when
/// @p rejectedPath is not empty, the others to it; when @p originalPath is not empty and proposals
/// were corrected, their original form to it. The approved set names the original set as its
/// predecessor whenever proposals were corrected (its UID is derived from the decision's seed:
/// a caller writing the sets in several calls passes one seed). With @p signing, each set is signed (iod/Signature.hpp)
/// before it appears at its path (written beside it under a temporary name, signed into place, the unsigned copy
/// removed); the credentials are checked before anything is written. Throws iodeep::Error (InvalidArgument for an empty
/// approved set, no reviewer, a correction or drawing of no region or of a proposal or slice that does not exist;
/// FileNotFound, SigningFailed for credentials that cannot sign).
/// @p object: RtStruct writes RT Structure Sets, Seg DICOM Segmentations of the same sets (their
/// UIDs derived from the seed as well, apart from the structure sets'; counts in ReviewFiles:
/// contours = frames, rois = segments); Both is refused (InvalidArgument): one call per object.
ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {},
                        const std::optional<iod::SigningCredentials>& signing = std::nullopt,
                        const std::filesystem::path& originalPath = {}, ResultFormat object = ResultFormat::RtStruct);

/// The same for the slices of one series: @p decision.approved indexes the proposals of all
/// @p predictions in order (slice by slice). A structure found on several slices is one ROI with
/// contours on each of them.
ReviewFiles writeReview(std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {},
                        const std::optional<iod::SigningCredentials>& signing = std::nullopt,
                        const std::filesystem::path& originalPath = {}, ResultFormat object = ResultFormat::RtStruct);

/// The label of the network's called @p name (case-insensitive) in @p prediction's labels.
/// Throws Error(InvalidArgument) listing the labels the network knows.
[[nodiscard]] netparser::LabelSpec labelNamed(const PredictResult& prediction, const std::string& name);

}  // namespace iodeep::client
