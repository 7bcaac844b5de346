// The inference module's networks: the graph interpreter over ATen operators and TorchScript
// networks. Built into libiodeep-torch.so (netparser/src/TorchModule.hpp), one of the two
// translation units of the project that include libtorch headers.
#include "../TorchModule.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <atomic>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"

namespace iodeep::netparser {

namespace {

std::atomic<bool> threadsConfigured{false};

std::string firstLine(const c10::Error& e) {
  std::string w = e.what_without_backtrace();
  return w.substr(0, w.find('\n'));
}

at::ScalarType scalarType(iod::DType d) {
  switch (d) {
    case iod::DType::F64: return at::kDouble;
    case iod::DType::F32: return at::kFloat;
    case iod::DType::F16: return at::kHalf;
    case iod::DType::BF16: return at::kBFloat16;
    case iod::DType::I64: return at::kLong;
    case iod::DType::I32: return at::kInt;
    case iod::DType::I16: return at::kShort;
    case iod::DType::I8: return at::kChar;
    case iod::DType::U8: return at::kByte;
    case iod::DType::Bool: return at::kBool;
  }
  return at::kFloat;
}

// One primitive layer, bound to its tensors.
struct BoundLayer {
  const Layer* layer{nullptr};
  std::vector<std::size_t> inputs;  // indices into the value table (0 = network input)
  at::Tensor weight, bias, runningMean, runningVar;
  std::int64_t groups{1};
  std::int64_t lastUse{0};  // index of the last layer that reads this layer's output
};

}  // namespace

class TorchModel final : public torchmodule::Model {
 public:
  [[nodiscard]] FloatTensor forward(std::span<const std::int64_t> shape, std::span<const float> values) const override;
  [[nodiscard]] std::size_t bytes() const noexcept override { return bytes_; }

  Architecture arch;
  std::vector<BoundLayer> layers;
  std::size_t outputIndex{0};                        // value table index of the output
  mutable std::optional<torch::jit::Module> script;  // forward() is not const; guarded by scriptMutex
  mutable std::mutex scriptMutex;
  std::size_t bytes_{0};    // weights held (Network::bytes)
  iod::ByteBuffer weights;  // what the tensors view
  std::size_t viewedTensors{0};

