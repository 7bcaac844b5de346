// The inference module's networks: the graph interpreter over ATen operators and TorchScript
// networks. Built into libiodeep-torch.so (netparser/src/TorchModule.hpp), one of the two
// translation units of the project that include libtorch headers.
#include "../TorchModule.hpp"
#include "Layers.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include <atomic>
#include <cmath>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"

namespace iodeep::netparser {

namespace {

std::atomic<bool> threadsConfigured{false};

// oneDNN's prepacked convolution (what torch.jit.optimize_for_inference uses on CPU): the weights
// reordered once into the layout the kernel wants, for the declared input size, with an optional
// fused ReLU. Found through the dispatcher; absent from a libtorch built without oneDNN.
const c10::OperatorHandle* prepackedOp(const char* name) {
  const auto op = c10::Dispatcher::singleton().findSchema({name, ""});
  if (!op) return nullptr;
  static std::mutex m;
  static std::list<c10::OperatorHandle> kept;  // handles outlive the call
  std::lock_guard lock(m);
  return &kept.emplace_back(*op);
}

c10::IValue prepackConv(const BoundLayer& b, const std::vector<std::int64_t>& inputShape) {
  static const c10::OperatorHandle* const op = prepackedOp("mkldnn_prepacked::conv2d_prepack");
  if (op == nullptr || b.weight.scalar_type() != at::kFloat) return {};
  const auto& p = b.layer->params;
  std::vector<std::int64_t> inputSize{1};
  inputSize.insert(inputSize.end(), inputShape.begin(), inputShape.end());
  torch::jit::Stack stack{c10::IValue(b.weight.contiguous()),
                          b.bias.defined() ? c10::IValue(b.bias.contiguous()) : c10::IValue(),
                          c10::IValue(std::vector<std::int64_t>{p.stride, p.stride}),
                          c10::IValue(std::vector<std::int64_t>{p.padding, p.padding}),
                          c10::IValue(std::vector<std::int64_t>{p.dilation, p.dilation}),
                          c10::IValue(b.groups),
                          c10::IValue(inputSize),
                          c10::IValue(std::string(b.fusedRelu ? "relu" : "none"))};
  try {
    op->callBoxed(&stack);
  } catch (const c10::Error&) {
    return {};  // not for this shape or type: the plain convolution runs instead
  }
  return stack.at(0);
}

at::Tensor runPacked(const c10::IValue& packed, const at::Tensor& x) {
  static const c10::OperatorHandle* const op = prepackedOp("mkldnn_prepacked::conv2d_run");
  torch::jit::Stack stack{c10::IValue(x), packed};
  op->callBoxed(&stack);
  return stack.at(0).toTensor();
}

// Batch norm (evaluation: running statistics) folded into the convolution before it:
// w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta, computed in double.
void foldBatchNorm(BoundLayer& conv, const BoundLayer& bn) {
  const auto outC = conv.weight.size(0);
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor mean = bn.runningMean.to(at::kDouble);
  const at::Tensor var = bn.runningVar.to(at::kDouble);
  const at::Tensor gamma = bn.weight.defined() ? bn.weight.to(at::kDouble) : at::ones({outC}, opts);
  const at::Tensor beta = bn.bias.defined() ? bn.bias.to(at::kDouble) : at::zeros({outC}, opts);
  const at::Tensor bias = conv.bias.defined() ? conv.bias.to(at::kDouble) : at::zeros({outC}, opts);
  const at::Tensor scale = gamma / at::sqrt(var + bn.layer->params.eps);
  std::vector<std::int64_t> bshape(static_cast<std::size_t>(conv.weight.dim()), 1);
  bshape[0] = outC;
  const auto dtype = conv.weight.scalar_type();
  conv.weight = (conv.weight.to(at::kDouble) * scale.reshape(bshape)).to(dtype).contiguous();
  conv.bias = ((bias - mean) * scale + beta).to(dtype).contiguous();
}

// Whether an activation may overwrite its input: this layer is its last reader and nothing else
// (another value, a view, the caller's input) holds the tensor or its storage.
bool mayOverwrite(const at::Tensor& t) {
  return t.defined() && t.use_count() == 1 && t.has_storage() && t.storage().use_count() == 1;
}

}  // namespace

at::Tensor applyLayer(const BoundLayer& b, const std::vector<at::Tensor>& values, bool dropout, bool batchStatistics) {
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
      // batch statistics: the batch's own, the running statistics updated (training, not frozen)
      y = at::batch_norm(x, b.weight, b.bias, b.runningMean, b.runningVar,
                         /*training=*/!p.trackRunningStats || batchStatistics, 0.1, p.eps, false);
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
    case LayerType::Dropout: y = dropout && p.dropout > 0.0 ? at::dropout(x, p.dropout, true) : x; break;
    case LayerType::Identity: y = x; break;
  }
  return y;
}

