#pragma once
/// @file Review.hpp
/// The physician's review of proposals, stored as RT Structure Sets: approved proposals in one
/// (ApprovalStatus APPROVED), optionally the rejected ones in another (REJECTED).

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace iodeep::client {

struct ReviewDecision {
  std::vector<std::size_t> approved;  ///< 0-based indices into the proposals
  std::string reviewer;               ///< PN, e.g. "Doe^Jane"
  /// Not empty: the sets' SOP and Series Instance UIDs derived from it (the same seed, the same
  /// UIDs: a retried store of one review is one instance on the PACS). Empty: random UIDs.
  std::string uidSeed{};
  std::string caller{};  ///< the inference service's caller, for the audit log; empty for local work
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
  /// The approved proposals (flat indices, ascending) with @p reviewer.
  [[nodiscard]] ReviewDecision decision(const std::string& reviewer) const;

 private:
  std::vector<ProposalRef> refs_;
  std::vector<Verdict> verdicts_;
};

struct ReviewFiles {
  std::optional<rtstruct::WrittenStructureSet> approved;
  std::optional<rtstruct::WrittenStructureSet> rejected;
  /// The signer's certificate subject when the sets were signed, else empty.
  std::string signedBy;
};

/// Writes the approved proposals to @p approvedPath and, when @p rejectedPath is not empty, the
/// others to it. With @p signing, each set is signed (iod/Signature.hpp) before it appears at its
/// path (written beside it under a temporary name, signed into place, the unsigned copy removed);
/// the credentials are checked before anything is written. Throws iodeep::Error
/// (InvalidArgument for an empty approved set or no reviewer; FileNotFound, SigningFailed for
/// credentials that cannot sign).
ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {},
                        const std::optional<iod::SigningCredentials>& signing = std::nullopt);

/// The same for the slices of one series: @p decision.approved indexes the proposals of all
/// @p predictions in order (slice by slice). A structure found on several slices is one ROI with
/// contours on each of them.
ReviewFiles writeReview(std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {},
                        const std::optional<iod::SigningCredentials>& signing = std::nullopt);

}  // namespace iodeep::client
