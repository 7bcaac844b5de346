#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Legacy.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/WeightsImport.hpp"
#include "iodeep/reports/Inspect.hpp"
#include "iodeep/workflow/Pack.hpp"

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
  // what is said about the weights names their element as context, in the text and the JSON
  const auto weights = std::find_if(r.findings.begin(), r.findings.end(),
                                    [](const iod::Finding& f) { return f.context.dicomTag == "(0017,0018)"; });
  ASSERT_NE(weights, r.findings.end()) << text;
  EXPECT_EQ(weights->message.find("(0017,0018)"), std::string::npos) << weights->message;
  EXPECT_NE(text.find(": (0017,0018): holds a torch.save zip archive"), std::string::npos) << text;
  EXPECT_TRUE(std::any_of(j["findings"].begin(), j["findings"].end(), [](const nlohmann::json& f) {
    return f.contains("context") && f["context"]["dicomTag"] == "(0017,0018)" &&
           f["message"].get<std::string>().starts_with("(0017,0018): ");
  })) << j["findings"].dump();
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

// The reference code saves a new pydicom data set: no preamble, no "DICM" (tests/fixtures/
// make_fixtures.py write_variant); a copy may also travel as a bare data set in any uncompressed
// syntax. Each is inspected as the legacy object it is and converts to the very same network.
TEST(Legacy, ObjectsWithoutPreambleOrFileMetaInformationInspectAndConvert) {
  test::TempDir dir;
  const auto original = iod::readLegacy(test::fixture("legacy_implicit.dcm"));
  client::PackOptions o;
  o.fromLegacy = test::fixture("legacy_implicit.dcm");
  o.output = dir / "reference.dcm";
  const auto reference = client::pack(o);
  for (const std::string kind : {"nopreamble", "nometa_implicit", "nometa_explicit", "nometa_bigendian"}) {
    const auto path = test::fixture("legacy_" + kind + ".dcm");
    const auto head = test::readBytes(path);
    ASSERT_GT(head.size(), 132U);
    ASSERT_NE(std::string(reinterpret_cast<const char*>(head.data()) + 128, 4), "DICM") << kind;
    const auto r = client::inspect(path);
    EXPECT_EQ(r.kind, iod::ObjectKind::Legacy) << kind;
    const auto legacy = iod::readLegacy(path);
    EXPECT_EQ(legacy.architectureLiteral, original.architectureLiteral) << kind;
    EXPECT_EQ(legacy.weightsBase64, original.weightsBase64) << kind;
    EXPECT_EQ(legacy.name, original.name) << kind;
    const bool bare = kind != "nopreamble";
    EXPECT_EQ(legacy.transferSyntaxUid, kind == "nometa_explicit"    ? "1.2.840.10008.1.2.1"
                                        : kind == "nometa_bigendian" ? "1.2.840.10008.1.2.2"
                                                                     : "1.2.840.10008.1.2")
        << kind;
    EXPECT_EQ(r.toText().find("no File Meta Information") != std::string::npos, bare) << kind;
    o.fromLegacy = path;
    o.output = dir / (kind + ".dcm");
    const auto converted = client::pack(o);
    EXPECT_EQ(converted.model.dnnUid, reference.model.dnnUid) << kind;  // content-derived: the same network
    EXPECT_TRUE(client::inspect(o.output).ok()) << kind;
  }
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
    EXPECT_EQ(e.file(), o.fromLegacy.string());
    EXPECT_EQ(e.dicomTag(), "(0017,0018)");
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

// --- SamplesPerPixel against the network's input channels (PACS-workflow issue) ---

namespace {

// A 3-channel network in our format (strict channels unless @p preprocessing says otherwise),
// written with weights that fit; returns the architecture path.
std::filesystem::path writeRgbNetwork(const test::TempDir& dir, const std::string& preprocessing = "") {
  const std::string json = R"({"input": {"channels": 3, "height": 8, "width": 8},
    "layers": [{"id": "head", "type": "conv2d", "out_channels": 1, "kernel_size": 1}])" +
                           (preprocessing.empty() ? "" : R"(, "preprocessing": )" + preprocessing) + "}";
  const auto arch = dir / ("rgb" + std::to_string(preprocessing.size()) + ".json");
  std::ofstream(arch) << json;
  const auto w = netparser::initWeights(netparser::parseArchitecture(json), 1);
  test::writeBytes(dir / "rgb.safetensors", std::vector<std::byte>(w.bytes().begin(), w.bytes().end()));
  return arch;
}

}  // namespace

