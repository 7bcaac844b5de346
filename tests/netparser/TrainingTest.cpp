// Fine-tuning in the inference module (issue 20): a few epochs on a tiny network lower the
// training loss and change the weights; what it writes is safetensors of the same tensors; bad
// inputs are refused with one line.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Training.hpp"

using namespace iodeep;
using namespace iodeep::netparser;

namespace {

// A tiny encoder-decoder on 16 x 16 grey input, batch norms included, sigmoid output.
constexpr const char* kTiny = R"({"format": "iodeep-architecture", "version": 1, "name": "tiny",
  "input": {"channels": 1, "height": 16, "width": 16},
  "layers": [
    {"id": "c1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"id": "b1", "type": "batchnorm2d"},
    {"id": "r1", "type": "relu"},
    {"id": "p1", "type": "maxpool2d", "kernel_size": 2},
    {"id": "c2", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"id": "r2", "type": "relu"},
    {"id": "u1", "type": "conv_transpose2d", "out_channels": 4, "kernel_size": 2, "stride": 2},
    {"id": "cat", "type": "concat", "inputs": ["u1", "r1"]},
    {"id": "head", "type": "conv2d", "out_channels": 1, "kernel_size": 1}
  ],
  "output": {"activation": "sigmoid", "threshold": 0.5, "labels": [{"index": 0, "name": "Square"}]}})";

