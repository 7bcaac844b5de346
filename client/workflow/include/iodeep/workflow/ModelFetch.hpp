#pragma once
/// @file ModelFetch.hpp
/// The chosen network made local: from the workstation's model cache, or retrieved from the
/// PACS into it (verified once there), its description confirmed and its signature judged.

#include <cstdint>
#include <filesystem>
#include <optional>

#include "iodeep/network/Pacs.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/trust/Trust.hpp"
#include "iodeep/workflow/Selection.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::client {

/// The chosen network, local: from the model cache (no bytes move, no hash) or retrieved into
/// @p workDir and admitted to the cache (verified once there). Throws Error(UnsignedObject,
/// SignatureInvalid, UntrustedSigner) when the trust policy refuses it.
struct ModelFetch {
  CachedModel model;
  bool fromCache{false};
  std::uint64_t bytesMoved{0};
  double ms{0};
  NetworkTrust trust;  ///< its signature under the trust policy
};
/// @p onRetrieving (optional): Pacs::retrieve's progress handler when the model is retrieved.
[[nodiscard]] ModelFetch fetchModel(Workstation& ws, const RemoteModel& chosen, const std::filesystem::path& workDir,
                                    const RetrieveProgressHandler& onRetrieving = {});

/// The network @p r chose, local (fetchModel). One refused for what it holds when it enters the
/// cache (a payload that does not match its SHA-256, a malformed object or signature, a
/// signature the trust policy refuses: the exit-4 errors) is marked refused on its candidate,
/// with the reason, and the next one is chosen and fetched: a damaged network on the PACS does
/// not stop AI ROI while another fits. std::nullopt when none is left; @p r then says no match,
/// with each candidate's reason. Throws the PACS's errors.
[[nodiscard]] std::optional<ModelFetch> fetchSelectedModel(Workstation& ws, SelectionReport& r,
                                                           const std::filesystem::path& workDir,
                                                           const RetrieveProgressHandler& onRetrieving = {});

}  // namespace iodeep::client
