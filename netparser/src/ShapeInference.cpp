// Static shape inference, parameter counts, the expected weights, and the shape table.
// Torch-free (also compiled into the fuzz targets).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser {

namespace {

using Shape = std::vector<std::int64_t>;

[[noreturn]] void fail(ErrorCode code, const Layer& l, const std::string& what) {
  throw Error(code, what, ErrorContext{.part = "architecture", .layer = l.id, .pointer = l.pointer});
}

// a*b with a limit: values beyond the limit (or overflow) are refused by the caller.
std::int64_t mul(std::int64_t a, std::int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > std::numeric_limits<std::int64_t>::max() / b) return std::numeric_limits<std::int64_t>::max();
  return a * b;
}
std::int64_t add(std::int64_t a, std::int64_t b) {
  if (a > std::numeric_limits<std::int64_t>::max() - b) return std::numeric_limits<std::int64_t>::max();
  return a + b;
}

std::int64_t elements(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) n = mul(n, d);
  return n;
}

std::int64_t pooledSize(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
  const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  std::int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  // PyTorch: the last window must start inside the input or left padding
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

// The expected tensors of one layer, given its input shape.
void tensorsOf(const Layer& l, const Shape& in, std::int64_t inChannels, std::vector<TensorSpec>& out) {
  const auto& p = l.params;
  const auto add1 = [&](const std::string& suffix, Shape shape, bool isInt = false, bool optional = false) {
    out.push_back({l.id + "." + suffix, std::move(shape), isInt, optional, l.id});
  };
  switch (l.type) {
    case LayerType::Conv2d: {
      const auto outC = p.depthwise ? inChannels : p.outChannels;
      const auto groups = std::max<std::int64_t>(1, p.depthwise ? inChannels : p.groups);
      add1("weight", {outC, inChannels / groups, p.kernelSize, p.kernelSize});
      if (p.bias) add1("bias", {outC});
      break;
    }
    case LayerType::ConvTranspose2d:
      add1("weight", {inChannels, p.outChannels / p.groups, p.kernelSize, p.kernelSize});
      if (p.bias) add1("bias", {p.outChannels});
      break;
    case LayerType::BatchNorm2d:
    case LayerType::InstanceNorm2d:
      if (p.affine) {
        add1("weight", {inChannels});
        add1("bias", {inChannels});
      }
      if (p.trackRunningStats) {
        add1("running_mean", {inChannels});
        add1("running_var", {inChannels});
        add1("num_batches_tracked", {}, true, true);
      }
      break;
    case LayerType::GroupNorm:
      if (p.affine) {
        add1("weight", {inChannels});
        add1("bias", {inChannels});
      }
      break;
    case LayerType::PReLU: add1("weight", {p.numParameters}); break;
    case LayerType::Linear:
      add1("weight", {p.outFeatures, in.empty() ? 0 : in[0]});
      if (p.bias) add1("bias", {p.outFeatures});
      break;
    default: break;
  }
}

}  // namespace

