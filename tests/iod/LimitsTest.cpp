// Limits before work (issue 17, docs/security.md "Limits"): JSON depth and size, sizes declared
// by a slice's header checked against what the file holds before anything is allocated, and
// UTF-8 that is never cut inside a character.
#include <gtest/gtest.h>

#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dctk.h>

#include <chrono>
#include <fstream>
#include <string>

#include "TestSupport.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/iod/Uid.hpp"

using namespace iodeep;

namespace {

const std::string kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";

// A native MONOCHROME2 slice declaring @p rows x @p columns (16 bits) and @p frames, whose
// Pixel Data holds @p bytes.
void writeNativeSlice(const std::filesystem::path& path, Uint16 rows, Uint16 columns, std::size_t bytes,
                      const char* frames = nullptr) {
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  ASSERT_TRUE(ds.putAndInsertString(DCM_SOPClassUID, UID_MRImageStorage).good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_SOPInstanceUID, iod::makeRandomUid().c_str()).good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_Modality, "MR").good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_SamplesPerPixel, 1).good());
  ASSERT_TRUE(ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2").good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_Rows, rows).good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_Columns, columns).good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_BitsAllocated, 16).good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_BitsStored, 16).good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_HighBit, 15).good());
  ASSERT_TRUE(ds.putAndInsertUint16(DCM_PixelRepresentation, 0).good());
  if (frames != nullptr) {
    ASSERT_TRUE(ds.putAndInsertString(DCM_NumberOfFrames, frames).good());
  }
  std::vector<Uint16> pixels(bytes / 2, 100);
  ASSERT_TRUE(
      ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size())).good());
  ASSERT_TRUE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
}

// A copy of pydicom's @p name with Rows and Columns replaced, its compressed Pixel Data as it was.
void withDimensions(const std::string& name, Uint16 rows, Uint16 columns, const std::filesystem::path& out) {
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((kPydicom + name).c_str()).good()) << name;
  const E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  ASSERT_TRUE(file.getDataset()->putAndInsertUint16(DCM_Rows, rows).good());
  ASSERT_TRUE(file.getDataset()->putAndInsertUint16(DCM_Columns, columns).good());
  ASSERT_TRUE(file.saveFile(out.c_str(), xfer).good()) << name;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST(JsonLimits, DeepNestingIsRefusedBeforeAnyRecursionWithItsPlace) {
  // the object: 300,000 nested '[' (crashed `iodeep inspect` with SIGSEGV)
  const auto e = test::errorOf([] { (void)iod::canonicalJson(std::string(300000, '['), "DnnArchitecture"); });
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit) << e.what();
  EXPECT_NE(std::string(e.what()).find("deeper than 64"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("DnnArchitecture:1:65"), std::string::npos) << e.what();
  // exactly at the limit is JSON; one more level is not
  EXPECT_EQ(iod::canonicalJson(nested(64), "a"), nested(64));
  EXPECT_EQ(test::codeOf([] { iod::checkJson(nested(65), "a"); }), ErrorCode::ResourceLimit);
  EXPECT_EQ(test::codeOf([] { iod::checkJson("{\"a\":" + nested(64) + "}", "a"); }), ErrorCode::ResourceLimit);
  // brackets inside strings are text, not nesting
  const std::string text = "[\"" + std::string(1000, '[') + "\\\"[\"]";
  EXPECT_NO_THROW(iod::checkJson(text, "a"));
  // a limit of the caller's
  EXPECT_EQ(test::codeOf([] { iod::checkJson(nested(5), "a", {.maxBytes = 1U << 20U, .maxDepth = 4}); }),
            ErrorCode::ResourceLimit);
}

TEST(JsonLimits, SizeIsCheckedBeforeParsing) {
  const std::string big(2000, ' ');
  const auto e = test::errorOf([&] { iod::checkJson(big + "1", "config", {.maxBytes = 1000, .maxDepth = 64}); });
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit);
  EXPECT_NE(std::string(e.what()).find("2001 bytes"), std::string::npos) << e.what();
  EXPECT_NO_THROW(iod::checkJson(big + "1", "config"));
}

