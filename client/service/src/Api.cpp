// The service's routes over the workflow (docs/service.md).
#include "Api.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "Auth.hpp"
#include "Idempotency.hpp"
#include "Requests.hpp"
#include "SliceStore.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/workflow/Discovery.hpp"
#include "iodeep/workflow/ModelFetch.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Selection.hpp"
#include "iodeep/workflow/StoreReview.hpp"

namespace iodeep::service::detail {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::array<char, 32> buf{};
  (void)std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

Response json(unsigned status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

// An Error as the client sees it: the detail with its context, except the service's own paths.
Response problemFor(const Error& e, const std::string& field = {}) {
  ErrorContext c = e.context();
  c.file.clear();
  return problem(statusFor(e.code()), renderWithContext(c, e.detail()), field, std::string(toString(e.code())));
}

Json networkJson(const client::RemoteModel& m, const std::optional<client::CachedModel>& cached,
                 const netparser::InferenceEngine& engine) {
  const auto [name, version] = client::nameAndVersion(m.seriesDescription);
  Json j = {{"name", name},
            {"version", version},
            {"sopInstanceUid", m.sopInstanceUid},
            {"seriesInstanceUid", m.seriesInstanceUid},
            {"studyInstanceUid", m.studyInstanceUid},
            {"modality", m.modality},
            {"bodyPartExamined", m.bodyPartExamined},
            {"photometricInterpretation", m.photometricInterpretation},
            {"contentDate", m.contentDate},
            {"contentTime", m.contentTime}};
  j["samplesPerPixel"] = m.samplesPerPixel == 0 ? Json(nullptr) : Json(m.samplesPerPixel);
  j["dnnUid"] = cached ? Json(cached->dnnUid) : Json(nullptr);
  j["cached"] = cached.has_value();
  j["built"] = cached && engine.contains(cached->dnnUid);
  return j;
}

// 503 with Retry-After: the service sheds load at once rather than letting latency grow.
Response atCapacity(const std::string& what) {
  Response r = problem(503, what);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// Runs @p work for @p ex and answers with what it returns (status 0: another job answers), or
// with the problem its exception is.
template <typename Work>
void answering(const std::shared_ptr<Exchange>& ex, Work&& work) {
  try {
    Response response = work();
    if (response.status != 0) ex->answer(std::move(response));
  } catch (const RequestError& e) {
    ex->answer(problem(e.status, e.what(), e.field));
  } catch (const Error& e) {
    ex->answer(problemFor(e));
  } catch (const std::exception& e) {
    ex->answer(problem(500, std::string("internal error: ") + e.what()));
  }
}

// The chosen network as a RemoteModel, from its cache entry (the service knows it by DnnUID).
client::RemoteModel remoteOf(const client::CachedModel& c) {
  client::RemoteModel m;
  m.sopInstanceUid = c.sopInstanceUid;
  m.sopClassUid = std::string(iod::kRawDataStorageUid);
  m.seriesDescription = c.seriesDescription;
  m.modality = c.modality;
  m.bodyPartExamined = c.bodyPartExamined;
  m.photometricInterpretation = c.photometricInterpretation;
  m.contentDate = c.contentDate;
  m.contentTime = c.contentTime;
  m.samplesPerPixel = c.samplesPerPixel;
  return m;
}

}  // namespace

unsigned statusFor(ErrorCode code) noexcept {
  switch (exitCodeFor(code)) {
    case kExitUsage: return 400;
    case kExitInput:
    case kExitContent: return 422;
    case kExitPacs: return 502;
    default: return 500;
  }
}

Api::Api(const ServiceConfig& config, client::Workstation& ws, Metrics& metrics)
    : config_(config),
      ws_(ws),
      metrics_(metrics),
      pacsPool_(std::max(2U, config.service.ioThreads * 2), config.service.queueLimit * 2),
      inferencePool_(config.service.inferenceThreads, config.service.queueLimit) {
  background_ = std::thread([this] { background(); });
}

Api::~Api() {
  shutdown();
}

void Api::shutdown() {
  {
    const std::lock_guard lock(backgroundMutex_);
    stopBackground_ = true;
  }
  backgroundWake_.notify_all();
  if (background_.joinable()) background_.join();
  pacsPool_.stop();
  inferencePool_.stop();
}

// ---- background: readiness, discovery, build-ahead ------------------------------------------

void Api::background() {
  try {
    client::loadInference();
    const std::lock_guard lock(stateMutex_);
    inferenceOk_ = true;
    inferenceDetail_ = "loaded";
  } catch (const Error& e) {
    const std::lock_guard lock(stateMutex_);
    inferenceDetail_ = e.what();
  }
  auto nextEcho = Clock::now();
  auto nextFlush = Clock::now();
  for (;;) {
    if (Clock::now() >= nextEcho) {
      checkReadiness();
      nextEcho = Clock::now() + std::chrono::seconds(2);
    }
    if (Clock::now() >= nextFlush) {
      flushOutbox();
      nextFlush = Clock::now() + std::chrono::seconds(30);
    }
    if (backgroundRefreshDue() && !draining_ && ws_.pacsProblem().empty()) refreshNetworks(true);
    std::unique_lock lock(backgroundMutex_);
    if (backgroundWake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopBackground_; })) return;
  }
}

