#pragma once
/// @file Json.hpp
/// JSON checks shared by the modules (nlohmann-json underneath, not exposed).

#include <string>
#include <string_view>

namespace iodeep::iod {

/// Throws Error(InvalidJson) "<source>:<line>:<column>: <what>" when @p text is not JSON.
void checkJson(std::string_view text, std::string_view source);

/// Re-serialises JSON text compactly (stable for hashing). Throws Error(InvalidJson).
[[nodiscard]] std::string canonicalJson(std::string_view text, std::string_view source);

}  // namespace iodeep::iod
