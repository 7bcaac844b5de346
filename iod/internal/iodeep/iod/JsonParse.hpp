#pragma once
/// @file JsonParse.hpp
/// Private to the iodeep modules (target iodeep::iod_internal, linked PRIVATE): the one JSON
/// parser that reports line:column on error. It names nlohmann-json types, so it is not among
/// iod's public headers; users of the library get iodeep/iod/Json.hpp instead.

#include <nlohmann/json.hpp>
#include <string_view>

namespace iodeep::iod {

/// Parses JSON text. Throws Error(InvalidJson) "<source>:<line>:<column>: not JSON: ..." for a
/// syntax error (1-based line and column), "<source>: not usable JSON: ..." for JSON that
/// nlohmann-json cannot hold (e.g. the number 2e999).
[[nodiscard]] nlohmann::json parseJson(std::string_view text, std::string_view source);

}  // namespace iodeep::iod
