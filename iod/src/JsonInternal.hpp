#pragma once
// Private to iod: nlohmann-json parsing with positions in errors.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace iodeep::iod {

/// "line:column" (1-based) of a byte offset in @p text.
std::string lineColumn(std::string_view text, std::size_t byteOffset);
/// Parses JSON; throws Error(InvalidJson) "<source>:<line>:<col>: ...".
nlohmann::json parseJson(std::string_view text, std::string_view source);

}  // namespace iodeep::iod
