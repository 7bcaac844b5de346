// Fine-tuning in the inference module: the graph interpreter's layers (Layers.hpp) with autograd,
// Adam written out over ATen, Dice + cross-entropy for the output's kind, early stopping on the
// validation samples. The third translation unit of the project that includes libtorch headers.
#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <unordered_map>

#include "../TorchModule.hpp"
#include "Layers.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Training.hpp"

namespace iodeep::netparser {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool hasParameters(LayerType t) {
  switch (t) {
    case LayerType::Conv2d:
    case LayerType::ConvTranspose2d:
    case LayerType::BatchNorm2d:
    case LayerType::InstanceNorm2d:
    case LayerType::GroupNorm:
    case LayerType::PReLU:
    case LayerType::Linear: return true;
    default: return false;
  }
}

// How the loss reads the network's output.
enum class OutputKind { SigmoidLogits, SoftmaxLogits, Probabilities, ClassProbabilities };

struct Model {
  Architecture arch;
  std::vector<BoundLayer> layers;
  std::size_t outputIndex{0};
  std::vector<std::pair<std::string, at::Tensor>> parameters;  // trainable, float32 leaves
  std::vector<std::pair<std::string, at::Tensor>> buffers;     // running statistics
  bool batchStatistics{false};                                 // batch norms not frozen

  // Set by plan(): a frozen batch norm folded into the convolution before it (the convolution's
  // weights scaled on the fly, under autograd: the norm's affine parameters still learn, and the
  // activations are not read and written once more), and activations that may work in place
  // (their input is read by nothing else and no backward pass needs it).
  std::vector<std::int64_t> foldedNorm;  // per layer: the batch norm folded into this convolution, or -1
  std::vector<bool> passThrough, inPlace;

  void plan() {
    const std::size_t n = layers.size();
    std::vector<std::size_t> readers(n + 1, 0);
    for (const auto& b : layers) {
      for (std::size_t in : b.inputs) ++readers[in];
    }
    ++readers[outputIndex];
    foldedNorm.assign(n, -1);
    passThrough.assign(n, false);
    inPlace.assign(n, false);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const auto& c = layers[i];
      const auto& next = layers[i + 1];
      if (!batchStatistics && c.layer->type == LayerType::Conv2d && next.layer->type == LayerType::BatchNorm2d &&
          next.layer->params.trackRunningStats && next.runningMean.defined() && next.runningVar.defined() &&
          next.inputs.size() == 1 && next.inputs[0] == i + 1 && readers[i + 1] == 1) {
        foldedNorm[i] = static_cast<std::int64_t>(i + 1);
        passThrough[i + 1] = true;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto t = layers[i].layer->type;
      const std::size_t in = layers[i].inputs.front();
      // a ReLU's backward needs only its own result; the convolution or norm before it never
      // needs its output: it may be overwritten when nothing else reads it
      if (t == LayerType::ReLU && in > 0 && readers[in] == 1) {
        const auto before = layers[in - 1].layer->type;
        inPlace[i] =
            before == LayerType::Conv2d || before == LayerType::BatchNorm2d || before == LayerType::ConvTranspose2d;
      }
    }
  }

  at::Tensor forward(const at::Tensor& x, bool training) const {
    std::vector<at::Tensor> values(layers.size() + 1);
    values[0] = x;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& b = layers[i];
      if (passThrough[i]) {
        values[i + 1] = values[b.inputs[0]];
      } else if (foldedNorm[i] >= 0) {
        const auto& bn = layers[static_cast<std::size_t>(foldedNorm[i])];
        const auto& p = b.layer->params;
        const auto outC = b.weight.size(0);
        at::Tensor scale = at::rsqrt(bn.runningVar + bn.layer->params.eps);
        if (bn.weight.defined()) scale = scale * bn.weight;
        at::Tensor bias = b.bias.defined() ? (b.bias - bn.runningMean) * scale : -bn.runningMean * scale;
        if (bn.bias.defined()) bias = bias + bn.bias;
        values[i + 1] = at::conv2d(values[b.inputs[0]], b.weight * scale.reshape({outC, 1, 1, 1}), bias,
                                   {p.stride, p.stride}, {p.padding, p.padding}, {p.dilation, p.dilation}, b.groups);
      } else if (inPlace[i]) {
        values[i + 1] = at::relu_(values[b.inputs[0]]);
      } else {
        const bool bn = b.layer->type == LayerType::BatchNorm2d;
        values[i + 1] = applyLayer(b, values, training, training && bn && batchStatistics);
      }
    }
    return values[outputIndex];
  }
};

