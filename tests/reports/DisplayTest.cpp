#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/reports/Display.hpp"

using namespace iodeep;

namespace {

const std::filesystem::path kCtSmall = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm";
const std::filesystem::path kMrSmall = "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm";

struct Pgm {
  int width{0}, height{0};
  std::vector<std::uint8_t> bytes;
};

// DCMTK's own renderer (dcmimage, another code base than ours): dcm2pnm with a given window.
Pgm renderWithDcm2pnm(const std::filesystem::path& dicom, const client::WindowLevel& w,
                      const std::filesystem::path& dir) {
  const auto out = dir / "ref.pgm";
  std::ostringstream cmd;
  cmd << "dcm2pnm +Ww " << w.center << " " << w.width << " +Wfl +op '" << dicom.string() << "' '" << out.string()
      << "' 2>/dev/null";
  EXPECT_EQ(std::system(cmd.str().c_str()), 0) << cmd.str();
  std::ifstream in(out, std::ios::binary);
  std::string magic;
  int maxval = 0;
  Pgm p;
  in >> magic >> p.width >> p.height >> maxval;
  in.get();
  EXPECT_EQ(magic, "P5");
  EXPECT_EQ(maxval, 255);
  p.bytes.resize(static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.height));
  in.read(reinterpret_cast<char*>(p.bytes.data()), static_cast<std::streamsize>(p.bytes.size()));
  EXPECT_TRUE(in.good());
  return p;
}

void expectSameAsDcmtk(const std::filesystem::path& file, const client::WindowLevel& w) {
  test::TempDir dir;
  const auto slice = iod::readSlice(file);
  const auto ours = client::renderForDisplay(slice, w);
  const auto ref = renderWithDcm2pnm(file, w, dir.path());
  ASSERT_EQ(ref.width, ours.columns);
  ASSERT_EQ(ref.height, ours.rows);
  ASSERT_EQ(ours.channels, 1);
  std::size_t differ = 0;
  int worst = 0;
  for (std::size_t i = 0; i < ref.bytes.size(); ++i) {
    const int d = std::abs(int{ours.bytes[i]} - int{ref.bytes[i]});
    worst = std::max(worst, d);
    if (d != 0) ++differ;
  }
  // the same DICOM linear function; DCMTK rounds through its own LUT: at most one grey level apart
  EXPECT_LE(worst, 1) << file;
  std::cout << file.filename().string() << " window " << w.center << "/" << w.width << ": " << differ << " of "
            << ref.bytes.size() << " pixels one level apart, none more\n";
}

}  // namespace

TEST(Display, LinearVoiFunctionAsTheStandardWritesIt) {
  const client::WindowLevel w{40, 400};
  EXPECT_EQ(client::applyWindow(-160.0, w), 0.0);  // <= c - 0.5 - (w-1)/2
  EXPECT_EQ(client::applyWindow(-1000.0, w), 0.0);
  EXPECT_EQ(client::applyWindow(239.5, w), 255.0);  // > c - 0.5 + (w-1)/2
  EXPECT_DOUBLE_EQ(client::applyWindow(39.5, w), 127.5);
  EXPECT_GT(client::applyWindow(100.0, w), client::applyWindow(99.0, w));
  // width 1 is a threshold at the centre
  EXPECT_EQ(client::applyWindow(10.0, {10.5, 1}), 0.0);
  EXPECT_EQ(client::applyWindow(11.0, {10.5, 1}), 255.0);
}

TEST(Display, GreyScaleAgreesWithDcmtkRendering) {
  expectSameAsDcmtk(kCtSmall, {40, 400});
  expectSameAsDcmtk(kCtSmall, {-600, 1500});
  expectSameAsDcmtk(kMrSmall, {600, 1600});
  // MONOCHROME1: higher values darker, as DCMTK shows it
  expectSameAsDcmtk(test::fixture("ct_small_monochrome1.dcm"), {40, 400});
}

