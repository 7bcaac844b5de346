#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../iod/TestSupport.hpp"
#include "iodeep/client/Pack.hpp"
#include "iodeep/client/Predict.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Polygon.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Prediction.hpp"

using namespace iodeep;

namespace {

const std::filesystem::path kPydicomTestFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const std::filesystem::path kBrainModel = IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm";

std::filesystem::path slicePath(int k) {
  char name[32];
  std::snprintf(name, sizeof name, "slice_%03d.dcm", k);
  return test::fixture("brain-series") / name;
}

std::vector<std::uint8_t> maskOf(int k) {
  char name[32];
  std::snprintf(name, sizeof name, "mask_%03d.u8", k);
  const auto bytes = test::readBytes(test::fixture("brain-series") / name);
  std::vector<std::uint8_t> m(bytes.size());
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = std::to_integer<std::uint8_t>(bytes[i]);
  return m;
}

netparser::Architecture windowedArch(std::int64_t h, std::int64_t w) {
  return netparser::parseArchitecture(R"({"input": {"channels": 1, "height": )" + std::to_string(h) + R"(, "width": )" +
                                      std::to_string(w) + R"(},
    "layers": [{"id": "id", "type": "identity"}],
    "preprocessing": {"window": {"mode": "fixed", "center": 40, "width": 400}}})");
}

}  // namespace

TEST(Predict, BrainModelOnHeldOutSlicesHasDiceAbove09) {
  // slices 20-25 and 44-47 were held out of training (examples/brain-unet/train.py)
  for (int k : {20, 21, 22, 23, 24, 25, 44, 45, 46, 47}) {
    client::PredictOptions o{kBrainModel, slicePath(k), 0, false};
    const auto r = client::predict(o);
    ASSERT_EQ(r.proposals.size(), 1U) << "slice " << k;
    EXPECT_EQ(r.proposals[0].label.name, "Brain");
    std::vector<iod::Ring> rings;
    for (const auto& p : r.proposals) rings.insert(rings.end(), p.rings.begin(), p.rings.end());
    const auto predicted = iod::fillEvenOdd(rings, 128, 128);
    const auto truth = maskOf(k);
    std::size_t both = 0;
    std::size_t total = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      both += (predicted[i] != 0 && truth[i] != 0) ? 1U : 0U;
      total += (predicted[i] != 0 ? 1U : 0U) + (truth[i] != 0 ? 1U : 0U);
    }
    const double dice = 2.0 * static_cast<double>(both) / static_cast<double>(total);
    EXPECT_GE(dice, 0.9) << "slice " << k;
    // area in mm2 from PixelSpacing 2 x 2
    EXPECT_DOUBLE_EQ(r.proposals[0].areaMm2, 4.0 * static_cast<double>(r.proposals[0].areaPixels));
  }
}

TEST(Predict, BrainReportNamesExactlyTheTrainedNeighboursOfValidationSlices) {
  // examples/brain-unet: held-out blocks 20-25 and 44-47; their end slices have trained neighbours
  std::ifstream in(IODEEP_SOURCE_DIR "/examples/brain-unet/training-report.json");
  const auto report = nlohmann::json::parse(in);
  const auto validation = report["validation_slices"].get<std::vector<int>>();
  EXPECT_EQ(validation, (std::vector<int>{20, 21, 22, 23, 24, 25, 44, 45, 46, 47}));  // as the Dice test uses
  std::set<int> neighbours;
  for (const int k : validation) {
    for (const int n : {k - 1, k + 1}) {
      if (std::find(validation.begin(), validation.end(), n) == validation.end()) neighbours.insert(n);
    }
  }
  EXPECT_EQ(std::vector<int>(neighbours.begin(), neighbours.end()),
            report["trained_neighbours_of_validation"].get<std::vector<int>>());
  EXPECT_EQ(neighbours, (std::set<int>{19, 26, 43, 48}));
}

TEST(Predict, SecondPredictionUsesTheCachedNetwork) {
  client::PredictOptions o{kBrainModel, slicePath(30), 0, false};
  (void)client::predict(o);
  const auto again = client::predict(o);
  EXPECT_TRUE(again.networkFromCache);
}

