// Our architecture JSON and the DNN-parser format -> one validated graph of primitive layers.
// Torch-free (also compiled into the fuzz targets).
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "ArchitectureInternal.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser {

namespace {

using nlohmann::json;

constexpr std::string_view kInputId = "input";

[[noreturn]] void fail(ErrorCode code, const std::string& layer, const std::string& pointer, const std::string& what) {
  throw Error(code, what, ErrorContext{.part = "architecture", .layer = layer, .pointer = pointer});
}

std::string escapePointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

// Reads the typed parameters of one layer object, refusing unknown keys and wrong types.
class ParamReader {
 public:
  ParamReader(const json& obj, std::string layer, std::string pointer, const Limits& limits)
      : obj_(obj), layer_(std::move(layer)), pointer_(std::move(pointer)), limits_(limits) {}

  std::int64_t integer(const std::string& key, std::optional<std::int64_t> fallback, std::int64_t min,
                       std::int64_t max) {
    used_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (!fallback) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "missing required integer '" + key + "'");
      return *fallback;
    }
    if (!it->is_number_integer())
      fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be an integer");
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(ErrorCode::ResourceLimit, layer_, at(key), "'" + key + "' is too large");
    }
    const auto v = it->get<std::int64_t>();
    if (v < min)
      fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be at least " + std::to_string(min));
    if (v > max) {
      fail(ErrorCode::ResourceLimit, layer_, at(key),
           "'" + key + "' = " + std::to_string(v) + " exceeds the limit " + std::to_string(max));
    }
    return v;
  }
  double number(const std::string& key, double fallback, double min, double max) {
    used_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_number()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be a number");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < min || v > max) {
      fail(ErrorCode::InvalidArchitecture, layer_, at(key),
           "'" + key + "' must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return v;
  }
  bool boolean(const std::string& key, bool fallback) {
    used_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_boolean()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be true or false");
    return it->get<bool>();
  }
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<std::string_view> allowed) {
    used_.insert(key);
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fallback;
    if (!it->is_string()) fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be a string");
    auto v = it->get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(ErrorCode::InvalidArchitecture, layer_, at(key), "'" + key + "' must be one of: " + list);
    }
    return v;
  }
  // padding: an integer or "same" (odd kernels, stride 1)
  std::int64_t padding(std::int64_t kernel, std::int64_t dilation, std::int64_t stride, std::int64_t fallback) {
    used_.insert("padding");
    const auto it = obj_.find("padding");
    if (it != obj_.end() && it->is_string()) {
      if (it->get<std::string>() != "same")
        fail(ErrorCode::InvalidArchitecture, layer_, at("padding"), "padding must be an integer or \"same\"");
      if (kernel % 2 == 0 || stride != 1) {
        fail(ErrorCode::InvalidArchitecture, layer_, at("padding"),
             "padding \"same\" needs an odd kernel and stride 1");
      }
      return dilation * (kernel - 1) / 2;
    }
    return integer("padding", fallback, 0, limits_.maxKernel);
  }
  void touch(const std::string& key) { used_.insert(key); }
  [[nodiscard]] const json& object() const { return obj_; }
  // Unknown keys are typos: refuse them.
  void finish() {
    for (const auto& [key, value] : obj_.items()) {
      if (used_.count(key) == 0 && key != "comment" && key != "$pointer") {
        fail(ErrorCode::InvalidArchitecture, layer_, at(key), "unknown parameter '" + key + "'");
      }
    }
  }
  std::string at(const std::string& key) const { return pointer_ + "/" + escapePointer(key); }

 private:
  const json& obj_;
  std::string layer_;
  std::string pointer_;
  const Limits& limits_;
  std::set<std::string> used_;
};

