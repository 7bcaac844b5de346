#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/client/Inspect.hpp"
#include "iodeep/client/Pack.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/WeightsImport.hpp"

using namespace iodeep;

namespace {

client::PackOptions options(const test::TempDir& dir, const std::filesystem::path& weights,
                            const std::filesystem::path& arch = test::fixture("plain.arch.json")) {
  client::PackOptions o;
  o.architecture = arch;
  o.weights = weights;
  o.name = "tiny";
  o.modality = "MR";
  o.bodyPart = "HEAD";
  o.output = dir / "out.dcm";
  return o;
}

}  // namespace

TEST(Pack, FromEveryAcceptedWeightsFormat) {
  for (const char* name : {"plain.pt", "torchscript.pt"}) {
    test::TempDir dir;
    const auto r = client::pack(options(dir, test::fixture(name)));
    EXPECT_GT(r.tensorCount, 0U);
    const auto report = client::inspect(dir / "out.dcm");
    EXPECT_TRUE(report.ok()) << report.toText();
    EXPECT_EQ(report.tensors.size(), r.tensorCount);
  }
}

TEST(Pack, SafetensorsInputIsStoredByteForByte) {
  test::TempDir dir;
  const auto src = test::fixture("ref_unet.safetensors");
  (void)client::pack(options(dir, src, test::fixture("ref_unet.json")));
  const auto f = iod::readIodeep(dir / "out.dcm");
  const auto original = test::readBytes(src);
  ASSERT_EQ(f.model.weights.size(), original.size());
  EXPECT_TRUE(std::equal(original.begin(), original.end(), f.model.weights.bytes().begin()));
  const auto report = client::inspect(dir / "out.dcm");
  EXPECT_TRUE(report.ok()) << report.toText();
  EXPECT_EQ(report.architectureFormat, "iodeep");
  EXPECT_NE(report.shapeTable.find("softmax"), std::string::npos);
}

TEST(Pack, WeightsThatDoNotFitTheArchitectureAreRefused) {
  test::TempDir dir;
  try {
    (void)client::pack(options(dir, test::fixture("ref_unet.safetensors")));  // plain.arch.json
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::WeightsMismatch);
    EXPECT_NE(std::string(e.what()).find("missing conv.weight"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), test::fixture("ref_unet.safetensors").string()) << "the weights file is named";
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out.dcm"));
}

TEST(Pack, TorchScriptNetworksStoreTheArchiveAsIs) {
  test::TempDir dir;
  const auto r = client::pack(options(dir, test::fixture("torchscript.pt"), test::fixture("torchscript.arch.json")));
  EXPECT_EQ(r.model.weightsFormat, "TORCHSCRIPT");
  const auto f = iod::readIodeep(dir / "out.dcm");
  const auto original = test::readBytes(test::fixture("torchscript.pt"));
  ASSERT_EQ(f.model.weights.size(), original.size());  // no DICOM pad byte, whatever the parity
  EXPECT_TRUE(std::equal(original.begin(), original.end(), f.model.weights.bytes().begin()));
  const auto report = client::inspect(dir / "out.dcm");
  EXPECT_TRUE(report.ok()) << report.toText();
  EXPECT_EQ(report.architectureFormat, "torchscript");
  EXPECT_TRUE(test::dciodvfyErrors(dir / "out.dcm").empty());
  // a TorchScript architecture with a weights file that is not an archive
  EXPECT_THROW((void)client::pack(options(dir, test::fixture("plain.pt"), test::fixture("torchscript.arch.json"))),
               Error);
}

TEST(Pack, ArchitectureErrorsNameTheFileLayerAndPointer) {
  test::TempDir dir;
  std::ofstream(dir / "bad.json") << R"({"input": {"channels": 1, "height": 8, "width": 8},
    "layers": [{"id": "a", "type": "conv2d", "kernel_size": 3}]})";
  try {
    (void)client::pack(options(dir, test::fixture("ref_unet.safetensors"), dir / "bad.json"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), (dir / "bad.json").string());
    EXPECT_EQ(e.layer(), "a");
    EXPECT_EQ(e.pointer(), "/layers/0/out_channels");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out.dcm"));
}

