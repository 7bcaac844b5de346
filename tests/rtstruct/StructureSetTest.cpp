#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

using namespace iodeep;
using namespace iodeep::rtstruct;

namespace {

const std::string kStudy = iod::makeRandomUid();
const std::string kSeries = iod::makeRandomUid();
const std::string kFrame = iod::makeRandomUid();

// An image with the given orientation, position and anisotropic pixels.
iod::SliceAttributes image(std::array<double, 6> orientation, std::array<double, 3> position, std::uint16_t rows = 24,
                           std::uint16_t columns = 30) {
  iod::SliceAttributes a = test::sampleMrSlice(rows, columns);
  a.studyInstanceUid = kStudy;
  a.seriesInstanceUid = kSeries;
  a.frameOfReferenceUid = kFrame;
  a.pixelSpacing = std::array<double, 2>{0.7, 0.9};
  a.imagePositionPatient = position;
  a.imageOrientationPatient = orientation;
  return a;
}

std::vector<std::uint8_t> randomMask(std::uint32_t seed, std::size_t rows, std::size_t cols) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> m(rows * cols, 0);
  for (int k = 0; k < 4; ++k) {
    const double cr = static_cast<double>(rng() % rows);
    const double cc = static_cast<double>(rng() % cols);
    const double radius = 2.0 + static_cast<double>(rng() % 8);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) {
        const double d = std::hypot(static_cast<double>(r) - cr, static_cast<double>(c) - cc);
        if (d < radius) m[r * cols + c] = static_cast<std::uint8_t>(d < radius / 3 ? k % 2 : 1);
      }
    }
  }
  return m;
}

StructureSetInput input(std::vector<RoiInput> rois, ApprovalStatus status = ApprovalStatus::Approved) {
  StructureSetInput in;
  in.rois = std::move(rois);
  in.network = {"Brain UNet", "1", "2.25.123", "2.25.456"};
  in.approval = status;
  in.reviewerName = status == ApprovalStatus::Unapproved ? "" : "Doe^Jane";
  return in;
}

ErrorCode writeError(const StructureSetInput& in) {
  test::TempDir dir;
  try {
    (void)writeStructureSet(in, dir / "rs.dcm");
  } catch (const Error& e) {
    EXPECT_FALSE(std::filesystem::exists(dir / "rs.dcm"));
    return e.code();
  }
  ADD_FAILURE() << "written";
  return ErrorCode::Internal;
}

const std::array<double, 6> kAxial{1, 0, 0, 0, 1, 0};
const std::array<double, 6> kSagittal{0, 1, 0, 0, 0, -1};
const std::array<double, 6> kCoronal{1, 0, 0, 0, 0, -1};

std::array<double, 6> oblique() {
  // rows rotated 30 degrees about z, then tilted 20 degrees: orthonormal
  const double a = 30.0 * M_PI / 180.0;
  const double b = 20.0 * M_PI / 180.0;
  const std::array<double, 3> x{std::cos(a), std::sin(a), 0.0};
  const std::array<double, 3> y{-std::sin(a) * std::cos(b), std::cos(a) * std::cos(b), std::sin(b)};
  return {x[0], x[1], x[2], y[0], y[1], y[2]};
}

}  // namespace

TEST(StructureSet, MaskToRtstructAndBackIsExactInEveryOrientation) {
  int seed = 1;
  for (const auto& orientation : {kAxial, kSagittal, kCoronal, oblique()}) {
    for (int round = 0; round < 5; ++round, ++seed) {
      test::TempDir dir;
      const auto img = image(orientation, {-12.5, 30.25, 7.0 + seed});
      const auto mask = randomMask(static_cast<std::uint32_t>(seed), img.rows, img.columns);
      RoiInput roi{"Lesion",
                   {255, 0, 0},
                   "GTV",
                   rtstruct::RoiGeneration::Automatic,
                   {{img, netparser::traceMask(mask, img.rows, img.columns)}}};
      (void)writeStructureSet(input({roi}), dir / "rs.dcm");
      const auto set = readStructureSet(dir / "rs.dcm");
      const auto on = roisOnImage(set, img);
      ASSERT_EQ(on.size(), 1U);
      EXPECT_EQ(iod::fillEvenOdd(on[0].rings, img.rows, img.columns), mask) << "seed " << seed;
      for (const auto& ring : on[0].rings) EXPECT_EQ(ring.hole, iod::signedArea(ring) < 0) << "seed " << seed;
    }
  }
}

