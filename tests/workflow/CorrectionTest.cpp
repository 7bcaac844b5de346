// Corrections before approval (issue 20): what the physician painted is what is stored, pixel for
// pixel, holes included; the approved set names the set of the network's original proposals; drawn
// ROIs are MANUAL; mask files are read from PNG (any colour type) and JSON polygons; bad masks are
// refused with one line. dciodvfy on every set written.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Polygon.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/workflow/Masks.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Roi.hpp"

using namespace iodeep;
using client::Mask;

namespace {

const std::filesystem::path kBrainModel = IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm";

std::filesystem::path slicePath(int k) {
  char name[32];
  std::snprintf(name, sizeof name, "slice_%03d.dcm", k);
  return test::fixture("brain-series") / name;
}

Mask referenceMask(int k) {
  char name[32];
  std::snprintf(name, sizeof name, "mask_%03d.u8", k);
  const auto bytes = test::readBytes(test::fixture("brain-series") / name);
  Mask m{128, 128, std::vector<std::uint8_t>(bytes.size())};
  for (std::size_t i = 0; i < bytes.size(); ++i) m.values[i] = std::to_integer<std::uint8_t>(bytes[i]) != 0 ? 1 : 0;
  return m;
}

const client::PredictResult& brainPrediction() {
  static const client::PredictResult p = client::predict({kBrainModel, slicePath(30), 0, false});
  return p;
}

// What @p set holds for its ROI numbered @p number on @p image, as a mask.
Mask storedMask(const rtstruct::StructureSetInfo& set, std::int32_t number, const iod::SliceAttributes& image) {
  for (const auto& r : rtstruct::roisOnImage(set, image)) {
    if (r.roi.number == number) return client::maskOfRings(r.rings, image.rows, image.columns);
  }
  return Mask{image.rows, image.columns, std::vector<std::uint8_t>(std::size_t{image.rows} * image.columns, 0)};
}

const rtstruct::StoredRoi* roiNumbered(const rtstruct::StructureSetInfo& set, std::int32_t number) {
  for (const auto& r : set.rois) {
    if (r.number == number) return &r;
  }
  return nullptr;
}

// The reference brain mask with a square hole and a separate blob added: what a physician paints.
Mask paintedCorrection() {
  Mask m = referenceMask(30);
  for (std::size_t r = 60; r < 66; ++r) {
    for (std::size_t c = 60; c < 67; ++c) m.values[r * 128 + c] = 0;  // a hole
  }
  for (std::size_t r = 2; r < 6; ++r) {
    for (std::size_t c = 2; c < 9; ++c) m.values[r * 128 + c] = 1;  // an island
  }
  return m;
}

}  // namespace

TEST(Correction, TheStoredRoiIsExactlyWhatWasPaintedAndTheProposalIsKept) {
  const auto& p = brainPrediction();
  ASSERT_EQ(p.proposals.size(), 1U);
  const Mask painted = paintedCorrection();
  const Mask proposed = client::maskOfRings(p.proposals[0].rings, 128, 128);
  ASSERT_NE(painted, proposed);
  test::TempDir dir;
  client::ReviewDecision d;
  d.reviewer = "Doe^Jane";
  d.corrections.push_back({0, client::ringsOfMask(painted)});
  const auto files = client::writeReview(p, d, dir.path() / "approved.dcm", {}, std::nullopt, dir.path() / "orig.dcm");
  ASSERT_TRUE(files.approved && files.original);
  const auto approved = rtstruct::readStructureSet(dir.path() / "approved.dcm");
  const auto original = rtstruct::readStructureSet(dir.path() / "orig.dcm");
  EXPECT_EQ(approved.approvalStatus, "APPROVED");
  EXPECT_EQ(original.approvalStatus, "REJECTED");
  EXPECT_EQ(original.seriesDescription, "IODEEP AI PROPOSAL");
  EXPECT_EQ(approved.predecessorSopInstanceUid, original.sopInstanceUid);
  EXPECT_EQ(approved.networkDnnUid, p.dnnUid);
  EXPECT_EQ(original.networkDnnUid, p.dnnUid);
  ASSERT_NE(roiNumbered(approved, 1), nullptr);
  ASSERT_NE(roiNumbered(original, 1), nullptr);
  EXPECT_EQ(roiNumbered(approved, 1)->generationAlgorithm, "SEMIAUTOMATIC");
  EXPECT_EQ(roiNumbered(original, 1)->generationAlgorithm, "AUTOMATIC");
  EXPECT_EQ(roiNumbered(original, 1)->name, roiNumbered(approved, 1)->name);
  // pixel for pixel, the hole and the island included; and the proposal as the network made it
  EXPECT_EQ(storedMask(approved, 1, p.slice.attributes), painted);
  EXPECT_EQ(storedMask(original, 1, p.slice.attributes), proposed);
  for (const auto& f : {dir.path() / "approved.dcm", dir.path() / "orig.dcm"}) {
    EXPECT_EQ(test::dciodvfyErrors(f), std::vector<std::string>{}) << f;
  }
}