class TorchModel final : public torchmodule::Model {
 public:
  [[nodiscard]] FloatTensor forward(std::span<const std::int64_t> shape, std::span<const float> values) const override;
  [[nodiscard]] std::size_t bytes() const noexcept override { return bytes_; }
  [[nodiscard]] BuildTransforms transforms() const noexcept override { return transforms_; }

  Architecture arch;
  std::vector<BoundLayer> layers;
  std::size_t outputIndex{0};                        // value table index of the output
  mutable std::optional<torch::jit::Module> script;  // forward() is not const; guarded by scriptMutex
  mutable std::mutex scriptMutex;
  std::size_t bytes_{0};    // weights held (Network::bytes)
  iod::ByteBuffer weights;  // what the tensors view
  std::size_t viewedTensors{0};
  BuildTransforms transforms_;
  bool channelsLast{false};  // activations in channels-last layout end to end

  [[nodiscard]] at::Tensor run(const at::Tensor& x) const;
};

int configureThreadsImpl(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  threadsConfigured = true;
  return at::get_num_threads();
}

std::string firstLine(const c10::Error& e) {
  std::string w = e.what_without_backtrace();
  return w.substr(0, w.find('\n'));
}

at::ScalarType scalarTypeOf(iod::DType d) {
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

void ensureThreadsConfigured() {
  if (!threadsConfigured.load()) configureThreadsImpl(0);
}

namespace {

// Build-time transformations of the bound graph; each keeps the outputs within 1e-4 of PyTorch's
// (tests/netparser: NetworkTest, PaperUNetTest, the folding test).
void transform(TorchModel& m, const ShapeReport& shapes) {
  auto& layers = m.layers;
  const std::size_t n = layers.size();
  std::vector<std::size_t> readers(n + 1, 0);  // per value index
  std::vector<std::size_t> onlyReader(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t in : layers[i].inputs) {
      ++readers[in];
      onlyReader[in] = i;
    }
  }
  // the single layer reading value v, if v is read by exactly one layer and is not the output
  const auto soleReader = [&](std::size_t v) -> BoundLayer* {
    if (v == m.outputIndex || readers[v] != 1) return nullptr;
    return &layers[onlyReader[v]];
  };
  std::unordered_map<std::string, std::vector<std::int64_t>> shapeOf{
      {"input", {m.arch.input.channels, m.arch.input.height, m.arch.input.width}}};
  for (const auto& ls : shapes.layers) shapeOf[ls.id] = ls.shape;
  // Channels-last activations end to end: oneDNN's convolutions read and write them without a
  // reorder, and pooling, upsampling and concatenation keep the layout (bench/README.md, issue 11).
  m.channelsLast = true;
  m.transforms_.channelsLast = true;

  for (std::size_t i = 0; i < n; ++i) {
    BoundLayer& c = layers[i];
    if (c.layer->type != LayerType::Conv2d || c.passThrough) continue;
    std::size_t value = i + 1;  // the value the convolution's result ends up as
    BoundLayer* next = soleReader(value);
    if (next != nullptr && next->layer->type == LayerType::BatchNorm2d && next->layer->params.trackRunningStats &&
        next->runningMean.defined() && next->runningVar.defined()) {
      foldBatchNorm(c, *next);
      next->passThrough = true;
      ++m.transforms_.foldedBatchNorms;
      value = onlyReader[value] + 1;
      next = soleReader(value);
    }
    if (next != nullptr && next->layer->type == LayerType::ReLU) {
      c.fusedRelu = true;
      next->passThrough = true;
      ++m.transforms_.fusedRelus;
    }
    c.packed = prepackConv(c, shapeOf.at(c.layer->inputs.front()));
    if (!c.packed.isNone()) ++m.transforms_.packedConvolutions;
  }
}

}  // namespace

