#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Polygon.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/Pack.hpp"
#include "iodeep/workflow/Predict.hpp"

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

// A model the caller verified already (the model cache's entry) is not hashed again; one it did
// not is, on every call.
TEST(Predict, OnlyAnUnverifiedModelIsHashed) {
  client::PredictOptions o{kBrainModel, slicePath(30), 0, false};
  EXPECT_TRUE(client::predict(o).modelHashed);
  o.modelVerified = true;
  const auto verified = client::predict(o);
  EXPECT_FALSE(verified.modelHashed);
  EXPECT_NE(verified.toJson().find("\"modelHashed\": false"), std::string::npos);
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
  // a corrupt JPEG 2000 header (an item delimiter's bytes in its SIZ segment): OpenJPEG refuses it
  expectCode(data + "JPEG2000-embedded-sequence-delimiter.dcm", ErrorCode::UnsupportedImage);
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
  // pinned: 74 files (68 .dcm, 6 others); 24 grey slices the brain network takes, in their many
  // transfer syntaxes; 50 refused (not DICOM, no pixels, RGB into a grey network, a corrupt JPEG 2000
  // header, ...). Since JPEG 2000 is decoded (OpenJPEG), 4 more than the 20 before: JPEG2000.dcm,
  // MR_small_jp2klossless.dcm, 693_J2KI.dcm, J2K_pixelrep_mismatch.dcm (the 2 RGB ones are refused
  // as RGB for a grey network, the corrupt one as UnsupportedImage).
  EXPECT_EQ(ok, 24U);
  EXPECT_EQ(refused, 50U);
  std::cout << ok << " predicted, " << refused << " refused with a clear error\n";
}