TEST(Correction, AcceptedProposalsStayAutomaticAndHaveNoPredecessor) {
  const auto& p = brainPrediction();
  test::TempDir dir;
  client::ReviewDecision d{{0}, "Doe^Jane"};
  const auto files = client::writeReview(p, d, dir.path() / "approved.dcm", {}, std::nullopt, dir.path() / "orig.dcm");
  EXPECT_FALSE(files.original);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "orig.dcm"));
  const auto approved = rtstruct::readStructureSet(dir.path() / "approved.dcm");
  EXPECT_EQ(approved.predecessorSopInstanceUid, "");
  EXPECT_EQ(approved.rois.at(0).generationAlgorithm, "AUTOMATIC");
}

TEST(Correction, ADrawnRoiIsManualBesideTheNetworksOwn) {
  const auto& p = brainPrediction();
  test::TempDir dir;
  Mask drawn{128, 128, std::vector<std::uint8_t>(128 * 128, 0)};
  for (std::size_t r = 100; r < 111; ++r) {
    for (std::size_t c = 20; c < 29; ++c) drawn.values[r * 128 + c] = 1;
  }
  client::ReviewDecision d{{0}, "Doe^Jane"};
  d.drawn.push_back({0, client::labelNamed(p, "brain"), client::ringsOfMask(drawn)});
  (void)client::writeReview(p, d, dir.path() / "approved.dcm");
  const auto set = rtstruct::readStructureSet(dir.path() / "approved.dcm");
  ASSERT_EQ(set.rois.size(), 2U);
  EXPECT_EQ(set.rois[0].name, "Brain");
  EXPECT_EQ(set.rois[0].generationAlgorithm, "AUTOMATIC");
  EXPECT_EQ(set.rois[1].name, "Brain (drawn)");
  EXPECT_EQ(set.rois[1].generationAlgorithm, "MANUAL");
  EXPECT_EQ(storedMask(set, set.rois[1].number, p.slice.attributes), drawn);
  EXPECT_EQ(test::dciodvfyErrors(dir.path() / "approved.dcm"), std::vector<std::string>{});
  EXPECT_EQ(test::errorOf([&] { (void)client::labelNamed(p, "Liver"); }).what(),
            std::string("the network Brain UNet (ITK T1 example) has no label 'Liver' (it knows: Brain)"));
}

