// SpecificCharacterSet honoured (issue 17): text copied from a slice in any character set goes
// into the RT Structure Set (declared ISO_IR 192) as UTF-8, and reads back as pydicom decodes the
// source. pydicom's own charset files: Latin-1, Greek, Arabic, Hebrew, Russian, Japanese (ISO 2022,
// three ways), Korean, Chinese (UTF-8 and GB18030).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/netparser/Prediction.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

using namespace iodeep;

namespace {

const std::string kCharsets = "/usr/lib/python3/dist-packages/pydicom/data/charset_files/";

// pydicom's str() of PatientName in @p a and in @p b, one per line.
std::pair<std::string, std::string> pydicomNames(const std::filesystem::path& a, const std::filesystem::path& b) {
  const std::string command =
      "/usr/bin/python3 -c 'import sys, pydicom\nfor f in sys.argv[1:]: "
      "print(str(pydicom.dcmread(f).PatientName))' '" +
      a.string() + "' '" + b.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return {};
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe.get()) != nullptr) out += buffer.data();
  const auto newline = out.find('\n');
  if (newline == std::string::npos) return {out, ""};
  std::string second = out.substr(newline + 1);
  if (!second.empty() && second.back() == '\n') second.pop_back();
  return {out.substr(0, newline), second};
}

}  // namespace

TEST(Charset, PatientNameReadsBackAsPydicomDecodesTheSource) {
  const char* files[] = {"chrArab.dcm",
                         "chrFren.dcm",
                         "chrFrenMulti.dcm",
                         "chrGerm.dcm",
                         "chrGreek.dcm",
                         "chrH31.dcm",
                         "chrH32.dcm",
                         "chrHbrw.dcm",
                         "chrI2.dcm",
                         "chrJapMulti.dcm",
                         "chrJapMultiExplicitIR6.dcm",
                         "chrKoreanMulti.dcm",
                         "chrRuss.dcm",
                         "chrX1.dcm",
                         "chrX2.dcm"};
  test::TempDir dir;
  for (const std::string name : files) {
    const auto source = iod::readSliceAttributes(kCharsets + name);
    ASSERT_TRUE(iod::isValidUtf8(source.patientName)) << name;
    // the charset file's patient and study on a slice with geometry
    iod::SliceAttributes slice = test::sampleMrSlice();
    slice.patientName = source.patientName;
    slice.patientId = source.patientId;
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(slice.rows) * slice.columns, 0);
    for (std::size_t r = 4; r < 10; ++r) {
      for (std::size_t c = 4; c < 10; ++c) mask[r * slice.columns + c] = 1;
    }
    rtstruct::StructureSetInput in;
    in.rois = {rtstruct::RoiInput{"Lesion",
                                  {255, 0, 0},
                                  "GTV",
                                  rtstruct::RoiGeneration::Automatic,
                                  {{slice, netparser::traceMask(mask, slice.rows, slice.columns)}}}};
    in.network = {"Net", "1", "2.25.123", "2.25.456"};
    in.approval = rtstruct::ApprovalStatus::Approved;
    in.reviewerName = "Doe^Jane";
    const auto out = dir / (name + ".rtstruct.dcm");
    (void)rtstruct::writeStructureSet(in, out);
    const auto [expected, got] = pydicomNames(kCharsets + name, out);
    EXPECT_FALSE(expected.empty()) << name;
    EXPECT_EQ(got, expected) << name;
    EXPECT_EQ(rtstruct::readStructureSet(out).rois.size(), 1U) << name;
  }
  // one of them through dciodvfy: a converted name is valid in an ISO_IR 192 object
  std::string report;
  EXPECT_TRUE(test::dciodvfyErrors(dir / "chrH31.dcm.rtstruct.dcm", &report).empty()) << report;
}