at::Tensor softDice(const at::Tensor& probabilities, const at::Tensor& target, std::int64_t firstChannel) {
  const auto p = probabilities.narrow(1, firstChannel, probabilities.size(1) - firstChannel);
  const auto t = target.narrow(1, firstChannel, target.size(1) - firstChannel);
  const std::vector<std::int64_t> dims{0, 2, 3};
  const auto inter = (p * t).sum(dims);
  const auto sums = p.sum(dims) + t.sum(dims);
  return ((2.0 * inter + 1.0) / (sums + 1.0)).mean();
}

at::Tensor lossOf(const at::Tensor& out, const at::Tensor& target, OutputKind kind, double diceWeight) {
  switch (kind) {
    case OutputKind::SigmoidLogits:
      return at::binary_cross_entropy_with_logits(out, target, {}, {}, at::Reduction::Mean) +
             diceWeight * (1.0 - softDice(at::sigmoid(out), target, 0));
    case OutputKind::Probabilities: {
      const auto p = out.clamp(1e-6, 1.0 - 1e-6);
      return at::binary_cross_entropy(p, target, {}, at::Reduction::Mean) + diceWeight * (1.0 - softDice(p, target, 0));
    }
    case OutputKind::SoftmaxLogits:
      return at::cross_entropy_loss(out, target.argmax(1), {}, at::Reduction::Mean, -100, 0.0) +
             diceWeight * (1.0 - softDice(at::softmax(out, 1), target, 1));
    case OutputKind::ClassProbabilities: {
      const auto p = out.clamp(1e-6, 1.0);
      return at::nll_loss(at::log(p), target.argmax(1)) + diceWeight * (1.0 - softDice(p, target, 1));
    }
  }
  return {};
}

// Hard Dice per sample and label channel (threshold 0.5, or argmax for softmax), averaged; a
// label absent from both the prediction and the target counts 1.
double hardDice(const at::Tensor& out, const at::Tensor& target, OutputKind kind) {
  at::Tensor predicted;
  std::int64_t first = 0;
  if (kind == OutputKind::SigmoidLogits) {
    predicted = (out > 0.0).to(at::kFloat);
  } else if (kind == OutputKind::Probabilities) {
    predicted = (out > 0.5).to(at::kFloat);
  } else {
    predicted = at::one_hot(out.argmax(1), out.size(1)).permute({0, 3, 1, 2}).to(at::kFloat);
    first = 1;
  }
  const auto p = predicted.narrow(1, first, predicted.size(1) - first);
  const auto t = target.narrow(1, first, target.size(1) - first);
  const std::vector<std::int64_t> dims{2, 3};
  const auto inter = (p * t).sum(dims);
  const auto sums = p.sum(dims) + t.sum(dims);
  const auto dice = at::where(sums > 0, 2.0 * inter / sums.clamp_min(1.0), at::ones_like(sums));
  return dice.mean().item<double>();
}

struct Evaluation {
  double loss{0}, dice{0};
};

Evaluation evaluate(const Model& m, const at::Tensor& x, const at::Tensor& t, OutputKind kind, double diceWeight,
                    std::int64_t batch) {
  at::NoGradGuard noGrad;
  Evaluation e;
  const auto n = x.size(0);
  double weightSum = 0;
  for (std::int64_t i = 0; i < n; i += batch) {
    const auto len = std::min(batch, n - i);
    const auto xb = x.narrow(0, i, len);
    const auto tb = t.narrow(0, i, len);
    const auto out = m.forward(xb, false);
    e.loss += lossOf(out, tb, kind, diceWeight).item<double>() * static_cast<double>(len);
    e.dice += hardDice(out, tb, kind) * static_cast<double>(len);
    weightSum += static_cast<double>(len);
  }
  e.loss /= weightSum;
  e.dice /= weightSum;
  return e;
}

