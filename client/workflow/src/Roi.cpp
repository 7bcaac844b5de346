#include "iodeep/workflow/Roi.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/selector/BodyParts.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/Review.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

selector::Candidate candidateOf(const RemoteModel& m, const std::string& peer) {
  selector::Candidate c;
  c.sopInstanceUid = m.sopInstanceUid;
  c.seriesInstanceUid = m.seriesInstanceUid;
  c.studyInstanceUid = m.studyInstanceUid;
  std::tie(c.name, c.version) = nameAndVersion(m.seriesDescription);
  c.modality = m.modality;
  c.bodyPartExamined = m.bodyPartExamined;
  if (m.samplesPerPixel != 0) c.samplesPerPixel = m.samplesPerPixel;
  c.photometricInterpretation = m.photometricInterpretation;
  c.contentDate = m.contentDate;
  c.contentTime = m.contentTime;
  c.source = peer;
  return c;
}

// The approved (or rejected) set: into the outbox first, then to the PACS.
StoredSet storeThroughOutbox(const Pacs& pacs, const Outbox& outbox, const fs::path& file,
                             const rtstruct::WrittenStructureSet& written, std::string status, double& storeMs) {
  StoredSet s;
  s.sopInstanceUid = written.sopInstanceUid;
  s.seriesInstanceUid = written.seriesInstanceUid;
  s.approvalStatus = std::move(status);
  s.rois = written.rois;
  s.contours = written.contours;
  const auto t = Clock::now();
  try {
    (void)pacs.store({file});
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
void auditStore(const ClientConfig& config, std::span<const PredictResult> predictions, const std::string& reviewer,
                const StoredSet& set) {
  if (config.auditLog.empty()) return;
  auto e =
      auditEventFor(set.stored ? "rtstruct_stored" : "rtstruct_queued", predictions, config.network.pacs.toString());
  e.reviewer = reviewer;
  e.structureSetUid = set.sopInstanceUid;
  e.approvalStatus = set.approvalStatus;
  e.structureSetSigner = set.signedBy;
  if (!set.stored) e.detail = "kept in the outbox: " + set.storeError;
  appendAudit(config.auditLog, std::move(e));
}

void chooseNetwork(const ClientConfig& config, const Pacs& pacs, SelectionReport& r,
                   std::future<std::vector<RemoteModel>>& early, double& discoverMs, const fs::path& workDir);
void applyTrustPolicy(const ClientConfig& config, const Pacs& pacs, ModelCache& cache, SelectionReport& r,
                      const fs::path& workDir);

}  // namespace

SelectionReport selectForSlices(const ClientConfig& config, const SliceRequest& request, const fs::path& workDir) {
  if (request.instances.empty()) throw Error(ErrorCode::InvalidArgument, "no instance given (--instance UID)");
  const Pacs pacs(config.network);
  SelectionReport r;
  auto t = Clock::now();
  // where the slices live: the first by search, the others must be in its series
  r.instances.push_back(locateInstance(pacs, request.instances.front(), request.studyUid, request.seriesUid));
  const auto& first = r.instances.front();
  if (request.instances.size() > 1) {
    const auto inSeries = findInstances(pacs, first.studyInstanceUid, first.seriesInstanceUid);
    for (std::size_t i = 1; i < request.instances.size(); ++i) {
      const auto it = std::find_if(inSeries.begin(), inSeries.end(),
                                   [&](const InstanceInfo& x) { return x.sopInstanceUid == request.instances[i]; });
      if (it == inSeries.end()) {
        throw Error(ErrorCode::InvalidArgument,
                    "the instance is not in the series of " + first.sopInstanceUid +
                        " (one structure set covers the slices of one series)",
                    ErrorContext{.uid = request.instances[i]});
      }
      r.instances.push_back(*it);
    }
  }
  r.locateMs = ms(t, Clock::now());
  // Model discovery does not need the slice's pixels, only its modality, which the PACS returned
  // with the instance: it runs on its own association while the slices are retrieved.
  t = Clock::now();
  double discoverMs = 0;  // the discovery's own time (it overlaps the slice retrieval)
  const auto discover = [&pacs, &discoverMs](const std::string& modality) {
    const auto t0 = Clock::now();
    auto found = findModels(pacs, modality, ModelDetail::Index);
    discoverMs = ms(t0, Clock::now());
    return found;
  };
  std::future<std::vector<RemoteModel>> early;
  if (!first.modality.empty()) early = std::async(std::launch::async, discover, first.modality);
  for (const auto& inst : r.instances) {
    const std::vector<std::string> classes =
        inst.sopClassUid.empty() ? std::vector<std::string>{} : std::vector<std::string>{inst.sopClassUid};
    const auto got = pacs.retrieve(QueryLevel::Image, inst.studyInstanceUid, inst.seriesInstanceUid,
                                   inst.sopInstanceUid, workDir, classes);
    r.sliceFiles.push_back(got.files.front());
  }
  r.sliceRetrieveMs = ms(t, Clock::now());
  chooseNetwork(config, pacs, r, early, discoverMs, workDir);
  return r;
}

namespace {

// Selection once the slices are local: discovery (unless @p early has it for the right
// modality), description of the candidates the PACS did not describe, the choice.
void chooseNetwork(const ClientConfig& config, const Pacs& pacs, SelectionReport& r,
                   std::future<std::vector<RemoteModel>>& early, double& discoverMs, const fs::path& workDir) {
  const auto discover = [&pacs, &discoverMs](const std::string& modality) {
    const auto t0 = Clock::now();
    auto found = findModels(pacs, modality, ModelDetail::Index);
    discoverMs = ms(t0, Clock::now());
    return found;
  };
  const auto attributes = iod::readSliceAttributes(r.sliceFiles.front());
  r.query = selector::SliceQuery::from(attributes);
  bool discovered = false;
  if (early.valid()) {
    r.models = early.get();
    discovered = !r.instances.empty() && r.instances.front().modality == attributes.modality;
  }
  if (!discovered) r.models = discover(attributes.modality);
  // A PACS that does not return BodyPartExamined or SeriesDescription at C-FIND (dcmqrscp): those
  // candidates are described by the model cache, or retrieved into it once (verified) to be.
  const auto t1 = Clock::now();
  auto t = t1;
  ModelCache cache(config.cacheDir, config.cacheMaxBytes);
  for (auto& m : r.models) {
    if (!m.bodyPartExamined.empty() && !m.seriesDescription.empty()) continue;
    auto cached = cache.findBySopInstance(m.sopInstanceUid, false);
    if (!cached) {
      const auto got = pacs.retrieve(QueryLevel::Image, m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid,
                                     workDir / "described", {std::string(iod::kRawDataStorageUid)});
      r.describeBytes += got.bytes;
      cached = cache.admit(got.files.front());
    }
    m.bodyPartExamined = cached->bodyPartExamined;
    m.seriesDescription = cached->seriesDescription;
    if (m.samplesPerPixel == 0) m.samplesPerPixel = cached->samplesPerPixel;
    if (m.photometricInterpretation.empty()) m.photometricInterpretation = cached->photometricInterpretation;
    if (m.contentDate.empty()) m.contentDate = cached->contentDate;
    if (m.contentTime.empty()) m.contentTime = cached->contentTime;
    ++r.described;
  }
  r.discoveryMs = discoverMs + ms(t1, Clock::now());
  t = Clock::now();
  const std::string peer = config.network.pacs.toString();
  for (const auto& m : r.models) r.candidates.push_back(candidateOf(m, peer));
  r.selection = selector::select(r.query, r.candidates);
  // SamplesPerPixel is a criterion a PACS answers only by reading the stored object (Orthanc):
  // it is asked only for the candidates that match on everything else (the cache knows it for
  // cached ones), on one association, and the choice is made again with it known.
  std::vector<RemoteModel*> ask;
  for (std::size_t i = 0; i < r.models.size(); ++i) {
    if (!r.selection.verdicts[i].matched || r.candidates[i].samplesPerPixel.has_value()) continue;
    RemoteModel& m = r.models[i];
    if (const auto cached = cache.findBySopInstance(m.sopInstanceUid, false)) {
      m.samplesPerPixel = cached->samplesPerPixel;
      if (m.photometricInterpretation.empty()) m.photometricInterpretation = cached->photometricInterpretation;
    } else {
      ask.push_back(&m);
    }
  }
  queryImageAttributes(pacs, ask);
  r.attributeQueries = ask.size();
  if (!ask.empty() || r.selection.matched()) {
    for (std::size_t i = 0; i < r.models.size(); ++i) r.candidates[i] = candidateOf(r.models[i], peer);
    r.selection = selector::select(r.query, r.candidates);
  }
  applyTrustPolicy(config, pacs, cache, r, workDir);
  r.selectMs = ms(t, Clock::now());
}

// The trust policy: a signature lives in the object, not in C-FIND answers, so with
// require_signed_networks on the chosen network is taken from the cache (its signature verified
// when it entered) or retrieved into it, and judged; a refused one is marked on its candidate
// (the selection lists it with the reason) and the choice is made again without it.
void applyTrustPolicy(const ClientConfig& config, const Pacs& pacs, ModelCache& cache, SelectionReport& r,
                      const fs::path& workDir) {
  while (r.selection.matched()) {
    const std::size_t index = *r.selection.chosen;
    const RemoteModel& m = r.models.at(index);
    auto cached = cache.findBySopInstance(m.sopInstanceUid, false);
    if (!cached) {
      if (!config.trust.requireSignedNetworks) return;  // nothing known yet; fetchModel judges it
      const auto got = pacs.retrieve(QueryLevel::Image, m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid,
                                     workDir / "trust", {std::string(iod::kRawDataStorageUid)});
      r.trustBytes += got.bytes;
      try {
        cached = cache.admit(got.files.front());
      } catch (const Error& e) {
        if (exitCodeFor(e.code()) != kExitContent) throw;
        // a damaged object (checksum, malformed signature): refused, the next one is judged
        r.candidates[index].refusal = "not trusted: " + e.detail();
        r.selection = selector::select(r.query, r.candidates);
        continue;
      }
    }
    ++r.trustChecked;
    auto trust = decideNetworkTrust(config.trust, cached->signatures);
    if (trust.trusted) {
      r.trust = std::move(trust);
      return;
    }
    r.candidates[index].refusal = "not trusted: " + trust.reason;
    r.selection = selector::select(r.query, r.candidates);
  }
}

}  // namespace

SelectionReport selectForLocalSlices(const ClientConfig& config, const std::vector<fs::path>& sliceFiles,
                                     const fs::path& workDir) {
  if (sliceFiles.empty()) throw Error(ErrorCode::InvalidArgument, "no slice given");
  const Pacs pacs(config.network);
  SelectionReport r;
  r.sliceFiles = sliceFiles;
  for (const auto& f : sliceFiles) {
    const auto a = iod::readSliceAttributes(f);
    InstanceInfo i;
    i.studyInstanceUid = a.studyInstanceUid;
    i.seriesInstanceUid = a.seriesInstanceUid;
    i.sopInstanceUid = a.sopInstanceUid;
    i.sopClassUid = a.sopClassUid;
    i.instanceNumber = a.instanceNumber;
    i.modality = a.modality;
    i.rows = std::to_string(a.rows);
    i.columns = std::to_string(a.columns);
    i.samplesPerPixel = std::to_string(a.samplesPerPixel);
    if (!r.instances.empty() && i.seriesInstanceUid != r.instances.front().seriesInstanceUid) {
      throw Error(ErrorCode::InvalidArgument, "the slices are not all of one series", ErrorContext{.file = f.string()});
    }
    r.instances.push_back(std::move(i));
  }
  std::future<std::vector<RemoteModel>> none;
  double discoverMs = 0;
  chooseNetwork(config, pacs, r, none, discoverMs, workDir);
  return r;
}

namespace {

// The object confirms its description (docs/security.md): the selection attributes the PACS gave
// at C-FIND, which chose it, must be the object's own (the object's win: they are the signed
// ones). What the PACS did not say is not compared.
void confirmDescription(const RemoteModel& described, const CachedModel& object) {
  std::string differences;
  const auto compare = [&](const char* name, const std::string& atFind, const std::string& own) {
    // as the selector compares labels (case, spaces and underscores normalised)
    if (atFind.empty() || selector::normaliseLabel(atFind) == selector::normaliseLabel(own)) return;
    differences += std::string(differences.empty() ? "" : "; ") + name + " is '" + own + "' in the object, '" + atFind +
                   "' at C-FIND";
  };
  compare("Modality", described.modality, object.modality);
  compare("BodyPartExamined", described.bodyPartExamined, object.bodyPartExamined);
  compare("SamplesPerPixel", described.samplesPerPixel == 0 ? "" : std::to_string(described.samplesPerPixel),
          std::to_string(object.samplesPerPixel));
  compare("PhotometricInterpretation", described.photometricInterpretation, object.photometricInterpretation);
  if (differences.empty()) return;
  throw Error(ErrorCode::DescriptionMismatch, "the object does not match its description on the PACS: " + differences,
              ErrorContext{.uid = object.sopInstanceUid});
}

}  // namespace

ModelFetch fetchModel(const ClientConfig& config, const RemoteModel& chosen, const fs::path& workDir,
                      const RetrieveProgressHandler& onRetrieving) {
  const auto t = Clock::now();
  ModelCache cache(config.cacheDir, config.cacheMaxBytes);
  ModelFetch f;
  if (auto cached = cache.findBySopInstance(chosen.sopInstanceUid)) {
    f.model = std::move(*cached);
    f.fromCache = true;
  } else {
    const Pacs pacs(config.network);
    const auto got =
        pacs.retrieve(QueryLevel::Image, chosen.studyInstanceUid, chosen.seriesInstanceUid, chosen.sopInstanceUid,
                      workDir, {std::string(iod::kRawDataStorageUid)}, onRetrieving);
    f.bytesMoved = got.bytes;
    f.model = cache.admit(got.files.front());
  }
  try {
    confirmDescription(chosen, f.model);  // before trust is decided and anything is built
  } catch (const Error&) {
    cache.drop(std::move(f.model));  // a PACS that lies about its networks cannot fill our cache
    throw;
  }
  f.trust = decideNetworkTrust(config.trust, f.model.signatures);
  enforceNetworkTrust(f.trust, f.model.file, f.model.sopInstanceUid);  // never built when refused
  f.ms = ms(t, Clock::now());
  return f;
}

std::optional<ModelFetch> fetchSelectedModel(const ClientConfig& config, SelectionReport& r, const fs::path& workDir,
                                             const RetrieveProgressHandler& onRetrieving) {
  while (r.selection.matched()) {
    const std::size_t index = *r.selection.chosen;
    try {
      auto fetched = fetchModel(config, r.models.at(index), workDir, onRetrieving);
      // judged again with the object's own values: what the PACS did not say at C-FIND (e.g.
      // SamplesPerPixel) was passed as "checked on the retrieved object"; this is that check
      selector::Candidate own = r.candidates[index];
      own.modality = fetched.model.modality;
      own.bodyPartExamined = fetched.model.bodyPartExamined;
      own.samplesPerPixel = fetched.model.samplesPerPixel;
      own.photometricInterpretation = fetched.model.photometricInterpretation;
      const auto again = selector::select(r.query, std::span<const selector::Candidate>(&own, 1));
      if (again.matched()) return fetched;
      std::string why = "the object's own attributes do not fit the slice";
      for (const auto& check : again.verdicts.front().checks) {
        if (check.passed) continue;
        why += std::string(": ") + std::string(selector::toString(check.criterion)) + " is '" + check.network +
               "' in the object, '" + check.slice + "' in the slice";
        break;
      }
      r.candidates[index].refusal = why;
      r.selection = selector::select(r.query, r.candidates);
    } catch (const Error& e) {
      if (exitCodeFor(e.code()) != kExitContent) throw;
      r.candidates[index].refusal = e.detail();  // e.g. "refused by the model cache: SHA-256 mismatch: ..."
      r.selection = selector::select(r.query, r.candidates);
    }
  }
  return std::nullopt;
}

RunPolicy runPolicy(const ClientConfig& config, const NetworkTrust& trust) {
  RunPolicy p;
  p.trust = config.trust;
  p.knownTrust = trust;
  p.auditLog = config.auditLog;
  p.pacs = config.network.pacs.toString();
  return p;
}

StoreReport storeReview(const ClientConfig& config, std::span<const PredictResult> predictions,
                        const ReviewDecision& decision, bool storeRejected,
                        const std::optional<iod::SigningCredentials>& signing) {
  StoreReport r;
  if (predictions.empty()) throw Error(ErrorCode::InvalidArgument, "no prediction to review");
  if (decision.reviewer.empty()) {
    throw Error(ErrorCode::InvalidArgument, "storing a review needs the reviewer's name (--reviewer or 'reviewer')");
  }
  std::size_t total = 0;
  for (const auto& p : predictions) total += p.proposals.size();
  const Pacs pacs(config.network);
  const Outbox outbox(config.outboxDir);
  auto t = Clock::now();
  ReviewFiles files;
  // each set is written into the outbox and recorded there in one step (only those are ever sent),
  // with what the audit event of its store needs should it be sent later by a flush
  const auto put = [&](bool approved) {
    return outbox.put([&](const fs::path& path) {
      const auto f =
          writeReview(predictions, decision, approved ? path : fs::path(), approved ? fs::path() : path, signing);
      (approved ? files.approved : files.rejected) = approved ? f.approved : f.rejected;
      files.signedBy = f.signedBy;
      auto e = auditEventFor("rtstruct_stored", predictions, {});
      e.reviewer = decision.reviewer;
      e.structureSetSigner = f.signedBy;
      return e;
    });
  };
  const auto approvedPath = decision.approved.empty() ? fs::path() : put(true);
  const auto rejectedPath = storeRejected && decision.approved.size() < total ? put(false) : fs::path();
  r.rtstructMs = ms(t, Clock::now());
  if (files.approved) {
    r.approvedSet = storeThroughOutbox(pacs, outbox, approvedPath, *files.approved, "APPROVED", r.storeMs);
  }
  if (files.rejected) {
    r.rejectedSet = storeThroughOutbox(pacs, outbox, rejectedPath, *files.rejected, "REJECTED", r.storeMs);
  }
  for (auto* set : {&r.approvedSet, &r.rejectedSet}) {
    if (!*set) continue;
    (*set)->signedBy = files.signedBy;
    auditStore(config, predictions, decision.reviewer, **set);
  }
  // read back: the PACS returns each stored set by C-FIND under the slices' study
  for (auto* set : {&r.approvedSet, &r.rejectedSet}) {
    if (!*set || !(*set)->stored) continue;
    try {
      const auto& study = predictions.front().slice.attributes.studyInstanceUid;
      for (const auto& i : findInstances(pacs, study, (*set)->seriesInstanceUid)) {
        if (i.sopInstanceUid == (*set)->sopInstanceUid) (*set)->foundOnPacs = true;
      }
    } catch (const Error&) {
      // stored (the PACS said so); only the read-back failed: foundOnPacs stays false
    }
  }
  return r;
}

RoiResult runRoi(const ClientConfig& config, const RoiOptions& options) {
  const auto start = Clock::now();
  RoiResult r;
  const std::string reviewer = options.reviewer.empty() ? config.reviewer : options.reviewer;
  if (options.approve != "none" && reviewer.empty()) {
    throw Error(ErrorCode::InvalidArgument, "approving needs the reviewer's name (--reviewer or 'reviewer')");
  }
  // a key that cannot sign the approval is found before anything is retrieved
  if (options.signing) iod::checkSigningCredentials(*options.signing);
  const Pacs pacs(config.network);
  ModelCache cache(config.cacheDir, config.cacheMaxBytes);
  const Outbox outbox(config.outboxDir);
  // the run's working directory, removed afterwards: slices are patient data, not kept
  const iod::TemporaryDirectory work(cache.directory().parent_path(), "run-");

  r.selection = selectForSlices(config, options.slices, work.path());
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
  auto maybe = fetchSelectedModel(config, r.selection, work.path() / "model", startLoad);
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
    PredictOptions po{r.model->file, slice, options.slices.frame, config.allowTorchScript, true};
    po.engineMaxBytes = config.engineMaxBytes;
    po.policy = runPolicy(config, fetched.trust);
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
    auto stored = storeReview(config, r.predictions, ReviewDecision{r.approved, reviewer}, options.storeRejected,
                              options.signing);
    r.approvedSet = std::move(stored.approvedSet);
    r.rejectedSet = std::move(stored.rejectedSet);
    r.timings.rtstructMs = stored.rtstructMs;
    r.timings.storeMs = stored.storeMs;
  }
  r.timings.totalMs = ms(start, Clock::now());
  return r;
}

