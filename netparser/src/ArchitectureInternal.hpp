#pragma once
// Private to netparser: the parts of the architecture parser (ArchitectureParser.cpp is the top
// level of our format; ParamReader.hpp the typed reading they share).

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser::detail {

class ParamReader;

/// The name that stands for the network input in a layer's "inputs".
inline constexpr std::string_view kInputId = "input";

/// Our format (docs/architecture-json.md). Layers may carry "$pointer" (set by the DNN-parser
/// front end) so errors point into the document the user wrote.
Architecture parseIodeepFormat(const nlohmann::json& root, const Limits& limits);

/// The published DNN-parser format, translated into our format and parsed by parseIodeepFormat().
Architecture parseDnnParserFormat(const nlohmann::json& root, const Limits& limits);

// LayerParams.cpp

/// The primitive layer type a JSON "type" names, if any ("double_conv" is a block, not a type).
[[nodiscard]] std::optional<LayerType> layerTypeFromName(std::string_view name) noexcept;

/// Reads the parameters of @p layer's (primitive) type into layer.params.
void readLayerParams(Layer& layer, ParamReader& reader, const Limits& limits);

// ProcessingSpecs.cpp

/// "preprocessing", "output" and "postprocessing" (each must be an object when present) into
/// arch.preprocessing, arch.outputSpec and arch.postprocessing.
void parseProcessingSpecs(const nlohmann::json& root, Architecture& arch, const Limits& limits);

// Graph.cpp

/// "layers" and "output_layer" into arch.layers (blocks expanded, inputs resolved, topologically
/// sorted) and arch.output.
void parseGraph(const nlohmann::json& root, Architecture& arch, const Limits& limits);

}  // namespace iodeep::netparser::detail
