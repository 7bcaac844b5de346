// The review stored: structure sets into the outbox, to the PACS, read back, audited.
#include "iodeep/workflow/StoreReview.hpp"

#include <algorithm>
#include "Timing.hpp"

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Audit.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;
using detail::Clock;
using detail::ms;

namespace {

// The approved (or rejected) set: into the outbox first, then to the PACS.
// A workstation whose PACS settings were refused keeps the set in the outbox with that reason.
StoredSet storeThroughOutbox(const Workstation& ws, const Outbox& outbox, const fs::path& file,
                             const rtstruct::WrittenStructureSet& written, std::string status, double& storeMs) {
  StoredSet s;
  s.sopInstanceUid = written.sopInstanceUid;
  s.seriesInstanceUid = written.seriesInstanceUid;
  s.approvalStatus = std::move(status);
  s.rois = written.rois;
  s.contours = written.contours;
  const auto t = Clock::now();
  try {
    (void)ws.pacs().store({file});
    outbox.remove(file);
    s.stored = true;
  } catch (const Error& e) {
    outbox.recordFailure(file, e.what());
    s.outboxFile = file;
    s.storeError = e.what();
  }
  storeMs += ms(t, Clock::now());
  return s;
}

// One audit event per structure set the review produced: stored, or queued in the outbox.
void auditStore(Workstation& ws, std::span<const PredictResult> predictions, const ReviewDecision& decision,
                const StoredSet& set) {
  if (ws.auditLog().empty()) return;
  auto e = auditEventFor(set.stored ? "rtstruct_stored" : "rtstruct_queued", predictions, ws.pacsName());
  e.reviewer = decision.reviewer;
  e.caller = decision.caller;
  e.structureSetUid = set.sopInstanceUid;
  e.approvalStatus = set.approvalStatus;
  e.structureSetSigner = set.signedBy;
  if (!set.stored) e.detail = "kept in the outbox: " + set.storeError;
  appendAudit(ws.auditLog(), std::move(e));
}

}  // namespace

StoreReport storeReview(Workstation& ws, std::span<const PredictResult> predictions, const ReviewDecision& decision,
                        bool storeRejected, const std::optional<iod::SigningCredentials>& signing) {
  StoreReport r;
  if (predictions.empty()) throw Error(ErrorCode::InvalidArgument, "no prediction to review");
  if (decision.reviewer.empty()) {
    throw Error(ErrorCode::InvalidArgument, "storing a review needs the reviewer's name (--reviewer or 'reviewer')");
  }
  std::size_t total = 0;
  for (const auto& p : predictions) total += p.proposals.size();
  const Outbox& outbox = ws.outbox();
  auto t = Clock::now();
  ReviewFiles files;
  // the sets are written in separate calls: one seed makes the approved set name the original set
  ReviewDecision review = decision;
  if (review.uidSeed.empty()) review.uidSeed = iod::makeRandomUid();
  enum class Which { Original, Approved, Rejected };
  // each set is written into the outbox and recorded there in one step (only those are ever sent),
  // with what the audit event of its store needs should it be sent later by a flush
  const auto put = [&](Which which, ResultFormat object, ReviewFiles& into) {
    return outbox.put([&](const fs::path& path) {
      const auto f = writeReview(predictions, review, which == Which::Approved ? path : fs::path(),
                                 which == Which::Rejected ? path : fs::path(), signing,
                                 which == Which::Original ? path : fs::path(), object);
      switch (which) {
        case Which::Original: into.original = f.original; break;
        case Which::Approved: into.approved = f.approved; break;
        case Which::Rejected: into.rejected = f.rejected; break;
      }
      into.signedBy = f.signedBy;
      auto e = auditEventFor("rtstruct_stored", predictions, {});
      e.reviewer = decision.reviewer;
      e.caller = decision.caller;
      e.structureSetSigner = f.signedBy;
      return e;
    });
  };
  const bool anyApproved = !decision.approved.empty() || !decision.corrections.empty() || !decision.drawn.empty();
  std::size_t approvedCount = decision.approved.size();
  for (const auto& c : decision.corrections) {
    if (std::find(decision.approved.begin(), decision.approved.end(), c.proposal) == decision.approved.end())
      ++approvedCount;
  }
  struct Paths {
    fs::path original, approved, rejected;
  };
  // the original proposals first: the approved set's predecessor is on the PACS before it
  const auto writeAll = [&](ResultFormat object, ReviewFiles& into) {
    Paths p;
    if (!decision.corrections.empty()) p.original = put(Which::Original, object, into);
    if (anyApproved) p.approved = put(Which::Approved, object, into);
    if (storeRejected && approvedCount < total) p.rejected = put(Which::Rejected, object, into);
    return p;
  };
  ReviewFiles segFiles;
  Paths rtPaths, segPaths;
  if (decision.format != ResultFormat::Seg) rtPaths = writeAll(ResultFormat::RtStruct, files);
  if (decision.format != ResultFormat::RtStruct) segPaths = writeAll(ResultFormat::Seg, segFiles);
  r.rtstructMs = ms(t, Clock::now());
  const auto storeAll = [&](const ReviewFiles& f, const Paths& p, std::optional<StoredSet>& original,
                            std::optional<StoredSet>& approved, std::optional<StoredSet>& rejected) {
    if (f.original) original = storeThroughOutbox(ws, outbox, p.original, *f.original, "REJECTED", r.storeMs);
    if (f.approved) approved = storeThroughOutbox(ws, outbox, p.approved, *f.approved, "APPROVED", r.storeMs);
    if (f.rejected) rejected = storeThroughOutbox(ws, outbox, p.rejected, *f.rejected, "REJECTED", r.storeMs);
  };
  storeAll(files, rtPaths, r.originalSet, r.approvedSet, r.rejectedSet);
  storeAll(segFiles, segPaths, r.originalSeg, r.approvedSeg, r.rejectedSeg);
  const std::string signedBy = files.signedBy.empty() ? segFiles.signedBy : files.signedBy;
  const auto all = {&r.originalSet, &r.approvedSet, &r.rejectedSet, &r.originalSeg, &r.approvedSeg, &r.rejectedSeg};
  for (auto* set : all) {
    if (!*set) continue;
    (*set)->signedBy = signedBy;
    auditStore(ws, predictions, decision, **set);
  }
  // read back: the PACS returns each stored set by C-FIND under the slices' study
  for (auto* set : all) {
    if (!*set || !(*set)->stored) continue;
    try {
      const auto& study = predictions.front().slice.attributes.studyInstanceUid;
      for (const auto& i : findInstances(ws.pacs(), study, (*set)->seriesInstanceUid)) {
        if (i.sopInstanceUid == (*set)->sopInstanceUid) (*set)->foundOnPacs = true;
      }
    } catch (const Error&) {
      // stored (the PACS said so); only the read-back failed: foundOnPacs stays false
    }
  }
  return r;
}

}  // namespace iodeep::client