struct TypeName {
  std::string_view name;
  LayerType type;
};
constexpr TypeName kTypes[] = {
    {"conv2d", LayerType::Conv2d},
    {"conv_transpose2d", LayerType::ConvTranspose2d},
    {"batchnorm2d", LayerType::BatchNorm2d},
    {"instancenorm2d", LayerType::InstanceNorm2d},
    {"groupnorm", LayerType::GroupNorm},
    {"relu", LayerType::ReLU},
    {"leaky_relu", LayerType::LeakyReLU},
    {"prelu", LayerType::PReLU},
    {"elu", LayerType::ELU},
    {"gelu", LayerType::GELU},
    {"sigmoid", LayerType::Sigmoid},
    {"softmax", LayerType::Softmax},
    {"tanh", LayerType::Tanh},
    {"maxpool2d", LayerType::MaxPool2d},
    {"avgpool2d", LayerType::AvgPool2d},
    {"adaptive_avgpool2d", LayerType::AdaptiveAvgPool2d},
    {"upsample", LayerType::Upsample},
    {"dropout", LayerType::Dropout},
    {"concat", LayerType::Concat},
    {"add", LayerType::Add},
    {"flatten", LayerType::Flatten},
    {"linear", LayerType::Linear},
    {"identity", LayerType::Identity},
};

bool validId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Reads the parameters of a primitive layer type into @p layer.
void readParams(Layer& layer, ParamReader& r, const Limits& lim) {
  auto& p = layer.params;
  switch (layer.type) {
    case LayerType::Conv2d:
    case LayerType::ConvTranspose2d:
      p.depthwise = layer.type == LayerType::Conv2d && r.boolean("depthwise", false);
      p.outChannels = p.depthwise ? 0 : r.integer("out_channels", std::nullopt, 1, lim.maxChannels);
      p.kernelSize = r.integer("kernel_size", std::nullopt, 1, lim.maxKernel);
      p.stride = r.integer("stride", 1, 1, lim.maxKernel);
      p.dilation = r.integer("dilation", 1, 1, lim.maxKernel);
      p.padding = r.padding(p.kernelSize, p.dilation, p.stride, 0);
      p.groups = p.depthwise ? 1 : r.integer("groups", 1, 1, lim.maxChannels);
      p.bias = r.boolean("bias", true);
      if (layer.type == LayerType::ConvTranspose2d) {
        p.outputPadding = r.integer("output_padding", 0, 0, lim.maxKernel);
        if (p.outputPadding >= std::max(p.stride, p.dilation)) {
          fail(ErrorCode::InvalidArchitecture, layer.id, r.at("output_padding"),
               "output_padding must be smaller than stride or dilation");
        }
      }
      break;
    case LayerType::BatchNorm2d:
      p.eps = r.number("eps", 1e-5, 1e-12, 1.0);
      p.affine = r.boolean("affine", true);
      p.trackRunningStats = r.boolean("track_running_stats", true);
      r.touch("momentum");  // training only
      break;
    case LayerType::InstanceNorm2d:
      p.eps = r.number("eps", 1e-5, 1e-12, 1.0);
      p.affine = r.boolean("affine", false);
      p.trackRunningStats = r.boolean("track_running_stats", false);
      r.touch("momentum");
      break;
    case LayerType::GroupNorm:
      p.numGroups = r.integer("num_groups", std::nullopt, 1, lim.maxChannels);
      p.eps = r.number("eps", 1e-5, 1e-12, 1.0);
      p.affine = r.boolean("affine", true);
      break;
    case LayerType::LeakyReLU: p.negativeSlope = r.number("negative_slope", 0.01, -1e6, 1e6); break;
    case LayerType::PReLU: p.numParameters = r.integer("num_parameters", 1, 1, lim.maxChannels); break;
    case LayerType::ELU: p.alpha = r.number("alpha", 1.0, 0.0, 1e6); break;
    case LayerType::GELU: p.tanhApproximation = r.choice("approximate", "none", {"none", "tanh"}) == "tanh"; break;
    case LayerType::Softmax: p.dim = r.integer("dim", 1, 1, 3); break;
    case LayerType::MaxPool2d:
    case LayerType::AvgPool2d:
      p.kernelSize = r.integer("kernel_size", std::nullopt, 1, lim.maxKernel);
      p.stride = r.integer("stride", p.kernelSize, 1, lim.maxKernel);
      p.padding = r.integer("padding", 0, 0, lim.maxKernel);
      if (p.padding * 2 > p.kernelSize) {
        fail(ErrorCode::InvalidArchitecture, layer.id, r.at("padding"), "padding must be at most half the kernel size");
      }
      p.ceilMode = r.boolean("ceil_mode", false);
      break;
    case LayerType::AdaptiveAvgPool2d: {
      r.touch("output_size");
      const json& obj = r.object();
      const auto it = obj.find("output_size");
      const auto dim = [&](const json& v, const std::string& ptr) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > lim.maxSpatial) {
          fail(ErrorCode::InvalidArchitecture, layer.id, ptr,
               "output_size must be a positive integer or [height, width]");
        }
        return v.get<std::int64_t>();
      };
      if (it == obj.end()) {
        p.outputHeight = p.outputWidth = 1;
      } else if (it->is_array() && it->size() == 2) {
        p.outputHeight = dim((*it)[0], r.at("output_size") + "/0");
        p.outputWidth = dim((*it)[1], r.at("output_size") + "/1");
      } else {
        p.outputHeight = p.outputWidth = dim(*it, r.at("output_size"));
      }
      break;
    }
    case LayerType::Upsample:
      p.scaleFactor = r.number("scale_factor", 2.0, 0.01, 64.0);
      p.bilinear = r.choice("mode", "nearest", {"nearest", "bilinear"}) == "bilinear";
      p.alignCorners = r.boolean("align_corners", false);
      break;
    case LayerType::Dropout: p.dropout = r.number("p", 0.5, 0.0, 1.0); break;
    case LayerType::Linear:
      p.outFeatures = r.integer("out_features", std::nullopt, 1, lim.maxChannels * 64);
      p.bias = r.boolean("bias", true);
      break;
    case LayerType::Flatten: r.touch("start_dim"); break;
    default: break;
  }
}

