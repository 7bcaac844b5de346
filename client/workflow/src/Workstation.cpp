// The workstation: the parts a client builds once from its configuration and shares.
#include "iodeep/workflow/Workstation.hpp"

#include <atomic>

#include "iodeep/netparser/Network.hpp"

namespace iodeep::client {

namespace {
std::atomic<std::uint64_t> workstationsBuilt{0};
}  // namespace

Workstation::Workstation(ClientConfig config)
    : config_(std::move(config)), engine_(netparser::InferenceEngine::shared()) {
  try {
    pacs_.emplace(config_.network);
  } catch (const Error& e) {
    pacsError_ = e;
    pacsProblem_ = e.what();
  }
  engine_.setMemoryBudget(config_.engineMaxBytes != 0 ? config_.engineMaxBytes
                                                      : netparser::InferenceEngine::kDefaultMemoryBudget);
  ++workstationsBuilt;
}

Workstation::~Workstation() = default;

const Pacs& Workstation::pacs() const {
  if (!pacs_) throw *pacsError_;
  return *pacs_;
}

ModelCache& Workstation::models() {
  const std::lock_guard lock(storesMutex_);
  if (!models_) models_.emplace(config_.cacheDir, config_.cacheMaxBytes);
  return *models_;
}

ImageCache& Workstation::images() {
  const std::lock_guard lock(storesMutex_);
  if (!images_) images_.emplace(config_.imageCacheDir, config_.imageCacheMaxBytes);
  return *images_;
}

const Outbox& Workstation::outbox() {
  const std::lock_guard lock(storesMutex_);
  if (!outbox_) outbox_.emplace(config_.outboxDir);
  return *outbox_;
}

const DiscoveryCache& Workstation::discovery() {
  const std::lock_guard lock(storesMutex_);
  if (!discovery_) discovery_.emplace(discoveryCacheDirectory(config_));
  return *discovery_;
}

RunPolicy Workstation::runPolicy(const NetworkTrust& trust) const {
  RunPolicy p;
  p.trust = config_.trust;
  p.knownTrust = trust;
  p.auditLog = config_.auditLog;
  p.pacs = pacsName();
  return p;
}

PredictOptions Workstation::predictOptions(const std::filesystem::path& model, const std::filesystem::path& image,
                                           std::int32_t frame, const NetworkTrust& trust) const {
  PredictOptions o{model, image, frame, config_.allowTorchScript, true};
  o.engineMaxBytes = config_.engineMaxBytes;
  o.engine = &engine_;
  o.policy = runPolicy(trust);
  return o;
}

Workstation::Counts Workstation::constructed() noexcept {
  return {workstationsBuilt.load(),     Pacs::instancesBuilt(),   ModelCache::instancesBuilt(),
          ImageCache::instancesBuilt(), Outbox::instancesBuilt(), DiscoveryCache::instancesBuilt()};
}

}  // namespace iodeep::client