// Regression (cache hole): the engine cached networks by DnnUID only, so a TorchScript model
// predicted once with allowTorchScript ran again for a caller that did not allow it.
TEST(Predict, TorchScriptPermissionIsNotInheritedFromTheCache) {
  test::TempDir dir;
  client::PackOptions pack;
  pack.architecture = test::fixture("torchscript.arch.json");
  pack.weights = test::fixture("torchscript.pt");
  pack.name = "scripted";
  pack.modality = "MR";
  pack.bodyPart = "HEAD";
  pack.output = dir / "scripted.dcm";
  (void)client::pack(pack);
  const client::PredictOptions allowed{pack.output, slicePath(30), 0, true};
  (void)client::predict(allowed);  // built with permission, now cached
  const client::PredictOptions refused{pack.output, slicePath(30), 0, false};
  try {
    (void)client::predict(refused);
    ADD_FAILURE() << "the cached TorchScript network ran without permission";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::TorchScriptRefused) << e.what();
    EXPECT_EQ(e.file(), pack.output.string()) << e.what();
  }
}

TEST(Predict, RingsMapToPatientCoordinates) {
  const auto r = client::predict({kBrainModel, slicePath(22), 0, false});
  const auto j = nlohmann::json::parse(r.toJson());
  const auto& ring = j["proposals"][0]["rings"][0];
  const auto px = ring["pixels"][0];
  const auto mm = ring["patientMm"][0];
  // slice 22: IPP (0, 254 - 66, 254), rows along -Z, columns along +X, 2 mm pixels
  EXPECT_NEAR(mm[0].get<double>(), 2.0 * px[0].get<double>(), 1e-9);
  EXPECT_NEAR(mm[1].get<double>(), 188.0, 1e-9);
  EXPECT_NEAR(mm[2].get<double>(), 254.0 - 2.0 * px[1].get<double>(), 1e-9);
}

// A slice without the preamble (pydicom's new data set) and as a bare data set in each
// uncompressed syntax (tests/fixtures/make_fixtures.py write_variant): the same pixels, the same
// attributes, the same proposals as the Part 10 original.
TEST(Predict, SlicesWithoutPreambleOrFileMetaInformationGiveTheSameProposals) {
  const auto original = iod::readSlice(slicePath(22));
  const auto expected = client::predict({kBrainModel, slicePath(22), 0, false});
  for (const std::string kind : {"nopreamble", "nometa_implicit", "nometa_explicit", "nometa_bigendian"}) {
    const auto path = test::fixture("slice_022_" + kind + ".dcm");
    const auto img = iod::readSlice(path);
    EXPECT_EQ(img.pixels, original.pixels) << kind;
    EXPECT_EQ(img.attributes.sopInstanceUid, original.attributes.sopInstanceUid) << kind;
    EXPECT_EQ(img.attributes.imagePositionPatient, original.attributes.imagePositionPatient) << kind;
    EXPECT_EQ(img.attributes.transferSyntaxUid, kind == "nometa_implicit"    ? "1.2.840.10008.1.2"
                                                : kind == "nometa_bigendian" ? "1.2.840.10008.1.2.2"
                                                                             : "1.2.840.10008.1.2.1")
        << kind;
    const auto r = client::predict({kBrainModel, path, 0, false});
    ASSERT_EQ(r.proposals.size(), expected.proposals.size()) << kind;
    for (std::size_t i = 0; i < r.proposals.size(); ++i) {
      EXPECT_EQ(r.proposals[i].areaPixels, expected.proposals[i].areaPixels) << kind;
      EXPECT_EQ(r.proposals[i].rings.size(), expected.proposals[i].rings.size()) << kind;
    }
  }
}

TEST(Slice, CtModalityLutKeepsNegativeHounsfieldUnits) {
  const auto img = iod::readSlice("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
  const auto bytes = test::readBytes(test::fixture("ct_small.hu.f32"));
  std::vector<float> expected(bytes.size() / 4);
  std::memcpy(expected.data(), bytes.data(), bytes.size());
  ASSERT_EQ(img.pixels.size(), expected.size());
  EXPECT_EQ(img.pixels, expected);  // pydicom's apply_modality_lut, value for value
  EXPECT_LT(*std::min_element(img.pixels.begin(), img.pixels.end()), -100.0F);
  // soft-tissue window 40/400 on HU: a naive 8-bit cast of the stored values would not give this
  const auto in = netparser::preprocess(img, windowedArch(img.rows, img.columns));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double want = std::clamp((expected[i] - (40.0 - 200.0)) / 400.0, 0.0, 1.0);
    ASSERT_NEAR(in.tensor.values[i], want, 1e-6) << i;
  }
}