struct RawLayer {
  Layer layer;
};

void parseProcessing(const json& root, Architecture& arch, const Limits& lim) {
  if (const auto it = root.find("preprocessing"); it != root.end()) {
    auto& p = arch.preprocessing;
    const json& pre = *it;
    static const std::set<std::string> keys = {"window", "normalize", "resize", "channels", "comment"};
    for (const auto& [k, v] : pre.items()) {
      if (keys.count(k) == 0)
        fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/" + escapePointer(k), "unknown key '" + k + "'");
    }
    if (const auto w = pre.find("window"); w != pre.end()) {
      if (!w->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "must be an object");
      ParamReader r(*w, "", "/preprocessing/window", lim);
      const auto mode = r.choice("mode", "none", {"none", "fixed", "percentile", "dicom"});
      if (mode == "fixed") {
        p.window = PreprocessingSpec::Window::Fixed;
        p.windowCenter = r.number("center", 0.0, -1e9, 1e9);
        p.windowWidth = r.number("width", 0.0, 1e-9, 1e9);
        if (!w->contains("center") || !w->contains("width")) {
          fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "a fixed window needs center and width");
        }
      } else if (mode == "percentile") {
        p.window = PreprocessingSpec::Window::Percentile;
        p.percentileLow = r.number("low", 1.0, 0.0, 100.0);
        p.percentileHigh = r.number("high", 99.0, 0.0, 100.0);
        if (p.percentileLow >= p.percentileHigh)
          fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/window", "low must be below high");
      } else if (mode == "dicom") {
        p.window = PreprocessingSpec::Window::Dicom;
      }
      r.finish();
    }
    if (const auto n = pre.find("normalize"); n != pre.end()) {
      if (!n->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/normalize", "must be an object");
      ParamReader r(*n, "", "/preprocessing/normalize", lim);
      const auto mode = r.choice("mode", "none", {"none", "minmax", "zscore", "fixed"});
      p.normalize = mode == "minmax"   ? PreprocessingSpec::Normalize::MinMax
                    : mode == "zscore" ? PreprocessingSpec::Normalize::ZScore
                    : mode == "fixed"  ? PreprocessingSpec::Normalize::Fixed
                                       : PreprocessingSpec::Normalize::None;
      p.mean = r.number("mean", 0.0, -1e12, 1e12);
      p.std = r.number("std", 1.0, 1e-12, 1e12);
      r.finish();
    }
    if (const auto z = pre.find("resize"); z != pre.end()) {
      if (!z->is_object()) fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/resize", "must be an object");
      ParamReader r(*z, "", "/preprocessing/resize", lim);
      p.keepAspect = r.choice("mode", "pad", {"pad", "stretch"}) == "pad";
      p.padValue = r.number("pad_value", 0.0, -1e12, 1e12);
      r.touch("interpolation");
      r.finish();
    }
    if (const auto c = pre.find("channels"); c != pre.end()) {
      if (!c->is_string() || (*c != "strict" && *c != "replicate" && *c != "luminance")) {
        fail(ErrorCode::InvalidArchitecture, "", "/preprocessing/channels",
             "channels must be strict, replicate or luminance");
      }
      p.channels = *c == "replicate"   ? PreprocessingSpec::Channels::Replicate
                   : *c == "luminance" ? PreprocessingSpec::Channels::Luminance
                                       : PreprocessingSpec::Channels::Strict;
    }
  }
  if (const auto it = root.find("output"); it != root.end()) {
    auto& o = arch.outputSpec;
    ParamReader r(*it, "", "/output", lim);
    const auto act = r.choice("activation", "sigmoid", {"none", "sigmoid", "softmax"});
    o.activation = act == "none"      ? OutputSpec::Activation::None
                   : act == "softmax" ? OutputSpec::Activation::Softmax
                                      : OutputSpec::Activation::Sigmoid;
    o.threshold = r.number("threshold", 0.5, -1e9, 1e9);
    r.touch("labels");
    r.finish();
    if (const auto labels = it->find("labels"); labels != it->end()) {
      if (!labels->is_array() || labels->size() > 1024)
        fail(ErrorCode::InvalidArchitecture, "", "/output/labels", "labels must be an array (at most 1024)");
      std::set<std::int64_t> seen;
      for (std::size_t i = 0; i < labels->size(); ++i) {
        const std::string ptr = "/output/labels/" + std::to_string(i);
        const json& l = (*labels)[i];
        if (!l.is_object()) fail(ErrorCode::InvalidArchitecture, "", ptr, "a label must be an object");
        ParamReader lr(l, "", ptr, lim);
        LabelSpec spec;
        spec.index = lr.integer("index", std::nullopt, 0, lim.maxChannels);
        if (!seen.insert(spec.index).second)
          fail(ErrorCode::InvalidArchitecture, "", ptr + "/index", "duplicate label index");
        lr.touch("name");
        lr.touch("color");
        lr.touch("interpreted_type");
        lr.finish();
        const auto name = l.find("name");
        if (name == l.end() || !name->is_string() || name->get<std::string>().empty() ||
            name->get<std::string>().size() > 64) {
          fail(ErrorCode::InvalidArchitecture, "", ptr + "/name", "a label needs a name of 1-64 characters");
        }
        spec.name = name->get<std::string>();
        if (const auto c = l.find("color"); c != l.end()) {
          if (!c->is_array() || c->size() != 3)
            fail(ErrorCode::InvalidArchitecture, "", ptr + "/color", "color must be [r, g, b]");
          for (std::size_t k = 0; k < 3; ++k) {
            if (!(*c)[k].is_number_integer() || (*c)[k].get<std::int64_t>() < 0 || (*c)[k].get<std::int64_t>() > 255) {
              fail(ErrorCode::InvalidArchitecture, "", ptr + "/color/" + std::to_string(k),
                   "colour components are 0-255");
            }
            spec.color[k] = static_cast<std::uint8_t>((*c)[k].get<std::int64_t>());
          }
        }
        if (const auto t = l.find("interpreted_type"); t != l.end()) {
          static const std::set<std::string> types = {"EXTERNAL",
                                                      "PTV",
                                                      "CTV",
                                                      "GTV",
                                                      "TREATED_VOLUME",
                                                      "IRRAD_VOLUME",
                                                      "OAR",
                                                      "BOLUS",
                                                      "AVOIDANCE",
                                                      "ORGAN",
                                                      "MARKER",
                                                      "REGISTRATION",
                                                      "ISOCENTER",
                                                      "CONTRAST_AGENT",
                                                      "CAVITY",
                                                      "BRACHY_CHANNEL",
                                                      "BRACHY_ACCESSORY",
                                                      "BRACHY_SRC_APP",
                                                      "BRACHY_CHNL_SHLD",
                                                      "SUPPORT",
                                                      "FIXATION",
                                                      "DOSE_REGION",
                                                      "CONTROL",
                                                      "DOSE_MEASUREMENT"};
          if (!t->is_string() || types.count(t->get<std::string>()) == 0) {
            fail(ErrorCode::InvalidArchitecture, "", ptr + "/interpreted_type",
                 "not an RT ROI Interpreted Type (e.g. ORGAN, GTV)");
          }
          spec.interpretedType = t->get<std::string>();
        }
        o.labels.push_back(std::move(spec));
      }
    }
  }
  if (const auto it = root.find("postprocessing"); it != root.end()) {
    auto& p = arch.postprocessing;
    ParamReader r(*it, "", "/postprocessing", lim);
    p.minAreaMm2 = r.number("min_area_mm2", 0.0, 0.0, 1e12);
    p.minAreaPixels = r.number("min_area_px", 0.0, 0.0, 1e12);
    p.keepLargest = r.integer("keep_largest", 0, 0, 100000);
    p.fillHoles = r.boolean("fill_holes", false);
    p.simplifyPixels = r.number("simplify_px", 0.0, 0.0, 1000.0);
    r.finish();
  }
}

}  // namespace

