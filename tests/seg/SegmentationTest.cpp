#include <gtest/gtest.h>

#include <dcmtk/dcmdata/dctk.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/seg/Segmentation.hpp"

using namespace iodeep;
using namespace iodeep::seg;
using rtstruct::ApprovalStatus;
using rtstruct::ImageContours;
using rtstruct::RoiGeneration;
using rtstruct::RoiInput;
using rtstruct::StructureSetInput;

namespace {

const std::string kStudy = iod::makeRandomUid();
const std::string kSeries = iod::makeRandomUid();
const std::string kFrame = iod::makeRandomUid();
const std::string kPydicomCheck = std::string(IODEEP_SOURCE_DIR) + "/tests/seg/pydicom_check.py";

// An axial image of the test's series at height @p z with anisotropic pixels.
iod::SliceAttributes image(std::uint16_t rows, std::uint16_t columns, double z) {
  iod::SliceAttributes a = test::sampleMrSlice(rows, columns);
  a.studyInstanceUid = kStudy;
  a.seriesInstanceUid = kSeries;
  a.frameOfReferenceUid = kFrame;
  a.pixelSpacing = std::array<double, 2>{0.8, 0.6};
  a.imagePositionPatient = std::array<double, 3>{-10.5, 20.25, z};
  a.sliceThickness = 3.0;
  return a;
}

iod::Ring rectangle(double c0, double r0, double c1, double r1, bool hole) {
  iod::Ring ring{{{c0, r0}, {c1, r0}, {c1, r1}, {c0, r1}}, hole};
  if (hole) std::reverse(ring.points.begin(), ring.points.end());  // holes run counter-clockwise
  return ring;
}

// Rings on an image of @p rows x @p columns: a rectangle with a rectangular hole, and a triangle
// that may overlap both (even-odd: the overlap is outside), at off-grid coordinates.
std::vector<iod::Ring> rings(std::mt19937& rng, std::uint16_t rows, std::uint16_t columns) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double w = columns;
  const double h = rows;
  const double c0 = -0.7 + u(rng) * w * 0.3;
  const double r0 = -0.7 + u(rng) * h * 0.3;
  const double c1 = c0 + 1.2 + u(rng) * w * 0.7;
  const double r1 = r0 + 1.2 + u(rng) * h * 0.7;
  std::vector<iod::Ring> out{rectangle(c0, r0, c1, r1, false)};
  // the hole: the middle third of the rectangle
  out.push_back(rectangle(c0 + (c1 - c0) / 3, r0 + (r1 - r0) / 3, c1 - (c1 - c0) / 3, r1 - (r1 - r0) / 3, true));
  out.push_back(iod::Ring{{{u(rng) * w, u(rng) * h}, {u(rng) * w, u(rng) * h}, {u(rng) * w, u(rng) * h}}, false});
  return out;
}

StructureSetInput input(std::vector<RoiInput> rois, ApprovalStatus status = ApprovalStatus::Approved) {
  StructureSetInput in;
  in.rois = std::move(rois);
  in.network = {"Brain UNet", "3.1", "2.25.123", "2.25.456"};
  in.approval = status;
  in.reviewerName = status == ApprovalStatus::Unapproved ? "" : "Doe^Jane";
  in.reviewDate = "20261122";
  in.reviewTime = "101500";
  return in;
}

// The mask each (segment number, image) should have: the ROI's rings on the image, filled even-odd.
std::map<std::pair<std::uint16_t, std::string>, std::vector<std::uint8_t>> expectedMasks(const StructureSetInput& in) {
  std::map<std::pair<std::uint16_t, std::string>, std::vector<iod::Ring>> rings;
  std::map<std::string, iod::SliceAttributes> images;
  for (std::size_t r = 0; r < in.rois.size(); ++r) {
    for (const auto& c : in.rois[r].contours) {
      auto& list = rings[{static_cast<std::uint16_t>(r + 1), c.image.sopInstanceUid}];
      list.insert(list.end(), c.rings.begin(), c.rings.end());
      images[c.image.sopInstanceUid] = c.image;
    }
  }
  std::map<std::pair<std::uint16_t, std::string>, std::vector<std::uint8_t>> out;
  for (const auto& [key, list] : rings) {
    if (list.empty()) continue;
    const auto& a = images.at(key.second);
    out[key] = iod::fillEvenOdd(list, a.rows, a.columns);
  }
  return out;
}

