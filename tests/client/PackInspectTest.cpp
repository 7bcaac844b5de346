#include <gtest/gtest.h>

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

client::PackOptions options(const test::TempDir& dir, const std::filesystem::path& weights) {
  iod::writeFileAtomically(dir / "arch.json", std::string_view(R"({"format": "test", "layers": []})"));
  client::PackOptions o;
  o.architecture = dir / "arch.json";
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
  // Even-sized files are streamed from disk into the DICOM file; odd-sized ones get DICOM's pad
  // byte, which the reader strips again.
  std::vector<std::uint8_t> odd{1, 2, 3};
  iod::SafetensorsWriter w;
  w.add("mask", iod::DType::U8, {3}, std::as_bytes(std::span<const std::uint8_t>(odd)));
  for (const auto& buf : {test::smallWeights(5, 1001), w.finish()}) {
    test::TempDir dir;
    test::writeBytes(dir / "w.safetensors", std::vector<std::byte>(buf.bytes().begin(), buf.bytes().end()));
    (void)client::pack(options(dir, dir / "w.safetensors"));
    const auto f = iod::readIodeep(dir / "out.dcm");
    const auto st = iod::Safetensors::parse(f.model.weights);
    ASSERT_EQ(f.model.weights.size(), buf.size());  // no DICOM pad byte
    ASSERT_EQ(st.logicalBytes().size(), buf.size());
    EXPECT_TRUE(std::equal(buf.bytes().begin(), buf.bytes().end(), st.logicalBytes().begin()));
    EXPECT_TRUE(client::inspect(dir / "out.dcm").ok());
    EXPECT_TRUE(test::dciodvfyErrors(dir / "out.dcm").empty());
  }
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
  EXPECT_EQ(test::listFiles(dir.path()).size(), 2U);  // arch.json and out.dcm, no temporary left
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
  EXPECT_EQ(arch["architecture"]["18"], "cnn2d");
  EXPECT_EQ(arch["convolutional"]["cn5"], 1024);
  EXPECT_EQ(arch["data_format"]["data_format"], "channels_last");
  // same tensors as the state dict inside
  const auto direct = netparser::importWeights(test::fixture("plain.pt"));
  EXPECT_EQ(iod::Safetensors::parse(direct.safetensors).tensors().size(), report.tensors.size());
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