std::string_view toString(LayerType type) noexcept {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "?";
}

namespace detail {

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
  // input
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
  for (const char* section : {"preprocessing", "output", "postprocessing"}) {
    if (const auto s = root.find(section); s != root.end()) {
      if (!s->is_object())
        fail(ErrorCode::InvalidArchitecture, "", std::string("/") + section,
             std::string(section) + " must be an object");
      const std::string text = s->dump();
      if (std::string_view(section) == "preprocessing")
        arch.preprocessingJson = text;
      else if (std::string_view(section) == "output")
        arch.outputJson = text;
      else
        arch.postprocessingJson = text;
    }
  }
  parseProcessing(root, arch, lim);
  if (kind == "torchscript") {
    arch.kind = Architecture::Kind::TorchScript;
    if (root.contains("layers"))
      fail(ErrorCode::InvalidArchitecture, "", "/layers",
           "a torchscript network has no layers: its graph is the TorchScript archive");
    return arch;
  }

  const auto layersIt = root.find("layers");
  if (layersIt == root.end() || !layersIt->is_array() || layersIt->empty()) {
    fail(ErrorCode::InvalidArchitecture, "", "/layers", "missing non-empty array 'layers'");
  }
  const json& layers = *layersIt;
  if (static_cast<std::int64_t>(layers.size()) > lim.maxLayers) {
    fail(ErrorCode::ResourceLimit, "", "/layers",
         std::to_string(layers.size()) + " layers exceed the limit " + std::to_string(lim.maxLayers));
  }