// References from decoders independent of DCMTK, chosen per transfer syntax in
// tests/fixtures/make_fixtures.py: pydicom (uncompressed, deflate, RLE), Pillow (JPEG baseline,
// JPEG 2000), GDCM (JPEG extended 12-bit, JPEG lossless, JPEG-LS). Every other pydicom test file is
// listed in the index with the reason it is not compared (no pixel data; pydicom cannot read or
// decode it), and the counts are pinned so none disappears. JPEG 2000 files are compared with GDCM
// as well ("crosschecked"), which also reads the JP2 file Pillow cannot. Tolerances come with the
// index: lossless files exactly, YBR -> RGB by pydicom within 0.5, lossy JPEG within 1 grey level
// (measured: 0 on all 14 lossy files), JPEG 2000 .91 within 1 (measured 0: one OpenJPEG for all;
// see make_fixtures.py J2K_TOLERANCE).
TEST(Slice, DecodesLikeIndependentDecodersAcrossSyntaxesPhotometricsAndFrames) {
  std::ifstream in(test::fixture("pydicom-ref") / "index.json");
  const auto index = nlohmann::json::parse(in);
  const auto& compared = index["compared"];
  const auto& dropped = index["dropped"];
  const auto& crosschecked = index["crosschecked"];
  std::cout << dropped.size() << " pydicom test files not compared:\n";
  for (const auto& d : dropped) std::cout << "  " << d["name"].get<std::string>() << ": " << d["reason"] << "\n";
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(kPydicomTestFiles)) files += e.path().extension() == ".dcm";
  EXPECT_EQ(compared.size() + dropped.size(), files);  // every file accounted for
  // pinned: 42 compared and 26 dropped before JPEG 2000 was decoded; of its 7 files 5 are compared
  // now (Pillow), 2 stay dropped because Pillow cannot decode them (GDCMJ2K_TextGBR.dcm: a JP2
  // file in the fragment, compared with GDCM below; JPEG2000-embedded-sequence-delimiter.dcm: a
  // corrupt codestream header, refused below)
  EXPECT_EQ(compared.size(), 47U);
  EXPECT_EQ(dropped.size(), 21U);
  std::map<std::string, std::size_t> byDecoder;
  for (const auto& e : compared) ++byDecoder[e["decoder"].get<std::string>()];
  EXPECT_EQ(byDecoder, (std::map<std::string, std::size_t>{
                           {"pydicom (numpy)", 17}, {"pydicom (RLE)", 9}, {"Pillow", 17}, {"GDCM", 4}}));
  std::map<std::string, std::size_t> bySyntax;
  for (const auto& e : compared) ++bySyntax[e["syntax"].get<std::string>()];
  // .90: MR_small_jp2klossless.dcm, J2K_pixelrep_mismatch.dcm (unsigned 13-bit samples, signed
  // image); .91: JPEG2000.dcm, 693_J2KI.dcm (16-bit precision, BitsStored 14), SC_rgb_gdcm_KY.dcm
  // Every syntax's count pinned (a file of any syntax that stops being compared fails here): JPEG
  // baseline 12 and extended 2 (Pillow; the 12-bit extended ones by GDCM), JPEG lossless SV1 1 and
  // JPEG-LS 1 (GDCM)
  EXPECT_EQ(bySyntax,
            (std::map<std::string, std::size_t>{
                {"Deflated Explicit VR Little Endian", 1},
                {"Explicit VR Big Endian", 6},
                {"Explicit VR Little Endian", 6},
                {"Implicit VR Little Endian", 4},
                {"JPEG 2000 Image Compression", 3},
                {"JPEG 2000 Image Compression (Lossless Only)", 2},
                {"JPEG Baseline (Process 1)", 12},
                {"JPEG Extended (Process 2 and 4)", 2},
                {"JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", 1},
                {"JPEG-LS Lossless Image Compression", 1},
                {"RLE Lossless", 9},
            }));
  EXPECT_EQ(crosschecked.size(), 6U);  // every JPEG 2000 file but the corrupt one
  try {
    (void)iod::readSlice(kPydicomTestFiles / "JPEG2000-embedded-sequence-delimiter.dcm");
    ADD_FAILURE() << "a corrupt JPEG 2000 header was decoded";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::UnsupportedImage) << err.what();
  }
  const auto compare = [](const nlohmann::json& e) {
    const std::string name = e["name"];
    iod::SliceImage img;
    try {
      img = iod::readSlice(e["file"].get<std::string>(), e["frame"].get<std::int32_t>());
    } catch (const Error& err) {
      ADD_FAILURE() << name << ": " << err.what();
      return;
    }
    const auto bytes = test::readBytes(test::fixture("pydicom-ref") / e["reference"].get<std::string>());
    std::vector<float> expected(bytes.size() / 4);
    std::memcpy(expected.data(), bytes.data(), bytes.size());
    ASSERT_EQ(img.pixels.size(), expected.size()) << name;
    EXPECT_EQ(img.rows, e["rows"].get<std::uint16_t>()) << name;
    EXPECT_EQ(img.columns, e["columns"].get<std::uint16_t>()) << name;
    EXPECT_EQ(img.samples, e["samples"].get<std::uint16_t>()) << name;
    if (img.samples == 3) {
      EXPECT_EQ(img.attributes.photometricInterpretation, "RGB") << name;
    }
    const double tolerance = e["tolerance"];
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::abs(static_cast<double>(img.pixels[i]) - static_cast<double>(expected[i])));
    }
    std::cout << "  " << name << " (" << e["syntax"].get<std::string>() << ", " << e["decoder"].get<std::string>()
              << "): largest difference " << worst << "\n";
    EXPECT_LE(worst, tolerance) << name << " (" << e["photometric"].get<std::string>() << ", frame " << e["frame"]
                                << ", " << e["syntax"].get<std::string>() << ", " << e["decoder"].get<std::string>()
                                << ")";
  };
  for (const auto& e : compared) compare(e);
  for (const auto& e : crosschecked) compare(e);
}

namespace {

std::vector<float> floats(const std::filesystem::path& path) {
  const auto bytes = test::readBytes(path);
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

// @p source with some attributes changed (DCMTK), written in its own transfer syntax to @p target.
void rewrite(const std::filesystem::path& source, const std::filesystem::path& target,
             const std::function<void(DcmDataset&)>& change) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(source.c_str()).good()) << source;
  change(*ff.getDataset());
  ASSERT_TRUE(ff.saveFile(target.c_str(), ff.getDataset()->getOriginalXfer()).good()) << target;
}

