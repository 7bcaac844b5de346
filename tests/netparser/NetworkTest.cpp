#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Network.hpp"

using namespace iodeep;
using namespace iodeep::netparser;

namespace {

std::vector<float> readFloats(const std::filesystem::path& p) {
  const auto bytes = test::readBytes(p);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// Builds the fixture network NAME from its JSON and safetensors, runs it on the input PyTorch
// used, and returns the largest absolute difference from PyTorch's output.
float maxDifferenceFromPyTorch(const std::string& name) {
  const auto arch = parseArchitecture(iod::readTextFile(test::fixture(name + ".json")));
  const auto net = Network::build(arch, iod::ByteBuffer::mapFile(test::fixture(name + ".safetensors")));
  std::ifstream shapesFile(test::fixture(name + ".shapes.json"));
  const auto shapes = nlohmann::json::parse(shapesFile);
  FloatTensor in{shapes["input"].get<std::vector<std::int64_t>>(), readFloats(test::fixture(name + ".input.f32"))};
  const auto out = net->forward(in);
  const auto expected = readFloats(test::fixture(name + ".output.f32"));
  EXPECT_EQ(out.shape, shapes["output"].get<std::vector<std::int64_t>>());
  EXPECT_EQ(out.values.size(), expected.size());
  float worst = 0.0F;
  for (std::size_t i = 0; i < expected.size() && i < out.values.size(); ++i) {
    worst = std::max(worst, std::abs(out.values[i] - expected[i]));
  }
  return worst;
}

Architecture tinyArch() {
  return parseArchitecture(iod::readTextFile(test::fixture("plain.arch.json")));
}

ErrorCode buildError(const Architecture& arch, const iod::ByteBuffer& w, std::string* message = nullptr,
                     std::string* tensor = nullptr, BuildOptions options = {}) {
  try {
    (void)Network::build(arch, w, options);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    if (tensor != nullptr) *tensor = e.layer();
    return e.code();
  }
  ADD_FAILURE() << "built";
  return ErrorCode::Internal;
}

}  // namespace

TEST(Network, UNetMatchesPyTorchWithin1e4) {
  EXPECT_LE(maxDifferenceFromPyTorch("ref_unet"), 1e-4F);
}

TEST(Network, UNetMatchesPyTorchAtAnotherInputSize) {
  EXPECT_LE(maxDifferenceFromPyTorch("ref_unet_48x80"), 1e-4F);
}

TEST(Network, DnnParserNetworkMatchesPyTorchWithin1e4) {
  EXPECT_LE(maxDifferenceFromPyTorch("ref_dnnparser"), 1e-4F);
}

// The build folds each batch norm into the convolution before it when that convolution's output
// is read by the batch norm alone, fuses a ReLU after it, packs the weights once and runs a
// warm-up pass; the outputs stay PyTorch's (eval mode, running statistics) within 1e-4.
TEST(Network, BatchNormFoldedIntoConvolutionMatchesPyTorch) {
  EXPECT_LE(maxDifferenceFromPyTorch("conv_bn"), 1e-4F);
  const auto arch = parseArchitecture(iod::readTextFile(test::fixture("conv_bn.json")));
  const auto net = Network::build(arch, iod::ByteBuffer::mapFile(test::fixture("conv_bn.safetensors")));
  const auto t = net->transforms();
  EXPECT_EQ(t.foldedBatchNorms, 2U);  // b1 and b3; b2's convolution is also read by the addition
  EXPECT_EQ(t.fusedRelus, 1U);
  EXPECT_TRUE(net->warmedUp());
  BuildOptions cold;
  cold.warmUp = false;
  EXPECT_FALSE(Network::build(arch, iod::ByteBuffer::mapFile(test::fixture("conv_bn.safetensors")), cold)->warmedUp());
  // the reference networks' double_conv blocks (conv, batch norm, ReLU) are folded too
  const auto ref = parseArchitecture(iod::readTextFile(test::fixture("ref_unet.json")));
  EXPECT_GT(Network::build(ref, iod::ByteBuffer::mapFile(test::fixture("ref_unet.safetensors")))
                ->transforms()
                .foldedBatchNorms,
            0U);
}

TEST(Network, WeightsThatDoNotFitAreListed) {
  const auto arch = tinyArch();
  const auto good = initWeights(arch, 1);
  EXPECT_NO_THROW(checkWeights(arch, good));
  const auto st = iod::Safetensors::parse(good);
  // rebuild without conv.bias, with an extra tensor, and with head.weight of the wrong shape
  iod::SafetensorsWriter w;
  std::vector<float> extra(3, 0.0F);
  std::vector<float> wrong(8, 0.0F);
  for (const auto& t : st.tensors()) {
    if (t.name == "conv.bias") continue;
    if (t.name == "head.weight") {
      w.add(t.name, iod::DType::F32, {2, 4, 1, 1}, std::as_bytes(std::span<const float>(wrong)));
      continue;
    }
    w.add(t.name, t.dtype, t.shape, st.data(t));
  }
  w.add("conv.extra", iod::DType::F32, {3}, std::as_bytes(std::span<const float>(extra)));
  std::string msg;
  std::string tensor;
  EXPECT_EQ(buildError(arch, w.finish(), &msg, &tensor), ErrorCode::WeightsMismatch);
  EXPECT_NE(msg.find("missing conv.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected conv.extra"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head.weight is F32 [2, 4, 1, 1], expected F32 [1, 4, 1, 1]"), std::string::npos) << msg;
  EXPECT_EQ(tensor, "conv.bias");
}

TEST(Network, WrongDtypeIsAMismatch) {
  const auto arch = tinyArch();
  const auto st = iod::Safetensors::parse(initWeights(arch, 1));
  iod::SafetensorsWriter w;
  std::vector<double> asDouble(4, 0.0);
  for (const auto& t : st.tensors()) {
    if (t.name == "conv.bias") {
      w.add(t.name, iod::DType::F64, {4}, std::as_bytes(std::span<const double>(asDouble)));
    } else {
      w.add(t.name, t.dtype, t.shape, st.data(t));
    }
  }
  std::string msg;
  EXPECT_EQ(buildError(arch, w.finish(), &msg), ErrorCode::WeightsMismatch);
  EXPECT_NE(msg.find("conv.bias is F64"), std::string::npos) << msg;
}

TEST(Network, InitWeightsAreDeterministicAndFit) {
  const auto arch = parseArchitecture(iod::readTextFile(IODEEP_SOURCE_DIR "/examples/tiny-unet/architecture.json"));
  const auto a = initWeights(arch, 42);
  const auto b = initWeights(arch, 42);
  const auto c = initWeights(arch, 43);
  EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin(), b.bytes().end()));
  EXPECT_FALSE(std::equal(a.bytes().begin(), a.bytes().end(), c.bytes().begin(), c.bytes().end()));
  EXPECT_NO_THROW(checkWeights(arch, a));
  // the committed example weights fit too
  EXPECT_NO_THROW(
      checkWeights(arch, iod::ByteBuffer::mapFile(IODEEP_SOURCE_DIR "/examples/tiny-unet/weights.safetensors")));
  const auto net = Network::build(arch, a);
  FloatTensor in{{1, 128, 128}, std::vector<float>(128 * 128, 0.5F)};
  const auto out = net->forward(in);
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{1, 1, 128, 128}));
  EXPECT_TRUE(std::all_of(out.values.begin(), out.values.end(), [](float v) { return std::isfinite(v); }));
}