  std::vector<RawLayer> raw;
  std::unordered_map<std::string, std::string> alias;  // block id -> id of its last primitive layer
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

    ParamReader r(obj, id, pointer, lim);
    r.touch("id");
    r.touch("type");
    r.touch("inputs");
    if (type == "double_conv") {
      // conv -> [bn] -> act -> conv -> [bn] -> act, as "<id>.conv1", "<id>.bn1", "<id>.act1", ...
      const auto out = r.integer("out_channels", std::nullopt, 1, lim.maxChannels);
      const auto mid = r.integer("mid_channels", out, 1, lim.maxChannels);
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
        conv.params.outChannels = n == 1 ? mid : out;
        conv.params.kernelSize = k;
        conv.params.padding = pad;
        conv.params.bias = bias;
        raw.push_back({conv});
        std::string last = conv.id;
        if (bn) {
          raw.push_back({Layer{id + ".bn" + suffix, LayerType::BatchNorm2d, {last}, {}, pointer}});
          last = id + ".bn" + suffix;
        }
        LayerType at = LayerType::ReLU;
        if (act == "leaky_relu") at = LayerType::LeakyReLU;
        if (act == "elu") at = LayerType::ELU;
        if (act == "gelu") at = LayerType::GELU;
        raw.push_back({Layer{id + ".act" + suffix, at, {last}, {}, pointer}});
        in1 = id + ".act" + suffix;
      }
      alias[id] = in1;
      previous = id;
      continue;
    }
    const auto* match =
        std::find_if(std::begin(kTypes), std::end(kTypes), [&](const TypeName& t) { return t.name == type; });
    if (match == std::end(kTypes)) {
      fail(ErrorCode::UnknownLayerType, id, pointer + "/type", "unknown layer type '" + type + "'");
    }
    Layer layer{id, match->type, inputs, {}, pointer};
    readParams(layer, r, lim);
    r.finish();
    const bool join = layer.type == LayerType::Concat || layer.type == LayerType::Add;
    if (join && layer.inputs.size() < 2)
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs",
           toStringJoin(layer.type) + " needs at least two inputs");
    if (!join && layer.inputs.size() != 1)
      fail(ErrorCode::InvalidArchitecture, id, pointer + "/inputs", "this layer takes exactly one input");
    raw.push_back({layer});
    previous = id;
  }
  if (static_cast<std::int64_t>(raw.size()) > lim.maxLayers) {
    fail(ErrorCode::ResourceLimit, "", "/layers",
         std::to_string(raw.size()) + " primitive layers exceed the limit " + std::to_string(lim.maxLayers));
  }

  // Resolve block aliases and check that every input exists.
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < raw.size(); ++i) index.emplace(raw[i].layer.id, i);
  for (auto& rl : raw) {
    for (std::size_t j = 0; j < rl.layer.inputs.size(); ++j) {
      auto& name = rl.layer.inputs[j];
      if (const auto a = alias.find(name); a != alias.end()) name = a->second;
      if (name != kInputId && index.count(name) == 0) {
        fail(ErrorCode::DanglingInput, rl.layer.id, rl.layer.pointer + "/inputs/" + std::to_string(j),
             "input '" + name + "' names no layer");
      }
    }
  }
  // Topological order (Kahn), stable with respect to the listed order.
  std::vector<std::vector<std::size_t>> users(raw.size());
  std::vector<std::size_t> pending(raw.size(), 0);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (const auto& name : raw[i].layer.inputs) {
      if (name == kInputId) continue;
      users[index.at(name)].push_back(i);
      ++pending[i];
    }
  }
  std::set<std::size_t> ready;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  while (!ready.empty()) {
    const std::size_t i = *ready.begin();
    ready.erase(ready.begin());
    arch.layers.push_back(raw[i].layer);
    for (std::size_t u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (arch.layers.size() != raw.size()) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (pending[i] != 0)
        fail(ErrorCode::CyclicGraph, raw[i].layer.id, raw[i].layer.pointer + "/inputs", "its inputs form a cycle");
    }
  }
  // Output layer
  if (const auto o = root.find("output_layer"); o != root.end()) {
    if (!o->is_string()) fail(ErrorCode::InvalidArchitecture, "", "/output_layer", "output_layer must be a layer id");
    std::string name = o->get<std::string>();
    if (const auto a = alias.find(name); a != alias.end()) name = a->second;
    if (index.count(name) == 0)
      fail(ErrorCode::DanglingInput, "", "/output_layer", "output_layer '" + name + "' names no layer");
    arch.output = name;
  } else {
    arch.output = raw.back().layer.id;
  }
  return arch;
}