std::vector<std::pair<std::string, at::Tensor>> snapshot(const Model& m) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& list : {&m.parameters, &m.buffers}) {
    for (const auto& [name, t] : *list) out.emplace_back(name, t.detach().clone());
  }
  return out;
}

void restore(Model& m, const std::vector<std::pair<std::string, at::Tensor>>& saved) {
  at::NoGradGuard noGrad;
  std::map<std::string, const at::Tensor*> byName;
  for (const auto& [name, t] : saved) byName[name] = &t;
  for (auto* list : {&m.parameters, &m.buffers}) {
    for (auto& [name, t] : *list) t.copy_(*byName.at(name));
  }
}

}  // namespace

TrainingResult trainModel(const Architecture& arch, const iod::ByteBuffer& weights,
                          std::span<const TrainingSample> training, std::span<const TrainingSample> validation,
                          const TrainingOptions& options, const std::function<bool(const EpochReport&)>& onEpoch) {
  ensureThreadsConfigured();
  try {
    const auto shapes = inferShapes(arch, std::nullopt, Limits{});
    const auto& outShape = shapes.outputShape;  // C,H,W
    const auto st = iod::Safetensors::parse(weights, "weights");
    std::unordered_map<std::string, const iod::TensorInfo*> byName;
    for (const auto& t : st.tensors()) byName.emplace(t.name, &t);
    Model m;
    m.arch = arch;
    m.batchStatistics = !options.freezeBatchNorm;
    const auto load = [&](const std::string& name) -> at::Tensor {
      const auto it = byName.find(name);
      if (it == byName.end()) return {};
      const auto data = st.data(*it->second);
      return at::from_blob(const_cast<std::byte*>(data.data()), it->second->shape,
                           at::TensorOptions().dtype(scalarTypeOf(it->second->dtype)))
          .to(at::kFloat)
          .clone();
    };
    std::unordered_map<std::string, std::size_t> valueIndex{{"input", 0}};
    std::unordered_map<std::string, std::int64_t> outC{{"input", arch.input.channels}};
    for (const auto& ls : shapes.layers) outC[ls.id] = ls.shape.empty() ? 0 : ls.shape[0];
    m.layers.reserve(m.arch.layers.size());
    for (const Layer& l : m.arch.layers) {
      BoundLayer b;
      b.layer = &l;
      for (const auto& name : l.inputs) b.inputs.push_back(valueIndex.at(name));
      b.groups = l.params.depthwise ? outC.at(l.inputs.front()) : l.params.groups;
      const bool trainable = hasParameters(l.type);
      for (auto [field, suffix] : {std::pair{&b.weight, ".weight"}, std::pair{&b.bias, ".bias"}}) {
        *field = load(l.id + suffix);
        if (field->defined() && trainable) {
          field->requires_grad_(true);
          m.parameters.emplace_back(l.id + suffix, *field);
        }
      }
      for (auto [field, suffix] :
           {std::pair{&b.runningMean, ".running_mean"}, std::pair{&b.runningVar, ".running_var"}}) {
        *field = load(l.id + suffix);
        if (field->defined()) m.buffers.emplace_back(l.id + suffix, *field);
      }
      m.layers.push_back(std::move(b));
      valueIndex[l.id] = m.layers.size();
    }
    m.outputIndex = valueIndex.at(arch.output);
    m.plan();
    if (m.parameters.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  "the network has no trainable layers (no convolution, norm or linear weights)");
    }
    // what the output is and how the loss reads it
    if (outShape.size() != 3 || outShape[1] != arch.input.height || outShape[2] != arch.input.width) {
      throw Error(ErrorCode::InvalidArgument,
                  "fine-tuning needs a per-pixel output of the input's size; the network puts out another shape");
    }
    OutputKind kind = OutputKind::SigmoidLogits;
    const auto lastType = m.layers.at(m.outputIndex - 1).layer->type;
    switch (arch.outputSpec.activation) {
      case OutputSpec::Activation::Sigmoid: kind = OutputKind::SigmoidLogits; break;
      case OutputSpec::Activation::Softmax: kind = OutputKind::SoftmaxLogits; break;
      case OutputSpec::Activation::None:
        if (lastType == LayerType::Sigmoid) {
          kind = OutputKind::Probabilities;
        } else if (lastType == LayerType::Softmax) {
          kind = OutputKind::ClassProbabilities;
        } else {
          throw Error(ErrorCode::InvalidArgument,
                      "the network has no sigmoid or softmax output: nothing to fine-tune a "
                      "segmentation against");
        }
        break;
    }
    // the samples as tensors
    const std::int64_t inPlane = arch.input.channels * arch.input.height * arch.input.width;
    const std::int64_t outPlane = outShape[0] * outShape[1] * outShape[2];
    const auto stack = [&](std::span<const TrainingSample> samples, at::Tensor& x, at::Tensor& t) {
      const auto n = static_cast<std::int64_t>(samples.size());
      x = at::empty({n, arch.input.channels, arch.input.height, arch.input.width}, at::kFloat);
      t = at::empty({n, outShape[0], outShape[1], outShape[2]}, at::kFloat);
      for (std::int64_t i = 0; i < n; ++i) {
        const auto& s = samples[static_cast<std::size_t>(i)];
        if (static_cast<std::int64_t>(s.input.values.size()) != inPlane ||
            static_cast<std::int64_t>(s.target.size()) != outPlane) {
          throw Error(ErrorCode::InvalidArgument,
                      "training sample " + std::to_string(i + 1) + " does not fit the network's input or output size");
        }
        std::copy(s.input.values.begin(), s.input.values.end(), x[i].data_ptr<float>());
        float* tp = t[i].data_ptr<float>();
        for (std::int64_t k = 0; k < outPlane; ++k) tp[k] = s.target[static_cast<std::size_t>(k)] != 0 ? 1.0F : 0.0F;
      }
    };
    if (training.empty()) throw Error(ErrorCode::InvalidArgument, "no training sample");
    at::Tensor trainX;
    at::Tensor trainT;
    at::Tensor valX;
    at::Tensor valT;
    stack(training, trainX, trainT);
    TrainingResult r;
    r.validationIsTraining = validation.empty();
    if (validation.empty()) {
      valX = trainX;
      valT = trainT;
    } else {
      stack(validation, valX, valT);
    }
    r.trainableTensors = m.parameters.size();
    for (const auto& [name, p] : m.parameters) r.trainableParameters += p.numel();
    const std::int64_t batch = std::max(1, options.batchSize);
    const auto before = evaluate(m, valX, valT, kind, options.diceWeight, batch);
    r.diceBefore = before.dice;
    r.lossBefore = before.loss;

    // Adam
    std::vector<at::Tensor> moment1;
    std::vector<at::Tensor> moment2;
    for (const auto& [name, p] : m.parameters) {
      moment1.push_back(at::zeros_like(p));
      moment2.push_back(at::zeros_like(p));
    }
    constexpr double kBeta1 = 0.9;
    constexpr double kBeta2 = 0.999;
    constexpr double kEps = 1e-8;
    std::int64_t step = 0;
    const auto optimise = [&](const at::Tensor& xb, const at::Tensor& tb) {
      const auto t0 = Clock::now();
      for (auto& [name, p] : m.parameters) p.mutable_grad().reset();  // the backward pass writes them anew
      const auto loss = lossOf(m.forward(xb, true), tb, kind, options.diceWeight);
      loss.backward();
      ++step;
      {
        at::NoGradGuard noGrad;
        const double bc1 = 1.0 - std::pow(kBeta1, static_cast<double>(step));
        const double bc2 = 1.0 - std::pow(kBeta2, static_cast<double>(step));
        for (std::size_t k = 0; k < m.parameters.size(); ++k) {
          auto& p = m.parameters[k].second;
          if (!p.grad().defined()) continue;
          at::Tensor g = p.grad();
          if (options.weightDecay > 0) g = g + options.weightDecay * p;
          moment1[k].mul_(kBeta1).add_(g, 1.0 - kBeta1);
          moment2[k].mul_(kBeta2).addcmul_(g, g, 1.0 - kBeta2);
          const auto denom = moment2[k].sqrt().div_(std::sqrt(bc2)).add_(kEps);
          p.addcdiv_(moment1[k], denom, -options.learningRate / bc1);
        }
      }
      r.stepMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      return loss.item<double>();
    };

    at::manual_seed(options.seed);
    const auto n = trainX.size(0);
    if (options.timeSteps > 0) {  // the benchmark: steps on the first batch, weights unchanged
      const auto saved = snapshot(m);
      const auto len = std::min(batch, n);
      for (int s = 0; s < options.timeSteps; ++s) (void)optimise(trainX.narrow(0, 0, len), trainT.narrow(0, 0, len));
      restore(m, saved);
      r.weights = weights;
      return r;
    }
    std::mt19937_64 rng(options.seed);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    double bestLoss = before.loss;
    auto best = snapshot(m);
    int sinceBest = 0;
    const auto start = Clock::now();
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      double sum = 0;
      std::int64_t batches = 0;
      for (std::int64_t i = 0; i < n; i += batch) {
        const auto len = std::min(batch, n - i);
        const auto idx = at::from_blob(order.data() + i, {len}, at::kLong);
        sum += optimise(trainX.index_select(0, idx), trainT.index_select(0, idx));
        ++batches;
      }
      const auto e = evaluate(m, valX, valT, kind, options.diceWeight, batch);
      EpochReport rep;
      rep.epoch = epoch;
      rep.epochs = options.epochs;
      rep.trainLoss = sum / static_cast<double>(batches);
      rep.validationLoss = e.loss;
      rep.validationDice = e.dice;
      rep.seconds = secondsSince(start);
      rep.secondsLeft = rep.seconds / epoch * (options.epochs - epoch);
      rep.best = e.loss < bestLoss;
      if (epoch == 1) r.firstTrainLoss = rep.trainLoss;
      r.lastTrainLoss = rep.trainLoss;
      r.epochsRun = epoch;
      if (rep.best) {
        bestLoss = e.loss;
        best = snapshot(m);
        r.bestEpoch = epoch;
        sinceBest = 0;
      } else {
        ++sinceBest;
      }
      r.epochs.push_back(rep);
      if (onEpoch && !onEpoch(rep)) throw Error(ErrorCode::Cancelled, "fine-tuning cancelled");
      if (options.patience > 0 && sinceBest >= options.patience && epoch < options.epochs) {
        r.stoppedEarly = true;
        break;
      }
    }
    restore(m, best);  // the best epoch's weights (the ones before training when none was better)
    const auto after = evaluate(m, valX, valT, kind, options.diceWeight, batch);
    r.diceAfter = after.dice;
    r.lossAfter = after.loss;

    // the input's tensors, the trained ones replaced (in their own dtype)
    std::map<std::string, at::Tensor> updated;
    for (const auto& list : {&m.parameters, &m.buffers}) {
      for (const auto& [name, t] : *list) {
        const auto* info = byName.at(name);
        updated[name] = t.detach().to(scalarTypeOf(info->dtype)).contiguous();
      }
    }
    iod::SafetensorsWriter writer;
    for (const auto& [key, value] : st.metadata()) writer.setMetadata(key, value);
    for (const auto& info : st.tensors()) {
      const auto it = updated.find(info.name);
      if (it == updated.end()) {
        writer.add(info.name, info.dtype, info.shape, st.data(info));
      } else {
        const auto& t = it->second;
        writer.add(info.name, info.dtype, info.shape,
                   std::span<const std::byte>(static_cast<const std::byte*>(t.data_ptr()), t.nbytes()));
      }
    }
    r.weights = writer.finish();
    return r;
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::TorchError, "fine-tuning: " + firstLine(e));
  }
}

}  // namespace iodeep::netparser
