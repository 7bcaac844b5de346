#include "iodeep/client/Review.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "iodeep/iod/Error.hpp"

namespace iodeep::client {

std::vector<std::size_t> parseSelection(const std::string& text, std::size_t count) {
  std::vector<std::size_t> out;
  if (text == "all") {
    for (std::size_t i = 0; i < count; ++i) out.push_back(i);
    return out;
  }
  if (text == "none" || text.empty()) return out;
  std::set<std::size_t> seen;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    unsigned long n = 0;
    try {
      n = std::stoul(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || n < 1 || n > count) {
      throw Error(ErrorCode::InvalidArgument,
                  "selection '" + text + "': '" + item + "' is not a proposal number 1-" + std::to_string(count));
    }
    if (seen.insert(n - 1).second) out.push_back(n - 1);
  }
  return out;
}

namespace {

rtstruct::StructureSetInput setOf(const PredictResult& p, const std::vector<std::size_t>& which,
                                  rtstruct::ApprovalStatus status, const std::string& reviewer) {
  rtstruct::StructureSetInput in;
  in.network = {p.dnnName, p.dnnVersion, p.dnnUid, p.modelSopInstanceUid};
  in.approval = status;
  in.reviewerName = reviewer;
  std::map<std::string, int> seen;
  for (std::size_t i : which) {
    const auto& prop = p.proposals.at(i);
    const int n = ++seen[prop.label.name];
    rtstruct::RoiInput roi;
    roi.name = n == 1 ? prop.label.name : prop.label.name + " (" + std::to_string(n) + ")";
    roi.color = prop.label.color;
    roi.interpretedType = prop.label.interpretedType;
    roi.contours.push_back({p.slice.attributes, prop.rings});
    in.rois.push_back(std::move(roi));
  }
  return in;
}

}  // namespace

ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath) {
  if (decision.reviewer.empty())
    throw Error(ErrorCode::InvalidArgument, "approving or rejecting needs the reviewer's name (--reviewer)");
  if (decision.approved.empty() && !approvedPath.empty()) {
    throw Error(ErrorCode::InvalidArgument, "no proposal approved: an empty approved structure set is not written");
  }
  std::vector<std::size_t> rejected;
  for (std::size_t i = 0; i < prediction.proposals.size(); ++i) {
    if (std::find(decision.approved.begin(), decision.approved.end(), i) == decision.approved.end())
      rejected.push_back(i);
  }
  ReviewFiles files;
  if (!approvedPath.empty()) {
    files.approved = rtstruct::writeStructureSet(
        setOf(prediction, decision.approved, rtstruct::ApprovalStatus::Approved, decision.reviewer), approvedPath);
  }
  if (!rejectedPath.empty() && !rejected.empty()) {
    files.rejected = rtstruct::writeStructureSet(
        setOf(prediction, rejected, rtstruct::ApprovalStatus::Rejected, decision.reviewer), rejectedPath);
  }
  return files;
}

}  // namespace iodeep::client