int RoiResult::exitCode() const noexcept {
  if (!selection.selection.matched()) return kExitNoMatch;
  for (const auto* set : {&approvedSet, &rejectedSet}) {
    if (*set && !(*set)->stored) return kExitPacs;
  }
  return kExitOk;
}

std::string SelectionReport::toText() const {
  return selector::explain(selection, query, candidates);
}

std::string SelectionReport::toJson() const {
  nlohmann::json j;
  j["slice"] = {{"modality", query.modality},
                {"bodyPartExamined", query.bodyPartExamined},
                {"studyDescription", query.studyDescription},
                {"samplesPerPixel", query.samplesPerPixel}};
  j["matched"] = selection.matched();
  if (selection.matched()) {
    const auto& c = candidates.at(*selection.chosen);
    j["chosen"] = {{"name", c.name},
                   {"version", c.version},
                   {"sopInstanceUid", c.sopInstanceUid},
                   {"rule", selector::toString(selection.verdicts.at(*selection.chosen).rule)}};
  }
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    const auto& v = selection.verdicts.at(i);
    list.push_back({{"name", c.name},
                    {"version", c.version},
                    {"modality", c.modality},
                    {"bodyPartExamined", c.bodyPartExamined},
                    {"sopInstanceUid", c.sopInstanceUid},
                    {"matched", v.matched},
                    {"rule", selector::toString(v.rule)},
                    {"reason", selector::describe(v)}});
  }
  j["candidates"] = list;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RoiResult::toText() const {
  std::ostringstream o;
  o << selection.toText();
  if (!selection.selection.matched()) return o.str();
  o << "model:     " << model->name << (model->version.empty() ? "" : " " + model->version) << " (DnnUID "
    << model->dnnUid << "), "
    << (modelFromCache ? "from the model cache, no bytes moved"
                       : "retrieved (" + std::to_string(modelBytesMoved) + " bytes) and verified into the cache")
    << "\n";
  if (selection.described > 0) {
    o << "described: " << selection.described
      << " candidate(s) the PACS did not describe at C-FIND, from the model cache (" << selection.describeBytes
      << " bytes retrieved for that)\n";
  }
  std::size_t n = 0;
  for (const auto& p : predictions) {
    o << "slice:     " << p.slice.attributes.sopInstanceUid << ": " << p.proposals.size() << " proposal(s)\n";
    for (const auto& prop : p.proposals) {
      const bool yes = std::find(approved.begin(), approved.end(), n) != approved.end();
      o << "  " << ++n << ". " << prop.label.name << ": " << prop.areaPixels << " px"
        << (prop.areaMm2 >= 0 ? ", " + std::to_string(std::llround(prop.areaMm2)) + " mm2" : "") << " -> "
        << (yes ? "approved" : "rejected") << "\n";
    }
  }
  for (const auto* set : {&approvedSet, &rejectedSet}) {
    if (!*set) continue;
    const auto& s = **set;
    o << "stored:    " << s.approvalStatus << " RT Structure Set " << s.sopInstanceUid << " (" << s.rois << " ROI(s), "
      << s.contours << " contour(s)" << (s.signedBy.empty() ? "" : ", signed by " + s.signedBy) << "): ";
    if (s.stored) {
      o << "stored on the PACS" << (s.foundOnPacs ? ", found again by C-FIND" : ", NOT found again by C-FIND");
    } else {
      o << "NOT stored (" << s.storeError << "); kept in the outbox: " << s.outboxFile.string()
        << " ('iodeep outbox flush' sends it)";
    }
    o << "\n";
  }
  if (!approvedSet && !rejectedSet) o << "stored:    nothing (no proposal approved)\n";
  const auto& t = timings;
  o << "timings:   locate " << std::llround(t.locateMs) << " ms, slice retrieval " << std::llround(t.sliceRetrieveMs)
    << " ms, model discovery (C-FIND) " << std::llround(t.discoveryMs) << " ms, selection "
    << static_cast<double>(std::llround(t.selectMs * 10)) / 10.0 << " ms, model " << std::llround(t.modelRetrieveMs)
    << " ms, libtorch load (waited) " << std::llround(t.inferenceLoadMs) << " ms, build " << std::llround(t.buildMs)
    << " ms, inference " << std::llround(t.inferenceMs) << " ms, contours " << std::llround(t.contourMs)
    << " ms, RT Structure Set " << std::llround(t.rtstructMs) << " ms, C-STORE " << std::llround(t.storeMs)
    << " ms, total " << std::llround(t.totalMs) << " ms\n";
  return o.str();
}

