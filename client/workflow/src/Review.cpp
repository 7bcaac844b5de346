#include "iodeep/workflow/Review.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <span>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/seg/Segmentation.hpp"

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

using SliceProposal = std::pair<std::size_t, std::size_t>;  // (prediction, proposal within it)

rtstruct::StructureSetInput emptySet(const PredictResult& first, rtstruct::ApprovalStatus status,
                                     const std::string& reviewer) {
  rtstruct::StructureSetInput in;
  in.network = {first.dnnName, first.dnnVersion, first.dnnUid, first.modelSopInstanceUid};
  in.approval = status;
  in.reviewerName = reviewer;
  return in;
}

// One ROI per label and occurrence within a slice ("Brain", "Brain (2)"), with its contours on
// every slice where it was chosen: a series gives one ROI per structure, not one per slice. A
// corrected proposal contributes its corrected rings and makes its ROI SEMIAUTOMATIC; @p roiOf
// receives the ROI index of every proposal placed. Drawn ROIs are ROIs of their own (MANUAL),
// named as their label, or "label (drawn)" when a proposal's ROI has that name already.
rtstruct::StructureSetInput setOf(std::span<const PredictResult> predictions, const std::vector<SliceProposal>& which,
                                  rtstruct::ApprovalStatus status, const std::string& reviewer,
                                  const std::map<SliceProposal, const Correction*>& corrected,
                                  std::span<const DrawnRoi> drawn, std::map<SliceProposal, std::size_t>* roiOf) {
  auto in = emptySet(predictions.front(), status, reviewer);
  std::map<std::string, std::size_t> roiIndex;
  std::map<std::pair<std::size_t, std::string>, int> perSlice;
  for (const auto& key : which) {
    const auto& [slice, i] = key;
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
    auto& roi = in.rois[it->second];
    const auto c = corrected.find(key);
    if (c != corrected.end()) roi.generation = rtstruct::RoiGeneration::Semiautomatic;
    roi.contours.push_back({p.slice.attributes, c != corrected.end() ? c->second->rings : prop.rings});
    if (roiOf != nullptr) (*roiOf)[key] = it->second;
  }
  std::map<std::string, std::size_t> drawnIndex;
  for (const auto& d : drawn) {
    const std::string name = roiIndex.count(d.label.name) != 0 ? d.label.name + " (drawn)" : d.label.name;
    auto [it, added] = drawnIndex.try_emplace(name, in.rois.size());
    if (added) {
      rtstruct::RoiInput roi;
      roi.name = name;
      roi.color = d.label.color;
      roi.interpretedType = d.label.interpretedType;
      roi.generation = rtstruct::RoiGeneration::Manual;
      in.rois.push_back(std::move(roi));
    }
    in.rois[it->second].contours.push_back({predictions[d.slice].slice.attributes, d.rings});
  }
  return in;
}

// Writes @p in to @p path, signed when @p signing: the set is written under AtomicFile's
// temporary name beside @p path and signed from there into @p path (atomically), so only a
// signed set ever appears at @p path (an outbox retry sends exactly that file); the unsigned copy
// is removed whatever happens.
// With @p object Seg, the set is written as a DICOM Segmentation (the set's own UIDs taken for the
// SEG: the caller derives them apart from the structure set's).
rtstruct::WrittenStructureSet writeSet(const rtstruct::StructureSetInput& in, const std::filesystem::path& path,
                                       const std::optional<iod::SigningCredentials>& signing, std::string& signedBy,
                                       ResultFormat object) {
  const auto write = [&](const std::filesystem::path& to) {
    if (object != ResultFormat::Seg) return rtstruct::writeStructureSet(in, to);
    seg::SegmentationOptions o;
    o.sopInstanceUid = in.sopInstanceUid;
    o.seriesInstanceUid = in.seriesInstanceUid;
    if (in.seriesDescription == "IODEEP AI PROPOSAL") o.seriesDescription = "IODEEP AI PROPOSAL SEG";
    const auto w = seg::writeSegmentation(in, to, o);
    return rtstruct::WrittenStructureSet{w.sopInstanceUid, w.seriesInstanceUid, w.frames, w.segments};
  };
  if (!signing) return write(path);
  const iod::AtomicFile unsignedCopy(path);  // never committed: its destructor removes it
  auto written = write(unsignedCopy.temporaryPath());
  try {
    signedBy = iod::signFile(unsignedCopy.temporaryPath(), path, *signing).signer.subject;
  } catch (Error& e) {
    e.withUid(written.sopInstanceUid);
    throw;
  }
  return written;
}

}  // namespace

std::string toString(ResultFormat format) {
  switch (format) {
    case ResultFormat::RtStruct: return "rtstruct";
    case ResultFormat::Seg: return "seg";
    case ResultFormat::Both: return "both";
  }
  return "rtstruct";
}

