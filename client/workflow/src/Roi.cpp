// AI ROI end to end on one workstation: selection, model, prediction, review, store.
#include "iodeep/workflow/Roi.hpp"

#include <algorithm>

#include "Timing.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/workflow/Masks.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;
using detail::Clock;
using detail::ms;

namespace {

// "KEY=FILE" -> (KEY, FILE); throws naming @p option.
std::pair<std::string, std::string> keyAndFile(const std::string& spec, const char* option, const char* form) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    throw Error(ErrorCode::InvalidArgument, std::string(option) + " '" + spec + "': expected " + form);
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::size_t positiveNumber(const std::string& text, std::size_t max, const std::string& what) {
  std::size_t used = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || n < 1 || n > max) {
    throw Error(ErrorCode::InvalidArgument, what + " '" + text + "' is not a number 1-" + std::to_string(max));
  }
  return n;
}

}  // namespace

ReviewDecision reviewDecisionFor(std::span<const PredictResult> predictions, const RoiOptions& options,
                                 const std::string& reviewer) {
  std::vector<std::pair<std::size_t, std::size_t>> flat;  // (slice, proposal) per flat index
  for (std::size_t s = 0; s < predictions.size(); ++s) {
    for (std::size_t i = 0; i < predictions[s].proposals.size(); ++i) flat.emplace_back(s, i);
  }
  ReviewDecision d;
  d.reviewer = reviewer;
  d.approved = parseSelection(options.approve, flat.size());
  const auto maskFor = [](const PredictResult& p, const std::string& file, const std::string& option) {
    const auto& a = p.slice.attributes;
    try {
      return ringsOfMask(readMaskFile(file, a.rows, a.columns));
    } catch (Error& e) {
      e.withUid(a.sopInstanceUid);
      throw Error(e.code(), option + ": " + e.what());
    }
  };
  for (const auto& spec : options.corrections) {
    const auto [key, file] = keyAndFile(spec, "--correct", "N=MASK (a proposal number as printed, a PNG or JSON file)");
    if (flat.empty())
      throw Error(ErrorCode::InvalidArgument, "--correct " + spec + ": there is no proposal to correct");
    const std::size_t n = positiveNumber(key, flat.size(), "--correct: proposal");
    d.corrections.push_back({n - 1, maskFor(predictions[flat[n - 1].first], file, "--correct " + key)});
    if (std::find(d.approved.begin(), d.approved.end(), n - 1) == d.approved.end()) d.approved.push_back(n - 1);
  }
  std::sort(d.approved.begin(), d.approved.end());
  for (const auto& spec : options.drawings) {
    const auto [key, file] = keyAndFile(spec, "--draw", "LABEL=MASK or LABEL@K=MASK (K: the slice, 1-based)");
    std::string label = key;
    std::size_t slice = 0;
    if (const auto at = key.rfind('@'); at != std::string::npos) {
      label = key.substr(0, at);
      slice = positiveNumber(key.substr(at + 1), predictions.size(), "--draw: slice") - 1;
    }
    if (predictions.empty()) throw Error(ErrorCode::InvalidArgument, "--draw: no slice to draw on");
    const auto& p = predictions[slice];
    d.drawn.push_back({slice, labelNamed(p, label), maskFor(p, file, "--draw " + key)});
  }
  if ((!d.approved.empty() || !d.drawn.empty()) && reviewer.empty()) {
    throw Error(ErrorCode::InvalidArgument, "approving needs the reviewer's name (--reviewer or 'reviewer')");
  }
  return d;
}

RoiResult runRoi(Workstation& ws, const RoiOptions& options) {
  const auto start = Clock::now();
  RoiResult r;
  const std::string reviewer = options.reviewer.empty() ? ws.config().reviewer : options.reviewer;
  if ((options.approve != "none" || !options.corrections.empty() || !options.drawings.empty()) && reviewer.empty()) {
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
  auto decision = reviewDecisionFor(r.predictions, options, reviewer);
  decision.format = options.format;
  r.approved = decision.approved;
  for (const auto& c : decision.corrections) r.corrected.push_back(c.proposal);
  r.drawn = decision.drawn.size();

  // review: approved (and rejected) sets go to the outbox, then to the PACS
  if (!r.approved.empty() || !decision.drawn.empty() || options.storeRejected) {
    auto stored = storeReview(ws, r.predictions, decision, options.storeRejected, options.signing);
    r.approvedSet = std::move(stored.approvedSet);
    r.rejectedSet = std::move(stored.rejectedSet);
    r.originalSet = std::move(stored.originalSet);
    r.approvedSeg = std::move(stored.approvedSeg);
    r.rejectedSeg = std::move(stored.rejectedSeg);
    r.originalSeg = std::move(stored.originalSeg);
    r.timings.rtstructMs = stored.rtstructMs;
    r.timings.storeMs = stored.storeMs;
  }
  r.timings.totalMs = ms(start, Clock::now());
  return r;
}

}  // namespace iodeep::client