  [[nodiscard]] at::Tensor run(const at::Tensor& x) const;
};

int configureThreadsImpl(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  threadsConfigured = true;
  return at::get_num_threads();
}

std::unique_ptr<torchmodule::Model> buildModel(const Architecture& arch, const iod::ByteBuffer& weights,
                                               const BuildOptions& options) {
  // libtorch starts with one intra-op thread here: use the cores unless told otherwise.
  if (!threadsConfigured.load()) configureThreadsImpl(0);
  c10::InferenceMode guard;
  auto impl = std::make_unique<TorchModel>();
  impl->arch = arch;
  try {
    if (arch.kind == Architecture::Kind::TorchScript) {
      std::istringstream in(std::string(reinterpret_cast<const char*>(weights.data()), weights.size()));
      try {
        impl->script = torch::jit::load(in, c10::Device(c10::kCPU));
      } catch (const c10::Error& e) {
        throw Error(ErrorCode::UnsupportedWeights, "TorchScript archive does not load: " + firstLine(e));
      }
      impl->script->eval();
      impl->bytes_ = weights.size();
      return impl;
    }

    const auto shapes = inferShapes(arch, std::nullopt, options.limits);
    checkWeights(arch, weights);  // every problem listed before anything is allocated
    const auto st = iod::Safetensors::parse(weights, "weights");
    std::unordered_map<std::string, const iod::TensorInfo*> byName;
    for (const auto& t : st.tensors()) byName.emplace(t.name, &t);
    // The tensors view the weights where they lie (a mapped file: no copy) when their alignment
    // allows; the model keeps the buffer alive. A misaligned tensor gets a copy of its own.
    impl->weights = weights;
    const auto tensor = [&](const std::string& name) -> at::Tensor {
      const auto it = byName.find(name);
      if (it == byName.end()) return {};
      const auto& t = *it->second;
      const auto data = st.data(t);
      std::vector<std::int64_t> shape = t.shape;
      const auto dtype = at::TensorOptions().dtype(scalarType(t.dtype));
      const at::Tensor view = at::from_blob(const_cast<std::byte*>(data.data()), shape, dtype);
      const auto address = reinterpret_cast<std::uintptr_t>(data.data());
      if (address % static_cast<std::uintptr_t>(view.element_size()) == 0) {
        ++impl->viewedTensors;
        return view;  // read only: inference never writes a weight
      }
      return view.clone();
    };

    std::unordered_map<std::string, std::size_t> valueIndex{{"input", 0}};
    std::unordered_map<std::string, std::int64_t> inChannels;
    {
      std::unordered_map<std::string, std::int64_t> outC{{"input", arch.input.channels}};
      for (const auto& ls : shapes.layers) outC[ls.id] = ls.shape.empty() ? 0 : ls.shape[0];
      for (const auto& l : arch.layers) inChannels[l.id] = outC.at(l.inputs.front());
    }
    // Bound layers point into impl->arch, which the network owns (not into the caller's copy).
    for (const Layer& l : impl->arch.layers) {
      BoundLayer b;
      b.layer = &l;
      for (const auto& name : l.inputs) b.inputs.push_back(valueIndex.at(name));
      b.weight = tensor(l.id + ".weight");
      b.bias = tensor(l.id + ".bias");
      b.runningMean = tensor(l.id + ".running_mean");
      b.runningVar = tensor(l.id + ".running_var");
      b.groups = l.params.depthwise ? inChannels.at(l.id) : l.params.groups;
      for (const at::Tensor* t : {&b.weight, &b.bias, &b.runningMean, &b.runningVar}) {
        if (t->defined()) impl->bytes_ += t->nbytes();
      }
      impl->layers.push_back(std::move(b));
      valueIndex[l.id] = impl->layers.size();
    }
    impl->outputIndex = valueIndex.at(arch.output);
    // Free each intermediate result after its last reader.
    for (std::size_t i = 0; i < impl->layers.size(); ++i) {
      for (std::size_t in : impl->layers[i].inputs) {
        if (in > 0) impl->layers[in - 1].lastUse = static_cast<std::int64_t>(i);
      }
    }
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::TorchError, "building the network: " + firstLine(e));
  }
  return impl;
}