// What pydicom_check.py compares the file with.
void writeExpectation(const StructureSetInput& in, std::uint16_t rows, std::uint16_t columns,
                      const std::filesystem::path& path) {
  nlohmann::json j;
  j["rows"] = rows;
  j["columns"] = columns;
  j["approvalStatus"] = rtstruct::toString(in.approval);
  j["reviewerName"] = in.approval == ApprovalStatus::Unapproved ? "" : in.reviewerName;
  j["contentCreatorName"] = j["reviewerName"];
  j["labels"] = nlohmann::json::object();
  for (std::size_t r = 0; r < in.rois.size(); ++r) j["labels"][std::to_string(r + 1)] = in.rois[r].name;
  j["frames"] = nlohmann::json::array();
  for (const auto& [key, mask] : expectedMasks(in)) {
    std::string bits;
    for (const auto v : mask) bits += v != 0 ? '1' : '0';
    j["frames"].push_back({{"segment", key.first}, {"sop", key.second}, {"mask", bits}});
  }
  std::ofstream(path) << j.dump();
}

// Runs tests/seg/pydicom_check.py with Debian's Python; its exit status, its output in @p output.
int runPython(const std::string& arguments, std::string& output) {
  const std::string cmd = std::string(IODEEP_PYTHON3) + " " + kPydicomCheck + " " + arguments + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

ErrorCode writeError(const StructureSetInput& in) {
  test::TempDir dir;
  try {
    (void)writeSegmentation(in, dir / "seg.dcm");
  } catch (const Error& e) {
    EXPECT_FALSE(std::filesystem::exists(dir / "seg.dcm"));
    EXPECT_TRUE(test::listFiles(dir.path()).empty()) << "nothing partial left";
    return e.code();
  }
  ADD_FAILURE() << "written";
  return ErrorCode::Internal;
}

// A set of three ROIs on three images of @p rows x @p columns: "Brain" on every image (twice on the
// first, as two entries whose rings are filled together), "Ventricle" on two, "Lesion" drawn on one.
StructureSetInput threeRois(std::uint16_t rows, std::uint16_t columns, std::uint32_t seed,
                            std::vector<iod::SliceAttributes>& images) {
  std::mt19937 rng(seed);
  images = {image(rows, columns, 3.0), image(rows, columns, 0.0), image(rows, columns, 6.0)};
  RoiInput brain{"Brain", {255, 64, 64}, "ORGAN", RoiGeneration::Automatic, {}};
  for (const auto& a : images) brain.contours.push_back({a, rings(rng, rows, columns)});
  brain.contours.push_back({images[0], {rings(rng, rows, columns)[2]}});
  RoiInput ventricle{"Ventricle",
                     {0, 128, 255},
                     "CAVITY",
                     RoiGeneration::Semiautomatic,
                     {{images[1], rings(rng, rows, columns)}, {images[2], rings(rng, rows, columns)}}};
  RoiInput lesion{"Lesion", {20, 200, 20}, "GTV", RoiGeneration::Manual, {{images[2], rings(rng, rows, columns)}}};
  return input({brain, ventricle, lesion});
}

}  // namespace

