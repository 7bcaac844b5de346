// Our architecture JSON and the DNN-parser format -> one validated graph of primitive layers.
// Torch-free (also compiled into the fuzz targets). The parts: ParamReader.cpp (typed values with
// JSON pointers), LayerParams.cpp (layer types and their parameters), ProcessingSpecs.cpp
// (pre/post-processing and output), Graph.cpp (layers, blocks, topological order),
// DnnParserFormat.cpp (the other front end).
#include <nlohmann/json.hpp>
#include <set>

#include "ArchitectureInternal.hpp"
#include "ParamReader.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser {

namespace detail {

using nlohmann::json;

Architecture parseIodeepFormat(const json& root, const Limits& lim) {
  if (!root.is_object()) fail(ErrorCode::InvalidArchitecture, "", "", "the top level must be an object");
  Architecture arch;
  arch.format = Architecture::Format::Iodeep;
  static const std::set<std::string> kTop = {"format",         "version",      "kind",          "input",
                                             "layers",         "output_layer", "preprocessing", "output",
                                             "postprocessing", "comment",      "name"};
  for (const auto& [key, value] : root.items()) {
    if (kTop.count(key) == 0)
      fail(ErrorCode::InvalidArchitecture, "", "/" + escapePointer(key), "unknown key '" + key + "'");
  }
  if (const auto f = root.find("format"); f != root.end() && (!f->is_string() || *f != "iodeep-architecture")) {
    fail(ErrorCode::InvalidArchitecture, "", "/format", "format must be \"iodeep-architecture\"");
  }
  if (const auto v = root.find("version"); v != root.end() && (!v->is_number_integer() || *v != 1)) {
    fail(ErrorCode::InvalidArchitecture, "", "/version", "only version 1 is known");
  }
  std::string kind = "graph";
  if (const auto k = root.find("kind"); k != root.end()) {
    if (!k->is_string() || (*k != "graph" && *k != "torchscript")) {
      fail(ErrorCode::InvalidArchitecture, "", "/kind", "kind must be \"graph\" or \"torchscript\"");
    }
    kind = k->get<std::string>();
  }
  const auto in = root.find("input");
  if (in == root.end() || !in->is_object())
    fail(ErrorCode::InvalidArchitecture, "", "/input", "missing object 'input'");
  {
    ParamReader r(*in, "", "/input", lim);
    arch.input.channels = r.integer("channels", std::nullopt, 1, lim.maxChannels);
    arch.input.height = r.integer("height", std::nullopt, 1, lim.maxSpatial);
    arch.input.width = r.integer("width", std::nullopt, 1, lim.maxSpatial);
    r.finish();
  }
  parseProcessingSpecs(root, arch, lim);
  if (kind == "torchscript") {
    arch.kind = Architecture::Kind::TorchScript;
    if (root.contains("layers"))
      fail(ErrorCode::InvalidArchitecture, "", "/layers",
           "a torchscript network has no layers: its graph is the TorchScript archive");
    return arch;
  }
  parseGraph(root, arch, lim);
  return arch;
}

}  // namespace detail

Architecture parseArchitecture(std::string_view text, const Limits& limits) {
  if (text.size() > limits.maxJsonBytes) {
    throw Error(ErrorCode::ResourceLimit,
                std::to_string(text.size()) + " bytes of JSON exceed the limit " + std::to_string(limits.maxJsonBytes),
                ErrorContext{.part = "architecture"});
  }
  const nlohmann::json root = iod::parseJson(text, "architecture");
  Architecture arch;
  if (root.is_object() && root.contains("architecture") && !root.contains("layers")) {
    arch = detail::parseDnnParserFormat(root, limits);
  } else {
    arch = detail::parseIodeepFormat(root, limits);
  }
  arch.canonicalJson = root.dump();  // as iod::canonicalJson makes it
  if (arch.kind == Architecture::Kind::Graph) {
    const auto report = inferShapes(arch, std::nullopt, limits);
    const std::int64_t channels = report.outputShape.empty() ? 0 : report.outputShape.front();
    for (std::size_t i = 0; i < arch.outputSpec.labels.size(); ++i) {
      if (report.outputShape.size() != 3 || arch.outputSpec.labels[i].index >= channels) {
        throw Error(ErrorCode::ChannelMismatch,
                    "label '" + arch.outputSpec.labels[i].name + "' does not fit the network's " +
                        std::to_string(channels) + "-channel output",
                    ErrorContext{.part = "architecture",
                                 .layer = arch.output,
                                 .pointer = "/output/labels/" + std::to_string(i) + "/index"});
      }
    }
  }
  return arch;
}

}  // namespace iodeep::netparser
