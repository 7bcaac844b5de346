#include "iodeep/workflow/Predict.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <thread>

#include <sys/stat.h>

#include "Timing.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/trust/Audit.hpp"

namespace iodeep::client {

namespace {

using detail::Clock;
using detail::ms;

struct LoadedModel {
  iod::IodeepFile file;
  netparser::Architecture arch;
  bool hashed{false};  ///< verified (SHA-256, DnnUID) here
};

// Reads the model, parses its architecture and verifies it (any error finding refuses it, with
// the finding's code; the verification reuses the parsed architecture): the JSON is parsed once.
LoadedModel loadModel(const std::filesystem::path& path, bool verified) {
  LoadedModel m{iod::readIodeep(path), {}, !verified};
  const ErrorContext where{.file = path.string()};
  try {
    m.arch = netparser::parseArchitecture(m.file.model.architectureJson);
  } catch (Error& e) {
    e.withTag("DnnArchitecture").inFile(where.file);
    throw;
  }
  if (!verified) {
    for (const auto& f : iod::verifyIodeep(m.file, m.arch.canonicalJson)) {
      if (f.severity == iod::Finding::Severity::Error) {
        Error refused(f.code, "refused: " + f.message, f.context);
        refused.inFile(where.file);
        throw refused;
      }
    }
  }
  return m;
}

// Models read before, without their weights, by path: a prediction on a verified model whose
// network the engine holds reads nothing again (a 125 MB network is not read and parsed per
// click). An entry counts only while the file is the one read: same inode, size and time.
class ModelHeaders {
 public:
  static ModelHeaders& instance() {
    static ModelHeaders headers;
    return headers;
  }
  std::shared_ptr<const LoadedModel> find(const std::filesystem::path& path) {
    const auto id = identity(path);
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(path.string());
    if (it == entries_.end() || !id || it->second.id != *id) return nullptr;
    return it->second.model;
  }
  void put(const std::filesystem::path& path, const LoadedModel& full) {
    const auto id = identity(path);
    if (!id) return;
    auto header = std::make_shared<LoadedModel>(LoadedModel{full.file, full.arch, false});
    header->file.model.weights = iod::ByteBuffer();
    const std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();  // a handful of networks in practice
    entries_[path.string()] = Entry{*id, std::move(header)};
  }