// Odd sizes (Rows x Columns not a multiple of 8: frames start inside a byte, where DCMTK 3.6.7 packs
// wrongly) and even ones: dciodvfy finds no error, our reader and pydicom read exactly the masks
// the rings stand for.
TEST(Segmentation, OddAndEvenSizesAreExactInOurReaderAndPydicomAndPassDciodvfy) {
  const std::pair<std::uint16_t, std::uint16_t> sizes[] = {{7, 9}, {13, 11}, {5, 5}, {3, 1}, {64, 64}, {16, 8}};
  std::uint32_t seed = 1;
  for (const auto& [rows, columns] : sizes) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(columns));
    test::TempDir dir;
    std::vector<iod::SliceAttributes> images;
    const auto in = threeRois(rows, columns, seed++, images);
    const auto expected = expectedMasks(in);
    const auto written = writeSegmentation(in, dir / "seg.dcm");
    EXPECT_EQ(written.segments, 3U);
    EXPECT_EQ(written.frames, expected.size());
    EXPECT_EQ(written.frames, 3U + 2U + 1U);
    std::string out;
    EXPECT_TRUE(test::dciodvfyErrors(dir / "seg.dcm", &out).empty()) << out;

    // our reader: every frame, and each image's masks
    const auto info = readSegmentation(dir / "seg.dcm");
    EXPECT_EQ(info.rows, rows);
    EXPECT_EQ(info.columns, columns);
    ASSERT_EQ(info.segments.size(), 3U);
    std::size_t frames = 0;
    for (const auto& segment : info.segments) {
      for (const auto& frame : segment.frames) {
        ++frames;
        const auto it = expected.find({segment.number, frame.referencedSopInstanceUid});
        ASSERT_NE(it, expected.end()) << "segment " << segment.number << " on " << frame.referencedSopInstanceUid;
        EXPECT_EQ(frame.mask, it->second) << "segment " << segment.number;
      }
    }
    EXPECT_EQ(frames, expected.size());
    for (const auto& a : images) {
      for (const auto& on : segmentsOnImage(info, a)) {
        EXPECT_EQ(on.mask, expected.at({on.segment.number, a.sopInstanceUid})) << on.segment.label;
      }
    }
    EXPECT_EQ(segmentsOnImage(info, images[0]).size(), 1U);  // Brain only
    EXPECT_EQ(segmentsOnImage(info, images[2]).size(), 3U);

    // pydicom, an independent reader
    writeExpectation(in, rows, columns, dir / "expected.json");
    std::string python;
    EXPECT_EQ(runPython("check " + (dir / "seg.dcm").string() + " " + (dir / "expected.json").string(), python), 0)
        << python;
  }
}

// The holes are holes: a ring inside another leaves its pixels out, in our reader and in pydicom.
TEST(Segmentation, HolesStayEmpty) {
  test::TempDir dir;
  const auto a = image(13, 11, 0.0);
  RoiInput ring{"Ring",
                {255, 0, 0},
                "ORGAN",
                RoiGeneration::Automatic,
                {{a, {rectangle(0.5, 0.5, 9.5, 11.5, false), rectangle(3.5, 3.5, 6.5, 8.5, true)}}}};
  const auto in = input({ring});
  (void)writeSegmentation(in, dir / "seg.dcm");
  const auto on = segmentsOnImage(readSegmentation(dir / "seg.dcm"), a);
  ASSERT_EQ(on.size(), 1U);
  const auto& m = on[0].mask;
  EXPECT_EQ(m[2 * 11 + 2], 1);   // inside the outer ring
  EXPECT_EQ(m[5 * 11 + 5], 0);   // inside the hole
  EXPECT_EQ(m[5 * 11 + 10], 0);  // outside
  EXPECT_EQ(std::count(m.begin(), m.end(), 1), 9 * 11 - 3 * 5);
  writeExpectation(in, 13, 11, dir / "expected.json");
  std::string python;
  EXPECT_EQ(runPython("check " + (dir / "seg.dcm").string() + " " + (dir / "expected.json").string(), python), 0)
      << python;
}

// Pixel Data holds the frames back to back, bit after bit, LSB first, padded to an even length:
// 2 frames of 3x3 are 18 bits, 3 bytes, 4 with the padding.
TEST(Segmentation, PixelDataIsPackedContiguously) {
  test::TempDir dir;
  const auto a = image(3, 3, 0.0);
  // a ring around pixel (0, 0) only, and one around the last pixel of the second frame (row 2, column 2)
  RoiInput first{
      "First", {255, 0, 0}, "ORGAN", RoiGeneration::Automatic, {{a, {rectangle(-0.5, -0.5, 0.5, 0.5, false)}}}};
  RoiInput second{
      "Second", {0, 255, 0}, "ORGAN", RoiGeneration::Automatic, {{a, {rectangle(1.5, 1.5, 2.5, 2.5, false)}}}};
  (void)writeSegmentation(input({first, second}), dir / "seg.dcm");
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((dir / "seg.dcm").c_str()).good());
  const Uint8* pixels = nullptr;
  unsigned long length = 0;
  ASSERT_TRUE(file.getDataset()->findAndGetUint8Array(DCM_PixelData, pixels, &length).good());
  ASSERT_EQ(length, 4U);
  // bit 0 (frame 1, pixel 0) and bit 9 + 8 = 17 (frame 2, pixel 8): byte 0 = 0x01, byte 2 = 0x02
  EXPECT_EQ(pixels[0], 0x01);
  EXPECT_EQ(pixels[1], 0x00);
  EXPECT_EQ(pixels[2], 0x02);
  EXPECT_EQ(pixels[3], 0x00);
}