TEST(Network, OutlivesTheArchitectureItWasBuiltFrom) {
  // Bound layers once pointed into the caller's Architecture (found by PredictTest): build from
  // a temporary and run after it is gone.
  std::shared_ptr<const Network> net;
  {
    const auto arch = tinyArch();
    net = Network::build(arch, initWeights(arch, 1));
  }
  const auto out = net->forward(FloatTensor{{1, 32, 32}, std::vector<float>(32 * 32, 0.5F)});
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{1, 1, 32, 32}));
}

TEST(Network, ForwardRefusesInputsThatDoNotFit) {
  const auto arch = tinyArch();
  const auto net = Network::build(arch, initWeights(arch, 1));
  FloatTensor threeChannels{{3, 32, 32}, std::vector<float>(3 * 32 * 32, 0.0F)};
  try {
    (void)net->forward(threeChannels);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ShapeMismatch);
  }
  FloatTensor inconsistent{{1, 32, 32}, std::vector<float>(10, 0.0F)};
  EXPECT_THROW((void)net->forward(inconsistent), Error);
}

TEST(Network, TorchScriptIsRefusedUnlessAllowed) {
  const auto arch = parseArchitecture(iod::readTextFile(test::fixture("torchscript.arch.json")));
  EXPECT_EQ(arch.kind, Architecture::Kind::TorchScript);
  const auto archive = iod::ByteBuffer::mapFile(test::fixture("torchscript.pt"));
  EXPECT_EQ(buildError(arch, archive), ErrorCode::TorchScriptRefused);
  BuildOptions allow;
  allow.allowTorchScript = true;
  const auto net = Network::build(arch, archive, allow);
  const auto out = net->forward(FloatTensor{{1, 32, 32}, std::vector<float>(32 * 32, 1.0F)});
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{1, 1, 32, 32}));
  // an archive that does not load
  auto bytes = test::readBytes(test::fixture("torchscript.pt"));
  bytes.resize(bytes.size() / 2);
  EXPECT_EQ(buildError(arch, iod::ByteBuffer::fromVector(bytes), nullptr, nullptr, allow),
            ErrorCode::UnsupportedWeights);
}