TEST(SliceLimits, HugeDeclaredFrameIsRefusedWithoutAllocatingIt) {
  // the slice: 9 KB declaring 65535 x 65535 (17 GB of floats were allocated, 50 s)
  test::TempDir dir;
  writeNativeSlice(dir / "huge.dcm", 65535, 65535, 8192);
  const auto start = std::chrono::steady_clock::now();
  const auto e = test::errorOf([&] { (void)iod::readSlice(dir / "huge.dcm"); });
  EXPECT_EQ(e.code(), ErrorCode::UnsupportedImage) << e.what();
  EXPECT_NE(std::string(e.what()).find("65535x65535"), std::string::npos) << e.what();
  EXPECT_EQ(e.file(), (dir / "huge.dcm").string());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // within the frame limit but beyond what the file holds: the Pixel Data is too short
  writeNativeSlice(dir / "short.dcm", 4000, 4000, 8192);
  const auto s = test::errorOf([&] { (void)iod::readSlice(dir / "short.dcm"); });
  EXPECT_EQ(s.code(), ErrorCode::TruncatedDicom) << s.what();
  EXPECT_NE(std::string(s.what()).find("holds 8192 bytes"), std::string::npos) << s.what();
}

TEST(SliceLimits, NumberOfFramesIsCheckedAgainstThePixelData) {
  test::TempDir dir;
  writeNativeSlice(dir / "frames.dcm", 16, 16, 512, "1000000");  // one frame of data, a million declared
  const auto e = test::errorOf([&] { (void)iod::readSlice(dir / "frames.dcm", 0); });
  EXPECT_EQ(e.code(), ErrorCode::TruncatedDicom) << e.what();
  EXPECT_NE(std::string(e.what()).find("1000000 frame(s)"), std::string::npos) << e.what();
  writeNativeSlice(dir / "two.dcm", 16, 16, 1024, "2");  // what it declares it holds
  EXPECT_EQ(iod::readSlice(dir / "two.dcm", 1).pixels.size(), 256U);
}

TEST(SliceLimits, CompressedStreamsMustDeclareTheAttributesSize) {
  test::TempDir dir;
  // JPEG (DCMTK dcmjpeg) and JPEG-LS (dcmjpls): the start-of-frame is compared with Rows/Columns
  for (const std::string name : {"JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jpeg_ls_lossless.dcm"}) {
    const auto good = iod::readSliceAttributes(kPydicom + name);
    EXPECT_NO_THROW((void)iod::readSlice(kPydicom + name)) << name;
    withDimensions(name, static_cast<Uint16>(good.rows * 4), good.columns, dir / name);
    const auto e = test::errorOf([&] { (void)iod::readSlice(dir / name); });
    EXPECT_EQ(e.code(), ErrorCode::UnsupportedImage) << name << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("the attributes say"), std::string::npos) << name << ": " << e.what();
  }
  // more frames declared than fragments present
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((kPydicom + "JPGExtended.dcm").c_str()).good());
  ASSERT_TRUE(file.getDataset()->putAndInsertString(DCM_NumberOfFrames, "50000").good());
  ASSERT_TRUE(file.saveFile((dir / "frames.dcm").c_str(), file.getDataset()->getOriginalXfer()).good());
  EXPECT_EQ(test::codeOf([&] { (void)iod::readSlice(dir / "frames.dcm"); }), ErrorCode::TruncatedDicom);
}

TEST(SliceLimits, AttributesAreReadWithoutThePixelData) {
  // cut inside Pixel Data: the attributes are there, the pixels are not
  test::TempDir dir;
  auto bytes = test::readBytes(kPydicom + "CT_small.dcm");
  bytes.resize(bytes.size() - 4000);
  test::writeBytes(dir / "cut.dcm", bytes);
  const auto a = iod::readSliceAttributes(dir / "cut.dcm");
  EXPECT_EQ(a.rows, 128U);
  EXPECT_EQ(a.modality, "CT");
  EXPECT_EQ(test::codeOf([&] { (void)iod::readSlice(dir / "cut.dcm"); }), ErrorCode::TruncatedDicom);
}