TEST(Slice, Monochrome1IsInvertedBeforePreprocessing) {
  const auto mono2 = iod::readSlice("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
  const auto mono1 = iod::readSlice(test::fixture("ct_small_monochrome1.dcm"));
  ASSERT_TRUE(mono1.monochrome1);
  EXPECT_NE(mono1.pixels, mono2.pixels);
  const auto arch = windowedArch(mono2.rows, mono2.columns);
  EXPECT_EQ(netparser::preprocess(mono1, arch).tensor.values, netparser::preprocess(mono2, arch).tensor.values);
}

TEST(Slice, ResizeWithPaddingMapsProposalsBackOntoTheSliceGrid) {
  // a 64x64 network on a 128x128 slice: proposals must come back in the slice's grid
  const auto img = iod::readSlice(slicePath(22));
  const auto arch = netparser::parseArchitecture(R"({"input": {"channels": 1, "height": 64, "width": 96},
    "layers": [{"id": "id", "type": "identity"}],
    "preprocessing": {"window": {"mode": "fixed", "center": 128, "width": 256}, "resize": {"mode": "pad"}},
    "output": {"activation": "none", "threshold": 0.3}})");
  const auto in = netparser::preprocess(img, arch);
  EXPECT_EQ(in.tensor.shape, (std::vector<std::int64_t>{1, 64, 96}));
  EXPECT_DOUBLE_EQ(in.placement.scaleRow, 0.5);
  EXPECT_DOUBLE_EQ(in.placement.offsetColumn, 16.0);
  const auto proposals = netparser::postprocess(in.tensor, in.placement, img.attributes, arch).proposals;
  ASSERT_FALSE(proposals.empty());
  for (const auto& p : proposals) {
    for (const auto& ring : p.rings) {
      for (const auto& pt : ring.points) {
        EXPECT_GE(pt.column, -0.5);
        EXPECT_LE(pt.column, 127.5);
      }
    }
  }
}

// The refusal carries the verification finding's code (not a guess from its wording) and the file.
TEST(Predict, AModelWithAFlippedPayloadBitIsRefusedAsChecksumMismatch) {
  test::TempDir dir;
  auto bytes = test::readBytes(kBrainModel);
  // the payload is the example's safetensors file: find its header, flip a bit of tensor data
  const auto weights = test::readBytes(IODEEP_SOURCE_DIR "/examples/brain-unet/weights.safetensors");
  std::uint64_t headerLen = 0;
  std::memcpy(&headerLen, weights.data(), 8);
  const auto it = std::search(bytes.begin(), bytes.end(), weights.begin(), weights.begin() + 64);
  ASSERT_NE(it, bytes.end());
  bytes[static_cast<std::size_t>(it - bytes.begin()) + 8 + headerLen + 100] ^= std::byte{0x01};
  const auto model = dir / "flipped.dcm";
  test::writeBytes(model, bytes);
  try {
    (void)client::predict({model, slicePath(30), 0, false});
    FAIL() << "a corrupted model was run";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ChecksumMismatch) << e.what();
    EXPECT_EQ(e.file(), model.string());
  }
}