// Regression: a 3-channel network packed with the default SamplesPerPixel 1 was accepted;
// selection would choose it for grey slices and every prediction would refuse them.
TEST(Pack, SamplesPerPixelThatNeverFeedsTheNetworkIsRefused) {
  test::TempDir dir;
  auto o = options(dir, dir / "rgb.safetensors", writeRgbNetwork(dir));
  o.samplesPerPixel = 1;
  try {
    (void)client::pack(o);
    FAIL() << "packed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ChannelMismatch) << e.what();
    EXPECT_EQ(e.file(), o.architecture.string());
    EXPECT_EQ(e.pointer(), "/preprocessing/channels");
    EXPECT_NE(std::string(e.what()).find("--samples-per-pixel 3"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
  // not given: taken from the network, so the default is never the hole
  o.samplesPerPixel.reset();
  const auto r = client::pack(o);
  EXPECT_TRUE(r.samplesPerPixelDefaulted);
  EXPECT_EQ(r.model.target.samplesPerPixel, 3);
  EXPECT_EQ(r.model.target.photometricInterpretation, "RGB");
  EXPECT_TRUE(client::inspect(o.output).ok());
  // a grey network still defaults to 1
  test::TempDir grey;
  const auto g = client::pack(options(grey, test::fixture("plain.pt")));
  EXPECT_EQ(g.model.target.samplesPerPixel, 1);
  EXPECT_TRUE(g.samplesPerPixelDefaulted);
}

TEST(Pack, PreprocessingFileLetsAGreyObjectFeedAThreeChannelNetwork) {
  test::TempDir dir;
  auto o = options(dir, dir / "rgb.safetensors", writeRgbNetwork(dir));
  std::ofstream(dir / "pre.json") << R"({"channels": "replicate"})";
  o.preprocessing = dir / "pre.json";
  o.samplesPerPixel = 1;
  const auto r = client::pack(o);
  EXPECT_EQ(r.channelAdaptation, "grey replicated into 3 channels");
  EXPECT_EQ(r.model.target.samplesPerPixel, 1);
  EXPECT_NE(r.model.architectureJson.find(R"("preprocessing": {"channels":"replicate"})"), std::string::npos)
      << r.model.architectureJson;
  EXPECT_EQ(r.model.architectureJson.find(R"({"input": {"channels": 3)"), 0U) << "the rest is kept as written";
  const auto report = client::inspect(o.output);
  EXPECT_TRUE(report.ok()) << report.toText();
  EXPECT_NE(report.channels.find("grey replicated"), std::string::npos) << report.channels;
  // the pre-processing is part of the network's identity
  auto plain = options(dir, dir / "rgb.safetensors", o.architecture);
  plain.output = dir / "plain.dcm";
  EXPECT_NE(client::pack(plain).model.dnnUid, r.model.dnnUid);

  // an architecture with a section of its own is not silently overridden
  auto twice = options(dir, dir / "rgb.safetensors", writeRgbNetwork(dir, R"({"channels": "strict"})"));
  twice.preprocessing = dir / "pre.json";
  twice.output = dir / "twice.dcm";
  try {
    (void)client::pack(twice);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  }
  // an invalid section names the pre-processing file and the pointer
  std::ofstream(dir / "bad.json") << R"({"channels": "rgb"})";
  o.preprocessing = dir / "bad.json";
  o.output = dir / "bad.dcm";
  try {
    (void)client::pack(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArchitecture) << e.what();
    EXPECT_EQ(e.file(), (dir / "bad.json").string());
    EXPECT_EQ(e.pointer(), "/preprocessing/channels");
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "twice.dcm"));
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.dcm"));
}

// An object written by other software (or before pack checked): inspect flags it.
TEST(Inspect, SamplesPerPixelThatNeverFeedsTheNetworkIsAnError) {
  test::TempDir dir;
  const auto archPath = writeRgbNetwork(dir);
  iod::PackInput in;
  in.architectureJson = iod::readTextFile(archPath);
  in.weights = iod::ByteBuffer::mapFile(dir / "rgb.safetensors");
  in.name = "rgb";
  in.target.modality = "MR";
  in.target.bodyPartExamined = "HEAD";
  in.target.samplesPerPixel = 1;
  in.target.photometricInterpretation = "MONOCHROME2";
  iod::writeIodeep(iod::buildModel(in), dir / "inconsistent.dcm");
  const auto report = client::inspect(dir / "inconsistent.dcm");
  EXPECT_FALSE(report.ok());
  const auto it = std::find_if(report.findings.begin(), report.findings.end(),
                               [](const iod::Finding& f) { return f.code == ErrorCode::ChannelMismatch; });
  ASSERT_NE(it, report.findings.end()) << report.toText();
  EXPECT_EQ(it->severity, iod::Finding::Severity::Error);
  EXPECT_NE(report.toJson().find("\"ChannelMismatch\""), std::string::npos);

  in.target.samplesPerPixel = 3;
  in.target.photometricInterpretation = "RGB";
  iod::writeIodeep(iod::buildModel(in), dir / "consistent.dcm");
  EXPECT_TRUE(client::inspect(dir / "consistent.dcm").ok());
}

// An architecture that does not parse is an error finding about DnnArchitecture, with the layer
// and JSON pointer as its context.
TEST(Inspect, ArchitectureErrorsAreFindingsAboutDnnArchitecture) {
  test::TempDir dir;
  (void)writeRgbNetwork(dir);
  iod::PackInput in;
  in.architectureJson =
      R"({"input": {"channels": 3, "height": 8, "width": 8}, "layers": [{"id": "a", "type": "conv2d", "kernel_size": 1}]})";
  in.weights = iod::ByteBuffer::mapFile(dir / "rgb.safetensors");
  in.name = "broken";
  in.target.modality = "MR";
  in.target.bodyPartExamined = "HEAD";
  in.target.samplesPerPixel = 3;
  in.target.photometricInterpretation = "RGB";
  iod::writeIodeep(iod::buildModel(in), dir / "broken.dcm");
  const auto report = client::inspect(dir / "broken.dcm");
  EXPECT_FALSE(report.ok());
  const auto it = std::find_if(report.findings.begin(), report.findings.end(),
                               [](const iod::Finding& f) { return f.code == ErrorCode::InvalidArchitecture; });
  ASSERT_NE(it, report.findings.end()) << report.toText();
  EXPECT_EQ(it->context.dicomTag, "DnnArchitecture");
  EXPECT_EQ(it->context.layer, "a");
  EXPECT_EQ(it->context.pointer, "/layers/0/out_channels");
  EXPECT_EQ(it->message.find("DnnArchitecture"), std::string::npos) << it->message;
  EXPECT_NE(report.toText().find("error: DnnArchitecture: architecture: layer 'a' (/layers/0/out_channels): "),
            std::string::npos)
      << report.toText();
}
