// Discovery: the networks on the PACS, from the discovery cache while it is fresh, else from the PACS.
#include "iodeep/workflow/Discovery.hpp"

#include <chrono>

#include "Timing.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::client {

using detail::Clock;
using detail::ms;

namespace {

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string_view toString(DiscoverySource source) noexcept {
  switch (source) {
    case DiscoverySource::Cache: return "cache";
    case DiscoverySource::Refreshed: return "refreshed";
    case DiscoverySource::Rebuilt: return "rebuilt";
  }
  return "rebuilt";
}

std::string discoveryPeer(const Workstation& ws) {
  const auto& n = ws.config().network;
  return n.callingAeTitle + " " + n.pacs.toString() + (n.tls.enabled ? " tls" : "");
}

DiscoveryResult discoverNetworks(Workstation& ws, const std::string& modality, DiscoveryMode mode) {
  const auto t0 = Clock::now();
  const Pacs& pacs = ws.pacs();
  const DiscoveryCache& cache = ws.discovery();
  const std::string peer = discoveryPeer(ws);
  const auto& config = ws.config();
  const std::int64_t now = nowSeconds();
  DiscoveryResult r;
  const auto found = cache.find(peer, modality);
  r.stats.corruptCacheIgnored = found.state == DiscoveryLookup::State::Corrupt;
  if (found.path) r.stats.path = std::string(toString(*found.path));
  const DiscoveryEntry* known = found.entry ? &*found.entry : nullptr;
  // a clock that went back makes a listing of unknown age: refreshed
  if (known != nullptr && mode == DiscoveryMode::Auto && now >= known->refreshedAt &&
      now - known->refreshedAt < static_cast<std::int64_t>(config.discoveryMaxAgeSeconds)) {
    r.models = known->models;
    r.stats.source = DiscoverySource::Cache;
    r.stats.ageSeconds = now - known->refreshedAt;
    r.stats.ms = ms(t0, Clock::now());
    return r;
  }
  const bool rebuild = mode == DiscoveryMode::Rebuild || known == nullptr || now < known->builtAt ||
                       now - known->builtAt >= static_cast<std::int64_t>(config.discoveryRebuildAgeSeconds);
  static const std::vector<RemoteModel> kNone;
  auto d = discoverModels(pacs, modality, ModelDetail::Index, rebuild ? std::nullopt : found.path,
                          rebuild ? kNone : known->models);
  r.stats.source = rebuild ? DiscoverySource::Rebuilt : DiscoverySource::Refreshed;
  r.stats.path = std::string(toString(d.path));
  r.stats.queries = d.queries;
  r.stats.associations = d.associations;
  r.stats.reused = d.reused;
  if (!d.truncated) {
    DiscoveryEntry entry{modality, rebuild ? now : known->builtAt, now, d.models};
    try {
      cache.put(peer, entry, d.pathConfirmed ? std::optional<DiscoveryPath>(d.path) : std::nullopt);
    } catch (const Error& e) {
      iod::warn(std::string("the discovery cache was not updated: ") + e.what());
    }
  }
  r.models = std::move(d.models);
  r.stats.ms = ms(t0, Clock::now());
  return r;
}

}  // namespace iodeep::client
