#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Prediction.hpp"

using namespace iodeep;
using namespace iodeep::netparser;
using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "format": "iodeep-architecture", "version": 1,
    "input": {"channels": 1, "height": 32, "width": 32},
    "layers": [
      {"id": "c1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"id": "r1", "type": "relu"},
      {"id": "c2", "type": "conv2d", "out_channels": 2, "kernel_size": 1}
    ]})");
}

struct Caught {
  ErrorCode code{ErrorCode::Internal};
  std::string layer;
  std::string pointer;
  std::string part;
  std::string message;
};

Caught parseError(const std::string& text, const Limits& limits = {}) {
  try {
    (void)parseArchitecture(text, limits);
  } catch (const Error& e) {
    return {e.code(), e.layer(), e.pointer(), e.context().part, e.what()};
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  return {};
}
Caught parseError(const json& j, const Limits& limits = {}) {
  return parseError(j.dump(), limits);
}

std::string fixtureText(const std::string& path) {
  return iod::readTextFile(path);
}

}  // namespace

TEST(Architecture, ParsesOurFormatAndInfersShapes) {
  const auto arch = parseArchitecture(base().dump());
  EXPECT_EQ(arch.format, Architecture::Format::Iodeep);
  ASSERT_EQ(arch.layers.size(), 3U);
  EXPECT_EQ(arch.output, "c2");
  EXPECT_EQ(arch.layers[1].inputs, std::vector<std::string>{"c1"});
  const auto r = inferShapes(arch);
  EXPECT_EQ(r.outputShape, (std::vector<std::int64_t>{2, 32, 32}));
  EXPECT_EQ(r.totalParameters, (9 * 4 + 4) + (4 * 2 + 2));
  const auto bigger = inferShapes(arch, InputSpec{1, 100, 60});
  EXPECT_EQ(bigger.outputShape, (std::vector<std::int64_t>{2, 100, 60}));
}

// The parsed architecture keeps the canonical JSON iod derives the DnnUID from (verification
// reuses it instead of parsing again), whatever the spacing of the text.
TEST(Architecture, KeepsTheCanonicalJsonOfItsText) {
  const std::string text = base().dump(4);
  EXPECT_EQ(parseArchitecture(text).canonicalJson, iod::canonicalJson(text, "test"));
  EXPECT_EQ(parseArchitecture(text).canonicalJson, parseArchitecture(base().dump()).canonicalJson);
}

TEST(Architecture, DoubleConvExpandsAndNamesItsWeights) {
  auto j = base();
  j["layers"] =
      json::array({{{"id", "b"}, {"type", "double_conv"}, {"out_channels", 8}},
                   {{"id", "h"}, {"type", "conv2d"}, {"out_channels", 1}, {"kernel_size", 1}, {"inputs", {"b"}}}});
  const auto arch = parseArchitecture(j.dump());
  std::vector<std::string> ids;
  for (const auto& l : arch.layers) ids.push_back(l.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b.conv1", "b.bn1", "b.act1", "b.conv2", "b.bn2", "b.act2", "h"}));
  EXPECT_EQ(arch.layers.back().inputs, std::vector<std::string>{"b.act2"});  // the block id resolves to its end
  std::vector<std::string> names;
  for (const auto& t : expectedTensors(arch)) names.push_back(t.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "b.conv1.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "b.bn2.running_var"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "h.bias"), names.end());
}

TEST(Architecture, UnknownLayerTypeNamesTheLayer) {
  auto j = base();
  j["layers"][1]["type"] = "conv3d";
  const auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::UnknownLayerType);
  EXPECT_EQ(e.layer, "r1");
  EXPECT_EQ(e.pointer, "/layers/1/type");
}

TEST(Architecture, MissingWronglyTypedAndUnknownParameters) {
  auto j = base();
  j["layers"][0].erase("out_channels");
  auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.layer, "c1");
  EXPECT_EQ(e.pointer, "/layers/0/out_channels");

  j = base();
  j["layers"][2]["kernel_size"] = "1";
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.layer, "c2");
  EXPECT_EQ(e.pointer, "/layers/2/kernel_size");

  j = base();
  j["layers"][0]["kernal_size"] = 3;
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.pointer, "/layers/0/kernal_size");

  j = base();
  j["layers"][0]["out_channels"] = -4;
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.layer, "c1");

  j = base();
  j["layers"][1]["id"] = "c1";
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.pointer, "/layers/1/id");

  j = base();
  j.erase("input");
  EXPECT_EQ(parseError(j).pointer, "/input");
}