TEST(Text, Utf8PrefixNeverCutsACharacter) {
  const std::string greek = "\xCE\x91\xCE\xB2\xCE\xB3";  // three 2-byte characters
  EXPECT_EQ(iod::utf8Prefix(greek, 2), "\xCE\x91\xCE\xB2");
  EXPECT_EQ(iod::utf8Prefix(greek, 64), greek);
  const std::string japanese = "\xE5\xB1\xB1\xE7\x94\xB0";  // 2 characters of 3 bytes
  EXPECT_EQ(iod::utf8Prefix(japanese, 1), "\xE5\xB1\xB1");
  EXPECT_EQ(iod::utf8Prefix(std::string(70, 'a') + greek, 64), std::string(64, 'a'));
  for (std::size_t n = 0; n <= 6; ++n) EXPECT_TRUE(iod::isValidUtf8(iod::utf8Prefix(japanese + greek, n))) << n;
  EXPECT_FALSE(iod::isValidUtf8("\xC3"));
  EXPECT_FALSE(iod::isValidUtf8("\xED\xA0\x80"));  // a surrogate
  EXPECT_EQ(iod::sanitizeUtf8("a\xFF"
                              "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(iod::latin1ToUtf8("caf\xE9"), "caf\xC3\xA9");
}

namespace {

// A copy of pydicom's JPGExtended.dcm whose first fragment is @p bytes.
void withFirstFragment(const std::vector<Uint8>& bytes, const std::filesystem::path& out) {
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((kPydicom + "JPGExtended.dcm").c_str()).good());
  DcmDataset& ds = *file.getDataset();
  DcmElement* element = nullptr;
  ASSERT_TRUE(ds.findAndGetElement(DCM_PixelData, element).good());
  auto* pixelData = dynamic_cast<DcmPixelData*>(element);
  ASSERT_NE(pixelData, nullptr);
  DcmPixelSequence* sequence = nullptr;
  ASSERT_TRUE(pixelData->getEncapsulatedRepresentation(ds.getOriginalXfer(), nullptr, sequence).good());
  DcmPixelItem* item = nullptr;
  ASSERT_TRUE(sequence->getItem(item, 1).good());
  ASSERT_TRUE(item->putUint8Array(bytes.data(), static_cast<unsigned long>(bytes.size())).good());
  ASSERT_TRUE(file.saveFile(out.c_str(), ds.getOriginalXfer()).good());
}

}  // namespace

TEST(SliceLimits, JpegHeadersThatWouldStallDcmtkAreRefused) {
  // DCMTK 3.6.7 walks the first fragment from its first byte and never gets past a TEM marker
  // (FF01): with or without SOI first, and behind an FFF7 segment, which the baseline decoder
  // skips as a segment (only JPEG-LS calls it a start-of-frame). Each must end, refused.
  test::TempDir dir;
  const std::vector<std::vector<Uint8>> streams = {
      {0xFF, 0x01, 0xFF, 0x01, 0xFF, 0x01, 0x00, 0x00},                         // no SOI
      {0xFF, 0xD8, 0xFF, 0x01, 0xFF, 0x01, 0x00, 0x00},                         // SOI, TEM
      {0xFF, 0xD8, 0xFF, 0xF7, 0x00, 0x0B, 0x08, 0x00, 0x64, 0x00, 0x64, 0x01,  // FFF7 "frame" of
       0x01, 0x11, 0x00, 0xFF, 0x01, 0xFF, 0x01, 0x00, 0x00, 0x00}};            // 100x100, then TEM
  int n = 0;
  for (const auto& bytes : streams) {
    const auto path = dir / ("stall" + std::to_string(++n) + ".dcm");
    withFirstFragment(bytes, path);
    const auto start = std::chrono::steady_clock::now();
    const auto e = test::errorOf([&] { (void)iod::readSlice(path); });
    EXPECT_EQ(e.code(), ErrorCode::UnsupportedImage) << n << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("TEM marker"), std::string::npos) << n << ": " << e.what();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << n;
  }
}

TEST(JsonLimits, TextFilesAreSizeCheckedBeforeTheyAreRead) {
  test::TempDir dir;
  std::ofstream(dir / "config.json") << "{\"comment\": \"" << std::string(5000, 'x') << "\"}";
  const auto e = test::errorOf([&] { (void)iod::readTextFile(dir / "config.json", 4096); });
  EXPECT_EQ(e.code(), ErrorCode::ResourceLimit) << e.what();
  EXPECT_EQ(e.file(), (dir / "config.json").string());
  EXPECT_EQ(iod::readTextFile(dir / "config.json", 8192).size(), 5000U + 15U);
  // a device has no size: the limit holds while it is read
  EXPECT_EQ(test::codeOf([] { (void)iod::readTextFile("/dev/zero", 1U << 20U); }), ErrorCode::ResourceLimit);
}

// The values our writers (RT Structure Set, Segmentation) put into text and PN attributes.
TEST(Text, ValuesForTheObjectsWeWrite) {
  EXPECT_EQ(iod::textValue("a\\b\tc\x1b"
                           "d",
                           64),
            "a/b c\x1b"
            "d");  // no second value, no control character but ESC
  EXPECT_EQ(iod::textValue("Zürich Universitätsspital", 8), "Zürich U");  // characters, not bytes
  EXPECT_EQ(iod::textValue("ok\xff", 64), "ok\xef\xbf\xbd");              // a malformed byte: U+FFFD
  const std::string longFamily(70, 'x');
  const auto pn = iod::personNameValue(longFamily + "^Jane=山田^太郎");
  EXPECT_EQ(pn, std::string(64, 'x') + "=山田^太郎");  // each group at most 64 characters
  EXPECT_EQ(iod::personNameValue("Doe^Jane"), "Doe^Jane");
}