ShapeReport inferShapes(const Architecture& arch, std::optional<InputSpec> input, const Limits& lim) {
  ShapeReport report;
  if (arch.kind != Architecture::Kind::Graph) return report;
  const InputSpec spec = input.value_or(arch.input);
  if (spec.channels < 1 || spec.height < 1 || spec.width < 1 || spec.channels > lim.maxChannels ||
      spec.height > lim.maxSpatial || spec.width > lim.maxSpatial) {
    throw Error(ErrorCode::ResourceLimit,
                "input " + std::to_string(spec.channels) + "x" + std::to_string(spec.height) + "x" +
                    std::to_string(spec.width) + " is outside the limits",
                ErrorContext{.part = "architecture"});
  }
  std::unordered_map<std::string, Shape> shapes;
  shapes["input"] = {spec.channels, spec.height, spec.width};
  report.largestActivationBytes = mul(elements(shapes["input"]), 4);
  if (report.largestActivationBytes > lim.maxActivationBytes) {
    throw Error(ErrorCode::ResourceLimit,
                "the input needs " + std::to_string(report.largestActivationBytes / (1024LL * 1024)) +
                    " MiB, above the activation limit",
                ErrorContext{.part = "architecture", .layer = "input", .pointer = "/input"});
  }

  for (const Layer& l : arch.layers) {
    std::vector<Shape> in;
    for (const auto& name : l.inputs) {
      const auto it = shapes.find(name);
      if (it == shapes.end())
        fail(ErrorCode::DanglingInput, l, "input '" + name + "' is not computed before this layer");
      in.push_back(it->second);
    }
    const Shape& x = in.front();
    const auto& p = l.params;
    const auto needImage = [&] {
      if (x.size() != 3) fail(ErrorCode::ShapeMismatch, l, "needs a C,H,W input, got " + formatShape(x));
    };
    Shape out;
    std::int64_t params = 0;
    switch (l.type) {
      case LayerType::Conv2d:
      case LayerType::ConvTranspose2d: {
        needImage();
        const auto c = x[0];
        const auto outC = p.depthwise ? c : p.outChannels;
        const auto groups = p.depthwise ? c : p.groups;
        if (c % groups != 0 || outC % groups != 0) {
          fail(ErrorCode::ChannelMismatch, l,
               std::to_string(c) + " input and " + std::to_string(outC) +
                   " output channels are not divisible by groups = " + std::to_string(groups));
        }
        std::int64_t h = 0;
        std::int64_t w = 0;
        if (l.type == LayerType::Conv2d) {
          h = pooledSize(x[1], p.kernelSize, p.stride, p.padding, p.dilation, false);
          w = pooledSize(x[2], p.kernelSize, p.stride, p.padding, p.dilation, false);
        } else {
          h = (x[1] - 1) * p.stride - 2 * p.padding + p.dilation * (p.kernelSize - 1) + p.outputPadding + 1;
          w = (x[2] - 1) * p.stride - 2 * p.padding + p.dilation * (p.kernelSize - 1) + p.outputPadding + 1;
        }
        if (h < 1 || w < 1) {
          fail(ErrorCode::ShapeMismatch, l,
               "a " + std::to_string(p.kernelSize) + "x" + std::to_string(p.kernelSize) + " kernel does not fit the " +
                   std::to_string(x[1]) + "x" + std::to_string(x[2]) + " input");
        }
        out = {outC, h, w};
        params = add(mul(mul(outC, c / groups), mul(p.kernelSize, p.kernelSize)), p.bias ? outC : 0);
        break;
      }
      case LayerType::BatchNorm2d:
      case LayerType::InstanceNorm2d:
      case LayerType::GroupNorm:
        needImage();
        if (l.type == LayerType::GroupNorm && x[0] % p.numGroups != 0) {
          fail(ErrorCode::ChannelMismatch, l,
               std::to_string(x[0]) + " channels are not divisible by num_groups = " + std::to_string(p.numGroups));
        }
        out = x;
        params = (p.affine ? 2 * x[0] : 0) + (l.type != LayerType::GroupNorm && p.trackRunningStats ? 2 * x[0] + 1 : 0);
        break;
      case LayerType::PReLU:
        if (p.numParameters != 1 && p.numParameters != x[0]) {
          fail(ErrorCode::ChannelMismatch, l,
               "num_parameters must be 1 or the " + std::to_string(x[0]) + " input channels");
        }
        out = x;
        params = p.numParameters;
        break;
      case LayerType::Softmax:
        if (p.dim > static_cast<std::int64_t>(x.size()))
          fail(ErrorCode::ShapeMismatch, l, "dim " + std::to_string(p.dim) + " does not exist in " + formatShape(x));
        out = x;
        break;
      case LayerType::MaxPool2d:
      case LayerType::AvgPool2d: {
        needImage();
        const auto h = pooledSize(x[1], p.kernelSize, p.stride, p.padding, 1, p.ceilMode);
        const auto w = pooledSize(x[2], p.kernelSize, p.stride, p.padding, 1, p.ceilMode);
        if (h < 1 || w < 1)
          fail(ErrorCode::ShapeMismatch, l,
               "pooling makes the " + std::to_string(x[1]) + "x" + std::to_string(x[2]) + " input empty");
        out = {x[0], h, w};
        break;
      }
      case LayerType::AdaptiveAvgPool2d:
        needImage();
        out = {x[0], p.outputHeight, p.outputWidth};
        break;
      case LayerType::Upsample: {
        needImage();
        const auto h = static_cast<std::int64_t>(std::floor(static_cast<double>(x[1]) * p.scaleFactor));
        const auto w = static_cast<std::int64_t>(std::floor(static_cast<double>(x[2]) * p.scaleFactor));
        if (h < 1 || w < 1) fail(ErrorCode::ShapeMismatch, l, "upsampling makes the input empty");
        out = {x[0], h, w};
        break;
      }
      case LayerType::Concat: {
        out = x;
        for (std::size_t i = 1; i < in.size(); ++i) {
          if (in[i].size() != x.size() || (x.size() == 3 && (in[i][1] != x[1] || in[i][2] != x[2]))) {
            fail(ErrorCode::ShapeMismatch, l,
                 "cannot concatenate " + formatShape(x) + " with " + formatShape(in[i]) + " ('" + l.inputs[i] +
                     "'): spatial sizes differ");
          }
          out[0] = add(out[0], in[i][0]);
        }
        break;
      }
      case LayerType::Add:
        for (std::size_t i = 1; i < in.size(); ++i) {
          if (in[i] != x) {
            const bool channelsOnly = in[i].size() == 3 && x.size() == 3 && in[i][1] == x[1] && in[i][2] == x[2];
            fail(channelsOnly ? ErrorCode::ChannelMismatch : ErrorCode::ShapeMismatch, l,
                 "cannot add " + formatShape(x) + " and " + formatShape(in[i]) + " ('" + l.inputs[i] + "')");
          }
        }
        out = x;
        break;
      case LayerType::Flatten: out = {elements(x)}; break;
      case LayerType::Linear:
        if (x.size() != 1)
          fail(ErrorCode::ShapeMismatch, l, "needs a flat input (add a flatten layer), got " + formatShape(x));
        out = {p.outFeatures};
        params = add(mul(p.outFeatures, x[0]), p.bias ? p.outFeatures : 0);
        break;
      default: out = x; break;
    }
    if (out.size() == 3 && (out[0] > lim.maxChannels || out[1] > lim.maxSpatial || out[2] > lim.maxSpatial)) {
      fail(ErrorCode::ResourceLimit, l, "output " + formatShape(out) + " exceeds the channel or spatial limits");
    }
    const auto bytes = mul(elements(out), 4);
    if (bytes > lim.maxActivationBytes) {
      fail(ErrorCode::ResourceLimit, l,
           "its output " + formatShape(out) + " needs " + std::to_string(bytes / (1024LL * 1024)) +
               " MiB, above the limit of " + std::to_string(lim.maxActivationBytes / (1024LL * 1024)) + " MiB");
    }
    report.largestActivationBytes = std::max(report.largestActivationBytes, bytes);
    report.totalParameters = add(report.totalParameters, params);
    if (report.totalParameters > lim.maxParameters) {
      fail(ErrorCode::ResourceLimit, l,
           "the network reaches " + std::to_string(report.totalParameters) + " parameters, above the limit of " +
               std::to_string(lim.maxParameters));
    }
    report.layers.push_back({l.id, l.type, out, params});
    shapes[l.id] = std::move(out);
  }
  report.outputShape = shapes.at(arch.output);
  return report;
}

