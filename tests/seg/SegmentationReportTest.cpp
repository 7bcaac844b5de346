#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/reports/SegmentationReport.hpp"

using namespace iodeep;

namespace {

iod::Ring square(double c0, double r0, double c1, double r1) {
  return iod::Ring{{{c0, r0}, {c1, r0}, {c1, r1}, {c0, r1}}, false};
}

}  // namespace

// `iodeep seg show`: segments, algorithm, pixels per image, approval and network, as text and JSON.
TEST(SegmentationReport, ListsSegmentsFramesApprovalAndNetwork) {
  test::TempDir dir;
  auto a = test::sampleMrSlice(7, 9);
  a.sliceThickness = 1.0;
  auto b = a;
  b.sopInstanceUid = iod::makeRandomUid();
  b.imagePositionPatient = std::array<double, 3>{0, 0, 3};
  rtstruct::StructureSetInput in;
  // 3 x 2 = 6 pixels on a, 2 x 2 = 4 on b; 1 pixel on b for the second segment
  in.rois.push_back({"Brain",
                     {255, 0, 0},
                     "ORGAN",
                     rtstruct::RoiGeneration::Automatic,
                     {{a, {square(0.5, 0.5, 3.5, 2.5)}}, {b, {square(4.5, 4.5, 6.5, 6.5)}}}});
  in.rois.push_back(
      {"Lesion", {0, 255, 0}, "GTV", rtstruct::RoiGeneration::Manual, {{b, {square(1.5, 1.5, 2.5, 2.5)}}}});
  in.network = {"Brain UNet", "3.1", "2.25.123", "2.25.456"};
  in.reviewerName = "Doe^Jane";
  in.reviewDate = "20261122";
  in.reviewTime = "101500";
  (void)seg::writeSegmentation(in, dir / "seg.dcm");

  const auto report = client::showSegmentation(dir / "seg.dcm");
  const auto text = report.toText();
  for (const std::string& expected :
       {std::string("(BINARY, 7x9, 2 segment(s), 3 frame(s)), APPROVED by Doe^Jane on 20261122 101500"),
        std::string("network: Brain UNet 3.1 (DnnUID 2.25.123)"),
        std::string("segment 1 Brain (AUTOMATIC, Brain UNet)"), std::string("segment 2 Lesion (MANUAL)\n"),
        "6 pixel(s) on " + a.sopInstanceUid, "4 pixel(s) on " + b.sopInstanceUid, "1 pixel(s) on " + b.sopInstanceUid,
        std::string("(creator Doe^Jane)")}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  const auto j = nlohmann::json::parse(report.toJson());
  EXPECT_EQ(j["approvalStatus"], "APPROVED");
  EXPECT_EQ(j["reviewerName"], "Doe^Jane");
  EXPECT_EQ(j["network"]["dnnUid"], "2.25.123");
  EXPECT_EQ(j["network"]["version"], "3.1");
  ASSERT_EQ(j["segments"].size(), 2U);
  EXPECT_EQ(j["segments"][0]["label"], "Brain");
  EXPECT_EQ(j["segments"][0]["algorithmType"], "AUTOMATIC");
  ASSERT_EQ(j["segments"][0]["frames"].size(), 2U);
  EXPECT_EQ(j["segments"][0]["frames"][0]["pixels"], 6);
  EXPECT_EQ(j["segments"][0]["frames"][1]["pixels"], 4);
  EXPECT_EQ(j["segments"][1]["frames"][0]["image"], b.sopInstanceUid);
  EXPECT_EQ(j["referencedImages"].size(), 2U);
}

TEST(SegmentationReport, AnotherObjectIsNotASegmentation) {
  const std::string ct = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
  const auto e = test::errorOf([&] { (void)client::showSegmentation(ct); });
  EXPECT_EQ(e.code(), ErrorCode::NotSegmentation) << e.what();
  EXPECT_EQ(e.file(), ct);
}