TEST(Architecture, DanglingAndCyclicInputs) {
  auto j = base();
  j["layers"][2]["inputs"] = {"r1", "nowhere"};
  j["layers"][2]["type"] = "add";
  j["layers"][2].erase("out_channels");
  j["layers"][2].erase("kernel_size");
  auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::DanglingInput);
  EXPECT_EQ(e.layer, "c2");
  EXPECT_EQ(e.pointer, "/layers/2/inputs/1");

  j = base();
  j["layers"][0]["inputs"] = {"c2"};  // c1 <- c2 <- r1 <- c1
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::CyclicGraph);
  EXPECT_FALSE(e.layer.empty());
}

TEST(Architecture, ShapeAndChannelMismatchesAtJoins) {
  auto j = base();
  j["layers"] = json::parse(R"([
    {"id": "a", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"id": "p", "type": "maxpool2d", "kernel_size": 2},
    {"id": "cat", "type": "concat", "inputs": ["a", "p"]}])");
  auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
  EXPECT_EQ(e.layer, "cat");
  EXPECT_EQ(e.pointer, "/layers/2");
  EXPECT_EQ(e.part, "architecture");
  // the layer is context, rendered once in front of the detail
  EXPECT_EQ(e.message.find("architecture: layer 'cat' (/layers/2): "), 0U) << e.message;
  EXPECT_EQ(e.message.find("layer 'cat'", e.message.find("layer 'cat'") + 1), std::string::npos) << e.message;

  j["layers"] = json::parse(R"([
    {"id": "a", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"id": "b", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "inputs": ["input"]},
    {"id": "sum", "type": "add", "inputs": ["a", "b"]}])");
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ChannelMismatch);
  EXPECT_EQ(e.layer, "sum");

  j["layers"] = json::parse(R"([
    {"id": "a", "type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1},
    {"id": "g", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 4}])");
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ChannelMismatch);
  EXPECT_EQ(e.layer, "g");

  j["layers"] = json::parse(R"([
    {"id": "a", "type": "conv2d", "out_channels": 6, "kernel_size": 3},
    {"id": "gn", "type": "groupnorm", "num_groups": 4}])");
  EXPECT_EQ(parseError(j).layer, "gn");

  j["layers"] = json::parse(R"([{"id": "big", "type": "conv2d", "out_channels": 2, "kernel_size": 40}])");
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
  EXPECT_EQ(e.layer, "big");

  j["layers"] = json::parse(R"([{"id": "fc", "type": "linear", "out_features": 2}])");
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
  EXPECT_EQ(e.layer, "fc");
}

TEST(Architecture, HostileSizesAreRefusedBeforeAllocation) {
  auto j = base();
  j["layers"][0]["out_channels"] = 1000000;
  auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ResourceLimit);
  EXPECT_EQ(e.layer, "c1");

  j = base();
  json layers = json::array();
  for (int i = 0; i < 100000; ++i) layers.push_back({{"id", "r" + std::to_string(i)}, {"type", "relu"}});
  j["layers"] = layers;
  EXPECT_EQ(parseError(j).code, ErrorCode::ResourceLimit);

  j = base();
  j["input"] = {{"channels", 1024}, {"height", 16384}, {"width", 16384}};
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ResourceLimit);

  Limits small;
  small.maxParameters = 10;
  e = parseError(base(), small);
  EXPECT_EQ(e.code, ErrorCode::ResourceLimit);
  EXPECT_EQ(e.layer, "c1");

  j = base();
  j["layers"][0]["out_channels"] = 18446744073709551615ULL;
  EXPECT_EQ(parseError(j).code, ErrorCode::ResourceLimit);

  // Deep nesting and huge texts: refused by the JSON limits before any recursion (issue 17), not
  // parsed (a 20,000-level document used to parse, then crash whoever serialised it).
  EXPECT_EQ(parseError(std::string(200000, '[')).code, ErrorCode::ResourceLimit);
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "[";
  for (int i = 0; i < 20000; ++i) deep += "]";
  EXPECT_EQ(parseError(deep).code, ErrorCode::ResourceLimit);
  EXPECT_EQ(parseError(std::string(17 * 1024 * 1024, ' ')).code, ErrorCode::ResourceLimit);
}

TEST(Architecture, NotJsonGivesLineAndColumn) {
  const auto e = parseError(std::string("{\n  \"layers\": [\n    {\"id\": 1,}\n  ]\n}"));
  EXPECT_EQ(e.code, ErrorCode::InvalidJson);
  EXPECT_NE(e.message.find(":3:14"), std::string::npos) << e.message;
}

