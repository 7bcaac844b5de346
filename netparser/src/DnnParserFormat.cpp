// The published DNN-parser architecture format (../shared/SPEC-NOTES.md section 2), translated
// into our format. Every default picked where the format is silent is listed in
// docs/architecture-json.md ("DNN-parser import").
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "ArchitectureInternal.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::netparser::detail {

namespace {

using nlohmann::json;

[[noreturn]] void fail(ErrorCode code, const std::string& layer, const std::string& pointer, const std::string& what) {
  throw Error(code, what, ErrorContext{.part = "architecture (DNN-parser)", .layer = layer, .pointer = pointer});
}

// {"convolutional": {"cn1": 64}} -> 64; the section and key are told apart in errors.
std::optional<std::int64_t> scalar(const json& root, const std::string& section, const std::string& key) {
  const auto s = root.find(section);
  if (s == root.end()) return std::nullopt;
  if (!s->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/" + section, "'" + section + "' must be an object");
  const auto v = s->find(key);
  if (v == s->end()) return std::nullopt;
  if (!v->is_number_integer())
    fail(ErrorCode::InvalidArchitecture, "", "/" + section + "/" + key, "'" + key + "' must be an integer");
  return v->get<std::int64_t>();
}

std::int64_t required(const json& root, const std::string& section, const std::string& key, const std::string& layer,
                      const std::string& why) {
  const auto v = scalar(root, section, key);
  if (!v) fail(ErrorCode::InvalidArchitecture, layer, "/" + section + "/" + key, "missing '" + key + "' (" + why + ")");
  return *v;
}

std::string text(const json& root, const std::string& section, const std::string& fallback) {
  const auto s = root.find(section);
  if (s == root.end()) return fallback;
  const json* v = &*s;
  if (s->is_object()) {
    const auto inner = s->find(section);
    if (inner == s->end()) return fallback;
    v = &*inner;
  }
  if (!v->is_string()) fail(ErrorCode::InvalidArchitecture, "", "/" + section, "'" + section + "' must be a string");
  return v->get<std::string>();
}

constexpr std::string_view kDoubleConv[] = {"doubleConv", "ElbowUNet", "UpDoubleConv", "UpDoubleConv_out"};
constexpr std::string_view kUnsupported[] = {"dsc1d", "cnn1d", "Avgpool1d", "Maxpool1d", "batchNorm1d", "lstm", "gru"};
constexpr std::string_view kKnown[] = {"dsc2d", "cnn2d",   "Avgpool2d",   "Maxpool2d", "Flatten",
                                       "dense", "dropout", "batchNorm2d", "relu",      "prelu",
                                       "tanh",  "softmax", "sigmoid",     "Upsample",  "output"};

bool in(const auto& list, std::string_view code) {
  return std::find(std::begin(list), std::end(list), code) != std::end(list);
}

}  // namespace

Architecture parseDnnParserFormat(const json& root, const Limits& limits) {
  static const std::set<std::string> kTop = {"input_shape",     "architecture",  "convolutional", "kernel",
                                             "pooling",         "stride",        "padding",       "padding_conv",
                                             "skip_connection", "data_format",   "backend",       "dense",
                                             "dropout",         "preprocessing", "output",        "postprocessing"};
  for (const auto& [key, value] : root.items()) {
    if (kTop.count(key) == 0) fail(ErrorCode::InvalidArchitecture, "", "/" + key, "unknown section '" + key + "'");
  }
  const auto& archObj = root.at("architecture");
  if (!archObj.is_object() || archObj.empty())
    fail(ErrorCode::InvalidArchitecture, "", "/architecture", "'architecture' must be a non-empty object");
  if (static_cast<std::int64_t>(archObj.size()) > limits.maxLayers) {
    fail(ErrorCode::ResourceLimit, "", "/architecture", std::to_string(archObj.size()) + " layers exceed the limit");
  }
  // Keys "1".."N" are the execution order.
  std::map<std::int64_t, std::pair<std::string, std::string>> order;  // n -> (key, code)
  for (const auto& [key, value] : archObj.items()) {
    const std::string ptr = "/architecture/" + key;
    std::size_t used = 0;
    std::int64_t n = 0;
    try {
      n = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || n < 1 || std::to_string(n) != key)
      fail(ErrorCode::InvalidArchitecture, key, ptr, "architecture keys must be \"1\"..\"N\"");
    if (!value.is_string()) fail(ErrorCode::InvalidArchitecture, key, ptr, "a layer code must be a string");
    order[n] = {key, value.get<std::string>()};
  }
  if (order.rbegin()->first != static_cast<std::int64_t>(order.size())) {
    fail(ErrorCode::InvalidArchitecture, "", "/architecture",
         "architecture keys must run from \"1\" to \"" + std::to_string(order.size()) + "\" without gaps");
  }

  // Input shape and data format.
  const std::string dataFormat = text(root, "data_format", "channels_last");
  if (dataFormat != "channels_last" && dataFormat != "channels_first") {
    fail(ErrorCode::InvalidArchitecture, "", "/data_format", "data_format must be channels_last or channels_first");
  }
  const std::string backend = text(root, "backend", "pytorch");
  if (backend != "pytorch" && backend != "tensorflow")
    fail(ErrorCode::InvalidArchitecture, "", "/backend", "backend must be pytorch or tensorflow");
  const auto s0 = required(root, "input_shape", "input_shape0", "", "input size");
  const auto s1 = required(root, "input_shape", "input_shape1", "", "input size");
  const auto s2 = required(root, "input_shape", "input_shape2", "", "input size");
  json ours = json::object();
  ours["format"] = "iodeep-architecture";
  ours["version"] = 1;
  if (dataFormat == "channels_last") {
    ours["input"] = {{"height", s0}, {"width", s1}, {"channels", s2}};
  } else {
    ours["input"] = {{"channels", s0}, {"height", s1}, {"width", s2}};
  }
  for (const char* section : {"preprocessing", "output", "postprocessing"}) {
    if (root.contains(section)) ours[section] = root.at(section);
  }
  const auto stride = scalar(root, "stride", "stride").value_or(1);
  const auto padding = scalar(root, "padding", "padding");
  const auto paddingConv = scalar(root, "padding_conv", "padding_conv").value_or(0);
  const auto labelShape = scalar(root, "input_shape", "label_shape");

  // Skip connections: {"source": "target"}: concat(source, target) feeds the layer after target.
  std::map<std::string, std::vector<std::string>> skipsInto;  // target -> sources
  if (const auto sk = root.find("skip_connection"); sk != root.end()) {
    if (!sk->is_object())
      fail(ErrorCode::InvalidArchitecture, "", "/skip_connection", "'skip_connection' must be an object");
    for (const auto& [source, target] : sk->items()) {
      const std::string ptr = "/skip_connection/" + source;
      if (!target.is_string())
        fail(ErrorCode::InvalidArchitecture, source, ptr, "a skip target must be a layer key string");
      if (!archObj.contains(source))
        fail(ErrorCode::DanglingInput, source, ptr, "skip source '" + source + "' is no layer");
      if (!archObj.contains(target.get<std::string>()))
        fail(ErrorCode::DanglingInput, target.get<std::string>(), ptr, "skip target is no layer");
      skipsInto[target.get<std::string>()].push_back(source);
    }
  }

  json layers = json::array();
  std::int64_t convIndex = 0;
  std::int64_t poolIndex = 0;
  std::int64_t denseIndex = 0;
  std::size_t denseTotal = 0;
  for (const auto& [n, kc] : order) {
    if (kc.second == "dense") ++denseTotal;
  }
  std::string pendingInput;  // a skip concat that feeds the next layer
  for (const auto& [n, kc] : order) {
    const auto& [key, code] = kc;
    const std::string ptr = "/architecture/" + key;
    json layer = {{"id", key}, {"$pointer", ptr}};
    if (!pendingInput.empty()) layer["inputs"] = json::array({pendingInput});
    pendingInput.clear();
    if (in(kUnsupported, code)) {
      fail(ErrorCode::UnsupportedLayer, key, ptr,
           "layer code '" + code + "' is not supported (only 2-D, non-recurrent layers are built)");
    }
    if (in(kDoubleConv, code)) {
      ++convIndex;
      const std::string c = std::to_string(convIndex);
      const auto k = required(root, "kernel", "kernel" + c, key, code + " takes kernel" + c);
      layer["type"] = "double_conv";
      layer["out_channels"] = required(root, "convolutional", "cn" + c, key, code + " takes cn" + c);
      layer["kernel_size"] = k;
      layer["padding"] = padding.value_or(k / 2);
      if (stride != 1)
        fail(ErrorCode::InvalidArchitecture, key, "/stride/stride", "double-conv blocks are built with stride 1");
    } else if (code == "cnn2d" || code == "dsc2d") {
      ++convIndex;
      const std::string c = std::to_string(convIndex);
      layer["type"] = "conv2d";
      layer["out_channels"] = required(root, "convolutional", "cn" + c, key, code + " takes cn" + c);
      layer["kernel_size"] = required(root, "kernel", "kernel" + c, key, code + " takes kernel" + c);
      layer["stride"] = stride;
      layer["padding"] = paddingConv;
      if (code == "dsc2d") {
        // depthwise separable: depthwise kxk ("<key>_dw") then pointwise 1x1 ("<key>") to cn
        json depthwise = layer;
        depthwise["id"] = key + "_dw";
        depthwise.erase("out_channels");
        depthwise["depthwise"] = true;
        layers.push_back(depthwise);
        layer.erase("inputs");
        layer["kernel_size"] = 1;
        layer["stride"] = 1;
        layer["padding"] = 0;
      }
    } else if (code == "Maxpool2d" || code == "Avgpool2d") {
      ++poolIndex;
      const std::string pidx = std::to_string(poolIndex);
      layer["type"] = code == "Maxpool2d" ? "maxpool2d" : "avgpool2d";
      layer["kernel_size"] = required(root, "pooling", "pool" + pidx, key, code + " takes pool" + pidx);
    } else if (code == "Upsample") {
      layer["type"] = "upsample";
      layer["scale_factor"] = 2;
      layer["mode"] = "nearest";
    } else if (code == "batchNorm2d") {
      layer["type"] = "batchnorm2d";
    } else if (code == "relu" || code == "tanh" || code == "sigmoid") {
      layer["type"] = code;
    } else if (code == "prelu") {
      layer["type"] = "prelu";
    } else if (code == "softmax") {
      layer["type"] = "softmax";
      layer["dim"] = 1;
    } else if (code == "dropout") {
      layer["type"] = "dropout";
    } else if (code == "Flatten") {
      layer["type"] = "flatten";
    } else if (code == "output") {
      layer["type"] = "identity";
    } else if (code == "dense") {
      ++denseIndex;
      const std::string d = std::to_string(denseIndex);
      auto units = scalar(root, "dense", "dense" + d);
      if (!units && static_cast<std::size_t>(denseIndex) == denseTotal && labelShape) units = labelShape;
      if (!units)
        fail(ErrorCode::InvalidArchitecture, key, "/dense/dense" + d,
             "dense layer " + d + " needs its units (dense.dense" + d + ")");
      layer["type"] = "linear";
      layer["out_features"] = *units;
    } else if (!in(kKnown, code)) {
      fail(ErrorCode::UnknownLayerType, key, ptr, "unknown DNN-parser layer code '" + code + "'");
    }
    layers.push_back(layer);
    if (const auto sk = skipsInto.find(key); sk != skipsInto.end()) {
      json inputs = json::array();
      for (const auto& source : sk->second) inputs.push_back(source);
      inputs.push_back(key);
      layers.push_back(
          {{"id", key + "_skip"}, {"type", "concat"}, {"inputs", inputs}, {"$pointer", "/skip_connection"}});
      pendingInput = key + "_skip";
    }
  }
  ours["layers"] = layers;
  Architecture arch = parseIodeepFormat(ours, limits);
  arch.format = Architecture::Format::DnnParser;
  // The published format has no pre-processing: its check_tensor_shape adapts the slice to the
  // network's channels (grey replicated, RGB to luminance). That is the import's default; a
  // "preprocessing" section (ours, e.g. added by `iodeep pack --preprocessing`) may say otherwise.
  if (const auto pre = ours.find("preprocessing"); pre == ours.end() || !pre->contains("channels")) {
    arch.preprocessing.channels = PreprocessingSpec::Channels::Adapt;
  }
  // label_shape must match what the network puts out.
  if (labelShape) {
    const auto report = inferShapes(arch, std::nullopt, limits);
    if (!report.outputShape.empty() && report.outputShape.front() != *labelShape) {
      fail(ErrorCode::ChannelMismatch, arch.output, "/input_shape/label_shape",
           "the network puts out " + std::to_string(report.outputShape.front()) + " channels, label_shape says " +
               std::to_string(*labelShape));
    }
  }
  return arch;
}

}  // namespace iodeep::netparser::detail