std::string toStringJoin(LayerType t) {
  return std::string(toString(t));
}

}  // namespace detail

Architecture parseArchitecture(std::string_view text, const Limits& limits) {
  if (text.size() > limits.maxJsonBytes) {
    throw Error(ErrorCode::ResourceLimit, "architecture: " + std::to_string(text.size()) +
                                              " bytes of JSON exceed the limit " + std::to_string(limits.maxJsonBytes));
  }
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::size_t line = 1;
    std::size_t col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error(ErrorCode::InvalidJson,
                "architecture:" + std::to_string(line) + ":" + std::to_string(col) + ": not JSON");
  } catch (const json::exception& e) {  // e.g. out_of_range for a number like 2e999
    throw Error(ErrorCode::InvalidJson, std::string("architecture: not usable JSON: ") + e.what());
  }
  Architecture arch;
  if (root.is_object() && root.contains("architecture") && !root.contains("layers")) {
    arch = detail::parseDnnParserFormat(root, limits);
  } else {
    arch = detail::parseIodeepFormat(root, limits);
  }
  if (arch.kind == Architecture::Kind::Graph) {
    const auto report = inferShapes(arch, std::nullopt, limits);
    const std::int64_t channels = report.outputShape.empty() ? 0 : report.outputShape.front();
    for (std::size_t i = 0; i < arch.outputSpec.labels.size(); ++i) {
      if (report.outputShape.size() != 3 || arch.outputSpec.labels[i].index >= channels) {
        throw Error(ErrorCode::ChannelMismatch,
                    "architecture: label '" + arch.outputSpec.labels[i].name + "' (/output/labels/" +
                        std::to_string(i) + "/index) does not fit the network's " + std::to_string(channels) +
                        "-channel output",
                    arch.output, "/output/labels/" + std::to_string(i) + "/index");
      }
    }
  }
  return arch;
}

}  // namespace iodeep::netparser