ResultFormat resultFormatFrom(const std::string& text) {
  for (const auto f : {ResultFormat::RtStruct, ResultFormat::Seg, ResultFormat::Both}) {
    if (toString(f) == text) return f;
  }
  throw Error(ErrorCode::InvalidArgument, "format '" + text + "': rtstruct, seg or both");
}

ReviewFiles writeReview(const PredictResult& prediction, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath,
                        const std::optional<iod::SigningCredentials>& signing,
                        const std::filesystem::path& originalPath, ResultFormat object) {
  return writeReview(std::span<const PredictResult>(&prediction, 1), decision, approvedPath, rejectedPath, signing,
                     originalPath, object);
}

ReviewFiles writeReview(std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        const std::filesystem::path& approvedPath, const std::filesystem::path& rejectedPath,
                        const std::optional<iod::SigningCredentials>& signing,
                        const std::filesystem::path& originalPath, ResultFormat object) {
  if (object == ResultFormat::Both) {
    throw Error(ErrorCode::InvalidArgument, "writeReview writes one kind of object per call: rtstruct or seg");
  }
  if (decision.reviewer.empty())
    throw Error(ErrorCode::InvalidArgument, "approving or rejecting needs the reviewer's name (--reviewer)");
  if (predictions.empty()) throw Error(ErrorCode::InvalidArgument, "no prediction to review");
  std::vector<SliceProposal> flatIndex;
  for (std::size_t s = 0; s < predictions.size(); ++s) {
    for (std::size_t i = 0; i < predictions[s].proposals.size(); ++i) flatIndex.emplace_back(s, i);
  }
  const auto proposalAt = [&](std::size_t i) {
    if (i >= flatIndex.size())
      throw Error(ErrorCode::InvalidArgument, "proposal " + std::to_string(i + 1) + " does not exist");
    return flatIndex[i];
  };
  std::set<std::size_t> approvedFlat;
  for (std::size_t i : decision.approved) {
    (void)proposalAt(i);
    approvedFlat.insert(i);
  }
  std::map<SliceProposal, const Correction*> corrected;
  for (const auto& c : decision.corrections) {
    if (c.rings.empty()) {
      throw Error(ErrorCode::InvalidArgument, "the correction of proposal " + std::to_string(c.proposal + 1) +
                                                  " is empty: reject the proposal instead");
    }
    if (!corrected.emplace(proposalAt(c.proposal), &c).second) {
      throw Error(ErrorCode::InvalidArgument, "proposal " + std::to_string(c.proposal + 1) + " is corrected twice");
    }
    approvedFlat.insert(c.proposal);
  }
  for (const auto& d : decision.drawn) {
    if (d.slice >= predictions.size()) {
      throw Error(ErrorCode::InvalidArgument, "a drawn ROI on slice " + std::to_string(d.slice + 1) + " of " +
                                                  std::to_string(predictions.size()) + ": no such slice");
    }
    if (d.rings.empty() || d.label.name.empty()) {
      throw Error(ErrorCode::InvalidArgument, "a drawn ROI needs a label and a region");
    }
  }
  if (approvedFlat.empty() && decision.drawn.empty() && !approvedPath.empty()) {
    throw Error(ErrorCode::InvalidArgument, "no proposal approved: an empty approved structure set is not written");
  }
  std::vector<SliceProposal> approved;
  std::vector<SliceProposal> rejected;
  for (std::size_t flat = 0; flat < flatIndex.size(); ++flat) {
    (approvedFlat.count(flat) != 0 ? approved : rejected).push_back(flatIndex[flat]);
  }
  if (signing) iod::checkSigningCredentials(*signing);
  // one seed for the review's sets: the approved set names the original set by its UID, also
  // when a caller writes them in separate calls with the decision's seed
  const std::string seed = decision.uidSeed.empty() ? iod::makeRandomUid() : decision.uidSeed;
  const auto uid = [&seed](const char* which, const char* what) {
    iod::Sha256 h;
    h.update(seed + "|" + which + "|" + what);
    return iod::uidFromDigest(h.finish());
  };
  const bool seg = object == ResultFormat::Seg;
  const auto withUids = [&uid, seg](rtstruct::StructureSetInput in, const char* which) {
    in.sopInstanceUid = uid(which, seg ? "seg-sop" : "sop");
    in.seriesInstanceUid = uid(which, seg ? "seg-series" : "series");
    return in;
  };
  ReviewFiles files;
  std::map<SliceProposal, std::size_t> roiOf;
  auto approvedSet = setOf(predictions, approved, rtstruct::ApprovalStatus::Approved, decision.reviewer, corrected,
                           decision.drawn, &roiOf);
  if (!corrected.empty()) approvedSet.predecessorSopInstanceUid = uid("original", "sop");
  if (!originalPath.empty() && !corrected.empty()) {
    // the network's proposals as they were, numbered as the ROIs the physician corrected
    auto original = emptySet(predictions.front(), rtstruct::ApprovalStatus::Rejected, decision.reviewer);
    original.label = "AI PROPOSAL";
    original.seriesDescription = "IODEEP AI PROPOSAL";
    std::map<std::size_t, std::size_t> byRoi;  // approved ROI index -> original ROI index
    for (const auto& [key, correction] : corrected) {
      const std::size_t roi = roiOf.at(key);
      auto [it, added] = byRoi.try_emplace(roi, original.rois.size());
      if (added) {
        rtstruct::RoiInput r = approvedSet.rois[roi];
        r.contours.clear();
        r.generation = rtstruct::RoiGeneration::Automatic;
        r.number = static_cast<std::int32_t>(roi + 1);
        original.rois.push_back(std::move(r));
      }
      const auto& p = predictions[key.first];
      original.rois[it->second].contours.push_back({p.slice.attributes, p.proposals[key.second].rings});
    }
    files.original = writeSet(withUids(std::move(original), "original"), originalPath, signing, files.signedBy, object);
  }
  if (!approvedPath.empty()) {
    files.approved =
        writeSet(withUids(std::move(approvedSet), "approved"), approvedPath, signing, files.signedBy, object);
  }
  if (!rejectedPath.empty() && !rejected.empty()) {
    files.rejected = writeSet(
        withUids(setOf(predictions, rejected, rtstruct::ApprovalStatus::Rejected, decision.reviewer, {}, {}, nullptr),
                 "rejected"),
        rejectedPath, signing, files.signedBy, object);
  }
  return files;
}