std::string RoiResult::toJson() const {
  nlohmann::json j = nlohmann::json::parse(selection.toJson());
  if (model) {
    j["model"] = {{"name", model->name},
                  {"version", model->version},
                  {"dnnUid", model->dnnUid},
                  {"sopInstanceUid", model->sopInstanceUid},
                  {"fromCache", modelFromCache},
                  // hashed in this run: on entering the cache (cold), never on a cached one's use
                  {"hashed", !modelFromCache || std::any_of(predictions.begin(), predictions.end(),
                                                            [](const PredictResult& p) { return p.modelHashed; })},
                  {"describedCandidates", selection.described},
                  {"describeBytes", selection.describeBytes},
                  {"bytesMoved", modelBytesMoved}};
  }
  nlohmann::json slices = nlohmann::json::array();
  for (const auto& p : predictions) slices.push_back(nlohmann::json::parse(p.toJson()));
  j["predictions"] = slices;
  j["approved"] = approved;
  for (const auto& [key, set] : {std::pair{"approvedSet", &approvedSet}, std::pair{"rejectedSet", &rejectedSet}}) {
    if (!*set) continue;
    const auto& s = **set;
    j[key] = {{"sopInstanceUid", s.sopInstanceUid},
              {"seriesInstanceUid", s.seriesInstanceUid},
              {"approvalStatus", s.approvalStatus},
              {"rois", s.rois},
              {"contours", s.contours},
              {"stored", s.stored},
              {"foundOnPacs", s.foundOnPacs},
              {"outboxFile", s.outboxFile.string()},
              {"storeError", s.storeError},
              {"signedBy", s.signedBy}};
  }
  const auto& t = timings;
  j["timingsMs"] = {{"locate", t.locateMs},       {"sliceRetrieve", t.sliceRetrieveMs},
                    {"discovery", t.discoveryMs}, {"select", t.selectMs},
                    {"model", t.modelRetrieveMs}, {"inferenceLoad", t.inferenceLoadMs},
                    {"build", t.buildMs},         {"inference", t.inferenceMs},
                    {"contours", t.contourMs},    {"rtstruct", t.rtstructMs},
                    {"store", t.storeMs},         {"total", t.totalMs}};
  j["exitCode"] = exitCode();
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client