// Structure sets a store could not deliver (the PACS was down) are sent again while the service
// runs, as `iodeep outbox flush` would: approved work is never left behind.
void Api::flushOutbox() {
  {
    const std::lock_guard lock(stateMutex_);
    if (!pacsOk_) return;
  }
  try {
    const auto& outbox = ws_.outbox();
    if (outbox.contents().waiting.empty()) return;
    const auto r = outbox.flush(ws_.pacs(), ws_.auditLog());
    if (!r.failed.empty())
      iod::warn("outbox: " + std::to_string(r.failed.size()) + " set(s) still waiting for the PACS");
  } catch (const Error& e) {
    iod::warn(std::string("outbox flush: ") + e.what());
  }
}

void Api::checkReadiness() {
  bool ok = false;
  std::string detail;
  try {
    ws_.pacs().echo();
    ok = true;
    detail = ws_.pacsName() + " answers C-ECHO";
  } catch (const Error& e) {
    detail = e.what();
  }
  const std::lock_guard lock(stateMutex_);
  pacsOk_ = ok;
  pacsDetail_ = detail;
}

// Refreshed ahead only while the list is used: with 10,000 networks one listing costs Orthanc
// over a second of CPU, which an idle service should not spend every 15 s.
bool Api::backgroundRefreshDue() const {
  const std::lock_guard lock(stateMutex_);
  return !networks_.valid || (networksUsed_ && Clock::now() - networks_.refreshed >= config_.service.networksTtl / 2);
}

void Api::refreshNetworks(bool background) {
  const std::lock_guard one(refreshMutex_);
  // a request's refresh may have run while the background waited for it: not listed twice
  if (background && !backgroundRefreshDue()) return;
  std::vector<client::RemoteModel> found;
  std::string error;
  try {
    ++metrics_.networkListings;
    found = client::discoverNetworks(ws_, {}, client::DiscoveryMode::Refresh).models;
  } catch (const Error& e) {
    error = e.what();
  }
  std::vector<client::RemoteModel> fresh;
  {
    const std::lock_guard lock(stateMutex_);
    networks_.refreshed = Clock::now();
    if (!error.empty()) {
      networks_.error = error;  // the last good list stays, with the error beside it
      return;
    }
    for (const auto& m : found) {
      if (listedBefore_.insert(m.sopInstanceUid).second) fresh.push_back(m);
    }
    networks_.models = std::move(found);
    networksUsed_ = false;
    networks_.at = std::chrono::system_clock::now();
    networks_.error.clear();
    networks_.valid = true;
  }
  if (config_.service.buildAhead) buildAhead(fresh);
}