netparser::LabelSpec labelNamed(const PredictResult& prediction, const std::string& name) {
  const auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  if (prediction.labels.empty()) {
    throw Error(ErrorCode::InvalidArgument, "the labels of the network " + prediction.dnnName +
                                                " are not known here (a prediction from the inference service): draw "
                                                "on a local prediction (--no-service)");
  }
  std::string known;
  for (const auto& l : prediction.labels) {
    if (lower(l.name) == lower(name)) return l;
    known += (known.empty() ? "" : ", ") + l.name;
  }
  throw Error(ErrorCode::InvalidArgument,
              "the network " + prediction.dnnName + " has no label '" + name + "' (it knows: " + known + ")");
}

void ReviewState::reset(std::span<const PredictResult> predictions) {
  refs_.clear();
  for (std::size_t p = 0; p < predictions.size(); ++p) {
    for (std::size_t i = 0; i < predictions[p].proposals.size(); ++i) refs_.push_back({p, i});
  }
  verdicts_.assign(refs_.size(), Verdict::Pending);
  corrections_.assign(refs_.size(), std::nullopt);
  drawn_.clear();
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
  if (verdict != Verdict::Approved) corrections_[flat].reset();  // a rejected proposal's correction is void
}

void ReviewState::setCorrection(std::size_t flat, std::vector<iod::Ring> rings) {
  (void)at(flat);
  if (rings.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "the correction of proposal " + std::to_string(flat + 1) + " is empty: reject the proposal instead");
  }
  corrections_[flat] = std::move(rings);
  verdicts_[flat] = Verdict::Approved;
}

void ReviewState::clearCorrection(std::size_t flat) {
  (void)at(flat);
  corrections_[flat].reset();
}

const std::vector<iod::Ring>* ReviewState::correction(std::size_t flat) const {
  (void)at(flat);
  return corrections_[flat] ? &*corrections_[flat] : nullptr;
}

std::size_t ReviewState::addDrawn(DrawnRoi roi) {
  if (roi.rings.empty()) throw Error(ErrorCode::InvalidArgument, "a drawn ROI needs a region");
  drawn_.push_back(std::move(roi));
  return drawn_.size() - 1;
}

void ReviewState::setDrawn(std::size_t index, std::vector<iod::Ring> rings) {
  if (index >= drawn_.size() || rings.empty())
    throw Error(ErrorCode::InvalidArgument, "no such drawn ROI, or no region");
  drawn_[index].rings = std::move(rings);
}

void ReviewState::removeDrawn(std::size_t index) {
  if (index < drawn_.size()) drawn_.erase(drawn_.begin() + static_cast<std::ptrdiff_t>(index));
}

bool ReviewState::anythingToStore() const noexcept {
  return count(Verdict::Approved) > 0 || !drawn_.empty();
}

void ReviewState::approveAll() {
  std::fill(verdicts_.begin(), verdicts_.end(), Verdict::Approved);  // corrections kept
}

std::size_t ReviewState::count(Verdict verdict) const noexcept {
  return static_cast<std::size_t>(std::count(verdicts_.begin(), verdicts_.end(), verdict));
}

ReviewDecision ReviewState::decision(const std::string& reviewer) const {
  ReviewDecision d;
  d.reviewer = reviewer;
  for (std::size_t i = 0; i < verdicts_.size(); ++i) {
    if (verdicts_[i] != Verdict::Approved) continue;
    d.approved.push_back(i);
    if (corrections_[i]) d.corrections.push_back({i, *corrections_[i]});
  }
  d.drawn = drawn_;
  return d;
}

}  // namespace iodeep::client