TEST(Architecture, NumbersJsonCannotHoldAreInvalidJson) {
  // Found by tests/fuzz/architecture_fuzz: nlohmann reports 2e999 as out_of_range, not a parse
  // error, and it escaped as a foreign exception (tests/data/README.md).
  EXPECT_EQ(parseError(std::string(R"({"input": 2e2222})")).code, ErrorCode::InvalidJson);
  EXPECT_EQ(parseError(std::string("2e222222222222")).code, ErrorCode::InvalidJson);
}

TEST(Architecture, LabelsThatTheOutputDoesNotHaveAreRefused) {
  auto j = base();  // 2 output channels
  j["output"] = {{"activation", "softmax"}, {"labels", {{{"index", 1}, {"name", "a"}}, {{"index", 2}, {"name", "b"}}}}};
  const auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ChannelMismatch);
  EXPECT_EQ(e.pointer, "/output/labels/1/index");
  j["output"]["labels"][1]["index"] = 0;
  EXPECT_NO_THROW((void)parseArchitecture(j.dump()));
  j["output"]["labels"][1]["interpreted_type"] = "TUMOUR";
  EXPECT_EQ(parseError(j).pointer, "/output/labels/1/interpreted_type");
  j = base();
  j["preprocessing"] = {{"window", {{"mode", "fixed"}, {"center", 40}}}};
  EXPECT_EQ(parseError(j).pointer, "/preprocessing/window");
  j["preprocessing"] = {{"resize", {{"mode", "crop"}}}};
  EXPECT_EQ(parseError(j).pointer, "/preprocessing/resize/mode");
}

TEST(Architecture, InputSpecText) {
  const auto s = parseInputSpec("3x512x256");
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.height, 512);
  EXPECT_EQ(s.width, 256);
  for (const char* bad : {"", "3x512", "0x1x1", "ax1x1", "1x1x1x1", "99999999999x1x1"}) {
    EXPECT_THROW((void)parseInputSpec(bad), Error) << bad;
  }
}

// --- DNN-parser -------------------------------------------------------------------------

TEST(DnnParser, PublishedUNetExampleHasTheRightShapeTable) {
  const auto arch = parseArchitecture(fixtureText(IODEEP_SOURCE_DIR "/examples/dnn-parser-unet/architecture.json"));
  EXPECT_EQ(arch.format, Architecture::Format::DnnParser);
  EXPECT_EQ(arch.input.channels, 3);  // channels_last 224x224x3
  EXPECT_EQ(arch.input.height, 224);
  const auto r = inferShapes(arch);
  std::map<std::string, std::vector<std::int64_t>> shape;
  for (const auto& l : r.layers) shape[l.id] = l.shape;
  EXPECT_EQ(shape["1.act2"], (std::vector<std::int64_t>{64, 224, 224}));
  EXPECT_EQ(shape["7.act2"], (std::vector<std::int64_t>{512, 28, 28}));
  EXPECT_EQ(shape["8"], (std::vector<std::int64_t>{512, 14, 14}));
  EXPECT_EQ(shape["9.act2"], (std::vector<std::int64_t>{1024, 14, 14}));
  EXPECT_EQ(shape["10_skip"], (std::vector<std::int64_t>{1024 + 512, 28, 28}));  // skip 7 -> 10
  EXPECT_EQ(shape["11.act2"], (std::vector<std::int64_t>{512, 28, 28}));
  EXPECT_EQ(shape["16_skip"], (std::vector<std::int64_t>{128 + 64, 224, 224}));  // skip 1 -> 16
  EXPECT_EQ(shape["17.act2"], (std::vector<std::int64_t>{64, 224, 224}));
  EXPECT_EQ(r.outputShape, (std::vector<std::int64_t>{1, 224, 224}));
  // parameters counted independently: conv (k*k*cin+1)*cout, batch norm 4*c+1, twice per block
  const auto block = [](std::int64_t cin, std::int64_t cout) {
    return (9 * cin + 1) * cout + (4 * cout + 1) + (9 * cout + 1) * cout + (4 * cout + 1);
  };
  const std::int64_t expected = block(3, 64) + block(64, 128) + block(128, 256) + block(256, 512) + block(512, 1024) +
                                block(1536, 512) + block(768, 256) + block(384, 128) + block(192, 64) + (64 + 1);
  EXPECT_EQ(r.totalParameters, expected);
}