// Networks first listed are fetched into the model cache and built in the engine, as long as the
// engine's memory budget has room: the first prediction on them then pays neither.
void Api::buildAhead(std::vector<client::RemoteModel> fresh) {
  auto& engine = ws_.engine();
  // the newest networks first (content date and time), at most build_ahead_max tried in all: one
  // the engine already has (the same DnnUID under another SOP Instance UID) or that fails counts,
  // else a PACS with 10,000 copies of one network has every one of them retrieved
  std::sort(fresh.begin(), fresh.end(), [](const client::RemoteModel& a, const client::RemoteModel& b) {
    return a.contentDate + a.contentTime > b.contentDate + b.contentTime;
  });
  for (const auto& m : fresh) {
    if (stopBackground_ || draining_) return;
    if (engine.memoryBytes() >= engine.memoryBudget()) return;
    if (aheadTried_ >= config_.service.buildAheadMax) return;
    ++aheadTried_;
    try {
      const iod::TemporaryDirectory dir(config_.service.workDir / "requests", "ahead-");
      const auto fetched = client::fetchModel(ws_, m, dir.path());
      metrics_.bytesRetrieved += fetched.bytesMoved;
      auto options = ws_.predictOptions(fetched.model.file, {}, 0, fetched.trust);
      if (client::buildNetworkAhead(options)) ++metrics_.networksBuiltAhead;
    } catch (const Error& e) {
      iod::warn("build-ahead of " + m.sopInstanceUid + " (" + m.seriesDescription + "): " + e.what());
    }
  }
}

bool Api::ready(std::string* why) const {
  const std::lock_guard lock(stateMutex_);
  std::string reason;
  if (draining_) reason = "shutting down";
  if (reason.empty() && !pacsOk_) reason = "PACS: " + pacsDetail_;
  if (reason.empty() && !inferenceOk_) reason = "inference module: " + inferenceDetail_;
  if (reason.empty() && inferencePool_.queued() >= inferencePool_.limit()) reason = "inference queue full";
  if (why != nullptr) *why = reason;
  return reason.empty();
}

Api::NetworkList Api::networks() {
  {
    const std::lock_guard lock(stateMutex_);
    networksUsed_ = true;
    if (networks_.valid && Clock::now() - networks_.refreshed < config_.service.networksTtl) return networks_;
  }
  refreshNetworks();  // never listed, or the background refresh is behind (PACS down)
  const std::lock_guard lock(stateMutex_);
  networksUsed_ = true;  // the list just made is read now
  if (!networks_.valid) throw Error(ErrorCode::PacsUnreachable, "no network list: " + networks_.error);
  return networks_;
}

// ---- routing ------------------------------------------------------------------------------------

void Api::handle(const std::shared_ptr<Exchange>& ex) {
  const Request& req = ex->request();
  // the routes and the one method each answers
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kRoutes{
      {{"/livez", "GET"},
       {"/readyz", "GET"},
       {"/metrics", "GET"},
       {"/v1/networks", "GET"},
       {"/v1/select", "POST"},
       {"/v1/predict", "POST"},
       {"/v1/structure-sets", "POST"}}};
  const auto known = std::find_if(kRoutes.begin(), kRoutes.end(), [&](const auto& r) { return r.first == req.path; });
  if (known == kRoutes.end()) {
    ex->answer(problem(404, "no such resource: " + req.path + " (docs/service.md lists the routes)"));
    return;
  }
  ex->route = std::string(known->first);
  if (req.method != known->second) {
    auto r = problem(405, ex->route + " answers " + std::string(known->second) + " only");
    r.headers.emplace_back("Allow", std::string(known->second));
    ex->answer(std::move(r));
    return;
  }
  const std::string_view path = known->first;
  try {
    if (path == "/livez") return (void)ex->answer(livez());
    if (path == "/readyz") return (void)ex->answer(readyz());
    if (path == "/metrics") return (void)ex->answer(metricsText());
    if (draining_) {
      auto r = problem(503, "the service is shutting down");
      r.headers.emplace_back("Retry-After", "1");
      r.headers.emplace_back("Connection", "close");
      ex->answer(std::move(r));
      return;
    }
    if (path == "/v1/networks") {
      enqueue(pacsPool_, ex, [this](const Request&) { return listNetworks(); });
    } else if (path == "/v1/select") {
      enqueue(pacsPool_, ex, [this](const Request& r) { return select(r); });
    } else if (path == "/v1/predict") {
      predict(ex);
    } else {
      enqueue(pacsPool_, ex, [this](const Request& r) { return structureSets(r); });
    }
  } catch (const Error& e) {
    ex->answer(problemFor(e));
  }
}