// Bright squares on noise, the target the square: learnable in a few epochs.
std::vector<TrainingSample> squares(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0F, 0.3F);
  std::uniform_int_distribution<int> corner(1, 8);
  std::vector<TrainingSample> out;
  for (std::size_t i = 0; i < count; ++i) {
    TrainingSample s;
    s.input.shape = {1, 16, 16};
    s.input.values.resize(256);
    s.target.assign(256, 0);
    const int r0 = corner(rng);
    const int c0 = corner(rng);
    for (int r = 0; r < 16; ++r) {
      for (int c = 0; c < 16; ++c) {
        const bool in = r >= r0 && r < r0 + 6 && c >= c0 && c < c0 + 6;
        s.input.values[static_cast<std::size_t>(r * 16 + c)] = noise(rng) + (in ? 0.7F : 0.0F);
        s.target[static_cast<std::size_t>(r * 16 + c)] = in ? 1 : 0;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

TEST(Training, AFewEpochsLowerTheLossAndKeepTheTensors) {
  const auto arch = parseArchitecture(kTiny);
  const auto weights = initWeights(arch, 7);
  const auto train = squares(24, 1);
  const auto validation = squares(8, 2);
  TrainingOptions o;
  o.epochs = 8;
  o.batchSize = 4;
  o.learningRate = 1e-2;
  o.patience = 0;
  int epochsSeen = 0;
  const auto r = netparser::train(arch, weights, train, validation, o, [&](const EpochReport& e) {
    EXPECT_EQ(e.epoch, ++epochsSeen);
    EXPECT_GE(e.secondsLeft, 0.0);
    return true;
  });
  EXPECT_EQ(r.epochsRun, 8);
  EXPECT_EQ(epochsSeen, 8);
  EXPECT_LT(r.lastTrainLoss, r.firstTrainLoss * 0.8) << r.firstTrainLoss << " -> " << r.lastTrainLoss;
  EXPECT_LT(r.lossAfter, r.lossBefore);
  EXPECT_GT(r.diceAfter, r.diceBefore);
  EXPECT_FALSE(r.validationIsTraining);
  EXPECT_EQ(r.stepMs.size(), 8U * 6U);
  // the same tensors (names, shapes, dtypes), other values; running statistics frozen by default
  const auto before = iod::Safetensors::parse(weights);
  const auto after = iod::Safetensors::parse(r.weights);
  ASSERT_EQ(before.tensors().size(), after.tensors().size());
  bool changed = false;
  for (std::size_t i = 0; i < before.tensors().size(); ++i) {
    const auto& b = before.tensors()[i];
    const auto& a = after.tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape);
    EXPECT_EQ(a.dtype, b.dtype);
    const auto same = std::equal(before.data(b).begin(), before.data(b).end(), after.data(a).begin());
    if (a.name.find("running_") != std::string::npos) {
      EXPECT_TRUE(same) << a.name << " changed though batch norms are frozen";
    } else if (!same) {
      changed = true;
    }
  }
  EXPECT_TRUE(changed);
  // the written weights build and run
  EXPECT_NO_THROW((void)Network::build(arch, r.weights));
}

// The training forward (frozen batch norms folded into their convolutions on the fly, ReLUs in
// place) computes what the inference network computes: the Dice before training, from the
// training side, equals the one from Network::forward's outputs.
TEST(Training, TheTrainingForwardIsTheInferenceForward) {
  const auto arch = parseArchitecture(kTiny);
  auto weights = initWeights(arch, 11);
  // running statistics away from 0/1, so that folding them matters
  {
    auto st = iod::Safetensors::parse(weights);
    iod::SafetensorsWriter w;
    std::vector<std::vector<float>> keep;
    for (const auto& t : st.tensors()) {
      const auto data = st.data(t);
      if (t.name == "b1.running_mean" || t.name == "b1.running_var") {
        std::vector<float> v(static_cast<std::size_t>(t.elementCount()));
        for (std::size_t i = 0; i < v.size(); ++i)
          v[i] = t.name == "b1.running_mean" ? 0.1F * static_cast<float>(i) : 0.5F + 0.3F * static_cast<float>(i);
        keep.push_back(std::move(v));
        w.add(t.name, t.dtype, t.shape, std::as_bytes(std::span(keep.back())));
      } else {
        w.add(t.name, t.dtype, t.shape, data);
      }
    }
    weights = w.finish();
  }
  const auto validation = squares(6, 8);
  TrainingOptions o;
  o.epochs = 1;
  o.patience = 0;
  const auto r = netparser::train(arch, weights, squares(2, 9), validation, o);
  const auto net = Network::build(arch, weights);
  double dice = 0;
  for (const auto& s : validation) {
    const auto out = net->forward(s.input);
    double inter = 0;
    double sum = 0;
    for (std::size_t i = 0; i < out.values.size(); ++i) {
      const bool p = out.values[i] > 0.0F;
      inter += (p && s.target[i] != 0) ? 1 : 0;
      sum += (p ? 1 : 0) + (s.target[i] != 0 ? 1 : 0);
    }
    dice += sum > 0 ? 2 * inter / sum : 1.0;
  }
  EXPECT_NEAR(r.diceBefore, dice / static_cast<double>(validation.size()), 1e-6);
}

TEST(Training, SeededRunsAreReproducibleAndBatchNormCanLearnItsStatistics) {
  const auto arch = parseArchitecture(kTiny);
  const auto weights = initWeights(arch, 3);
  const auto train = squares(8, 5);
  TrainingOptions o;
  o.epochs = 2;
  o.learningRate = 1e-2;
  o.patience = 0;
  const auto a = netparser::train(arch, weights, train, {}, o);
  const auto b = netparser::train(arch, weights, train, {}, o);
  EXPECT_TRUE(a.validationIsTraining);
  EXPECT_DOUBLE_EQ(a.lastTrainLoss, b.lastTrainLoss);
  o.freezeBatchNorm = false;
  const auto c = netparser::train(arch, weights, train, {}, o);
  const auto st = iod::Safetensors::parse(c.weights);
  const auto orig = iod::Safetensors::parse(weights);
  for (std::size_t i = 0; i < st.tensors().size(); ++i) {
    if (st.tensors()[i].name == "b1.running_mean") {
      EXPECT_FALSE(std::equal(st.data(st.tensors()[i]).begin(), st.data(st.tensors()[i]).end(),
                              orig.data(orig.tensors()[i]).begin()));
    }
  }
}

TEST(Training, EarlyStoppingKeepsTheBestEpoch) {
  const auto arch = parseArchitecture(kTiny);
  const auto weights = initWeights(arch, 9);
  TrainingOptions o;
  o.epochs = 40;
  o.learningRate = 0.5;  // far too high: the validation loss soon stops improving
  o.patience = 2;
  const auto r = netparser::train(arch, weights, squares(8, 3), squares(4, 4), o);
  EXPECT_TRUE(r.stoppedEarly);
  EXPECT_LT(r.epochsRun, 40);
  EXPECT_LE(r.epochsRun, r.bestEpoch + 2);
}

TEST(Training, BadInputsAreRefusedWithOneLine) {
  const auto arch = parseArchitecture(kTiny);
  const auto weights = initWeights(arch, 1);
  const auto one = [](const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.code();
  };
  EXPECT_EQ(one(test::errorOf([&] { (void)netparser::train(arch, weights, {}, {}, {}); })), ErrorCode::InvalidArgument);
  auto wrong = squares(2, 1);
  wrong[1].target.resize(100);
  EXPECT_EQ(one(test::errorOf([&] { (void)netparser::train(arch, weights, wrong, {}, {}); })),
            ErrorCode::InvalidArgument);
  const auto frozen = parseArchitecture(R"({"input": {"channels": 1, "height": 16, "width": 16},
    "layers": [{"id": "s", "type": "sigmoid"}], "output": {"activation": "none"}})");
  const auto e = test::errorOf([&] { (void)netparser::train(frozen, initWeights(frozen, 1), squares(2, 1), {}, {}); });
  EXPECT_EQ(one(e), ErrorCode::InvalidArgument);
  EXPECT_NE(std::string(e.what()).find("no trainable layers"), std::string::npos) << e.what();
  TrainingOptions zero;
  zero.epochs = 0;
  EXPECT_EQ(one(test::errorOf([&] { (void)netparser::train(arch, weights, squares(2, 1), {}, zero); })),
            ErrorCode::InvalidArgument);
}