TEST(DnnParser, ChannelsFirstAndDefaults) {
  auto j = json::parse(fixtureText(IODEEP_SOURCE_DIR "/examples/tiny-unet/architecture.json"));
  j["data_format"]["data_format"] = "channels_first";
  j["input_shape"] = {{"input_shape0", 1}, {"input_shape1", 96}, {"input_shape2", 64}, {"label_shape", 1}};
  const auto arch = parseArchitecture(j.dump());
  EXPECT_EQ(arch.input.channels, 1);
  EXPECT_EQ(arch.input.height, 96);
  EXPECT_EQ(arch.input.width, 64);
  EXPECT_EQ(inferShapes(arch).outputShape, (std::vector<std::int64_t>{1, 96, 64}));
}

TEST(DnnParser, ErrorsNameTheLayerKey) {
  const auto tiny = json::parse(fixtureText(IODEEP_SOURCE_DIR "/examples/tiny-unet/architecture.json"));
  auto j = tiny;
  j["architecture"]["2"] = "lstm";
  auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::UnsupportedLayer);
  EXPECT_EQ(e.layer, "2");
  EXPECT_EQ(e.pointer, "/architecture/2");

  j = tiny;
  j["architecture"]["4"] = "Maxpool3d";
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::UnknownLayerType);
  EXPECT_EQ(e.layer, "4");

  j = tiny;
  j["convolutional"].erase("cn2");
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.layer, "3");
  EXPECT_EQ(e.pointer, "/convolutional/cn2");

  j = tiny;
  j["skip_connection"]["3"] = "99";
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::DanglingInput);

  j = tiny;
  j["skip_connection"] = {{"1", "6"}};  // 128x128 encoder output into the 64x64 level
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ShapeMismatch);
  EXPECT_EQ(e.layer, "6_skip");

  j = tiny;
  j["input_shape"]["label_shape"] = 3;
  e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::ChannelMismatch);

  j = tiny;
  j["architecture"].erase("5");
  EXPECT_EQ(parseError(j).code, ErrorCode::InvalidArchitecture);  // a gap in 1..N
}

TEST(DnnParser, DenseAndDepthwiseSeparable) {
  const auto j = json::parse(R"({
    "input_shape": {"input_shape0": 16, "input_shape1": 16, "input_shape2": 3, "label_shape": 5},
    "architecture": {"1": "dsc2d", "2": "batchNorm2d", "3": "relu", "4": "Avgpool2d", "5": "Flatten",
                     "6": "dense", "7": "dropout", "8": "dense", "9": "softmax"},
    "convolutional": {"cn1": 8}, "kernel": {"kernel1": 3}, "pooling": {"pool1": 4},
    "padding_conv": {"padding_conv": 1}, "dense": {"dense1": 10},
    "data_format": {"data_format": "channels_last"}})");
  const auto arch = parseArchitecture(j.dump());
  const auto r = inferShapes(arch);
  EXPECT_EQ(r.outputShape, std::vector<std::int64_t>{5});
  std::map<std::string, std::vector<std::int64_t>> tensors;
  for (const auto& t : expectedTensors(arch)) tensors[t.name] = t.shape;
  EXPECT_EQ(tensors["1_dw.weight"], (std::vector<std::int64_t>{3, 1, 3, 3}));  // depthwise
  EXPECT_EQ(tensors["1.weight"], (std::vector<std::int64_t>{8, 3, 1, 1}));     // pointwise
  EXPECT_EQ(tensors["6.weight"], (std::vector<std::int64_t>{10, 8 * 4 * 4}));
  EXPECT_EQ(tensors["8.weight"], (std::vector<std::int64_t>{5, 10}));  // last dense: label_shape
}