void Api::enqueue(WorkPool& pool, const std::shared_ptr<Exchange>& ex, std::function<Response(const Request&)> work) {
  const bool queued = pool.tryPush([this, ex, work = std::move(work)] {
    if (ex->answered()) return;  // past its deadline while it waited
    answering(ex, [&] { return work(ex->request()); });
  });
  if (!queued) {
    ++metrics_.rejectedQueueFull;
    ex->answer(atCapacity("the service is at capacity (queue full); retry later"));
  }
}

// ---- cheap routes --------------------------------------------------------------------------------

Response Api::livez() const {
  return json(200, {{"status", "alive"}});
}

Response Api::readyz() const {
  std::string why;
  const bool ok = ready(&why);
  Json j;
  {
    const std::lock_guard lock(stateMutex_);
    j["checks"] = {{"pacs", {{"ok", pacsOk_}, {"detail", pacsDetail_}}},
                   {"inference", {{"ok", inferenceOk_}, {"detail", inferenceDetail_}}},
                   {"queue",
                    {{"ok", inferencePool_.queued() < inferencePool_.limit()},
                     {"depth", inferencePool_.queued()},
                     {"limit", inferencePool_.limit()}}},
                   {"draining", draining_.load()}};
  }
  j["status"] = ok ? "ready" : "not ready";
  if (!ok) j["reason"] = why;
  return json(ok ? 200 : 503, j);
}

Response Api::metricsText() const {
  Metrics::Gauges g;
  g.queueDepth = inferencePool_.queued();
  g.queueLimit = inferencePool_.limit();
  g.running = inferencePool_.running();
  const auto& engine = ws_.engine();
  g.engineNetworks = engine.size();
  g.engineBuilds = engine.builds();
  g.engineEvictions = engine.evictions();
  g.engineBytes = engine.memoryBytes();
  {
    const std::lock_guard lock(stateMutex_);
    g.networksListed = networks_.models.size();
  }
  g.ready = ready();
  g.draining = draining_;
  Response r;
  r.contentType = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.text(g);
  return r;
}

// ---- GET /v1/networks ------------------------------------------------------------------------------

Response Api::listNetworks() {
  const auto list = networks();
  Json items = Json::array();
  auto& cache = ws_.models();
  for (auto m : list.models) {
    const auto cached = cache.findBySopInstance(m.sopInstanceUid, false);
    if (cached) client::fillBlanksFromCache(m, *cached);
    items.push_back(networkJson(m, cached, ws_.engine()));
  }
  Json j = {{"networks", items},
            {"listedAt", isoTime(list.at)},
            {"ageSeconds", std::chrono::duration<double>(Clock::now() - list.refreshed).count()},
            {"pacs", ws_.pacsName()}};
  if (!list.error.empty()) j["refreshError"] = list.error;
  return json(200, j);
}

// ---- POST /v1/select -------------------------------------------------------------------------------

Response Api::select(const Request& request) {
  const auto query = parseSelectRequest(request.body);
  const iod::TemporaryDirectory dir(config_.service.workDir / "requests", "select-");
  const auto t = Clock::now();
  const auto report = client::selectForAttributes(ws_, query, dir.path());
  Response r;
  r.status = 200;
  // written directly (thousands of candidates with thousands of networks on the PACS)
  r.body = report.toJson({{"discovery", report.discoveryMs}, {"select", report.selectMs}, {"total", msSince(t)}}, -1);
  return r;
}

// ---- POST /v1/predict ------------------------------------------------------------------------------