// The pydicom check fails when a pixel differs: it is not a check that always passes.
TEST(Segmentation, PydicomCheckSeesADifference) {
  test::TempDir dir;
  std::vector<iod::SliceAttributes> images;
  auto in = threeRois(7, 9, 99, images);
  (void)writeSegmentation(in, dir / "seg.dcm");
  writeExpectation(in, 7, 9, dir / "expected.json");
  nlohmann::json j = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
  auto mask = j["frames"][2]["mask"].get<std::string>();
  mask[17] = mask[17] == '1' ? '0' : '1';
  j["frames"][2]["mask"] = mask;
  std::ofstream(dir / "wrong.json") << j.dump();
  std::string python;
  EXPECT_EQ(runPython("check " + (dir / "seg.dcm").string() + " " + (dir / "wrong.json").string(), python), 1)
      << python;
  EXPECT_NE(python.find("1 pixel(s) differ"), std::string::npos) << python;
}

TEST(Segmentation, ApprovalReviewerAndNetworkAreRecorded) {
  test::TempDir dir;
  std::vector<iod::SliceAttributes> images;
  const auto in = threeRois(16, 8, 7, images);
  SegmentationOptions options;
  options.sopInstanceUid = iod::makeRandomUid();
  options.seriesInstanceUid = iod::makeRandomUid();
  const auto written = writeSegmentation(in, dir / "seg.dcm", options);
  EXPECT_EQ(written.sopInstanceUid, options.sopInstanceUid);
  EXPECT_EQ(written.seriesInstanceUid, options.seriesInstanceUid);
  const auto info = readSegmentation(dir / "seg.dcm");
  EXPECT_EQ(info.sopInstanceUid, options.sopInstanceUid);
  EXPECT_EQ(info.seriesInstanceUid, options.seriesInstanceUid);
  EXPECT_EQ(info.studyInstanceUid, kStudy);
  EXPECT_EQ(info.frameOfReferenceUid, kFrame);
  EXPECT_EQ(info.seriesDescription, "IODEEP AI SEG");
  EXPECT_EQ(info.segmentationType, "BINARY");
  EXPECT_EQ(info.approvalStatus, "APPROVED");
  EXPECT_EQ(info.reviewerName, "Doe^Jane");
  EXPECT_EQ(info.reviewDate, "20261122");
  EXPECT_EQ(info.reviewTime, "101500");
  EXPECT_EQ(info.contentCreatorName, "Doe^Jane");
  EXPECT_EQ(info.contentDescription, "APPROVED by Doe^Jane on 20261122 101500");
  EXPECT_EQ(info.contentLabel, "IODEEP AI ROI");
  EXPECT_EQ(info.contentDate.size(), 8U);
  EXPECT_EQ(info.networkName, "Brain UNet");
  EXPECT_EQ(info.networkVersion, "3.1");
  EXPECT_EQ(info.networkDnnUid, "2.25.123");
  ASSERT_EQ(info.segments.size(), 3U);
  EXPECT_EQ(info.segments[0].number, 1);
  EXPECT_EQ(info.segments[2].number, 3);
  EXPECT_EQ(info.segments[0].label, "Brain");
  EXPECT_EQ(info.segments[0].algorithmType, "AUTOMATIC");
  EXPECT_EQ(info.segments[1].algorithmType, "SEMIAUTOMATIC");
  EXPECT_EQ(info.segments[2].algorithmType, "MANUAL");
  EXPECT_EQ(info.segments[0].algorithmName, "Brain UNet");
  EXPECT_EQ(info.segments[1].algorithmName, "Brain UNet");
  EXPECT_EQ(info.segments[2].algorithmName, "");  // MANUAL: none (the network is in the Algorithm Identification)
  // colours through CIELab and back
  for (std::size_t s = 0; s < 3; ++s) {
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(info.segments[s].color[k], in.rois[s].color[k], 1) << "segment " << s + 1 << " component " << k;
    }
  }
  // every image referenced, with its series
  ASSERT_EQ(info.referencedImages.size(), 3U);
  for (const auto& a : images) {
    EXPECT_NE(std::find(info.referencedImages.begin(), info.referencedImages.end(),
                        std::make_pair(a.sopInstanceUid, a.seriesInstanceUid)),
              info.referencedImages.end());
  }
}