 private:
  static constexpr std::size_t kMaxEntries = 64;
  static std::optional<std::string> identity(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  struct Entry {
    std::string id;
    std::shared_ptr<const LoadedModel> model;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

// The network's signature for this run: as judged already, or verified and judged now when the
// policy requires a signature (refused -> thrown, before anything is built), else not checked.
NetworkTrust judgeNetwork(const RunPolicy& policy, const LoadedModel& model, const std::filesystem::path& path) {
  NetworkTrust t;
  if (policy.knownTrust) {
    t = *policy.knownTrust;
  } else if (policy.trust.requireSignedNetworks) {
    t = checkNetworkFile(policy.trust, path);
  } else {
    t.trusted = true;
    t.status = "not checked";
  }
  enforceNetworkTrust(t, path, model.file.model.sopInstanceUid);
  return t;
}

void auditRun(const RunPolicy& policy, std::span<const PredictResult> results) {
  if (policy.auditLog.empty()) return;
  auto e = auditEventFor("network_run", results, policy.pacs);
  e.caller = policy.caller;
  appendAudit(policy.auditLog, std::move(e));
}

}  // namespace

AuditEvent auditEventFor(std::string event, std::span<const PredictResult> predictions, std::string pacs) {
  AuditEvent e;
  e.event = std::move(event);
  e.pacs = std::move(pacs);
  if (predictions.empty()) return e;
  const auto& first = predictions.front();
  e.dnnUid = first.dnnUid;
  e.dnnName = first.dnnName;
  e.dnnVersion = first.dnnVersion;
  e.modelUid = first.modelSopInstanceUid;
  e.signer = first.trust.signer;
  e.signerFingerprint = first.trust.signerFingerprint;
  e.signerStatus = first.trust.status;
  for (const auto& p : predictions) {
    e.sliceUids.push_back(p.slice.attributes.sopInstanceUid);
    e.proposals += p.proposals.size();
  }
  return e;
}

void preloadInference() {
  netparser::preloadInference();
}

void awaitInferenceLoad() {
  netparser::awaitInferenceLoad();
}

void loadInference() {
  netparser::loadInference();
}

namespace {

// A slice read, decoded and pre-processed: what the forward pass needs.
struct PreparedSlice {
  PredictResult result;  // slice, check and the timings so far
  netparser::PreparedInput input;
};

PreparedSlice prepareSlice(const std::filesystem::path& image, std::int32_t frame, const LoadedModel& model) {
  PreparedSlice p;
  auto& r = p.result;
  const auto& m = model.file.model;
  r.dnnName = m.name;
  r.dnnVersion = m.version;
  r.dnnUid = m.dnnUid;
  r.modelSopInstanceUid = m.sopInstanceUid;
  r.labels = model.arch.outputSpec.labels;
  if (r.labels.empty() && model.arch.kind != netparser::Architecture::Kind::TorchScript) {
    const auto shape = netparser::inferShapes(model.arch).outputShape;  // labels named by channel
    r.labels = netparser::outputLabels(model.arch, shape.empty() ? 1 : shape.front());
  }
  auto t = Clock::now();
  r.slice = iod::readSlice(image, frame);
  r.timings.decodeMs = ms(t, Clock::now());
  t = Clock::now();
  try {
    p.input = netparser::preprocess(r.slice, model.arch);
  } catch (Error& e) {
    e.inFile(image.string());
    throw;
  }
  r.timings.preprocessMs = ms(t, Clock::now());
  r.check = std::move(p.input.check);
  return p;
}

std::shared_ptr<const netparser::Network> networkFor(const LoadedModel& model, const std::filesystem::path& path,
                                                     bool allowTorchScript, bool warmUp,
                                                     netparser::InferenceEngine* engineIn, std::uint64_t engineMaxBytes,
                                                     bool& fromCache, double& buildMs) {
  auto& engine = engineIn != nullptr ? *engineIn : netparser::InferenceEngine::shared();
  if (engineMaxBytes != 0) engine.setMemoryBudget(engineMaxBytes);
  const auto before = engine.builds();
  netparser::BuildOptions build;
  build.allowTorchScript = allowTorchScript;
  build.warmUp = warmUp;
  const auto t = Clock::now();
  std::shared_ptr<const netparser::Network> network;
  try {
    network = engine.network(model.file.model.dnnUid, model.arch, model.file.model.weights, build);
  } catch (Error& e) {
    e.inFile(path.string());
    throw;
  }
  fromCache = engine.builds() == before;
  buildMs = fromCache ? 0.0 : ms(t, Clock::now());
  return network;
}

void runPrepared(PreparedSlice& p, const netparser::Network& network, const LoadedModel& model) {
  auto& r = p.result;
  const auto t = Clock::now();
  const auto output = network.forward(p.input.tensor);
  r.timings.forwardMs = ms(t, Clock::now());
  auto post = netparser::postprocess(output, p.input.placement, r.slice.attributes, model.arch);
  r.proposals = std::move(post.proposals);
  r.timings.postprocessMs = post.postprocessMs;
  r.timings.contourMs = post.contourMs;
}

}  // namespace

PredictResult predict(const PredictOptions& o) {
  // A slice refused by its header costs nothing more (libtorch alone maps 150 MB): checked first
  iod::checkSlice(o.image, o.frame);
  // libtorch loads in the background while the model is read and verified and the slice decoded
  netparser::preloadInference();
  // A verified model whose network the engine holds is not read again (ModelHeaders)
  std::shared_ptr<const LoadedModel> header = o.modelVerified ? ModelHeaders::instance().find(o.model) : nullptr;
  std::shared_ptr<const netparser::Network> warm;
  if (header) {
    auto& engine = o.engine != nullptr ? *o.engine : netparser::InferenceEngine::shared();
    netparser::BuildOptions build;
    build.allowTorchScript = o.allowTorchScript;
    warm = engine.cached(header->file.model.dnnUid, header->arch, build);
  }
  LoadedModel full;
  if (!warm) {
    full = loadModel(o.model, o.modelVerified);
    if (o.modelVerified) ModelHeaders::instance().put(o.model, full);
  }
  const LoadedModel& model = warm ? *header : full;
  const NetworkTrust trust = judgeNetwork(o.policy, model, o.model);
  // The slice is read and checked before any network is built: a slice that does not fit costs
  // no build.
  PreparedSlice p = prepareSlice(o.image, o.frame, model);
  std::shared_ptr<const netparser::Network> network = warm;
  if (warm) {
    p.result.networkFromCache = true;
  } else {
    network = networkFor(model, o.model, o.allowTorchScript, o.warmUpNetwork, o.engine, o.engineMaxBytes,
                         p.result.networkFromCache, p.result.buildMs);
  }
  runPrepared(p, *network, model);
  p.result.modelHashed = model.hashed;
  p.result.trust = trust;
  auditRun(o.policy, std::span<const PredictResult>(&p.result, 1));
  return std::move(p.result);
}

bool buildNetworkAhead(const PredictOptions& o) {
  const LoadedModel model = loadModel(o.model, o.modelVerified);
  (void)judgeNetwork(o.policy, model, o.model);
  bool fromCache = false;
  double buildMs = 0;
  (void)networkFor(model, o.model, o.allowTorchScript, true, o.engine, o.engineMaxBytes, fromCache, buildMs);
  return !fromCache;
}

SeriesPredictResult predictSeries(const SeriesPredictOptions& o) {
  if (o.images.empty()) throw Error(ErrorCode::InvalidArgument, "no slice to predict on");
  netparser::preloadInference();
  const auto start = Clock::now();
  const LoadedModel model = loadModel(o.model, o.modelVerified);
  const NetworkTrust trust = judgeNetwork(o.policy, model, o.model);
  SeriesPredictResult out;
  out.slices.resize(o.images.size());
  // A reader thread decodes and pre-processes the next slices while this thread runs the network:
  // a bounded queue (a few slices) between them. An error or a cancel stops both.
  constexpr std::size_t kAhead = 3;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<std::size_t, PreparedSlice>> ready;
  std::exception_ptr readerError;
  bool stop = false;
  bool readerDone = false;
  std::thread reader([&] {
    try {
      for (std::size_t i = 0; i < o.images.size(); ++i) {
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return stop || ready.size() < kAhead; });
          if (stop) break;
        }
        PreparedSlice p = prepareSlice(o.images[i], 0, model);
        std::lock_guard lock(mutex);
        ready.emplace_back(i, std::move(p));
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      readerError = std::current_exception();
    }
    std::lock_guard lock(mutex);
    readerDone = true;
    changed.notify_all();
  });
  const auto finish = [&] {
    {
      std::lock_guard lock(mutex);
      stop = true;
      changed.notify_all();
    }
    reader.join();
  };
  try {
    std::shared_ptr<const netparser::Network> network;
    for (std::size_t done = 0; done < o.images.size(); ++done) {
      if (o.onProgress && !o.onProgress(done, o.images.size())) {
        throw Error(ErrorCode::Cancelled, "series prediction cancelled after " + std::to_string(done) + " slice(s)");
      }
      std::pair<std::size_t, PreparedSlice> next;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !ready.empty() || readerError || readerDone; });
        if (ready.empty()) {
          if (readerError) std::rethrow_exception(readerError);
          throw Error(ErrorCode::Internal, "the slice reader stopped early");
        }
        next = std::move(ready.front());
        ready.pop_front();
        changed.notify_all();
      }
      auto& p = next.second;
      if (!network) {
        // no warm-up pass: the first slice's pass creates the primitives, the others reuse them
        network = networkFor(model, o.model, o.allowTorchScript, false, o.engine, o.engineMaxBytes,
                             p.result.networkFromCache, p.result.buildMs);
        out.buildMs = p.result.buildMs;
      } else {
        p.result.networkFromCache = true;
      }
      runPrepared(p, *network, model);
      if (!o.keepPixels) {
        p.result.slice.pixels.clear();
        p.result.slice.pixels.shrink_to_fit();
      }
      out.forwardMs += p.result.timings.forwardMs;
      out.decodeMs += p.result.timings.decodeMs + p.result.timings.preprocessMs;
      out.postprocessMs += p.result.timings.postprocessMs + p.result.timings.contourMs;
      out.slices[next.first] = std::move(p.result);
    }
    if (o.onProgress) (void)o.onProgress(o.images.size(), o.images.size());
  } catch (...) {
    finish();
    throw;
  }
  finish();
  for (auto& slice : out.slices) slice.trust = trust;
  auditRun(o.policy, out.slices);
  out.wallMs = ms(start, Clock::now());
  return out;
}

