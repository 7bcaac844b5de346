#pragma once
/// @file Json.hpp
/// JSON checks shared by the modules (nlohmann-json underneath, not exposed).

#include <cstddef>
#include <string>
#include <string_view>

namespace iodeep::iod {

/// The limits every JSON text we read is held to (architecture, legacy repr, configuration,
/// cache and outbox records, audit lines, safetensors headers). docs/security.md, "Limits".
struct JsonLimits {
  /// Largest text accepted, in bytes (an architecture of thousands of layers is well under 1 MiB).
  std::size_t maxBytes{64U << 20U};
  /// Deepest nesting of arrays and objects (the deepest document we write nests 6 levels).
  std::size_t maxDepth{64};
};

/// Throws Error(InvalidJson) "<source>:<line>:<column>: <what>" when @p text is not JSON,
/// Error(ResourceLimit) when it exceeds the limits.
void checkJson(std::string_view text, std::string_view source, JsonLimits limits = {});

/// Re-serialises JSON text compactly (stable for hashing). Throws as checkJson.
[[nodiscard]] std::string canonicalJson(std::string_view text, std::string_view source, JsonLimits limits = {});

}  // namespace iodeep::iod