TEST(Segmentation, RejectedAndUnapprovedSetsPassDciodvfy) {
  test::TempDir dir;
  const auto a = image(7, 9, 0.0);
  std::mt19937 rng(5);
  const RoiInput roi{"Rejected", {255, 0, 0}, "ORGAN", RoiGeneration::Automatic, {{a, rings(rng, 7, 9)}}};
  (void)writeSegmentation(input({roi}, ApprovalStatus::Rejected), dir / "rejected.dcm");
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "rejected.dcm", &out).empty()) << out;
  const auto rejected = readSegmentation(dir / "rejected.dcm");
  EXPECT_EQ(rejected.approvalStatus, "REJECTED");
  EXPECT_EQ(rejected.seriesDescription, "IODEEP REJECTED SEG");
  EXPECT_EQ(rejected.contentDescription.rfind("REJECTED by Doe^Jane", 0), 0U) << rejected.contentDescription;

  SegmentationOptions named;
  named.seriesDescription = "Proposals";
  (void)writeSegmentation(input({roi}, ApprovalStatus::Unapproved), dir / "unapproved.dcm", named);
  EXPECT_TRUE(test::dciodvfyErrors(dir / "unapproved.dcm", &out).empty()) << out;
  const auto unapproved = readSegmentation(dir / "unapproved.dcm");
  EXPECT_EQ(unapproved.approvalStatus, "UNAPPROVED");
  EXPECT_EQ(unapproved.reviewerName, "");
  EXPECT_EQ(unapproved.reviewDate, "");
  EXPECT_EQ(unapproved.contentCreatorName, "");
  EXPECT_EQ(unapproved.seriesDescription, "Proposals");
}

// Non-ASCII names (UTF-8, ISO_IR 192) survive; a backslash does not split a value.
TEST(Segmentation, Utf8TextRoundTrips) {
  test::TempDir dir;
  auto a = image(5, 5, 0.0);
  a.patientName = "Müller^Jürgen";
  std::mt19937 rng(3);
  RoiInput roi{"Hippocampus gauche é\\x", {255, 0, 0}, "ORGAN", RoiGeneration::Automatic, {{a, rings(rng, 5, 5)}}};
  auto in = input({roi});
  in.reviewerName = "Dupré^Zoë";
  (void)writeSegmentation(in, dir / "seg.dcm");
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "seg.dcm", &out).empty()) << out;
  const auto info = readSegmentation(dir / "seg.dcm");
  EXPECT_EQ(info.reviewerName, "Dupré^Zoë");
  EXPECT_EQ(info.contentCreatorName, "Dupré^Zoë");
  ASSERT_EQ(info.segments.size(), 1U);
  EXPECT_EQ(info.segments[0].label, "Hippocampus gauche é/x");
}