TEST(InferenceEngine, CachesByDnnUid) {
  auto& engine = InferenceEngine::shared();
  engine.clear();
  const auto before = engine.builds();
  const auto arch = tinyArch();
  const auto weights = initWeights(arch, 1);
  const auto a = engine.network("2.25.1", arch, weights);
  const auto b = engine.network("2.25.1", arch, weights);
  const auto c = engine.network("2.25.2", arch, weights);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(engine.builds() - before, 2U);
  EXPECT_EQ(engine.size(), 2U);
  EXPECT_EQ(configureThreads(0), static_cast<int>(std::max(1U, std::thread::hardware_concurrency())));
}

// Regression: the cache was keyed by DnnUID only, so a TorchScript network built once with
// permission was handed to a later caller without it.
TEST(InferenceEngine, TorchScriptPermissionIsCheckedOnEveryUse) {
  auto& engine = InferenceEngine::shared();
  engine.clear();
  const auto arch = parseArchitecture(iod::readTextFile(test::fixture("torchscript.arch.json")));
  const auto archive = iod::ByteBuffer::mapFile(test::fixture("torchscript.pt"));
  BuildOptions allow;
  allow.allowTorchScript = true;
  const auto allowed = engine.network("2.25.77", arch, archive, allow);
  ASSERT_NE(allowed, nullptr);
  try {
    (void)engine.network("2.25.77", arch, archive);
    ADD_FAILURE() << "a TorchScript network came out of the cache without permission";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::TorchScriptRefused);
  }
  // with permission again: the cached network, not a second build
  const auto builds = engine.builds();
  EXPECT_EQ(engine.network("2.25.77", arch, archive, allow).get(), allowed.get());
  EXPECT_EQ(engine.builds(), builds);
}

// --- the memory bound of the in-memory network cache (PACS-workflow issue) ---