void Api::predict(const std::shared_ptr<Exchange>& ex) {
  // a full inference queue refuses at once, before any PACS work is spent on the request
  if (inferencePool_.queued() >= inferencePool_.limit()) {
    ++metrics_.rejectedQueueFull;
    ex->answer(atCapacity("the inference queue is full; retry later"));
    return;
  }
  enqueue(pacsPool_, ex, [this, ex](const Request& request) -> Response {
    const auto start = Clock::now();
    const auto queuedMs = std::chrono::duration<double, std::milli>(start - request.received).count();
    const PredictRequest p = parsePredictRequest(request);
    auto dir = std::make_shared<iod::TemporaryDirectory>(config_.service.workDir / "requests", "predict-");
    // 1. the slice, local
    auto t = Clock::now();
    fs::path slice;
    bool sliceCached = false;
    if (p.byValue) {
      slice = dir->path() / "slice.dcm";
      iod::writeFileAtomically(slice, std::string_view(request.body));
      try {
        if (p.frame > 0 && p.frame >= iod::readSliceAttributes(slice).numberOfFrames) {
          throw RequestError(400, "frame " + std::to_string(p.frame) + " is beyond the slice's frames", "frame");
        }
        iod::checkSlice(slice, p.frame);
      } catch (Error& e) {
        throw RequestError(statusFor(e.code()) == 400 ? 400U : 422U, "the request body: " + e.detail(), "body");
      }
    } else {
      SliceStore store(config_.service.workDir / "slices");
      auto got = store.get(ws_.pacs(), p.study, p.series, p.instance, dir->path());
      slice = got.file;
      sliceCached = got.fromCache;
      metrics_.bytesRetrieved += got.bytes;
      iod::checkSlice(slice, p.frame);
    }
    const double sliceMs = msSince(t);
    // 2. the network: the one named, or the selection's
    t = Clock::now();
    std::optional<client::SelectionReport> selection;
    std::optional<client::ModelFetch> fetched;
    if (!p.network.empty()) {
      auto& cache = ws_.models();
      auto cached = cache.findByDnnUid(p.network);
      if (!cached) cached = cache.findBySopInstance(p.network);
      std::optional<client::RemoteModel> remote;
      if (cached) {
        remote = remoteOf(*cached);
      } else {
        for (const auto& m : networks().models) {
          if (m.sopInstanceUid == p.network) remote = m;
        }
      }
      if (!remote) {
        throw RequestError(
            404, "no network " + p.network + " is known (GET /v1/networks lists them by DnnUID and SOP Instance UID)",
            "network");
      }
      fetched = client::fetchModel(ws_, *remote, dir->path());
    } else {
      selection = client::selectForLocalSlices(ws_, {slice}, dir->path());
      if (selection->selection.matched()) fetched = client::fetchSelectedModel(ws_, *selection, dir->path());
      if (!fetched) {
        Json j = Json::parse(selection->toJson());
        Response r = problem(422, "no IODeep network on the PACS matches the slice", {}, "NoMatch");
        Json body = Json::parse(r.body);
        body["selection"] = j;
        r.body = body.dump();
        return r;
      }
    }
    (fetched->fromCache ? metrics_.modelCacheHits : metrics_.modelCacheMisses)++;
    metrics_.bytesRetrieved += fetched->bytesMoved;
    const double networkMs = msSince(t);
    // 3. the forward pass, on the inference queue; this thread answers nothing more
    auto options = ws_.predictOptions(fetched->model.file, slice, p.frame, fetched->trust);
    options.policy.caller = request.identity;
    const auto handedOver = Clock::now();
    const bool queued = inferencePool_.tryPush([this, ex, dir, options, selection, start, queuedMs, sliceMs,
                                                sliceCached, networkMs, handedOver, model = *fetched] {
      if (ex->answered()) return;
      answering(ex, [&] {
        const double inferenceQueueMs = msSince(handedOver);
        const auto t2 = Clock::now();
        const auto result = client::predict(options);
        const double predictMs = msSince(t2);
        (result.networkFromCache ? metrics_.engineHits : metrics_.engineMisses)++;
        Json j = Json::parse(result.toJson());
        if (selection) j["selection"] = Json::parse(selection->toJson());
        const auto& tm = result.timings;
        j["server"] = {{"sliceFromCache", sliceCached},
                       {"modelFromCache", model.fromCache},
                       {"timingsMs",
                        {{"queue", queuedMs},
                         {"slice", sliceMs},
                         {"network", networkMs},
                         {"inferenceQueue", inferenceQueueMs},
                         {"build", result.buildMs},
                         {"decode", tm.decodeMs},
                         {"preprocess", tm.preprocessMs},
                         {"forward", tm.forwardMs},
                         {"postprocess", tm.postprocessMs},
                         {"contours", tm.contourMs},
                         {"predict", predictMs},
                         {"total", msSince(start) + queuedMs}}}};
        return json(200, j);
      });
    });
    if (!queued) {
      ++metrics_.rejectedQueueFull;
      return atCapacity("the inference queue is full; retry later");
    }
    // the inference job answers; an answer from here would be a second one (it is dropped)
    Response handed;
    handed.status = 0;
    return handed;
  });
}