TEST(Predict, SlicesTheNetworkCannotTakeAreClearErrors) {
  const auto expectCode = [](const std::filesystem::path& image, ErrorCode code) {
    try {
      (void)client::predict({kBrainModel, image, 0, false});
      ADD_FAILURE() << image << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << image << ": " << e.what();
      EXPECT_EQ(e.file(), image.string()) << "the error names the slice";
    }
  };
  const std::string data = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
  expectCode(data + "SC_rgb_dcmtk_+eb+cr.dcm", ErrorCode::IncompatibleImage);  // RGB into a 1-channel net, no rule
  expectCode(data + "JPEG2000.dcm", ErrorCode::UnsupportedImage);              // not decoded by DCMTK
  expectCode(test::fixture("ct_small_nopixels.dcm"), ErrorCode::UnsupportedImage);
  expectCode(data + "MR_truncated.dcm", ErrorCode::TruncatedDicom);
  expectCode(test::fixture("plain.pt"), ErrorCode::NotDicom);
  try {
    (void)client::predict({kBrainModel, slicePath(1), 5, false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);  // frame out of range
  }
}

// DCMTK 3.6.7's JPEG decoder never gets past a TEM marker (FF01) while it looks for the sample
// precision: the slice fuzzer hung there. readSlice must refuse such a stream, not hang.
TEST(Predict, ATemMarkerBeforeTheJpegFrameHeaderIsRefusedNotAHang) {
  test::TempDir dir;
  auto bytes = test::readBytes(kPydicomTestFiles / "JPEG-lossy.dcm");
  const std::array<std::byte, 3> soi{std::byte{0xFF}, std::byte{0xD8}, std::byte{0xFF}};
  const auto at = std::search(bytes.begin(), bytes.end(), soi.begin(), soi.end());
  ASSERT_NE(at, bytes.end());
  ASSERT_EQ(std::search(at + 1, bytes.end(), soi.begin(), soi.end()), bytes.end()) << "one JPEG stream";
  *(at + 3) = std::byte{0x01};  // FFD8 FFC1 (SOF1) becomes FFD8 FF01 (TEM)
  const auto corrupt = dir.path() / "tem.dcm";
  test::writeBytes(corrupt, bytes);
  EXPECT_NO_THROW((void)iod::readSlice(kPydicomTestFiles / "JPEG-lossy.dcm"));  // the untouched file decodes
  try {
    (void)iod::readSlice(corrupt);
    FAIL() << "a JPEG stream with TEM before its SOF was decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::UnsupportedImage) << e.what();
    EXPECT_NE(std::string(e.what()).find("FF01"), std::string::npos) << e.what();
  }
}

TEST(Predict, EveryPydicomTestFileGivesProposalsOrAClearError) {
  std::size_t ok = 0;
  std::size_t refused = 0;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/python3/dist-packages/pydicom/data/test_files")) {
    if (!e.is_regular_file()) continue;
    try {
      const auto r = client::predict({kBrainModel, e.path(), 0, false});
      ++ok;
    } catch (const Error& err) {
      ++refused;
      EXPECT_FALSE(std::string(err.what()).empty());
      std::cout << "  refused " << e.path().filename().string() << ": " << toString(err.code()) << "\n";
    } catch (const std::exception& other) {
      ADD_FAILURE() << e.path() << ": foreign exception: " << other.what();
    }
  }
  // pinned: 74 files (68 .dcm, 6 others); 20 grey slices the brain network takes, in their many
  // transfer syntaxes; 54 refused (not DICOM, no pixels, RGB into a grey network, JPEG 2000, ...)
  EXPECT_EQ(ok, 20U);
  EXPECT_EQ(refused, 54U);
  std::cout << ok << " predicted, " << refused << " refused with a clear error\n";
}

// References from decoders independent of DCMTK, chosen per transfer syntax in
// tests/fixtures/make_fixtures.py: pydicom (uncompressed, deflate, RLE), Pillow (JPEG baseline),
// GDCM (JPEG extended 12-bit, JPEG lossless, JPEG-LS). Every other pydicom test file is listed in
// the index with the reason it is not compared (JPEG 2000: Debian's DCMTK cannot decode it; no
// pixel data; pydicom cannot read or decode it), and the counts are pinned so none disappears.
// Tolerances come with the index: lossless files exactly, YBR -> RGB by pydicom within 0.5, lossy
// JPEG within 1 grey level (measured: 0 on all 14 lossy files; see make_fixtures.py).
TEST(Slice, DecodesLikeIndependentDecodersAcrossSyntaxesPhotometricsAndFrames) {
  std::ifstream in(test::fixture("pydicom-ref") / "index.json");
  const auto index = nlohmann::json::parse(in);
  const auto& compared = index["compared"];
  const auto& dropped = index["dropped"];
  std::cout << dropped.size() << " pydicom test files not compared:\n";
  for (const auto& d : dropped) std::cout << "  " << d["name"].get<std::string>() << ": " << d["reason"] << "\n";
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(kPydicomTestFiles)) files += e.path().extension() == ".dcm";
  EXPECT_EQ(compared.size() + dropped.size(), files);  // every file accounted for
  EXPECT_EQ(compared.size(), 42U);
  EXPECT_EQ(dropped.size(), 26U);
  std::map<std::string, std::size_t> byDecoder;
  for (const auto& e : compared) ++byDecoder[e["decoder"].get<std::string>()];
  EXPECT_EQ(byDecoder, (std::map<std::string, std::size_t>{
                           {"pydicom (numpy)", 17}, {"pydicom (RLE)", 9}, {"Pillow", 12}, {"GDCM", 4}}));
  // JPEG 2000 is dropped because DCMTK refuses it, not because the reference cannot decode it
  std::size_t jpeg2000 = 0;
  for (const auto& d : dropped) {
    if (!d["reason"].get<std::string>().starts_with("JPEG 2000")) continue;
    ++jpeg2000;
    try {
      (void)iod::readSlice(kPydicomTestFiles / d["name"].get<std::string>());
      ADD_FAILURE() << d["name"] << " decoded: compare it";
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::UnsupportedImage) << d["name"] << ": " << err.what();
    }
  }
  EXPECT_EQ(jpeg2000, 7U);
  for (const auto& e : compared) {
    const std::string name = e["name"];
    iod::SliceImage img;
    try {
      img = iod::readSlice(e["file"].get<std::string>(), e["frame"].get<std::int32_t>());
    } catch (const Error& err) {
      ADD_FAILURE() << name << ": " << err.what();
      continue;
    }
    const auto bytes = test::readBytes(test::fixture("pydicom-ref") / (name + ".f32"));
    std::vector<float> expected(bytes.size() / 4);
    std::memcpy(expected.data(), bytes.data(), bytes.size());
    ASSERT_EQ(img.pixels.size(), expected.size()) << name;
    EXPECT_EQ(img.rows, e["rows"].get<std::uint16_t>()) << name;
    EXPECT_EQ(img.columns, e["columns"].get<std::uint16_t>()) << name;
    EXPECT_EQ(img.samples, e["samples"].get<std::uint16_t>()) << name;
    const double tolerance = e["tolerance"];
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(img.pixels[i]) - static_cast<double>(expected[i])));
    }
    std::cout << "  " << name << " (" << e["syntax"].get<std::string>() << ", " << e["decoder"].get<std::string>()
              << "): largest difference " << worst << "\n";
    EXPECT_LE(worst, tolerance) << name << " (" << e["photometric"].get<std::string>() << ", frame " << e["frame"]
                                << ", " << e["syntax"].get<std::string>() << ")";
  }
}