iodeep::ErrorCode readCode(const std::filesystem::path& path, std::int32_t frame = 0, std::string* message = nullptr) {
  try {
    (void)iod::readSlice(path, frame);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  return ErrorCode::Internal;  // decoded: not what these tests expect
}

}  // namespace

// A JPEG 2000 frame may span several fragments: found by the Basic Offset Table, one fragment per
// frame without one, or, without one and with more fragments than frames, at each fragment that
// starts a codestream (tests/fixtures/make_fixtures.py j2k_2frame_*: MR_small and its upside-down
// copy, lossless: exact).
TEST(Slice, Jpeg2000FramesAreFoundInTheirFragments) {
  const auto frame0 = floats(test::fixture("j2k_2frame.frame0.f32"));
  const auto frame1 = floats(test::fixture("j2k_2frame.frame1.f32"));
  ASSERT_NE(frame0, frame1);
  for (const std::string stem : {"bot", "nobot", "split"}) {
    const auto path = test::fixture("j2k_2frame_" + stem + ".dcm");
    EXPECT_EQ(iod::readSlice(path, 0).pixels, frame0) << stem;
    EXPECT_EQ(iod::readSlice(path, 1).pixels, frame1) << stem;
    EXPECT_EQ(readCode(path, 2), ErrorCode::InvalidArgument) << stem;
  }
  test::TempDir dir;
  std::string message;
  // three frames claimed: the offset table has two entries; without one, two codestreams start
  for (const std::string stem : {"bot", "split"}) {
    rewrite(test::fixture("j2k_2frame_" + stem + ".dcm"), dir / "three.dcm",
            [](DcmDataset& ds) { ASSERT_TRUE(ds.putAndInsertString(DCM_NumberOfFrames, "3").good()); });
    EXPECT_EQ(readCode(dir / "three.dcm", 0, &message), ErrorCode::UnsupportedImage) << stem;
    EXPECT_NE(message.find(stem == "bot" ? "Basic Offset Table has 2 entries for 3 frame(s)" : "3 frames"),
              std::string::npos)
        << message;
  }
}

// What the codestream says is checked against the attributes before anything is decoded, and a
// damaged codestream is an UnsupportedImage error (OpenJPEG's message), never a crash or a hang.
TEST(Slice, Jpeg2000HostileInputIsAClearError) {
  test::TempDir dir;
  const auto source = kPydicomTestFiles / "MR_small_jp2klossless.dcm";
  std::string message;
  rewrite(source, dir / "rows.dcm", [](DcmDataset& ds) { ASSERT_TRUE(ds.putAndInsertUint16(DCM_Rows, 32).good()); });
  EXPECT_EQ(readCode(dir / "rows.dcm", 0, &message), ErrorCode::UnsupportedImage);
  EXPECT_NE(message.find("the codestream is 64x64, Columns x Rows say 64x32"), std::string::npos) << message;
  rewrite(source, dir / "bits.dcm", [](DcmDataset& ds) {
    ASSERT_TRUE(ds.putAndInsertUint16(DCM_BitsAllocated, 8).good());
    ASSERT_TRUE(ds.putAndInsertUint16(DCM_BitsStored, 8).good());
    ASSERT_TRUE(ds.putAndInsertUint16(DCM_HighBit, 7).good());
  });
  EXPECT_EQ(readCode(dir / "bits.dcm", 0, &message), ErrorCode::UnsupportedImage);
  EXPECT_NE(message.find("precision is 16 bits, BitsAllocated is 8"), std::string::npos) << message;
  rewrite(source, dir / "unsigned.dcm",
          [](DcmDataset& ds) { ASSERT_TRUE(ds.putAndInsertUint16(DCM_PixelRepresentation, 0).good()); });
  EXPECT_EQ(readCode(dir / "unsigned.dcm", 0, &message), ErrorCode::UnsupportedImage);
  EXPECT_NE(message.find("signed"), std::string::npos) << message;

  // the codestream cut short (the rest of its fragment zeroed), then bytes changed at random
  const auto bytes = test::readBytes(source);
  const std::array<std::byte, 4> soc{std::byte{0xFF}, std::byte{0x4F}, std::byte{0xFF}, std::byte{0x51}};
  const auto start =
      static_cast<std::size_t>(std::search(bytes.begin(), bytes.end(), soc.begin(), soc.end()) - bytes.begin());
  ASSERT_LT(start, bytes.size());
  std::size_t length = 0;  // the fragment's item length, just before the codestream
  for (std::size_t k = 0; k < 4; ++k) length |= std::to_integer<std::size_t>(bytes[start - 4 + k]) << (8 * k);
  ASSERT_LE(start + length, bytes.size());
  const std::size_t kept = (length / 2) & ~std::size_t{1};
  std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(start + kept));
  for (std::size_t k = 0; k < 4; ++k) cut[start - 4 + k] = static_cast<std::byte>((kept >> (8 * k)) & 0xFFU);
  for (const int b : {0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}) cut.push_back(static_cast<std::byte>(b));  // end of sequence
  test::writeBytes(dir / "cut.dcm", cut);
  EXPECT_EQ(readCode(dir / "cut.dcm", 0, &message), ErrorCode::UnsupportedImage);
  std::uint32_t state = 12345;
  const auto next = [&] { return state = state * 1664525U + 1013904223U; };
  std::size_t refused = 0;
  for (int round = 0; round < 200; ++round) {
    auto damaged = bytes;
    for (int k = 0; k < 1 + round % 8; ++k) {
      const std::size_t at = start + next() % length;
      damaged[at] = static_cast<std::byte>(next() >> 24U);
    }
    test::writeBytes(dir / "damaged.dcm", damaged);
    try {
      (void)iod::readSlice(dir / "damaged.dcm");
    } catch (const Error& e) {
      ++refused;
      EXPECT_EQ(e.code(), ErrorCode::UnsupportedImage) << round << ": " << e.what();
    }
  }
  std::cout << refused << " of 200 damaged codestreams refused, the others decoded\n";
}

