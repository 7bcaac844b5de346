#pragma once
/// @file JsonParse.hpp
/// Private to the iodeep modules (target iodeep::iod_internal, linked PRIVATE): the one JSON
/// parser, which enforces size and nesting limits before any work and reports line:column on
/// error. It names nlohmann-json types, so it is not among iod's public headers; users of the
/// library get iodeep/iod/Json.hpp instead.

#include <nlohmann/json.hpp>
#include <string_view>

#include "iodeep/iod/Json.hpp"

namespace iodeep::iod {

/// Parses JSON text within @p limits (docs/security.md, "Limits"): the size is checked first,
/// then the nesting depth by a scan that does not recurse, then the text is parsed with a
/// depth-counting callback as a second guard, so that nothing built from the result (dump(),
/// the architecture parser) recurses deeper than limits.maxDepth. Throws Error(InvalidJson)
/// "<source>:<line>:<column>: not JSON: ..." for a syntax error (1-based line and column),
/// "<source>: not usable JSON: ..." for JSON that nlohmann-json cannot hold (e.g. the number
/// 2e999), and Error(ResourceLimit) for text beyond the limits (the place where the depth limit
/// was crossed as line:column).
[[nodiscard]] nlohmann::json parseJson(std::string_view text, std::string_view source, JsonLimits limits = {});

/// The end (one past its last character) of element @p n (1-based) of the top-level JSON array
/// @p text, found by the same scan that does not build anything; npos when the array has @p n
/// elements or fewer (or the text is not an array: the parser then says so). A caller that wants
/// the first @p n elements only cuts the text there and closes the array before parsing it.
[[nodiscard]] std::size_t endOfTopLevelElement(std::string_view text, std::size_t n);

}  // namespace iodeep::iod