// SamplesPerPixel against input channels: the rule check_tensor_shape applies to each slice, and
// pack/inspect apply to what an object declares.
TEST(Channels, FitDependsOnSamplesChannelsAndPreprocessing) {
  using Ch = PreprocessingSpec::Channels;
  const auto fits = [](std::uint16_t samples, std::int64_t channels, Ch mode) {
    Architecture a;
    a.input = {channels, 8, 8};
    a.preprocessing.channels = mode;
    return feedsChannels(samples, a);
  };
  for (const Ch mode : {Ch::Strict, Ch::Replicate, Ch::Luminance, Ch::Adapt}) {
    EXPECT_TRUE(fits(1, 1, mode));
    EXPECT_TRUE(fits(3, 3, mode));
  }
  EXPECT_FALSE(fits(1, 3, Ch::Strict));  // the hole: a 3-channel network packed with SamplesPerPixel 1
  EXPECT_FALSE(fits(1, 3, Ch::Luminance));
  EXPECT_TRUE(fits(1, 3, Ch::Replicate));
  EXPECT_TRUE(fits(1, 3, Ch::Adapt));
  EXPECT_TRUE(fits(1, 4, Ch::Replicate));  // grey into any number of channels
  EXPECT_FALSE(fits(3, 1, Ch::Strict));
  EXPECT_FALSE(fits(3, 1, Ch::Replicate));
  EXPECT_TRUE(fits(3, 1, Ch::Luminance));
  EXPECT_TRUE(fits(3, 1, Ch::Adapt));
  EXPECT_FALSE(fits(3, 4, Ch::Adapt));  // nothing turns RGB into 4 channels
  Architecture a;
  a.input = {3, 8, 8};
  const auto fit = fitChannels(1, a);
  EXPECT_FALSE(fit.feeds);
  EXPECT_NE(fit.detail.find("replicate"), std::string::npos) << "says what to change: " << fit.detail;
  // checkTensorShape applies the same rule to a slice
  iod::SliceAttributes grey;
  grey.samplesPerPixel = 1;
  grey.rows = grey.columns = 8;
  grey.photometricInterpretation = "MONOCHROME2";
  EXPECT_FALSE(checkTensorShape(grey, a).ok());
  a.preprocessing.channels = Ch::Adapt;
  const auto check = checkTensorShape(grey, a);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.adaptations, std::vector<std::string>{"grey replicated into 3 channels"});
}

TEST(Channels, AdaptParsesInOurFormat) {
  auto j = base();
  j["preprocessing"] = {{"channels", "adapt"}};
  EXPECT_EQ(parseArchitecture(j.dump()).preprocessing.channels, PreprocessingSpec::Channels::Adapt);
  EXPECT_EQ(parseArchitecture(base().dump()).preprocessing.channels, PreprocessingSpec::Channels::Strict);
  j["preprocessing"] = {{"channels", "rgb"}};
  const auto e = parseError(j);
  EXPECT_EQ(e.code, ErrorCode::InvalidArchitecture);
  EXPECT_EQ(e.pointer, "/preprocessing/channels");
}

// The published format has no pre-processing; the paper's check_tensor_shape adapts the slice
// to the network's channels, and so does the import unless a "preprocessing" section says otherwise.
TEST(DnnParser, ChannelsAdaptUnlessThePreprocessingSectionSaysOtherwise) {
  auto j = json::parse(fixtureText(IODEEP_SOURCE_DIR "/examples/dnn-parser-unet/architecture.json"));
  const auto paper = parseArchitecture(j.dump());
  EXPECT_EQ(paper.preprocessing.channels, PreprocessingSpec::Channels::Adapt);
  EXPECT_TRUE(feedsChannels(1, paper));  // an MR slice feeds the paper's 224x224x3 U-Net
  EXPECT_TRUE(feedsChannels(3, paper));
  j["preprocessing"] = {{"window", {{"mode", "percentile"}}}};  // a section without "channels"
  EXPECT_EQ(parseArchitecture(j.dump()).preprocessing.channels, PreprocessingSpec::Channels::Adapt);
  j["preprocessing"] = {{"channels", "strict"}};
  const auto strict = parseArchitecture(j.dump());
  EXPECT_EQ(strict.preprocessing.channels, PreprocessingSpec::Channels::Strict);
  EXPECT_FALSE(feedsChannels(1, strict));
}

TEST(Channels, PreprocessReplicatesGreyIntoEveryChannel) {
  iod::SliceImage img;
  img.rows = img.columns = 2;
  img.pixels = {1.0F, 2.0F, 3.0F, 4.0F};
  img.attributes.samplesPerPixel = 1;
  img.attributes.rows = img.attributes.columns = 2;
  img.attributes.bitsStored = 16;
  img.attributes.photometricInterpretation = "MONOCHROME2";
  for (const std::int64_t channels : {3, 4}) {
    Architecture a;
    a.input = {channels, 2, 2};
    a.preprocessing.channels = PreprocessingSpec::Channels::Adapt;
    const auto in = preprocess(img, a);
    EXPECT_EQ(in.tensor.shape, (std::vector<std::int64_t>{channels, 2, 2}));
    for (std::int64_t c = 0; c < channels; ++c) {
      EXPECT_EQ(std::vector<float>(in.tensor.values.begin() + c * 4, in.tensor.values.begin() + c * 4 + 4), img.pixels)
          << "channel " << c;
    }
  }
}
