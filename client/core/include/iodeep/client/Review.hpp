#pragma once
/// @file Review.hpp
/// The physician's review of proposals, stored as RT Structure Sets: approved proposals in one
/// (ApprovalStatus APPROVED), optionally the rejected ones in another (REJECTED).

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iodeep/client/Predict.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::client {

struct ReviewDecision {
  std::vector<std::size_t> approved;  ///< 0-based indices into the proposals
  std::string reviewer;               ///< PN, e.g. "Doe^Jane"
};

/// Parses "all", "none" or a list "1,3" (1-based, as printed) for @p count proposals.
/// Throws Error(InvalidArgument).
[[nodiscard]] std::vector<std::size_t> parseSelection(const std::string& text, std::size_t count);

struct ReviewFiles {
  std::optional<rtstruct::WrittenStructureSet> approved;
  std::optional<rtstruct::WrittenStructureSet> rejected;
};

/// Writes the approved proposals to @p approvedPath and, when @p rejectedPath is not empty, the
/// others to it. Throws iodeep::Error (InvalidArgument for an empty approved set or no reviewer).
ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {});

/// The same for the slices of one series: @p decision.approved indexes the proposals of all
/// @p predictions in order (slice by slice). A structure found on several slices is one ROI with
/// contours on each of them.
ReviewFiles writeReview(std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath = {});

}  // namespace iodeep::client
