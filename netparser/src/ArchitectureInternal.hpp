#pragma once
// Private to netparser: the two JSON front ends.

#include <nlohmann/json.hpp>
#include <string>

#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser::detail {

/// Our format (docs/architecture-json.md). Layers may carry "$pointer" (set by the DNN-parser
/// front end) so errors point into the document the user wrote.
Architecture parseIodeepFormat(const nlohmann::json& root, const Limits& limits);

/// The published DNN-parser format, translated into our format and parsed by parseIodeepFormat().
Architecture parseDnnParserFormat(const nlohmann::json& root, const Limits& limits);

std::string toStringJoin(LayerType t);

}  // namespace iodeep::netparser::detail