// ---- POST /v1/structure-sets ----------------------------------------------------------------------

Response Api::structureSets(const Request& request) {
  IdempotencyStore store(config_.service.idempotencyDir.empty() ? config_.service.workDir / "idempotency"
                                                                : config_.service.idempotencyDir);
  auto claim = store.claim(request.identity, request.idempotencyKey, request.body);
  if (claim.replay) {
    ++metrics_.idempotentReplays;
    Response r;
    r.status = claim.replay->status;
    r.body = claim.replay->body;
    r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  }
  const auto review = parseReviewRequest(request.body);
  const iod::TemporaryDirectory dir(config_.service.workDir / "requests", "review-");
  // the network must be one this service verified (its provenance goes into the set)
  auto cached = ws_.models().findByDnnUid(review.dnnUid);
  if (!cached) throw RequestError(404, "no network with DnnUID " + review.dnnUid + " is known here", "network/dnnUid");
  SliceStore slices(config_.service.workDir / "slices");
  const auto got = slices.get(ws_.pacs(), review.study, review.series, review.instance, dir.path());
  metrics_.bytesRetrieved += got.bytes;
  client::PredictResult prediction;
  prediction.slice = iod::readSlice(got.file, review.frame);
  prediction.dnnName = cached->name;
  prediction.dnnVersion = cached->version;
  prediction.dnnUid = cached->dnnUid;
  prediction.modelSopInstanceUid = cached->sopInstanceUid;
  prediction.trust = decideNetworkTrust(ws_.trust(), cached->signatures);
  prediction.proposals = review.proposals;
  checkProposals(prediction.proposals, prediction.slice.attributes.rows, prediction.slice.attributes.columns);
  client::ReviewDecision decision;
  decision.approved = review.approved;
  decision.reviewer = review.reviewer;
  decision.caller = request.identity;
  // a retry of this request (same caller, key and body) writes the same instance, even when the
  // first attempt died between the C-STORE and keeping its answer
  if (!request.idempotencyKey.empty()) {
    decision.uidSeed = sha256Hex(request.identity + "\n" + request.idempotencyKey + "\n" + request.body);
  }
  decision.format = client::resultFormatFrom(review.format);
  const auto stored = client::storeReview(ws_, std::span(&prediction, 1), decision);
  Json j;
  bool allStored = true;
  const auto describe = [&](const client::StoredSet& s) {
    allStored = allStored && s.stored;
    Json x = {{"sopInstanceUid", s.sopInstanceUid},
              {"seriesInstanceUid", s.seriesInstanceUid},
              {"approvalStatus", s.approvalStatus},
              {"rois", s.rois},
              {"contours", s.contours},
              {"stored", s.stored},
              {"foundOnPacs", s.foundOnPacs},
              {"inOutbox", !s.stored}};
    if (!s.stored) x["storeError"] = s.storeError;
    return x;
  };
  if (stored.approvedSet) j["structureSet"] = describe(*stored.approvedSet);
  if (stored.approvedSeg) j["segmentation"] = describe(*stored.approvedSeg);
  j["timingsMs"] = {{"rtstruct", stored.rtstructMs}, {"store", stored.storeMs}};
  Response r = json(allStored ? 201 : 202, j);
  claim.complete(r.status, r.body);
  return r;
}

}  // namespace iodeep::service::detail