// The Modality LUT Sequence takes precedence over rescale (PS3.3 C.11.1): the values pydicom's
// apply_modality_lut gives, exactly (tests/fixtures/make_fixtures.py with_lut: signed stored values
// with an SS descriptor and values clipped below and beyond the table, 8-bit entries, 65536 entries).
TEST(Slice, ModalityLutSequenceIsAppliedAsPydicomDoes) {
  for (const std::string name : {"modality_lut_signed16", "modality_lut_8bit", "modality_lut_65536"}) {
    const auto img = iod::readSlice(test::fixture(name + ".dcm"));
    EXPECT_EQ(img.pixels, floats(test::fixture(name + ".f32"))) << name;
    ASSERT_TRUE(img.attributes.modalityLut.has_value()) << name;
    EXPECT_EQ(img.attributes.rescaleSlope, 1.0) << name;  // the sequence, not the rescale, applies
    EXPECT_EQ(img.attributes.rescaleIntercept, 0.0) << name;
  }
  const auto m = *iod::readSliceAttributes(test::fixture("modality_lut_signed16.dcm")).modalityLut;
  EXPECT_EQ(m.entries, 1000U);
  EXPECT_EQ(m.firstMapped, -200);
  EXPECT_EQ(m.bitsPerEntry, 16);
  EXPECT_EQ(m.type, "HU");
  EXPECT_EQ(iod::readSliceAttributes(test::fixture("modality_lut_65536.dcm")).modalityLut->entries, 65536U);

  // 8-bit entries packed two to a 16-bit word (PS3.3 C.11.1.1.1) give the same values
  test::TempDir dir;
  rewrite(test::fixture("modality_lut_8bit.dcm"), dir / "packed.dcm", [](DcmDataset& ds) {
    DcmItem* item = nullptr;
    ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_ModalityLUTSequence, item, 0).good());
    std::vector<Uint16> words(512);
    for (std::size_t k = 0; k < 1024; ++k) {
      words[k / 2] = static_cast<Uint16>(words[k / 2] | (((k * 7) % 256) << (k % 2 == 0 ? 0U : 8U)));
    }
    ASSERT_TRUE(item->findAndDeleteElement(DCM_LUTData).good());
    ASSERT_TRUE(item->putAndInsertUint16Array(DCM_LUTData, words.data(), 512).good());
  });
  EXPECT_EQ(iod::readSlice(dir / "packed.dcm").pixels, floats(test::fixture("modality_lut_8bit.f32")));

  // what cannot be applied is refused, with the reason
  const auto refused = [&](const std::function<void(DcmItem&)>& change, const std::string& why) {
    rewrite(test::fixture("modality_lut_signed16.dcm"), dir / "bad.dcm", [&](DcmDataset& ds) {
      DcmItem* item = nullptr;
      ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_ModalityLUTSequence, item, 0).good());
      change(*item);
    });
    std::string message;
    EXPECT_EQ(readCode(dir / "bad.dcm", 0, &message), ErrorCode::UnsupportedImage) << why;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  };
  const auto descriptor = [](std::uint16_t entries, std::uint16_t bits) {
    return [=](DcmItem& item) {
      ASSERT_TRUE(item.findAndDeleteElement(DCM_LUTDescriptor).good());
      const std::array<Sint16, 3> values{static_cast<Sint16>(entries), -200, static_cast<Sint16>(bits)};
      ASSERT_TRUE(item.putAndInsertSint16Array(DCM_LUTDescriptor, values.data(), 3).good());
    };
  };
  refused(descriptor(1000, 20), "20 bits per entry");
  refused(descriptor(999, 16), "LUT Data holds 1000 16-bit values for 999 entries");
  refused([](DcmItem& item) { ASSERT_TRUE(item.findAndDeleteElement(DCM_LUTData).good()); }, "no LUT Data");
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