namespace {

// A 1x1 convolution to @p outChannels: its weights hold 8 * outChannels bytes (weight and bias).
Architecture convArch(int outChannels) {
  return parseArchitecture(R"({"input": {"channels": 1, "height": 4, "width": 4},
    "layers": [{"id": "c", "type": "conv2d", "out_channels": )" +
                           std::to_string(outChannels) + R"(, "kernel_size": 1}]})");
}

}  // namespace

TEST(InferenceEngine, NetworkBytesAreTheWeightsItHolds) {
  const auto arch = convArch(10);
  EXPECT_EQ(Network::build(arch, initWeights(arch, 1))->bytes(), 80U);
  const auto ref = parseArchitecture(iod::readTextFile(test::fixture("ref_unet.json")));
  const auto st = iod::Safetensors::parse(iod::ByteBuffer::mapFile(test::fixture("ref_unet.safetensors")));
  std::size_t expected = 0;  // every tensor but the optional num_batches_tracked is bound
  for (const auto& t : st.tensors()) {
    if (t.name.find("num_batches_tracked") == std::string::npos) expected += t.byteSize();
  }
  EXPECT_EQ(Network::build(ref, iod::ByteBuffer::mapFile(test::fixture("ref_unet.safetensors")))->bytes(), expected);
  BuildOptions allow;
  allow.allowTorchScript = true;
  const auto archive = iod::ByteBuffer::mapFile(test::fixture("torchscript.pt"));
  EXPECT_EQ(Network::build(parseArchitecture(iod::readTextFile(test::fixture("torchscript.arch.json"))), archive, allow)
                ->bytes(),
            archive.size());
}

TEST(InferenceEngine, LeastRecentlyUsedNetworkIsEvictedFirst) {
  InferenceEngine engine(240);  // three networks of 80 bytes
  const auto arch = convArch(10);
  const auto w = initWeights(arch, 1);
  (void)engine.network("2.25.1", arch, w);
  (void)engine.network("2.25.2", arch, w);
  (void)engine.network("2.25.3", arch, w);
  EXPECT_EQ(engine.memoryBytes(), 240U);
  EXPECT_EQ(engine.evictions(), 0U);
  (void)engine.network("2.25.1", arch, w);  // a cache hit makes 1 the most recent: 2 is now the oldest
  EXPECT_EQ(engine.builds(), 3U);
  (void)engine.network("2.25.4", arch, w);
  EXPECT_FALSE(engine.contains("2.25.2"));
  EXPECT_TRUE(engine.contains("2.25.1"));
  EXPECT_TRUE(engine.contains("2.25.3"));
  EXPECT_TRUE(engine.contains("2.25.4"));
  EXPECT_EQ(engine.evictions(), 1U);
  EXPECT_EQ(engine.memoryBytes(), 240U);
  // contains() does not count as use: 3 is still the oldest
  (void)engine.network("2.25.2", arch, w);  // rebuilt
  EXPECT_EQ(engine.builds(), 5U);
  EXPECT_FALSE(engine.contains("2.25.3"));
  EXPECT_EQ(engine.evictions(), 2U);
  EXPECT_EQ(engine.size(), 3U);
}

TEST(InferenceEngine, BudgetIsRespectedWhenLowered) {
  InferenceEngine engine;
  EXPECT_EQ(engine.memoryBudget(), InferenceEngine::kDefaultMemoryBudget);
  const auto small = convArch(10);  // 80 bytes
  const auto large = convArch(50);  // 400 bytes
  (void)engine.network("2.25.10", large, initWeights(large, 1));
  (void)engine.network("2.25.11", small, initWeights(small, 1));
  (void)engine.network("2.25.12", small, initWeights(small, 1));
  EXPECT_EQ(engine.memoryBytes(), 560U);
  engine.setMemoryBudget(200);
  EXPECT_EQ(engine.memoryBudget(), 200U);
  EXPECT_LE(engine.memoryBytes(), 200U);
  EXPECT_EQ(engine.memoryBytes(), 160U);
  EXPECT_FALSE(engine.contains("2.25.10"));
  EXPECT_EQ(engine.evictions(), 1U);
  engine.clear();
  EXPECT_EQ(engine.memoryBytes(), 0U);
  EXPECT_EQ(engine.size(), 0U);
}

TEST(InferenceEngine, MostRecentNetworkStaysEvenAloneOverBudget) {
  InferenceEngine engine(50);
  const auto arch = convArch(10);  // 80 bytes, over the budget on its own
  const auto w = initWeights(arch, 1);
  auto a = engine.network("2.25.20", arch, w);
  EXPECT_TRUE(engine.contains("2.25.20"));
  EXPECT_EQ(engine.memoryBytes(), 80U);
  EXPECT_EQ(engine.network("2.25.20", arch, w).get(), a.get()) << "kept, so not rebuilt";
  EXPECT_EQ(engine.builds(), 1U);
  (void)engine.network("2.25.21", arch, w);
  EXPECT_FALSE(engine.contains("2.25.20"));
  EXPECT_TRUE(engine.contains("2.25.21"));
  EXPECT_EQ(engine.evictions(), 1U);
  engine.setMemoryBudget(0);
  EXPECT_EQ(engine.size(), 1U);
  // evicted, but alive where it is used; and the cache keeps no reference of its own
  EXPECT_EQ(a->forward(FloatTensor{{1, 4, 4}, std::vector<float>(16, 1.0F)}).shape,
            (std::vector<std::int64_t>{1, 10, 4, 4}));
  const std::weak_ptr<const Network> weak = a;
  a.reset();
  EXPECT_TRUE(weak.expired());
}