TEST(StructureSet, ApprovedSetCarriesReviewAndNetworkAndPassesDciodvfy) {
  test::TempDir dir;
  const auto a = image(kAxial, {0, 0, 0});
  const auto b = image(kAxial, {0, 0, 3});
  const auto mask = randomMask(7, a.rows, a.columns);
  const auto rings = netparser::traceMask(mask, a.rows, a.columns);
  RoiInput brain{"Brain", {255, 64, 64}, "ORGAN", rtstruct::RoiGeneration::Automatic, {{a, rings}, {b, rings}}};
  RoiInput second{"Brain", {255, 64, 64}, "ORGAN", rtstruct::RoiGeneration::Semiautomatic, {{b, rings}}};
  RoiInput other{"Ventricle", {0, 128, 255}, "CAVITY", rtstruct::RoiGeneration::Manual, {{a, rings}}};
  auto in = input({brain, second, other});
  in.reviewDate = "20261122";
  in.reviewTime = "101500";
  const auto written = writeStructureSet(in, dir / "approved.dcm");
  EXPECT_EQ(written.contours, 4 * rings.size());
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "approved.dcm", &out).empty()) << out;

  const auto set = readStructureSet(dir / "approved.dcm");
  EXPECT_EQ(set.approvalStatus, "APPROVED");
  EXPECT_EQ(set.reviewerName, "Doe^Jane");
  EXPECT_EQ(set.reviewDate, "20261122");
  EXPECT_EQ(set.reviewTime, "101500");
  EXPECT_EQ(set.frameOfReferenceUid, kFrame);
  EXPECT_EQ(set.studyInstanceUid, kStudy);
  EXPECT_NE(set.contributingAlgorithm.find("DnnUID 2.25.123"), std::string::npos);
  ASSERT_EQ(set.rois.size(), 3U);
  EXPECT_EQ(set.rois[0].generationAlgorithm, "AUTOMATIC");
  EXPECT_EQ(set.rois[1].generationAlgorithm, "SEMIAUTOMATIC");
  EXPECT_EQ(set.rois[2].generationAlgorithm, "MANUAL");
  EXPECT_NE(set.rois[0].generationDescription.find("Brain UNet"), std::string::npos);
  EXPECT_EQ(set.rois[2].interpretedType, "CAVITY");
  EXPECT_EQ(set.rois[2].interpreter, "Doe^Jane");
  EXPECT_EQ(set.rois[2].color, (std::array<std::uint8_t, 3>{0, 128, 255}));
  EXPECT_EQ(set.rois[0].contours.size(), 2 * rings.size());
  // per image: ROI 1 on a and b, ROI 2 on b only, ROI 3 on a only
  EXPECT_EQ(roisOnImage(set, a).size(), 2U);
  EXPECT_EQ(roisOnImage(set, b).size(), 2U);
}

TEST(StructureSet, RejectedAndObliqueSetsPassDciodvfy) {
  test::TempDir dir;
  const auto img = image(oblique(), {5, 5, 5});
  const auto rings = netparser::traceMask(randomMask(3, img.rows, img.columns), img.rows, img.columns);
  (void)writeStructureSet(
      input({RoiInput{"Rejected", {255, 0, 0}, "ORGAN", rtstruct::RoiGeneration::Automatic, {{img, rings}}}},
            ApprovalStatus::Rejected),
      dir / "rejected.dcm");
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "rejected.dcm", &out).empty()) << out;
  EXPECT_EQ(readStructureSet(dir / "rejected.dcm").approvalStatus, "REJECTED");
}

TEST(StructureSet, BadInputIsRefusedWithoutOutput) {
  const auto img = image(kAxial, {0, 0, 0});
  const auto rings = netparser::traceMask(randomMask(5, img.rows, img.columns), img.rows, img.columns);
  const RoiInput roi{"A", {255, 0, 0}, "ORGAN", rtstruct::RoiGeneration::Automatic, {{img, rings}}};
  EXPECT_EQ(writeError(input({})), ErrorCode::InvalidArgument);  // empty approved set
  auto noReviewer = input({roi});
  noReviewer.reviewerName.clear();
  EXPECT_EQ(writeError(noReviewer), ErrorCode::InvalidArgument);
  RoiInput shortRing = roi;
  shortRing.contours[0].rings = {iod::Ring{{{0, 0}, {1, 1}}, false}};
  EXPECT_EQ(writeError(input({shortRing})), ErrorCode::InvalidArgument);
  RoiInput noGeometry = roi;
  noGeometry.contours[0].image.imagePositionPatient.reset();
  EXPECT_EQ(writeError(input({noGeometry})), ErrorCode::MissingGeometry);
  RoiInput otherFrame = roi;
  auto elsewhere = image(kAxial, {0, 0, 3});
  elsewhere.frameOfReferenceUid = iod::makeRandomUid();
  otherFrame.contours.push_back({elsewhere, rings});
  EXPECT_EQ(writeError(input({otherFrame})), ErrorCode::IncompatibleImage);
}

TEST(StructureSet, ReaderTakesOtherSystemsFilesAndRefusesNonsense) {
  const std::string data = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
  const auto set = readStructureSet(data + "rtstruct.dcm");  // written by another system
  EXPECT_FALSE(set.rois.empty());
  EXPECT_FALSE(set.rois[0].contours.empty());
  const std::pair<const char*, ErrorCode> bad[] = {
      {"CT_small.dcm", ErrorCode::NotRtStructureSet},       // DICOM, another IOD
      {"rtplan.dcm", ErrorCode::NotRtStructureSet},         // an RT object, not a structure set
      {"rtplan_truncated.dcm", ErrorCode::TruncatedDicom},  // cut short on purpose by pydicom
      {"README.txt", ErrorCode::NotDicom},
  };
  for (const auto& [name, code] : bad) {
    try {
      (void)readStructureSet(data + name);
      ADD_FAILURE() << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << name << ": " << e.what();
      EXPECT_EQ(e.file(), data + name) << "the error names the file";
    }
  }
}
