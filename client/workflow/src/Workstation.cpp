// The workstation: the parts a client builds once from its configuration and shares.
#include "iodeep/workflow/Workstation.hpp"

#include <atomic>

#include "iodeep/netparser/Network.hpp"

namespace iodeep::client {

namespace {
std::atomic<std::uint64_t> workstationsBuilt{0};
}  // namespace

Workstation::Workstation(ClientConfig config)
    : config_(std::move(config)), pacs_(config_.network), engine_(netparser::InferenceEngine::shared()) {
  if (config_.engineMaxBytes != 0) engine_.setMemoryBudget(config_.engineMaxBytes);
  ++workstationsBuilt;
}

Workstation::~Workstation() = default;

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
  return {workstationsBuilt.load(), Pacs::instancesBuilt(), ModelCache::instancesBuilt(), ImageCache::instancesBuilt(),
          Outbox::instancesBuilt()};
}

}  // namespace iodeep::client
