// "layers" and "output_layer" of our architecture format: each entry read, blocks (double_conv)
// expanded into primitive layers, inputs resolved, and the layers put in topological order.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <vector>

#include "ArchitectureInternal.hpp"
#include "ParamReader.hpp"

namespace iodeep::netparser::detail {

namespace {

using nlohmann::json;

// The primitive layers in listed order, before their inputs are resolved.
struct Expansion {
  std::vector<Layer> layers;
  std::unordered_map<std::string, std::string> alias;  // block id -> id of its last primitive layer
};

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "inputs" of one entry; without it, the entry listed before (@p previous).
std::vector<std::string> readInputs(const json& obj, const std::string& id, const std::string& pointer,
                                    const std::string& previous) {
  std::vector<std::string> inputs;
  if (const auto inIt = obj.find("inputs"); inIt != obj.end()) {
    if (!inIt->is_array() || inIt->empty())
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs", "'inputs' must be a non-empty array of ids");
    if (inIt->size() > 64) fail(ErrorCode::ResourceLimit, id, pointer + "/inputs", "more than 64 inputs");
    for (std::size_t j = 0; j < inIt->size(); ++j) {
      if (!(*inIt)[j].is_string())
        fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs/" + std::to_string(j),
             "an input must be a layer id");
      inputs.push_back((*inIt)[j].get<std::string>());
    }
  } else {
    inputs.push_back(previous);
  }
  return inputs;
}

// double_conv: conv -> [bn] -> act -> conv -> [bn] -> act, as "<id>.conv1", "<id>.bn1", "<id>.act1", ...
void expandDoubleConv(const std::string& id, const std::string& pointer, const std::vector<std::string>& inputs,
                      ParamReader& r, const Limits& lim, Expansion& out) {
  const auto outChannels = r.integer("out_channels", std::nullopt, 1, lim.maxChannels);
  const auto mid = r.integer("mid_channels", outChannels, 1, lim.maxChannels);
  const auto k = r.integer("kernel_size", 3, 1, lim.maxKernel);
  const auto pad = r.padding(k, 1, 1, k / 2);
  const bool bn = r.boolean("batch_norm", true);
  const bool bias = r.boolean("bias", true);
  const auto act = r.choice("activation", "relu", {"relu", "leaky_relu", "elu", "gelu"});
  r.finish();
  if (inputs.size() != 1)
    fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs", "double_conv takes one input (use concat first)");
  std::string in1 = inputs[0];
  for (int n = 1; n <= 2; ++n) {
    const std::string suffix = std::to_string(n);
    Layer conv{id + ".conv" + suffix, LayerType::Conv2d, {in1}, {}, pointer};
    conv.params.outChannels = n == 1 ? mid : outChannels;
    conv.params.kernelSize = k;
    conv.params.padding = pad;
    conv.params.bias = bias;
    out.layers.push_back(conv);
    std::string last = conv.id;
    if (bn) {
      out.layers.push_back(Layer{id + ".bn" + suffix, LayerType::BatchNorm2d, {last}, {}, pointer});
      last = id + ".bn" + suffix;
    }
    LayerType at = LayerType::ReLU;
    if (act == "leaky_relu") at = LayerType::LeakyReLU;
    if (act == "elu") at = LayerType::ELU;
    if (act == "gelu") at = LayerType::GELU;
    out.layers.push_back(Layer{id + ".act" + suffix, at, {last}, {}, pointer});
    in1 = id + ".act" + suffix;
  }
  out.alias[id] = in1;
}

// Every entry of "layers", checked and expanded, in listed order.
Expansion expandLayers(const json& layers, const Limits& lim) {
  Expansion out;
  std::set<std::string> ids;
  std::string previous(kInputId);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const json& obj = layers[i];
    std::string pointer = "/layers/" + std::to_string(i);
    if (obj.is_object()) {
      if (const auto ptr = obj.find("$pointer"); ptr != obj.end() && ptr->is_string())
        pointer = ptr->get<std::string>();
    }
    if (!obj.is_object()) fail(ErrorCode::InvalidArchitecture, "", pointer, "a layer must be an object");
    const auto idIt = obj.find("id");
    if (idIt == obj.end() || !idIt->is_string())
      fail(ErrorCode::InvalidArchitecture, "", pointer + "/id", "a layer needs a string 'id'");
    const std::string id = idIt->get<std::string>();
    if (!validId(id) || id == kInputId) {
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/id",
           "ids are 1-128 characters of A-Z a-z 0-9 _ - and not \"input\"");
    }
    if (!ids.insert(id).second) fail(ErrorCode::InvalidArchitecture, id, pointer + "/id", "duplicate id");
    const auto typeIt = obj.find("type");
    if (typeIt == obj.end() || !typeIt->is_string())
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/type", "a layer needs a string 'type'");
    const std::string type = typeIt->get<std::string>();
    const std::vector<std::string> inputs = readInputs(obj, id, pointer, previous);

