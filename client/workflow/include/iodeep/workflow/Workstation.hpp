#pragma once
/// @file Workstation.hpp
/// One workstation: what a long-running client (the viewer; the inference service next) builds
/// once from its configuration and shares between its workflows: the PACS connection settings
/// (TLS context included), the model cache, the image cache, the outbox, the trust policy, the
/// audit log and the inference engine. The CLI builds one per command.
///
/// Thread safety: the accessors may be called from several threads at once. Pacs, the caches and
/// the outbox keep no state in memory between calls (their state is on disk, under file locks),
/// so one instance of each serves every thread; each store is built on its first use, once.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/stores/DiscoveryCache.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Trust.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace iodeep::netparser {
class InferenceEngine;
}

namespace iodeep::client {

class Workstation {
 public:
  /// Checks the configuration's network settings and loads its TLS credentials; settings the
  /// network module refuses (no PACS yet, a TLS file missing) leave a workstation without a PACS:
  /// pacs() then throws that error, and what needs no PACS (the outbox's list, local runs) still
  /// works. The stores are created on first use (their directories then: ModelCache's errors).
  /// The inference engine is the process's (netparser::InferenceEngine::shared()), its memory
  /// budget set from engine_max_mb.
  explicit Workstation(ClientConfig config);
  Workstation(const Workstation&) = delete;
  Workstation& operator=(const Workstation&) = delete;
  ~Workstation();

  [[nodiscard]] const ClientConfig& config() const noexcept { return config_; }
  /// The PACS; throws the error that refused the configuration's network settings.
  [[nodiscard]] const Pacs& pacs() const;
  /// Why there is no PACS (the Error's text), or empty when there is one.
  [[nodiscard]] const std::string& pacsProblem() const noexcept { return pacsProblem_; }
  /// "AET@host:port" of the PACS, as the audit log and the selection name it.
  [[nodiscard]] std::string pacsName() const { return config_.network.pacs.toString(); }
  [[nodiscard]] ModelCache& models();
  [[nodiscard]] ImageCache& images();
  [[nodiscard]] const Outbox& outbox();
  /// What discovery learnt from the PACS (workflow/Discovery.hpp): in discoveryCacheDirectory of
  /// the configuration, or in memory when that is empty.
  [[nodiscard]] const DiscoveryCache& discovery();
  [[nodiscard]] const TrustPolicy& trust() const noexcept { return config_.trust; }
  /// The audit trail's file; empty: runs are not audited.
  [[nodiscard]] const std::filesystem::path& auditLog() const noexcept { return config_.auditLog; }
  [[nodiscard]] netparser::InferenceEngine& engine() const noexcept { return engine_; }
  /// The run policy for a network whose signature was judged as @p trust (fetchModel): this
  /// workstation's trust policy, audit log and PACS.
  [[nodiscard]] RunPolicy runPolicy(const NetworkTrust& trust) const;
  /// Prediction options for @p model (verified when it entered the model cache) on @p image:
  /// the configuration's TorchScript permission, the engine and its budget, the run policy.
  [[nodiscard]] PredictOptions predictOptions(const std::filesystem::path& model, const std::filesystem::path& image,
                                              std::int32_t frame, const NetworkTrust& trust) const;

  /// How many of each part this process has built: Workstations, Pacs, ModelCache, ImageCache,
  /// Outbox, DiscoveryCache instances (every construction, wherever it happens). Tests use it to
  /// show that one AI ROI click builds each once.
  struct Counts {
    std::uint64_t workstations{0}, pacs{0}, modelCaches{0}, imageCaches{0}, outboxes{0}, discoveryCaches{0};
  };
  [[nodiscard]] static Counts constructed() noexcept;

 private:
  ClientConfig config_;
  std::optional<Pacs> pacs_;
  std::optional<Error> pacsError_;
  std::string pacsProblem_;
  netparser::InferenceEngine& engine_;
  std::mutex storesMutex_;
  std::optional<ModelCache> models_;
  std::optional<ImageCache> images_;
  std::optional<Outbox> outbox_;
  std::optional<DiscoveryCache> discovery_;
};

}  // namespace iodeep::client
