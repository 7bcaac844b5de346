// The primitive layer types of our architecture format and the parameters each reads.
#include <algorithm>
#include <iterator>

#include "ArchitectureInternal.hpp"
#include "ParamReader.hpp"

namespace iodeep::netparser {

namespace {

using nlohmann::json;

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

}  // namespace

std::string_view toString(LayerType type) noexcept {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "?";
}

namespace detail {

std::optional<LayerType> layerTypeFromName(std::string_view name) noexcept {
  const auto* match =
      std::find_if(std::begin(kTypes), std::end(kTypes), [&](const TypeName& t) { return t.name == name; });
  if (match == std::end(kTypes)) return std::nullopt;
  return match->type;
}

void readLayerParams(Layer& layer, ParamReader& r, const Limits& lim) {
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

}  // namespace detail

}  // namespace iodeep::netparser