// Whole-series proposals: the same proposals as slice by slice, in the order given, with the
// reader thread ahead of the network; a cancel and a bad file stop it with their codes.
TEST(PredictSeries, SameProposalsAsSliceBySliceInOrder) {
  std::vector<std::filesystem::path> slices;
  for (const int n : {30, 5, 22, 40, 31, 61}) slices.push_back(slicePath(n));  // any order: kept as given
  client::SeriesPredictOptions o;
  o.model = kBrainModel;
  o.images = slices;
  std::vector<std::pair<std::size_t, std::size_t>> progress;
  o.onProgress = [&](std::size_t done, std::size_t total) {
    progress.emplace_back(done, total);
    return true;
  };
  const auto series = client::predictSeries(o);
  ASSERT_EQ(series.slices.size(), slices.size());
  ASSERT_EQ(progress.size(), slices.size() + 1);
  EXPECT_EQ(progress.back(), std::make_pair(slices.size(), slices.size()));
  std::size_t total = 0;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const auto one = client::predict({kBrainModel, slices[i], 0, false});
    const auto& s = series.slices[i];
    EXPECT_EQ(s.slice.attributes.sopInstanceUid, one.slice.attributes.sopInstanceUid) << i;
    ASSERT_EQ(s.proposals.size(), one.proposals.size()) << slices[i];
    for (std::size_t k = 0; k < one.proposals.size(); ++k) {
      EXPECT_EQ(s.proposals[k].areaPixels, one.proposals[k].areaPixels);
      EXPECT_EQ(s.proposals[k].rings.size(), one.proposals[k].rings.size());
    }
    EXPECT_TRUE(s.slice.pixels.empty()) << "pixels are dropped unless asked for";
    total += one.proposals.size();
  }
  EXPECT_EQ(series.proposals(), total);
  EXPECT_GT(series.forwardMs, 0.0);
  EXPECT_LE(series.forwardMs, series.wallMs);
}

TEST(PredictSeries, CancelAndBadFilesStopWithTheirCodes) {
  client::SeriesPredictOptions o;
  o.model = kBrainModel;
  for (int n = 1; n <= 8; ++n) o.images.push_back(slicePath(n));
  o.onProgress = [](std::size_t done, std::size_t) { return done < 3; };
  try {
    (void)client::predictSeries(o);
    FAIL() << "not cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cancelled) << e.what();
  }
  o.onProgress = {};
  o.images.insert(o.images.begin() + 4, test::fixture("plain.pt"));
  try {
    (void)client::predictSeries(o);
    FAIL() << "a file that is not DICOM was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotDicom) << e.what();
    EXPECT_EQ(e.file(), test::fixture("plain.pt").string());
  }
  o.images.clear();
  EXPECT_THROW((void)client::predictSeries(o), Error);  // nothing to predict on
}

