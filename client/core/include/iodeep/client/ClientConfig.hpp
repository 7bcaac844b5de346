#pragma once
/// @file ClientConfig.hpp
/// The client configuration: one JSON file (docs/pacs-workflow.md, "Configuration") read by the
/// CLI and the viewer; command-line flags override it.

#include <cstdint>
#include <filesystem>
#include <string>

#include "iodeep/client/Pacs.hpp"

namespace iodeep::client {

struct ClientConfig {
  NetworkOptions network;
  /// Run TorchScript networks from the PACS (code as well as data). Off by default.
  bool allowTorchScript{false};
  std::filesystem::path cacheDir;             ///< the model cache
  std::uint64_t cacheMaxBytes{4ULL << 30U};   ///< least recently used models go beyond this
  std::filesystem::path outboxDir;            ///< structure sets waiting to be stored
  std::uint64_t engineMaxBytes{2ULL << 30U};  ///< networks kept built in memory (long-running viewer)
  std::string reviewer;                       ///< default ReviewerName (PN)
  std::filesystem::path source;               ///< the file read, or empty when none was
};

/// The configuration: @p path when given (it must exist), else $IODEEP_CONFIG, else
/// $XDG_CONFIG_HOME/iodeep/client.json (~/.config/...), else the defaults. Directories default
/// to $XDG_CACHE_HOME/iodeep/models and $XDG_DATA_HOME/iodeep/outbox. Unknown keys, wrong types
/// and invalid values are refused: Error(InvalidArgument, InvalidJson, FileNotFound) naming the
/// file and key.
[[nodiscard]] ClientConfig loadClientConfig(const std::filesystem::path& path = {});

/// Parses configuration JSON text; @p source names it in errors.
[[nodiscard]] ClientConfig parseClientConfig(const std::string& json, const std::string& source);

}  // namespace iodeep::client