TEST(Correction, MaskFilesFromTheCommandLine) {
  const auto& p = brainPrediction();
  test::TempDir dir;
  const Mask painted = paintedCorrection();
  client::writeMaskPng(painted, dir.path() / "fix.png");
  std::ofstream(dir.path() / "square.json") << R"({"rings": [[[9.5, 9.5], [19.5, 9.5], [19.5, 14.5], [9.5, 14.5]]]})";
  client::RoiOptions o;
  o.corrections = {"1=" + (dir.path() / "fix.png").string()};
  o.drawings = {"Brain@1=" + (dir.path() / "square.json").string()};
  const auto d = client::reviewDecisionFor(std::span(&p, 1), o, "Doe^Jane");
  EXPECT_EQ(d.approved, std::vector<std::size_t>{0});
  ASSERT_EQ(d.corrections.size(), 1U);
  EXPECT_EQ(client::maskOfRings(d.corrections[0].rings, 128, 128), painted);
  ASSERT_EQ(d.drawn.size(), 1U);
  // pixel centres inside [9.5, 19.5] x [9.5, 14.5]: columns 10-19, rows 10-14
  EXPECT_EQ(client::maskOfRings(d.drawn[0].rings, 128, 128).area(), 10U * 5U);

  // refused, one line each, naming the option and the file
  const auto refused = [&](std::vector<std::string> corrections, std::vector<std::string> drawings) {
    client::RoiOptions bad;
    bad.corrections = std::move(corrections);
    bad.drawings = std::move(drawings);
    const auto e = test::errorOf([&] { (void)client::reviewDecisionFor(std::span(&p, 1), bad, "Doe^Jane"); });
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return std::string(e.what());
  };
  client::writeMaskPng(Mask{64, 64, std::vector<std::uint8_t>(64 * 64, 1)}, dir.path() / "small.png");
  EXPECT_NE(
      refused({"1=" + (dir.path() / "small.png").string()}, {}).find("the mask is 64 x 64 pixels, the slice 128 x 128"),
      std::string::npos);
  client::writeMaskPng(Mask{128, 128, std::vector<std::uint8_t>(128 * 128, 0)}, dir.path() / "empty.png");
  EXPECT_NE(refused({"1=" + (dir.path() / "empty.png").string()}, {}).find("empty"), std::string::npos);
  std::ofstream(dir.path() / "junk.png") << "not an image";
  EXPECT_NE(refused({"1=" + (dir.path() / "junk.png").string()}, {}).find("neither a PNG nor a JSON polygon"),
            std::string::npos);
  EXPECT_NE(refused({"2=" + (dir.path() / "fix.png").string()}, {}).find("proposal '2' is not a number 1-1"),
            std::string::npos);
  EXPECT_NE(refused({"1"}, {}).find("expected N=MASK"), std::string::npos);
  EXPECT_NE(refused({}, {"Liver=" + (dir.path() / "fix.png").string()}).find("no label 'Liver'"), std::string::npos);
  EXPECT_NE(refused({}, {"Brain@2=" + (dir.path() / "fix.png").string()}).find("slice '2' is not a number 1-1"),
            std::string::npos);
  std::ofstream(dir.path() / "off.json") << R"({"rings": [[[0, 0], [200, 0], [0, 5]]]})";
  EXPECT_NE(refused({"1=" + (dir.path() / "off.json").string()}, {}).find("off the slice"), std::string::npos);
  EXPECT_NE(refused({"1=" + (dir.path() / "missing.png").string()}, {}).find("missing.png"), std::string::npos);
}

TEST(Masks, PngRoundTripAtOddSizes) {
  for (const auto& [rows, columns] : {std::pair<std::size_t, std::size_t>{7, 13}, {1, 1}, {128, 128}, {3, 257}}) {
    Mask m{rows, columns, std::vector<std::uint8_t>(rows * columns)};
    for (std::size_t i = 0; i < m.values.size(); ++i) m.values[i] = static_cast<std::uint8_t>((i * 7 + i / 3) % 2);
    test::TempDir dir;
    client::writeMaskPng(m, dir.path() / "m.png");
    const auto bytes = test::readBytes(dir.path() / "m.png");
    EXPECT_EQ(client::decodePngMask(bytes, "m.png"), m) << rows << " x " << columns;
    // the exact tracer gives the mask back
    EXPECT_EQ(client::maskOfRings(client::ringsOfMask(m), rows, columns), m);
  }
}

TEST(Masks, DamagedPngsAreRefused) {
  Mask m{9, 9, std::vector<std::uint8_t>(81, 1)};
  auto png = client::encodePng(std::vector<std::uint8_t>(81, 255), 9, 9, 1);
  const auto code = [](const std::vector<std::byte>& b) {
    return test::codeOf([&] { (void)client::decodePngMask(b, "x.png"); });
  };
  EXPECT_EQ(client::decodePngMask(png, "x.png"), m);
  auto truncated = png;
  truncated.resize(png.size() - 20);
  EXPECT_EQ(code(truncated), ErrorCode::InvalidArgument);
  auto corrupt = png;
  corrupt[40] ^= std::byte{0x55};  // inside IDAT: the CRC fails
  EXPECT_EQ(code(corrupt), ErrorCode::InvalidArgument);
  EXPECT_EQ(code({}), ErrorCode::InvalidArgument);
}
