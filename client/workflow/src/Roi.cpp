// AI ROI end to end on one workstation: selection, model, prediction, review, store.
#include "iodeep/workflow/Roi.hpp"

#include "Timing.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Signature.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;
using detail::Clock;
using detail::ms;

RoiResult runRoi(Workstation& ws, const RoiOptions& options) {
  const auto start = Clock::now();
  RoiResult r;
  const std::string reviewer = options.reviewer.empty() ? ws.config().reviewer : options.reviewer;
  if (options.approve != "none" && reviewer.empty()) {
    throw Error(ErrorCode::InvalidArgument, "approving needs the reviewer's name (--reviewer or 'reviewer')");
  }
  // a key that cannot sign the approval is found before anything is retrieved
  if (options.signing) iod::checkSigningCredentials(*options.signing);
  ModelCache& cache = ws.models();
  (void)ws.outbox();  // an outbox that cannot be made fails the click before anything is retrieved
  // the run's working directory, removed afterwards: slices are patient data, not kept
  const iod::TemporaryDirectory work(cache.directory().parent_path(), "run-");

  r.selection = selectForSlices(ws, options.slices, work.path());
  r.timings.locateMs = r.selection.locateMs;
  r.timings.sliceRetrieveMs = r.selection.sliceRetrieveMs;
  r.timings.discoveryMs = r.selection.discoveryMs;
  r.timings.selectMs = r.selection.selectMs;
  if (!r.selection.selection.matched()) {
    r.timings.totalMs = ms(start, Clock::now());
    return r;
  }
  // the model: from the cache (no bytes move, no hash), or retrieved once and verified on entry.
  // libtorch loads meanwhile, but only once the retrieval's threads run and OpenSSL's providers
  // (the signature check on entry) are open: a thread started, or a library opened, while the
  // loader is inside dlopen of libtorch waits for it (glibc's loader lock), serialising the two.
  const auto startLoad = [](const RetrieveProgress&) {
    iod::initialiseSignatures();
    preloadInference();
    return true;
  };
  auto maybe = fetchSelectedModel(ws, r.selection, work.path() / "model", startLoad);
  if (!maybe) {  // every network that matched was refused for its content: no match, each with its reason
    r.timings.totalMs = ms(start, Clock::now());
    return r;
  }
  auto& fetched = *maybe;
  preloadInference();  // from the cache: nothing was retrieved
  r.model = std::move(fetched.model);
  r.modelFromCache = fetched.fromCache;
  r.modelBytesMoved = fetched.bytesMoved;
  r.timings.modelRetrieveMs = fetched.ms;
  const auto loading = Clock::now();
  awaitInferenceLoad();
  r.timings.inferenceLoadMs = ms(loading, Clock::now());

  // prediction on each slice
  for (const auto& slice : r.selection.sliceFiles) {
    const auto po = ws.predictOptions(r.model->file, slice, options.slices.frame, fetched.trust);
    auto p = predict(po);
    r.timings.buildMs += p.buildMs;
    r.timings.inferenceMs += p.timings.decodeMs + p.timings.preprocessMs + p.timings.forwardMs;
    r.timings.contourMs += p.timings.postprocessMs + p.timings.contourMs;
    r.predictions.push_back(std::move(p));
  }
  std::size_t total = 0;
  for (const auto& p : r.predictions) total += p.proposals.size();
  r.approved = parseSelection(options.approve, total);

  // review: approved (and rejected) sets go to the outbox, then to the PACS
  if (!r.approved.empty() || options.storeRejected) {
    auto stored =
        storeReview(ws, r.predictions, ReviewDecision{r.approved, reviewer}, options.storeRejected, options.signing);
    r.approvedSet = std::move(stored.approvedSet);
    r.rejectedSet = std::move(stored.rejectedSet);
    r.timings.rtstructMs = stored.rtstructMs;
    r.timings.storeMs = stored.storeMs;
  }
  r.timings.totalMs = ms(start, Clock::now());
  return r;
}

}  // namespace iodeep::client