TEST(Pack, FailureLeavesNoOutput) {
  test::TempDir dir;
  auto o = options(dir, test::fixture("ordered.pt"));
  EXPECT_THROW((void)client::pack(o), Error);
  EXPECT_FALSE(std::filesystem::exists(o.output));
  // an existing output is not damaged by a failed pack
  o.weights = test::fixture("plain.pt");
  (void)client::pack(o);
  const auto before = test::readBytes(o.output);
  o.weights = test::fixture("oldformat.pt");
  EXPECT_THROW((void)client::pack(o), Error);
  EXPECT_EQ(test::readBytes(o.output), before);
  EXPECT_EQ(test::listFiles(dir.path()).size(), 1U);  // out.dcm, no temporary left
}

TEST(Legacy, InspectRecognisesAndExplains) {
  const auto r = client::inspect(test::fixture("legacy_implicit.dcm"));
  EXPECT_EQ(r.kind, iod::ObjectKind::Legacy);
  EXPECT_FALSE(r.ok());
  const std::string text = r.toText();
  EXPECT_NE(text.find("LEGACY"), std::string::npos);
  EXPECT_NE(text.find("no private creator"), std::string::npos) << text;
  EXPECT_NE(text.find("Python literal"), std::string::npos) << text;
  EXPECT_NE(text.find("SOPClassUID"), std::string::npos) << text;
  EXPECT_NE(text.find("Implicit VR"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(r.toJson());
  EXPECT_EQ(j["kind"], "legacy");
  EXPECT_EQ(j["legacy"]["name"], "UNet brain");
}

TEST(Legacy, PackFromLegacyConvertsToAValidObject) {
  test::TempDir dir;
  client::PackOptions o;
  o.fromLegacy = test::fixture("legacy_implicit.dcm");
  o.output = dir / "converted.dcm";
  const auto r = client::pack(o);
  EXPECT_EQ(r.model.name, "UNet brain");
  EXPECT_EQ(r.model.target.bodyPartExamined, "HEAD");  // "Head" normalised
  EXPECT_NE(r.model.description.find("1.2.3.4.5.6.7"), std::string::npos);
  const auto report = client::inspect(o.output);
  ASSERT_TRUE(report.ok()) << report.toText();
  const auto arch = nlohmann::json::parse(report.file->model.architectureJson);
  EXPECT_EQ(arch["architecture"]["6"], "cnn2d");
  EXPECT_EQ(arch["convolutional"]["cn2"], 8);
  EXPECT_EQ(report.architectureFormat, "DNN-parser");
  EXPECT_EQ(arch["data_format"]["data_format"], "channels_last");
  // the same tensors as the reference network of that architecture
  const auto direct = iod::Safetensors::parse(iod::ByteBuffer::mapFile(test::fixture("ref_dnnparser.safetensors")));
  EXPECT_EQ(direct.tensors().size(), report.tensors.size());
  EXPECT_TRUE(test::dciodvfyErrors(o.output).empty());
}

TEST(Legacy, UnconvertibleWeightsAreAClearError) {
  test::TempDir dir;
  client::PackOptions o;
  o.fromLegacy = test::fixture("legacy_ordered.dcm");
  o.output = dir / "converted.dcm";
  try {
    (void)client::pack(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::UnsupportedWeights);
    EXPECT_NE(std::string(e.what()).find("OrderedDict"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

TEST(Inspect, NonIodeepDicomIsNotIodeep) {
  test::TempDir dir;
  // a legacy object with its private elements stripped is plain DICOM
  try {
    (void)client::inspect(test::fixture("plain.pt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotDicom);
  }
}