std::vector<TensorSpec> expectedTensors(const Architecture& arch) {
  std::vector<TensorSpec> out;
  if (arch.kind != Architecture::Kind::Graph) return out;
  const ShapeReport report = inferShapes(arch);
  std::unordered_map<std::string, Shape> shapes;
  shapes["input"] = {arch.input.channels, arch.input.height, arch.input.width};
  for (const auto& ls : report.layers) shapes[ls.id] = ls.shape;
  for (const Layer& l : arch.layers) {
    const Shape& in = shapes.at(l.inputs.front());
    tensorsOf(l, in, in.empty() ? 0 : in[0], out);
  }
  return out;
}

std::string formatShapeTable(const ShapeReport& report) {
  std::size_t width = 8;
  for (const auto& l : report.layers) width = std::max(width, l.id.size() + 2);
  std::ostringstream o;
  o << std::left << std::setw(static_cast<int>(width)) << "layer" << std::setw(20) << "type" << std::setw(22)
    << "output"
    << "parameters\n";
  for (const auto& l : report.layers) {
    o << std::setw(static_cast<int>(width)) << l.id << std::setw(20) << toString(l.type) << std::setw(22)
      << formatShape(l.shape) << l.parameters << "\n";
  }
  o << "output " << formatShape(report.outputShape) << ", " << report.totalParameters
    << " parameters, largest activation " << (report.largestActivationBytes + 1023) / 1024 << " KiB\n";
  return o.str();
}

std::string formatShape(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

InputSpec parseInputSpec(std::string_view s) {
  InputSpec spec;
  std::int64_t* fields[] = {&spec.channels, &spec.height, &spec.width};
  std::size_t field = 0;
  std::int64_t value = -1;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == 'x' || s[i] == 'X') {
      if (value < 1 || field > 2) {
        field = 99;
        break;
      }
      *fields[field++] = value;
      value = -1;
      continue;
    }
    if (s[i] < '0' || s[i] > '9' || value > 1'000'000) {
      field = 99;
      break;
    }
    value = (value < 0 ? 0 : value * 10) + (s[i] - '0');
  }
  if (field != 3)
    throw Error(ErrorCode::InvalidArgument, "input '" + std::string(s) + "' is not CxHxW (e.g. 1x256x256)");
  return spec;
}

}  // namespace iodeep::netparser