// The refusals of writeStructureSet, with the same codes, and nothing left behind.
TEST(Segmentation, BadInputIsRefusedWithoutOutput) {
  const auto img = image(7, 9, 0.0);
  std::mt19937 rng(11);
  const RoiInput roi{"A", {255, 0, 0}, "ORGAN", RoiGeneration::Automatic, {{img, rings(rng, 7, 9)}}};
  EXPECT_EQ(writeError(input({})), ErrorCode::InvalidArgument);  // empty approved set
  auto noReviewer = input({roi});
  noReviewer.reviewerName.clear();
  EXPECT_EQ(writeError(noReviewer), ErrorCode::InvalidArgument);
  RoiInput shortRing = roi;
  shortRing.contours[0].rings = {iod::Ring{{{0, 0}, {1, 1}}, false}};
  EXPECT_EQ(writeError(input({shortRing})), ErrorCode::InvalidArgument);
  RoiInput noRings = roi;
  noRings.contours[0].rings.clear();
  EXPECT_EQ(writeError(input({noRings})), ErrorCode::InvalidArgument);
  RoiInput noName = roi;
  noName.name.clear();
  EXPECT_EQ(writeError(input({noName})), ErrorCode::InvalidArgument);
  RoiInput twice = roi;
  twice.number = 1;
  EXPECT_EQ(writeError(input({roi, twice})), ErrorCode::InvalidArgument);  // the first is number 1 too
  RoiInput noGeometry = roi;
  noGeometry.contours[0].image.imagePositionPatient.reset();
  EXPECT_EQ(writeError(input({noGeometry})), ErrorCode::MissingGeometry);
  RoiInput otherFrame = roi;
  auto elsewhere = image(7, 9, 3.0);
  elsewhere.frameOfReferenceUid = iod::makeRandomUid();
  otherFrame.contours.push_back({elsewhere, rings(rng, 7, 9)});
  EXPECT_EQ(writeError(input({otherFrame})), ErrorCode::IncompatibleImage);
  RoiInput otherSize = roi;
  otherSize.contours.push_back({image(9, 7, 3.0), rings(rng, 9, 7)});
  EXPECT_EQ(writeError(input({otherSize})), ErrorCode::IncompatibleImage);
  test::TempDir dir;
  SegmentationOptions badUid;
  badUid.sopInstanceUid = "1.2.abc";
  EXPECT_EQ(test::codeOf([&] { (void)writeSegmentation(input({roi}), dir / "seg.dcm", badUid); }),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(test::codeOf([&] { (void)writeSegmentation(input({roi}), dir / "missing-dir" / "seg.dcm"); }),
            ErrorCode::OutputError);
}

// Another writer's segmentations (pydicom's own bit packing): binary with the segment in the
// shared functional groups and frames starting inside a byte, fractional in Implicit VR.
TEST(Segmentation, ReaderTakesAnotherWritersSegmentations) {
  test::TempDir dir;
  std::string python;
  ASSERT_EQ(runPython("make " + dir.path().string(), python), 0) << python;
  const auto expected = nlohmann::json::parse(std::ifstream(dir / "other_expected.json"));
  for (const char* name : {"other_binary.dcm", "other_fractional.dcm"}) {
    SCOPED_TRACE(name);
    const auto& e = expected.at(name);
    const auto info = readSegmentation(dir / name);
    EXPECT_EQ(info.rows, e["rows"].get<int>());
    EXPECT_EQ(info.columns, e["columns"].get<int>());
    std::size_t k = 0;
    for (const auto& segment : info.segments) {
      for (const auto& frame : segment.frames) {
        ASSERT_LT(k, e["frames"].size());
        const auto& f = e["frames"][k++];
        EXPECT_EQ(segment.number, f["segment"].get<int>());
        EXPECT_EQ(frame.referencedSopInstanceUid, f["sop"].get<std::string>());
        std::string bits;
        for (const auto v : frame.mask) bits += v != 0 ? '1' : '0';
        EXPECT_EQ(bits, f["mask"].get<std::string>()) << "frame " << k;
      }
    }
    EXPECT_EQ(k, e["frames"].size());
  }
  EXPECT_EQ(readSegmentation(dir / "other_fractional.dcm").segmentationType, "FRACTIONAL");
}

// Hostile and foreign files: one error with a stable code, naming the file, on one line.
TEST(Segmentation, ReaderRefusesNonsenseWithOneLineNamingTheFile) {
  test::TempDir dir;
  std::vector<iod::SliceAttributes> images;
  (void)writeSegmentation(threeRois(7, 9, 21, images), dir / "seg.dcm");
  const auto bytes = test::readBytes(dir / "seg.dcm");
  // cut inside Pixel Data (its last 4 bytes gone)
  test::writeBytes(dir / "truncated.dcm", {bytes.begin(), bytes.end() - 4});
  // Pixel Data shorter than its frames
  {
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile((dir / "seg.dcm").c_str()).good());
    const Uint8 two[2] = {0xFF, 0xFF};
    ASSERT_TRUE(file.getDataset()->putAndInsertUint8Array(DCM_PixelData, two, 2).good());
    ASSERT_TRUE(file.saveFile((dir / "short_pixels.dcm").c_str(), EXS_LittleEndianExplicit).good());
  }
  // a frame naming a segment the set does not define
  {
    DcmFileFormat file;
    ASSERT_TRUE(file.loadFile((dir / "seg.dcm").c_str()).good());
    DcmItem* frame = nullptr;
    ASSERT_TRUE(file.getDataset()->findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, frame, 0).good());
    DcmItem* ident = nullptr;
    ASSERT_TRUE(frame->findAndGetSequenceItem(DCM_SegmentIdentificationSequence, ident, 0).good());
    ASSERT_TRUE(ident->putAndInsertUint16(DCM_ReferencedSegmentNumber, 9).good());
    ASSERT_TRUE(file.saveFile((dir / "undefined_segment.dcm").c_str(), EXS_LittleEndianExplicit).good());
  }
  test::writeBytes(dir / "text.dcm", {std::byte{'h'}, std::byte{'i'}, std::byte{'\n'}});
  const std::string data = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
  const std::pair<std::string, ErrorCode> bad[] = {
      {(dir / "missing.dcm").string(), ErrorCode::FileNotFound},
      {(dir / "text.dcm").string(), ErrorCode::NotDicom},
      {data + "README.txt", ErrorCode::NotDicom},
      {(dir / "truncated.dcm").string(), ErrorCode::TruncatedDicom},
      {data + "rtplan_truncated.dcm", ErrorCode::TruncatedDicom},
      {data + "rtstruct.dcm", ErrorCode::NotSegmentation},  // an RT Structure Set
      {data + "CT_small.dcm", ErrorCode::NotSegmentation},
      {(dir / "short_pixels.dcm").string(), ErrorCode::MalformedSegmentation},
      {(dir / "undefined_segment.dcm").string(), ErrorCode::MalformedSegmentation},
  };
  for (const auto& [path, code] : bad) {
    const auto e = test::errorOf([&] { (void)readSegmentation(path); });
    EXPECT_EQ(e.code(), code) << path << ": " << e.what();
    EXPECT_EQ(e.file(), path) << "the error names the file";
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

// A frame whose size is not the image's is refused, not drawn out of place.
TEST(Segmentation, SegmentsOnAnImageOfAnotherSizeAreRefused) {
  test::TempDir dir;
  const auto a = image(7, 9, 0.0);
  std::mt19937 rng(2);
  (void)writeSegmentation(
      input({RoiInput{"A", {255, 0, 0}, "ORGAN", RoiGeneration::Automatic, {{a, rings(rng, 7, 9)}}}}), dir / "seg.dcm");
  const auto info = readSegmentation(dir / "seg.dcm");
  auto other = a;
  other.rows = 9;
  other.columns = 7;
  EXPECT_EQ(test::codeOf([&] { (void)segmentsOnImage(info, other); }), ErrorCode::IncompatibleImage);
  auto unrelated = image(7, 9, 3.0);
  EXPECT_TRUE(segmentsOnImage(info, unrelated).empty());
}

// SliceThickness comes from the source image (readSliceAttributes) into the Pixel Measures; an
// image without one gives a SEG without one, written and read all the same, and dciodvfy then
// names exactly that attribute.
TEST(Segmentation, SliceThicknessOfTheImageGoesIntoThePixelMeasures) {
  test::TempDir dir;
  const auto ct = iod::readSliceAttributes("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
  ASSERT_TRUE(ct.sliceThickness.has_value());
  EXPECT_DOUBLE_EQ(*ct.sliceThickness, 5.0);
  const RoiInput roi{
      "Body", {255, 0, 0}, "EXTERNAL", RoiGeneration::Automatic, {{ct, {rectangle(10.5, 20.5, 100.5, 90.5, false)}}}};
  (void)writeSegmentation(input({roi}), dir / "ct.dcm");
  std::string out;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "ct.dcm", &out).empty()) << out;
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((dir / "ct.dcm").c_str()).good());
  DcmItem* shared = nullptr;
  DcmItem* measures = nullptr;
  ASSERT_TRUE(file.getDataset()->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good());
  ASSERT_TRUE(shared->findAndGetSequenceItem(DCM_PixelMeasuresSequence, measures, 0).good());
  Float64 thickness = 0;
  ASSERT_TRUE(measures->findAndGetFloat64(DCM_SliceThickness, thickness).good());
  EXPECT_DOUBLE_EQ(thickness, 5.0);

  auto thin = ct;
  thin.sliceThickness.reset();
  const RoiInput unknown{
      "Body", {255, 0, 0}, "EXTERNAL", RoiGeneration::Automatic, {{thin, {rectangle(10.5, 20.5, 100.5, 90.5, false)}}}};
  (void)writeSegmentation(input({unknown}), dir / "thin.dcm");
  const auto errors = test::dciodvfyErrors(dir / "thin.dcm", &out);
  ASSERT_EQ(errors.size(), 1U) << out;
  EXPECT_NE(errors[0].find("SliceThickness"), std::string::npos) << out;
  const auto on = segmentsOnImage(readSegmentation(dir / "thin.dcm"), thin);
  ASSERT_EQ(on.size(), 1U);
  EXPECT_EQ(on[0].mask, iod::fillEvenOdd({rectangle(10.5, 20.5, 100.5, 90.5, false)}, ct.rows, ct.columns));
}