at::Tensor TorchModel::run(const at::Tensor& input) const {
  std::vector<at::Tensor> values(layers.size() + 1);
  values[0] = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const BoundLayer& b = layers[i];
    const Layer& l = *b.layer;
    const auto& p = l.params;
    const at::Tensor& x = values[b.inputs[0]];
    at::Tensor y;
    switch (l.type) {
      case LayerType::Conv2d:
        y = at::conv2d(x, b.weight, b.bias, {p.stride, p.stride}, {p.padding, p.padding}, {p.dilation, p.dilation},
                       b.groups);
        break;
      case LayerType::ConvTranspose2d:
        y = at::conv_transpose2d(x, b.weight, b.bias, {p.stride, p.stride}, {p.padding, p.padding},
                                 {p.outputPadding, p.outputPadding}, b.groups, {p.dilation, p.dilation});
        break;
      case LayerType::BatchNorm2d:
        y = at::batch_norm(x, b.weight, b.bias, b.runningMean, b.runningVar, /*training=*/!p.trackRunningStats, 0.1,
                           p.eps, false);
        break;
      case LayerType::InstanceNorm2d:
        y = at::instance_norm(x, b.weight, b.bias, b.runningMean, b.runningVar,
                              /*use_input_stats=*/!p.trackRunningStats, 0.1, p.eps, false);
        break;
      case LayerType::GroupNorm: y = at::group_norm(x, p.numGroups, b.weight, b.bias, p.eps, false); break;
      case LayerType::ReLU: y = at::relu(x); break;
      case LayerType::LeakyReLU: y = at::leaky_relu(x, p.negativeSlope); break;
      case LayerType::PReLU: y = at::prelu(x, b.weight); break;
      case LayerType::ELU: y = at::elu(x, p.alpha); break;
      case LayerType::GELU: y = at::gelu(x, p.tanhApproximation ? "tanh" : "none"); break;
      case LayerType::Sigmoid: y = at::sigmoid(x); break;
      case LayerType::Tanh: y = at::tanh(x); break;
      case LayerType::Softmax: y = at::softmax(x, p.dim); break;
      case LayerType::MaxPool2d:
        y = at::max_pool2d(x, {p.kernelSize, p.kernelSize}, {p.stride, p.stride}, {p.padding, p.padding}, {1, 1},
                           p.ceilMode);
        break;
      case LayerType::AvgPool2d:
        y = at::avg_pool2d(x, {p.kernelSize, p.kernelSize}, {p.stride, p.stride}, {p.padding, p.padding}, p.ceilMode);
        break;
      case LayerType::AdaptiveAvgPool2d: y = at::adaptive_avg_pool2d(x, {p.outputHeight, p.outputWidth}); break;
      case LayerType::Upsample: {
        const auto h = static_cast<std::int64_t>(std::floor(static_cast<double>(x.size(2)) * p.scaleFactor));
        const auto w = static_cast<std::int64_t>(std::floor(static_cast<double>(x.size(3)) * p.scaleFactor));
        // The scale is passed on, as torch.nn.Upsample(scale_factor=s) does, so sampling matches PyTorch.
        y = p.bilinear ? at::upsample_bilinear2d(x, {h, w}, p.alignCorners, p.scaleFactor, p.scaleFactor)
                       : at::upsample_nearest2d(x, {h, w}, p.scaleFactor, p.scaleFactor);
        break;
      }
      case LayerType::Concat: {
        std::vector<at::Tensor> parts;
        for (std::size_t in : b.inputs) parts.push_back(values[in]);
        y = at::cat(parts, 1);
        break;
      }
      case LayerType::Add:
        y = x;
        for (std::size_t k = 1; k < b.inputs.size(); ++k) y = y + values[b.inputs[k]];
        break;
      case LayerType::Flatten: y = x.flatten(1); break;
      case LayerType::Linear: y = at::linear(x, b.weight, b.bias); break;
      case LayerType::Dropout:
      case LayerType::Identity: y = x; break;
    }
    values[i + 1] = std::move(y);
    for (std::size_t in : b.inputs) {
      if (in > 0 && layers[in - 1].lastUse == static_cast<std::int64_t>(i) && in != outputIndex)
        values[in] = at::Tensor();
    }
  }
  return values[outputIndex];
}

FloatTensor TorchModel::forward(std::span<const std::int64_t> shape, std::span<const float> values) const {
  c10::InferenceMode guard;
  try {
    // a view of the caller's values: the input is not copied
    const at::Tensor x = at::from_blob(const_cast<float*>(values.data()), at::IntArrayRef(shape.data(), shape.size()),
                                       at::TensorOptions().dtype(at::kFloat));
    at::Tensor y;
    if (script) {
      std::lock_guard lock(scriptMutex);
      const c10::IValue out = script->forward({x});
      if (!out.isTensor()) throw Error(ErrorCode::ShapeMismatch, "the TorchScript network does not return one tensor");
      y = out.toTensor();
    } else {
      y = run(x);
    }
    y = y.to(at::kFloat).contiguous();
    FloatTensor out;
    out.shape.assign(y.sizes().begin(), y.sizes().end());
    out.values.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
    return out;
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::TorchError, "forward pass: " + firstLine(e));
  }
}

namespace torchimpl {
ImportedWeights importArchive(std::span<const std::byte> bytes, std::string_view source);
void loadTorchScript(std::span<const std::byte> bytes, std::string_view source);
}  // namespace torchimpl

}  // namespace iodeep::netparser

extern "C" __attribute__((visibility("default"))) const iodeep::netparser::torchmodule::Api* iodeep_torch_module() {
  using namespace iodeep::netparser;
  static const torchmodule::Api api{torchmodule::kAbi, &buildModel, &configureThreadsImpl, &torchimpl::importArchive,
                                    &torchimpl::loadTorchScript};
  return &api;
}