    ParamReader r(obj, id, pointer, lim);
    r.touch("id");
    r.touch("type");
    r.touch("inputs");
    if (type == "double_conv") {
      expandDoubleConv(id, pointer, inputs, r, lim, out);
      previous = id;
      continue;
    }
    const auto layerType = layerTypeFromName(type);
    if (!layerType) fail(ErrorCode::UnknownLayerType, id, pointer + "/type", "unknown layer type '" + type + "'");
    Layer layer{id, *layerType, inputs, {}, pointer};
    readLayerParams(layer, r, lim);
    r.finish();
    const bool join = layer.type == LayerType::Concat || layer.type == LayerType::Add;
    if (join && layer.inputs.size() < 2)
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs",
           std::string(toString(layer.type)) + " needs at least two inputs");
    if (!join && layer.inputs.size() != 1)
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs", "this layer takes exactly one input");
    out.layers.push_back(std::move(layer));
    previous = id;
  }
  return out;
}

// Kahn's algorithm, stable with respect to the listed order. Every input names "input" or an
// entry of @p index.
std::vector<Layer> topologicalOrder(const std::vector<Layer>& layers,
                                    const std::unordered_map<std::string, std::size_t>& index) {
  std::vector<std::vector<std::size_t>> users(layers.size());
  std::vector<std::size_t> pending(layers.size(), 0);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (const auto& name : layers[i].inputs) {
      if (name == kInputId) continue;
      users[index.at(name)].push_back(i);
      ++pending[i];
    }
  }
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  std::vector<Layer> sorted;
  sorted.reserve(layers.size());
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    sorted.push_back(layers[i]);
    for (std::size_t u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (sorted.size() != layers.size()) {
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (pending[i] != 0)
        fail(ErrorCode::CyclicGraph, layers[i].id, layers[i].pointer + "/inputs", "its inputs form a cycle");
    }
  }
  return sorted;
}

}  // namespace

void parseGraph(const json& root, Architecture& arch, const Limits& lim) {
  const auto layersIt = root.find("layers");
  if (layersIt == root.end() || !layersIt->is_array() || layersIt->empty()) {
    fail(ErrorCode::InvalidArchitecture, "", "/layers", "missing non-empty array 'layers'");
  }
  const json& layers = *layersIt;
  if (static_cast<std::int64_t>(layers.size()) > lim.maxLayers) {
    fail(ErrorCode::ResourceLimit, "", "/layers",
         std::to_string(layers.size()) + " layers exceed the limit " + std::to_string(lim.maxLayers));
  }
  Expansion expansion = expandLayers(layers, lim);
  auto& raw = expansion.layers;
  if (static_cast<std::int64_t>(raw.size()) > lim.maxLayers) {
    fail(ErrorCode::ResourceLimit, "", "/layers",
         std::to_string(raw.size()) + " primitive layers exceed the limit " + std::to_string(lim.maxLayers));
  }

  // Resolve block aliases and check that every input exists.
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < raw.size(); ++i) index.emplace(raw[i].id, i);
  for (auto& layer : raw) {
    for (std::size_t j = 0; j < layer.inputs.size(); ++j) {
      auto& name = layer.inputs[j];
      if (const auto a = expansion.alias.find(name); a != expansion.alias.end()) name = a->second;
      if (name != kInputId && index.count(name) == 0) {
        fail(ErrorCode::DanglingInput, layer.id, layer.pointer + "/inputs/" + std::to_string(j),
             "input '" + name + "' names no layer");
      }
    }
  }
  arch.layers = topologicalOrder(raw, index);

  if (const auto o = root.find("output_layer"); o != root.end()) {
    if (!o->is_string()) fail(ErrorCode::InvalidArchitecture, "", "/output_layer", "output_layer must be a layer id");
    std::string name = o->get<std::string>();
    if (const auto a = expansion.alias.find(name); a != expansion.alias.end()) name = a->second;
    if (index.count(name) == 0)
      fail(ErrorCode::DanglingInput, "", "/output_layer", "output_layer '" + name + "' names no layer");
    arch.output = name;
  } else {
    arch.output = raw.back().id;
  }
}

}  // namespace iodeep::netparser::detail