std::size_t SeriesPredictResult::proposals() const noexcept {
  std::size_t n = 0;
  for (const auto& s : slices) n += s.proposals.size();
  return n;
}

std::string SeriesPredictResult::toText() const {
  std::ostringstream o;
  std::size_t flat = 0;
  if (!slices.empty()) {
    const auto& first = slices.front();
    o << "network:   " << first.dnnName << (first.dnnVersion.empty() ? "" : " " + first.dnnVersion) << " (DnnUID "
      << first.dnnUid << ")\n";
  }
  o << "slices:    " << slices.size() << ", proposals: " << proposals() << "\n";
  for (const auto& s : slices) {
    for (const auto& p : s.proposals) {
      o << "  " << ++flat << ". instance " << s.slice.attributes.instanceNumber << " " << p.label.name << ": "
        << p.areaPixels << " px";
      if (p.areaMm2 >= 0) o << ", " << std::lround(p.areaMm2) << " mm2";
      o << "\n";
    }
  }
  o << "timings:   wall " << wallMs << " ms (model, network build " << buildMs << " ms), forward " << forwardMs
    << " ms (" << (wallMs > 0 ? std::lround(100.0 * forwardMs / wallMs) : 0) << "% of the wall time), decode and "
    << "pre-process " << decodeMs << " ms (overlapped), post-process " << postprocessMs << " ms\n";
  return o.str();
}

