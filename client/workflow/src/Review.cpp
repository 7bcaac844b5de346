#include "iodeep/workflow/Review.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Uid.hpp"

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

// One ROI per label and occurrence within a slice ("Brain", "Brain (2)"), with its contours on
// every slice where it was chosen: a series gives one ROI per structure, not one per slice.
rtstruct::StructureSetInput setOf(std::span<const PredictResult> predictions,
                                  const std::vector<std::pair<std::size_t, std::size_t>>& which,
                                  rtstruct::ApprovalStatus status, const std::string& reviewer) {
  const PredictResult& first = predictions.front();
  rtstruct::StructureSetInput in;
  in.network = {first.dnnName, first.dnnVersion, first.dnnUid, first.modelSopInstanceUid};
  in.approval = status;
  in.reviewerName = reviewer;
  std::map<std::string, std::size_t> roiIndex;
  std::map<std::pair<std::size_t, std::string>, int> perSlice;
  for (const auto& [slice, i] : which) {
    const PredictResult& p = predictions[slice];
    const auto& prop = p.proposals.at(i);
    const int n = ++perSlice[{slice, prop.label.name}];
    const std::string name = n == 1 ? prop.label.name : prop.label.name + " (" + std::to_string(n) + ")";
    auto [it, added] = roiIndex.try_emplace(name, in.rois.size());
    if (added) {
      rtstruct::RoiInput roi;
      roi.name = name;
      roi.color = prop.label.color;
      roi.interpretedType = prop.label.interpretedType;
      in.rois.push_back(std::move(roi));
    }
    in.rois[it->second].contours.push_back({p.slice.attributes, prop.rings});
  }
  return in;
}

// Writes @p in to @p path, signed when @p signing: the set is written under AtomicFile's
// temporary name beside @p path and signed from there into @p path (atomically), so only a
// signed set ever appears at @p path (an outbox retry sends exactly that file); the unsigned copy
// is removed whatever happens.
rtstruct::WrittenStructureSet writeSet(const rtstruct::StructureSetInput& in, const std::filesystem::path& path,
                                       const std::optional<iod::SigningCredentials>& signing, std::string& signedBy) {
  if (!signing) return rtstruct::writeStructureSet(in, path);
  const iod::AtomicFile unsignedCopy(path);  // never committed: its destructor removes it
  auto written = rtstruct::writeStructureSet(in, unsignedCopy.temporaryPath());
  try {
    signedBy = iod::signFile(unsignedCopy.temporaryPath(), path, *signing).signer.subject;
  } catch (Error& e) {
    e.withUid(written.sopInstanceUid);
    throw;
  }
  return written;
}

}  // namespace

ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath,
                        const std::optional<iod::SigningCredentials>& signing) {
  return writeReview(std::span<const PredictResult>(&prediction, 1), decision, approvedPath, rejectedPath, signing);
}

ReviewFiles writeReview(std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath,
                        const std::optional<iod::SigningCredentials>& signing) {
  if (decision.reviewer.empty())
    throw Error(ErrorCode::InvalidArgument, "approving or rejecting needs the reviewer's name (--reviewer)");
  if (decision.approved.empty() && !approvedPath.empty()) {
    throw Error(ErrorCode::InvalidArgument, "no proposal approved: an empty approved structure set is not written");
  }
  if (predictions.empty()) throw Error(ErrorCode::InvalidArgument, "no prediction to review");
  std::vector<std::pair<std::size_t, std::size_t>> approved;
  std::vector<std::pair<std::size_t, std::size_t>> rejected;
  std::size_t flat = 0;
  for (std::size_t s = 0; s < predictions.size(); ++s) {
    for (std::size_t i = 0; i < predictions[s].proposals.size(); ++i, ++flat) {
      const bool yes = std::find(decision.approved.begin(), decision.approved.end(), flat) != decision.approved.end();
      (yes ? approved : rejected).emplace_back(s, i);
    }
  }
  for (std::size_t i : decision.approved) {
    if (i >= flat) throw Error(ErrorCode::InvalidArgument, "proposal " + std::to_string(i + 1) + " does not exist");
  }
  if (signing) iod::checkSigningCredentials(*signing);
  ReviewFiles files;
  const auto withUids = [&decision](rtstruct::StructureSetInput in, const char* which) {
    if (!decision.uidSeed.empty()) {
      const auto uid = [&](const char* what) {
        iod::Sha256 h;
        h.update(decision.uidSeed + "|" + which + "|" + what);
        return iod::uidFromDigest(h.finish());
      };
      in.sopInstanceUid = uid("sop");
      in.seriesInstanceUid = uid("series");
    }
    return in;
  };
  if (!approvedPath.empty()) {
    files.approved = writeSet(
        withUids(setOf(predictions, approved, rtstruct::ApprovalStatus::Approved, decision.reviewer), "approved"),
        approvedPath, signing, files.signedBy);
  }
  if (!rejectedPath.empty() && !rejected.empty()) {
    files.rejected = writeSet(
        withUids(setOf(predictions, rejected, rtstruct::ApprovalStatus::Rejected, decision.reviewer), "rejected"),
        rejectedPath, signing, files.signedBy);
  }
  return files;
}

void ReviewState::reset(std::span<const PredictResult> predictions) {
  refs_.clear();
  for (std::size_t p = 0; p < predictions.size(); ++p) {
    for (std::size_t i = 0; i < predictions[p].proposals.size(); ++i) refs_.push_back({p, i});
  }
  verdicts_.assign(refs_.size(), Verdict::Pending);
}

const ProposalRef& ReviewState::at(std::size_t flat) const {
  if (flat >= refs_.size())
    throw Error(ErrorCode::InvalidArgument, "proposal " + std::to_string(flat + 1) + " does not exist");
  return refs_[flat];
}

Verdict ReviewState::verdict(std::size_t flat) const {
  (void)at(flat);
  return verdicts_[flat];
}

void ReviewState::set(std::size_t flat, Verdict verdict) {
  (void)at(flat);
  verdicts_[flat] = verdict;
}

void ReviewState::approveAll() {
  std::fill(verdicts_.begin(), verdicts_.end(), Verdict::Approved);
}

std::size_t ReviewState::count(Verdict verdict) const noexcept {
  return static_cast<std::size_t>(std::count(verdicts_.begin(), verdicts_.end(), verdict));
}

ReviewDecision ReviewState::decision(const std::string& reviewer) const {
  ReviewDecision d;
  d.reviewer = reviewer;
  for (std::size_t i = 0; i < verdicts_.size(); ++i) {
    if (verdicts_[i] == Verdict::Approved) d.approved.push_back(i);
  }
  return d;
}

}  // namespace iodeep::client