// The paper's own U-Net (DNN-parser, 224x224x3) and a grey MR slice: the import adapts the
// slice to the network's channels as the paper's check_tensor_shape does, so `pack` keeps
// SamplesPerPixel 1 and prediction replicates the slice. The declared input is made 32x32 for
// speed (same layers and weights; the network is fully convolutional).
TEST(Predict, PaperUNetPackedForGreySlicesReplicatesThem) {
  test::TempDir dir;
  auto j = nlohmann::json::parse(iod::readTextFile(IODEEP_SOURCE_DIR "/examples/dnn-parser-unet/architecture.json"));
  j["input_shape"]["input_shape0"] = 32;
  j["input_shape"]["input_shape1"] = 32;
  std::ofstream(dir / "unet.json") << j.dump();
  const auto arch = netparser::parseArchitecture(j.dump());
  {
    const auto w = netparser::initWeights(arch, 7);
    test::writeBytes(dir / "unet.safetensors", std::vector<std::byte>(w.bytes().begin(), w.bytes().end()));
  }
  client::PackOptions o;
  o.architecture = dir / "unet.json";
  o.weights = dir / "unet.safetensors";
  o.name = "paper U-Net";
  o.modality = "MR";
  o.bodyPart = "HEAD";
  o.output = dir / "unet.dcm";
  const auto packed = client::pack(o);
  EXPECT_EQ(packed.model.target.samplesPerPixel, 1);
  EXPECT_EQ(packed.channelAdaptation, "grey replicated into 3 channels");
  const auto r = client::predict({o.output, slicePath(22), 0, false});
  EXPECT_EQ(r.slice.attributes.samplesPerPixel, 1);
  EXPECT_NE(std::find(r.check.adaptations.begin(), r.check.adaptations.end(), "grey replicated into 3 channels"),
            r.check.adaptations.end());
}

// The configuration's engine_max_mb reaches the process-wide engine through PredictOptions.
TEST(Predict, EngineBudgetFromTheOptionsBoundsTheNetworkCache) {
  auto& engine = netparser::InferenceEngine::shared();
  const auto before = engine.memoryBudget();
  client::PredictOptions o{kBrainModel, slicePath(30), 0, false};
  o.engineMaxBytes = 1;  // below any network: only the one just used stays
  const auto r = client::predict(o);
  EXPECT_EQ(engine.memoryBudget(), 1U);
  EXPECT_EQ(engine.size(), 1U);
  EXPECT_TRUE(engine.contains(r.dnnUid));
  o.engineMaxBytes = 0;  // leaves the budget as it is
  (void)client::predict(o);
  EXPECT_EQ(engine.memoryBudget(), 1U);
  engine.setMemoryBudget(before);
}
