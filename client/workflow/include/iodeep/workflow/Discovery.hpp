#pragma once
/// @file Discovery.hpp
/// The IODeep networks on the workstation's PACS, found with a number of C-FINDs that does not
/// grow with the number of networks where the PACS allows it (network/Query.hpp, discoverModels)
/// and kept in the workstation's discovery cache (stores/DiscoveryCache.hpp) between uses and
/// between processes (docs/selection.md, "Discovery"; the keys discovery_max_age,
/// discovery_rebuild_age and discovery_cache_dir in docs/pacs-workflow.md).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/network/Query.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

enum class DiscoveryMode {
  /// The cached listing while it is younger than discovery_max_age; else refreshed from the PACS
  /// (made from scratch when there is none, it is unreadable or older than discovery_rebuild_age).
  Auto,
  /// Refreshed from the PACS now: the way it answered before is used, and on the hierarchical
  /// path the series already listed are not asked again.
  Refresh,
  /// Made from scratch now: the way the PACS answers found out again.
  Rebuild,
};

/// Where a listing came from.
enum class DiscoverySource {
  Cache,      ///< the discovery cache, no C-FIND
  Refreshed,  ///< the PACS, using what the cache knew
  Rebuilt,    ///< the PACS, from scratch
};

/// "cache", "refreshed", "rebuilt".
[[nodiscard]] std::string_view toString(DiscoverySource source) noexcept;

/// How a listing was obtained.
struct DiscoveryStats {
  DiscoverySource source{DiscoverySource::Rebuilt};
  std::string path;                 ///< how the PACS answers (toString(DiscoveryPath)); empty when unknown
  std::size_t queries{0};           ///< C-FINDs sent for the listing (and, in a selection, to confirm the choice)
  std::size_t associations{0};      ///< associations opened for them
  std::size_t reused{0};            ///< models taken from the cache on a refresh without asking again
  std::int64_t ageSeconds{0};       ///< the cached listing's age when it was used (0 when made now)
  bool corruptCacheIgnored{false};  ///< the PACS's cache file was unreadable: ignored and rewritten
  bool confirmed{false};            ///< a selection confirmed its choice from a cached listing by C-FIND
  double ms{0};                     ///< wall time
};

struct DiscoveryResult {
  std::vector<RemoteModel> models;  ///< as C-FIND described them (index attributes only: ModelDetail::Index)
  DiscoveryStats stats;
};

/// The IODeep networks on ws.pacs() for @p modality (empty: every modality). A listing made from
/// the PACS is written to the cache (a write that fails is reported by a warning line, and the
/// listing still returned; a listing cut short by max_find_results is not cached). Throws what
/// ws.pacs() and the C-FINDs throw.
[[nodiscard]] DiscoveryResult discoverNetworks(Workstation& ws, const std::string& modality,
                                               DiscoveryMode mode = DiscoveryMode::Auto);

/// The key under which the cache keeps ws's PACS: our calling AE title, the PACS's
/// "AET@host:port", and "tls" when DICOM TLS is on.
[[nodiscard]] std::string discoveryPeer(const Workstation& ws);

}  // namespace iodeep::client