TEST(Display, Monochrome1IsTheInverseOfMonochrome2) {
  auto slice = iod::readSlice(kCtSmall);
  const auto mono2 = client::renderForDisplay(slice, {40, 400});
  slice.monochrome1 = true;  // the same values, read as MONOCHROME1
  const auto mono1 = client::renderForDisplay(slice, {40, 400});
  ASSERT_EQ(mono1.bytes.size(), mono2.bytes.size());
  for (std::size_t i = 0; i < mono1.bytes.size(); ++i) ASSERT_EQ(mono1.bytes[i], 255 - mono2.bytes[i]) << i;
}

TEST(Display, InitialWindowIsTheFilesElseThePercentileRange) {
  const auto mr = iod::readSlice(kMrSmall);
  const auto w = client::initialWindow(mr);
  EXPECT_EQ(w.center, 600);
  EXPECT_EQ(w.width, 1600);
  const auto ct = iod::readSlice(kCtSmall);  // no window in the file
  const auto p = client::initialWindow(ct);
  auto values = ct.pixels;
  std::sort(values.begin(), values.end());
  const double lo = values[values.size() / 100];
  const double hi = values[values.size() - 1 - values.size() / 100];
  EXPECT_DOUBLE_EQ(p.center, (lo + hi) / 2);
  EXPECT_DOUBLE_EQ(p.width, hi - lo);
  const auto presets = client::windowPresets(ct);
  ASSERT_GE(presets.size(), 6U);  // CT presets and the full range
  EXPECT_EQ(presets.front().name, "Brain");
  EXPECT_EQ(presets.back().name, "Full range");
  EXPECT_EQ(client::windowPresets(mr).front().name, "File 1");
}

TEST(Display, OrientationLabelsFollowTheDirectionCosines) {
  iod::SliceAttributes axial;
  axial.imageOrientationPatient = std::array<double, 6>{1, 0, 0, 0, 1, 0};
  auto e = client::orientationLabels(axial);
  EXPECT_EQ(e.left, "R");
  EXPECT_EQ(e.right, "L");
  EXPECT_EQ(e.top, "A");
  EXPECT_EQ(e.bottom, "P");
  iod::SliceAttributes coronal;
  coronal.imageOrientationPatient = std::array<double, 6>{1, 0, 0, 0, 0, -1};
  e = client::orientationLabels(coronal);
  EXPECT_EQ(e.top, "H");
  EXPECT_EQ(e.bottom, "F");
  iod::SliceAttributes sagittal;
  sagittal.imageOrientationPatient = std::array<double, 6>{0, 1, 0, 0, 0, -1};
  e = client::orientationLabels(sagittal);
  EXPECT_EQ(e.left, "A");
  EXPECT_EQ(e.right, "P");
  // oblique: strongest first, weak components left out
  EXPECT_EQ(client::directionLetters(0.8, -0.6, 0.1), "LA");
  EXPECT_EQ(client::directionLetters(-0.3, 0.4, 0.866), "HPR");
  EXPECT_TRUE(client::orientationLabels(iod::SliceAttributes{}).left.empty());  // no geometry, no labels
}

TEST(Display, InformationBlocksInThePapersOrder) {
  const auto a = iod::readSliceAttributes(kCtSmall);
  const auto patient = client::patientBlock(a);
  ASSERT_EQ(patient.size(), 4U);
  EXPECT_EQ(patient[0].second, "CompressedSamples, CT1");
  EXPECT_EQ(patient[1].first, "ID");
  const auto clinical = client::clinicalBlock(a);
  ASSERT_EQ(clinical.size(), 8U);
  EXPECT_EQ(clinical[6].second, a.studyInstanceUid);
  EXPECT_EQ(client::formatDate("20040119"), "2004-01-19");
  EXPECT_EQ(client::formatDate("2004"), "2004");
  EXPECT_EQ(client::formatTime("072730.123"), "07:27:30");
  EXPECT_EQ(client::formatPersonName("Doe^Jane^^Dr"), "Doe, Jane");
  EXPECT_EQ(client::formatPersonName("Doe"), "Doe");
  EXPECT_EQ(client::formatPersonName("Doe^Jane=Ideographic"), "Doe, Jane");
}