std::string SeriesPredictResult::toJson() const {
  nlohmann::ordered_json j;
  j["slices"] = nlohmann::ordered_json::array();
  for (const auto& s : slices) j["slices"].push_back(nlohmann::ordered_json::parse(s.toJson()));
  j["proposals"] = proposals();
  j["timingsMs"] = {{"wall", wallMs},
                    {"build", buildMs},
                    {"forward", forwardMs},
                    {"decodeAndPreprocess", decodeMs},
                    {"postprocess", postprocessMs}};
  return j.dump(2) + "\n";
}

std::string PredictResult::toText() const {
  std::ostringstream o;
  const auto& a = slice.attributes;
  o << "network:   " << dnnName << (dnnVersion.empty() ? "" : " " + dnnVersion) << " (DnnUID " << dnnUid << ")"
    << (networkFromCache ? ", cached" : "") << "\n"
    << "signature: " << trust.status << (trust.reason.empty() ? "" : " (" + trust.reason + ")") << "\n"
    << "slice:     " << a.sopInstanceUid << " frame " << slice.frame << ", " << a.modality << " " << a.bodyPartExamined
    << ", " << a.rows << "x" << a.columns << " " << a.photometricInterpretation << "\n";
  for (const auto& s : check.adaptations) o << "adapted:   " << s << "\n";
  o << "proposals: " << proposals.size() << "\n";
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    const auto& p = proposals[i];
    std::size_t holes = 0;
    for (const auto& ring : p.rings) holes += ring.hole ? 1 : 0;
    o << "  " << i + 1 << ". " << p.label.name << ": " << p.areaPixels << " px";
    if (p.areaMm2 >= 0) o << ", " << std::llround(p.areaMm2) << " mm2";
    o << ", mean probability " << static_cast<double>(std::lround(p.meanProbability * 1000)) / 1000.0 << ", "
      << p.rings.size() - holes << " ring(s), " << holes << " hole(s)\n";
  }
  o << "timings:   decode " << timings.decodeMs << " ms, pre-process " << timings.preprocessMs << " ms, forward "
    << timings.forwardMs << " ms, post-process " << timings.postprocessMs << " ms, contours " << timings.contourMs
    << " ms\n";
  return o.str();
}

std::string PredictResult::toJson() const {
  const auto& a = slice.attributes;
  const bool geometry = a.pixelSpacing && a.imagePositionPatient && a.imageOrientationPatient;
  nlohmann::json j;
  j["network"] = {{"name", dnnName},
                  {"version", dnnVersion},
                  {"dnnUid", dnnUid},
                  {"sopInstanceUid", modelSopInstanceUid},
                  {"fromCache", networkFromCache},
                  {"modelHashed", modelHashed},
                  {"signature",
                   {{"status", trust.status},
                    {"signer", trust.signer},
                    {"fingerprint", trust.signerFingerprint},
                    {"reason", trust.reason}}}};
  j["slice"] = {{"sopInstanceUid", a.sopInstanceUid},
                {"studyInstanceUid", a.studyInstanceUid},
                {"seriesInstanceUid", a.seriesInstanceUid},
                {"sopClassUid", a.sopClassUid},
                {"frame", slice.frame},
                {"frameOfReferenceUid", a.frameOfReferenceUid},
                {"rows", a.rows},
                {"columns", a.columns}};
  j["adaptations"] = check.adaptations;
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& p : proposals) {
    nlohmann::json rings = nlohmann::json::array();
    for (const auto& ring : p.rings) {
      nlohmann::json px = nlohmann::json::array();
      nlohmann::json mm = nlohmann::json::array();
      for (const auto& pt : ring.points) {
        px.push_back({pt.column, pt.row});
        if (geometry) mm.push_back(iod::pixelToPatient(a, pt.column, pt.row));
      }
      nlohmann::json rj = {{"hole", ring.hole}, {"pixels", px}};
      if (geometry) rj["patientMm"] = mm;
      rings.push_back(rj);
    }
    ps.push_back({{"label", p.label.name},
                  {"labelIndex", p.label.index},
                  {"color", p.label.color},
                  {"interpretedType", p.label.interpretedType},
                  {"areaPixels", p.areaPixels},
                  {"areaMm2", p.areaMm2},
                  {"meanProbability", p.meanProbability},
                  {"rings", rings}});
  }
  j["proposals"] = ps;
  j["timingsMs"] = {{"decode", timings.decodeMs},
                    {"preprocess", timings.preprocessMs},
                    {"forward", timings.forwardMs},
                    {"postprocess", timings.postprocessMs},
                    {"contours", timings.contourMs}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client