// ---- the trust policy and the audit trail (docs/security.md) ------------------------------------

namespace {

client::PackResult packTiny(const std::filesystem::path& out) {
  client::PackOptions p;
  p.architecture = IODEEP_SOURCE_DIR "/examples/tiny-unet/architecture.json";
  p.weights = IODEEP_SOURCE_DIR "/examples/tiny-unet/weights.safetensors";
  p.output = out;
  p.name = "Tiny trust";
  p.modality = "MR";
  p.bodyPart = "HEAD";
  return client::pack(p);
}

iod::SigningCredentials credentials(const std::string& who) {
  const auto pki = test::fixture("pki");
  return {pki / (who + ".key"), pki / (who + ".pem"), ""};
}

ErrorCode predictCode(const client::PredictOptions& o) {
  return test::codeOf([&o] { (void)client::predict(o); });
}

}  // namespace

TEST(PredictTrust, RefusedNetworksAreNeverBuiltAndRunsAreAudited) {
  test::TempDir dir;
  const auto packed = packTiny(dir / "unsigned.dcm");
  iod::signFile(dir / "unsigned.dcm", dir / "signed.dcm", credentials("signer"));
  iod::signFile(dir / "unsigned.dcm", dir / "rogue.dcm", credentials("rogue"));
  // changed after signing (a description, not the weights: the SHA-256 still holds)
  {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile((dir / "signed.dcm").c_str()).good());
    ASSERT_TRUE(f.getDataset()->putAndInsertString(DCM_SeriesDescription, "IODEEP tampered").good());
    ASSERT_TRUE(f.saveFile((dir / "tampered.dcm").c_str(), EXS_LittleEndianExplicit).good());
  }
  client::PredictOptions o{dir / "unsigned.dcm", slicePath(22), 0, false};
  o.policy.trust.requireSignedNetworks = true;
  o.policy.trust.anchors.certificates = {test::fixture("pki") / "ca.pem"};
  o.policy.auditLog = dir / "audit.log";
  auto& engine = netparser::InferenceEngine::shared();
  const auto before = engine.builds();
  EXPECT_EQ(predictCode(o), ErrorCode::UnsignedObject);
  o.model = dir / "rogue.dcm";
  EXPECT_EQ(predictCode(o), ErrorCode::UntrustedSigner);
  o.model = dir / "tampered.dcm";
  EXPECT_EQ(predictCode(o), ErrorCode::SignatureInvalid);
  EXPECT_EQ(engine.builds(), before);                         // nothing was built
  EXPECT_TRUE(client::readAudit(dir / "audit.log").empty());  // nothing ran
  o.model = dir / "signed.dcm";
  const auto r = client::predict(o);
  EXPECT_EQ(engine.builds(), before + 1);
  EXPECT_EQ(r.trust.status, "trusted");
  EXPECT_NE(r.trust.signer.find("Model Lab Signer"), std::string::npos) << r.trust.signer;
  EXPECT_NE(r.toText().find("signature: trusted"), std::string::npos) << r.toText();
  // the same objects with the policy off: they run, and say what their signature is not
  o.policy.trust.requireSignedNetworks = false;
  o.model = dir / "unsigned.dcm";
  EXPECT_EQ(client::predict(o).trust.status, "not checked");
  const auto events = client::readAudit(dir / "audit.log");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].event, "network_run");
  EXPECT_EQ(events[0].dnnUid, packed.model.dnnUid);
  EXPECT_EQ(events[0].signerStatus, "trusted");
  EXPECT_EQ(events[0].signer, r.trust.signer);
  EXPECT_EQ(events[0].sliceUids, std::vector<std::string>{r.slice.attributes.sopInstanceUid});
  EXPECT_EQ(events[0].proposals, r.proposals.size());
  EXPECT_EQ(events[1].signerStatus, "not checked");
}