std::unique_ptr<torchmodule::Model> buildModel(const Architecture& arch, const iod::ByteBuffer& weights,
                                               const BuildOptions& options) {
  // libtorch starts with one intra-op thread here: use the cores unless told otherwise.
  ensureThreadsConfigured();
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
      const auto dtype = at::TensorOptions().dtype(scalarTypeOf(t.dtype));
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
    transform(*impl, shapes);
    if (options.warmUp && arch.input.height > 0 && arch.input.width > 0) {
      // One pass on zeros of the declared size: oneDNN creates its primitives and the allocator
      // its buffers now, when the network is built (enters the cache), not on the first click.
      (void)impl->run(at::zeros({1, arch.input.channels, arch.input.height, arch.input.width}));
      impl->transforms_.warmedUp = true;
    }
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::TorchError, "building the network: " + firstLine(e));
  }
  return impl;
}

at::Tensor TorchModel::run(const at::Tensor& input) const {
  std::vector<at::Tensor> values(layers.size() + 1);
  values[0] = channelsLast ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const BoundLayer& b = layers[i];
    const Layer& l = *b.layer;
    const auto& p = l.params;
    const at::Tensor& x = values[b.inputs[0]];
    // an activation may work in place when this layer is the last reader of its input
    const std::size_t in0 = b.inputs[0];
    const bool lastReader = in0 > 0 && in0 != outputIndex && layers[in0 - 1].lastUse == static_cast<std::int64_t>(i);
    const auto inPlace = [&](auto&& inPlaceOp, auto&& op) {
      if (lastReader) {
        at::Tensor t = std::move(values[in0]);
        if (mayOverwrite(t)) {
          inPlaceOp(t);
          return t;
        }
        return op(t);
      }
      return op(x);
    };
    at::Tensor y;
    if (b.passThrough) {
      values[i + 1] = x;
      for (std::size_t in : b.inputs) {
        if (in > 0 && layers[in - 1].lastUse == static_cast<std::int64_t>(i) && in != outputIndex)
          values[in] = at::Tensor();
      }
      continue;
    }
    switch (l.type) {
      case LayerType::Conv2d:
        if (!b.packed.isNone()) {
          y = runPacked(b.packed, x);
        } else {
          y = at::conv2d(x, b.weight, b.bias, {p.stride, p.stride}, {p.padding, p.padding}, {p.dilation, p.dilation},
                         b.groups);
          if (b.fusedRelu) at::relu_(y);
        }
        break;
      case LayerType::ReLU:
        y = inPlace([](at::Tensor& t) { at::relu_(t); }, [](const at::Tensor& t) { return at::relu(t); });
        break;
      case LayerType::LeakyReLU:
        y = inPlace([&](at::Tensor& t) { at::leaky_relu_(t, p.negativeSlope); },
                    [&](const at::Tensor& t) { return at::leaky_relu(t, p.negativeSlope); });
        break;
      case LayerType::Sigmoid:
        y = inPlace([](at::Tensor& t) { at::sigmoid_(t); }, [](const at::Tensor& t) { return at::sigmoid(t); });
        break;
      case LayerType::Tanh:
        y = inPlace([](at::Tensor& t) { at::tanh_(t); }, [](const at::Tensor& t) { return at::tanh(t); });
        break;
      default: y = applyLayer(b, values, false, false); break;
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

TrainingResult trainModel(const Architecture& arch, const iod::ByteBuffer& weights,
                          std::span<const TrainingSample> training, std::span<const TrainingSample> validation,
                          const TrainingOptions& options, const std::function<bool(const EpochReport&)>& onEpoch);

namespace torchimpl {
ImportedWeights importArchive(std::span<const std::byte> bytes, const ErrorContext& where);
void loadTorchScript(std::span<const std::byte> bytes, const ErrorContext& where);
}  // namespace torchimpl

}  // namespace iodeep::netparser

extern "C" __attribute__((visibility("default"))) const iodeep::netparser::torchmodule::Api* iodeep_torch_module() {
  using namespace iodeep::netparser;
  static const torchmodule::Api api{torchmodule::kAbi,           &buildModel,
                                    &configureThreadsImpl,       &torchimpl::importArchive,
                                    &torchimpl::loadTorchScript, &trainModel};
  return &api;
}
