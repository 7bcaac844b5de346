#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Json.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Uid.hpp"

using namespace iodeep;
using namespace iodeep::iod;
using iodeep::test::samplePackInput;

namespace {

ErrorCode readError(const std::filesystem::path& p) {
  try {
    (void)readIodeep(p);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "read " << p << " without error";
  return ErrorCode::Internal;
}

bool hasError(const std::vector<Finding>& fs, std::string_view needle) {
  return std::any_of(fs.begin(), fs.end(), [&](const Finding& f) {
    return f.severity == Finding::Severity::Error && f.message.find(needle) != std::string::npos;
  });
}

std::size_t countErrors(const std::vector<Finding>& fs) {
  return static_cast<std::size_t>(
      std::count_if(fs.begin(), fs.end(), [](const Finding& f) { return f.severity == Finding::Severity::Error; }));
}

// Moves the IODeep block of @p in to (0017,xx00) reserved at (0017,00xx) and puts another
// vendor's block with a clashing element at (0017,0010).
void relocateBlock(const std::filesystem::path& in, const std::filesystem::path& out, Uint16 slot) {
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile(in.c_str()).good());
  DcmDataset* ds = ff.getDataset();
  std::vector<std::unique_ptr<DcmElement>> moved;
  for (unsigned long i = ds->card(); i-- > 0;) {
    DcmElement* e = ds->getElement(i);
    if (e->getGTag() == 0x0017 && e->getETag() >= 0x1000 && e->getETag() <= 0x10FF) {
      moved.emplace_back(OFstatic_cast(DcmElement*, ds->remove(e)));
    }
  }
  ASSERT_TRUE(ds->putAndInsertString(DcmTagKey(0x0017, 0x0010), "OTHER VENDOR").good());
  ASSERT_TRUE(ds->putAndInsertString(DcmTagKey(0x0017, slot), "IODEEP 1").good());
  DcmTag junk(0x0017, 0x1001, EVR_UT);
  ASSERT_TRUE(ds->putAndInsertString(junk, "not the architecture").good());
  for (auto& e : moved) {
    DcmTag t(0x0017, static_cast<Uint16>((slot << 8) | (e->getETag() & 0xFF)), e->getTag().getVR());
    if (e->ident() == EVR_OB || e->ident() == EVR_UN || (e->getETag() & 0xFF) == 0x10) {
      t.setVR(DcmVR(EVR_OB));
      Uint8* data = nullptr;
      ASSERT_TRUE(e->getUint8Array(data).good());
      ASSERT_TRUE(ds->putAndInsertUint8Array(t, data, e->getLength()).good());
    } else {
      OFString value;
      ASSERT_TRUE(e->getOFStringArray(value).good());
      const OFCondition c = ds->putAndInsertString(t, value.c_str());
      ASSERT_TRUE(c.good()) << c.text() << " " << t.toString() << " " << t.getVRName();
    }
  }
  ASSERT_TRUE(ff.saveFile(out.c_str(), EXS_LittleEndianExplicit).good());
}

}  // namespace

TEST(IodeepObject, PackReadRoundTripKeepsEveryFieldAndByte) {
  test::TempDir dir;
  auto in = samplePackInput();
  in.target.patientOrientation = "L\\P";
  in.weightsUri = "http://models.hospital.lan/brain.safetensors";
  const ByteBuffer weights = in.weights;
  const IodeepModel m = buildModel(in);
  writeIodeep(m, dir / "m.dcm");

  const IodeepFile f = readIodeep(dir / "m.dcm");
  const IodeepModel& r = f.model;
  EXPECT_EQ(r.architectureJson, m.architectureJson);
  EXPECT_EQ(r.weightsUri, m.weightsUri);
  EXPECT_EQ(r.name, "Brain T1");
  EXPECT_EQ(r.version, "1.0");
  EXPECT_EQ(r.description, "test network");
  EXPECT_EQ(r.dnnUid, m.dnnUid);
  EXPECT_EQ(r.weightsFormat, "SAFETENSORS");
  EXPECT_EQ(r.weightsSha256, m.weightsSha256);
  ASSERT_EQ(r.weights.size(), weights.size());
  EXPECT_TRUE(std::equal(r.weights.bytes().begin(), r.weights.bytes().end(), weights.bytes().begin()));
  EXPECT_EQ(r.target.modality, "MR");
  EXPECT_EQ(r.target.bodyPartExamined, "HEAD");
  EXPECT_EQ(r.target.samplesPerPixel, 1);
  EXPECT_EQ(r.target.photometricInterpretation, "MONOCHROME2");
  EXPECT_EQ(r.target.patientOrientation, "L\\P");
  EXPECT_EQ(r.studyInstanceUid, m.studyInstanceUid);
  EXPECT_EQ(r.seriesInstanceUid, m.seriesInstanceUid);
  EXPECT_EQ(r.sopInstanceUid, m.sopInstanceUid);
  EXPECT_EQ(r.studyDescription, "IODEEP MODELS");
  EXPECT_EQ(r.seriesDescription, "IODEEP Brain T1 1.0");
  EXPECT_EQ(r.manufacturer, "iodeep");
  EXPECT_EQ(r.contentDate, m.contentDate);
  EXPECT_EQ(r.creatorVersionUid, m.creatorVersionUid);
  EXPECT_EQ(f.sopClassUid, kRawDataStorageUid);
  EXPECT_EQ(f.mediaStorageSopClassUid, kRawDataStorageUid);
  EXPECT_EQ(f.transferSyntaxUid, "1.2.840.10008.1.2.1");
  EXPECT_EQ(f.creatorElement, 0x10);
  EXPECT_EQ(countErrors(verifyIodeep(f)), 0U);

  // The payload is OB on disk (a DCMTK factory once made it UN: tests/data/README.md).
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "m.dcm").c_str()).good());
  DcmElement* payload = nullptr;
  ASSERT_TRUE(ff.getDataset()->findAndGetElement(DcmTagKey(0x0017, 0x1010), payload).good());
  EXPECT_EQ(payload->getVR(), EVR_OB);
  EXPECT_EQ(readIodeep(dir / "m.dcm").model.weights.size(), weights.size());

  EXPECT_NE(r.studyInstanceUid, r.seriesInstanceUid);
  EXPECT_NE(r.seriesInstanceUid, r.sopInstanceUid);
  EXPECT_NE(r.dnnUid, r.studyInstanceUid);
}

TEST(IodeepObject, SameNetworkPackedTwiceHasTheSameDnnUid) {
  auto a = buildModel(samplePackInput(7));
  auto b = buildModel(samplePackInput(7));
  EXPECT_EQ(a.dnnUid, b.dnnUid);
  EXPECT_NE(a.sopInstanceUid, b.sopInstanceUid);
  // Whitespace in the JSON does not make another network; other weights or another graph do.
  auto spaced = samplePackInput(7);
  spaced.architectureJson =
      "{\n  \"layers\": [{\"type\": \"conv2d\", \"id\": \"conv1\"}],\n  \"format\": \"iodeep-test\"\n}";
  EXPECT_EQ(buildModel(spaced).dnnUid, a.dnnUid);
  EXPECT_NE(buildModel(samplePackInput(8)).dnnUid, a.dnnUid);
  auto otherGraph = samplePackInput(7);
  otherGraph.architectureJson = R"({"format": "iodeep-test", "layers": []})";
  EXPECT_NE(buildModel(otherGraph).dnnUid, a.dnnUid);
  EXPECT_TRUE(isValidUid(a.dnnUid));
}

TEST(IodeepObject, ThreeSamplesGetAPlanarConfiguration) {
  test::TempDir dir;
  auto in = samplePackInput();
  in.target.samplesPerPixel = 3;
  in.target.photometricInterpretation = "RGB";
  writeIodeep(buildModel(in), dir / "rgb.dcm");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "rgb.dcm").c_str()).good());
  Uint16 planar = 99;
  EXPECT_TRUE(ff.getDataset()->findAndGetUint16(DCM_PlanarConfiguration, planar).good());
  EXPECT_EQ(planar, 0);
  EXPECT_EQ(readIodeep(dir / "rgb.dcm").model.target.samplesPerPixel, 3);
  writeIodeep(buildModel(samplePackInput()), dir / "grey.dcm");
  DcmFileFormat grey;
  ASSERT_TRUE(grey.loadFile((dir / "grey.dcm").c_str()).good());
  EXPECT_FALSE(grey.getDataset()->tagExists(DCM_PlanarConfiguration));
}

TEST(IodeepObject, BadPackInputIsRefused) {
  auto expectCode = [](PackInput in, ErrorCode code) {
    try {
      (void)buildModel(std::move(in));
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  auto in = samplePackInput();
  in.architectureJson = "{\"layers\": [1, 2,\n oops]}";
  try {
    (void)buildModel(in);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidJson);
    EXPECT_NE(std::string(e.what()).find(":2:2"), std::string::npos) << e.what();  // line:column
  }
  in = samplePackInput();
  in.target.samplesPerPixel = 3;  // with MONOCHROME2
  expectCode(in, ErrorCode::InvalidArgument);
  in = samplePackInput();
  in.target.modality = "M\\R";
  expectCode(in, ErrorCode::InvalidArgument);
  in = samplePackInput();
  in.name.clear();
  expectCode(in, ErrorCode::InvalidArgument);
  in = samplePackInput();
  in.weights = ByteBuffer::copyOf(std::as_bytes(std::span<const char>("garbage!garbage!", 16)));
  expectCode(in, ErrorCode::InvalidSafetensors);
  // lower-case body part is normalised (the reference code's "Head" vs "HEAD" pitfall)
  in = samplePackInput();
  in.target.bodyPartExamined = " head ";
  EXPECT_EQ(buildModel(in).target.bodyPartExamined, "HEAD");
}

TEST(IodeepObject, OneFlippedBitInThePayloadFailsVerification) {
  test::TempDir dir;
  writeIodeep(buildModel(samplePackInput()), dir / "m.dcm");
  auto bytes = test::readBytes(dir / "m.dcm");
  // Find the payload by its safetensors header and flip one bit of tensor data behind it.
  const std::string marker = "{\"bn.num_batches_tracked\"";
  const auto it = std::search(bytes.begin(), bytes.end(), marker.begin(), marker.end(),
                              [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
  ASSERT_NE(it, bytes.end());
  const auto headerAt = static_cast<std::size_t>(it - bytes.begin());
  std::uint64_t headerLen = 0;
  std::memcpy(&headerLen, bytes.data() + headerAt - 8, 8);
  const std::size_t target = headerAt + headerLen + 20;
  bytes[target] ^= std::byte{0x10};
  test::writeBytes(dir / "flipped.dcm", bytes);

  const IodeepFile f = readIodeep(dir / "flipped.dcm");
  const auto findings = verifyIodeep(f);
  EXPECT_TRUE(hasError(findings, "SHA-256 mismatch")) << findings.size();
  EXPECT_TRUE(std::any_of(findings.begin(), findings.end(), [](const Finding& x) {
    return x.severity == Finding::Severity::Error && x.code == ErrorCode::ChecksumMismatch;
  }));
}

// A caller that parsed the architecture gives its canonical JSON: the same findings, and it is
// what the DnnUID is checked against (another architecture's canonical form fails the check).
TEST(IodeepObject, VerificationWithTheCallersCanonicalArchitecture) {
  test::TempDir dir;
  writeIodeep(buildModel(samplePackInput()), dir / "m.dcm");
  const IodeepFile f = readIodeep(dir / "m.dcm");
  const std::string canonical = canonicalJson(f.model.architectureJson, "test");
  EXPECT_FALSE(hasError(verifyIodeep(f, canonical), ""));
  EXPECT_EQ(verifyIodeep(f, canonical).size(), verifyIodeep(f).size());
  EXPECT_TRUE(hasError(verifyIodeep(f, canonical + " "), "does not match the network's content"));
}

TEST(IodeepObject, BlockIsFoundByItsCreatorWhereverItIsReserved) {
  test::TempDir dir;
  const auto m = buildModel(samplePackInput());
  writeIodeep(m, dir / "m.dcm");
  relocateBlock(dir / "m.dcm", dir / "moved.dcm", 0x0042);
  const IodeepFile f = readIodeep(dir / "moved.dcm");
  EXPECT_EQ(f.creatorElement, 0x42);
  EXPECT_EQ(f.model.architectureJson, m.architectureJson);  // not the other vendor's (0017,1001)
  EXPECT_EQ(f.model.dnnUid, m.dnnUid);
  EXPECT_EQ(countErrors(verifyIodeep(f)), 0U);
}

TEST(IodeepObject, MissingBlockIsNotIodeep) {
  test::TempDir dir;
  writeIodeep(buildModel(samplePackInput()), dir / "m.dcm");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "m.dcm").c_str()).good());
  ASSERT_TRUE(ff.getDataset()->findAndDeleteElement(DcmTagKey(0x0017, 0x0010)).good());
  ASSERT_TRUE(ff.saveFile((dir / "nocreator.dcm").c_str(), EXS_LittleEndianExplicit).good());
  EXPECT_EQ(readError(dir / "nocreator.dcm"), ErrorCode::NotIodeep);
  EXPECT_EQ(probeObject(dir / "nocreator.dcm"), ObjectKind::Other);
}

TEST(IodeepObject, ImplicitVrCopyAsAPacsMightKeepReadsTheSame) {
  test::TempDir dir;
  const auto m = buildModel(samplePackInput());
  writeIodeep(m, dir / "m.dcm");
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "m.dcm").c_str()).good());
  ASSERT_TRUE(ff.saveFile((dir / "implicit.dcm").c_str(), EXS_LittleEndianImplicit).good());
  const IodeepFile f = readIodeep(dir / "implicit.dcm");
  EXPECT_EQ(f.model.architectureJson, m.architectureJson);
  EXPECT_EQ(f.model.name, m.name);
  EXPECT_EQ(f.transferSyntaxUid, "1.2.840.10008.1.2");
  EXPECT_EQ(countErrors(verifyIodeep(f)), 0U);
}

TEST(IodeepObject, NotDicomTruncatedAndMissingFilesHaveTheirCodes) {
  test::TempDir dir;
  test::writeBytes(dir / "text.dcm", std::vector<std::byte>(300, std::byte{'a'}));
  test::writeBytes(dir / "empty.dcm", {});
  EXPECT_EQ(readError(dir / "text.dcm"), ErrorCode::NotDicom);
  EXPECT_EQ(readError(dir / "empty.dcm"), ErrorCode::NotDicom);
  EXPECT_EQ(readError(dir / "absent.dcm"), ErrorCode::FileNotFound);

  auto in = samplePackInput();
  in.weights = test::smallWeights(3, 50000);  // a payload worth cutting into
  writeIodeep(buildModel(in), dir / "m.dcm");
  const auto bytes = test::readBytes(dir / "m.dcm");
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 7, std::size_t{200}}) {
    test::writeBytes(dir / "cut.dcm", std::vector<std::byte>(bytes.begin(), bytes.begin() + static_cast<long>(keep)));
    EXPECT_EQ(readError(dir / "cut.dcm"), ErrorCode::TruncatedDicom) << "kept " << keep << " of " << bytes.size();
  }
}

// Files as DCMTK reads them (ERM_autoDetect): a Part 10 file whose file meta group starts the
// file (no 128-byte preamble, no "DICM": what pydicom writes for a new data set), and a data set
// without file meta information in each uncompressed syntax. Truncated, each is TruncatedDicom.
TEST(IodeepObject, FilesWithoutPreambleOrFileMetaInformationAreRead) {
  test::TempDir dir;
  auto in = samplePackInput();
  in.weights = test::smallWeights(3, 50000);
  const auto m = buildModel(in);
  writeIodeep(m, dir / "m.dcm");
  const auto part10 = test::readBytes(dir / "m.dcm");
  test::writeBytes(dir / "nopreamble.dcm", std::vector<std::byte>(part10.begin() + 132, part10.end()));
  ASSERT_EQ(std::to_integer<int>(part10[132]), 0x02) << "the file meta group follows the preamble";
  DcmFileFormat ff;
  ASSERT_TRUE(ff.loadFile((dir / "m.dcm").c_str()).good());
  const std::vector<std::pair<std::string, E_TransferSyntax>> bare{{"implicit", EXS_LittleEndianImplicit},
                                                                   {"explicit", EXS_LittleEndianExplicit},
                                                                   {"bigendian", EXS_BigEndianExplicit}};
  for (const auto& [name, xfer] : bare) {
    ASSERT_TRUE(ff.getDataset()->saveFile((dir / (name + ".dcm")).c_str(), xfer).good()) << name;
  }
  const std::vector<std::pair<std::string, std::string>> forms{{"nopreamble", "1.2.840.10008.1.2.1"},
                                                               {"implicit", "1.2.840.10008.1.2"},
                                                               {"explicit", "1.2.840.10008.1.2.1"},
                                                               {"bigendian", "1.2.840.10008.1.2.2"}};
  for (const auto& [name, syntax] : forms) {
    const auto path = dir / (name + ".dcm");
    ASSERT_NE(test::readBytes(path).size(), 0U);
    EXPECT_EQ(probeObject(path), ObjectKind::Iodeep) << name;
    const IodeepFile f = readIodeep(path);
    EXPECT_EQ(f.model.architectureJson, m.architectureJson) << name;
    EXPECT_EQ(f.model.dnnUid, m.dnnUid) << name;
    EXPECT_TRUE(std::equal(f.model.weights.bytes().begin(), f.model.weights.bytes().end(), m.weights.bytes().begin(),
                           m.weights.bytes().end()))
        << name;
    EXPECT_EQ(f.transferSyntaxUid, syntax) << name;
    const auto findings = verifyIodeep(f);
    // the Part 10 file without preamble verifies clean; a bare data set lacks its meta information
    EXPECT_EQ(countErrors(findings), name == "nopreamble" ? 0U : 1U) << name;
    if (name != "nopreamble") {
      EXPECT_TRUE(std::any_of(findings.begin(), findings.end(), [](const Finding& x) {
        return x.message.find("no File Meta Information") != std::string::npos;
      })) << name;
    }
    const auto bytes = test::readBytes(path);
    for (std::size_t keep : {bytes.size() / 2, bytes.size() - 7}) {
      test::writeBytes(dir / "cut.dcm", std::vector<std::byte>(bytes.begin(), bytes.begin() + static_cast<long>(keep)));
      EXPECT_EQ(readError(dir / "cut.dcm"), ErrorCode::TruncatedDicom) << name << ": kept " << keep;
    }
  }
  // not DICOM at all, with or without something that looks like a tag at its start
  test::writeBytes(dir / "zeros.dcm", std::vector<std::byte>(4096, std::byte{0}));
  EXPECT_EQ(readError(dir / "zeros.dcm"), ErrorCode::NotDicom);
  std::vector<std::byte> zip(4096, std::byte{0x5A});
  zip[0] = std::byte{0x50};  // "PK\3\4": a zip archive (torch.save) starts so
  zip[1] = std::byte{0x4B};
  zip[2] = std::byte{0x03};
  zip[3] = std::byte{0x04};
  test::writeBytes(dir / "zip.dcm", zip);
  EXPECT_EQ(readError(dir / "zip.dcm"), ErrorCode::NotDicom);
}

TEST(IodeepObject, DciodvfyReportsNoErrors) {
  test::TempDir dir;
  for (const std::uint16_t spp : {std::uint16_t{1}, std::uint16_t{3}}) {
    auto in = samplePackInput();
    in.target.samplesPerPixel = spp;
    in.target.photometricInterpretation = spp == 1 ? "MONOCHROME2" : "RGB";
    writeIodeep(buildModel(in), dir / "m.dcm");
    std::string out;
    const auto errors = test::dciodvfyErrors(dir / "m.dcm", &out);
    EXPECT_TRUE(errors.empty()) << out;
    EXPECT_NE(out.find("RawData"), std::string::npos) << out;  // it did recognise the IOD
  }
}

TEST(IodeepObject, OddSizedPayloadsRoundTripWithoutThePadByte) {
  test::TempDir dir;
  std::vector<std::uint8_t> odd{1, 2, 3};
  SafetensorsWriter w;
  w.add("mask", DType::U8, {3}, std::as_bytes(std::span<const std::uint8_t>(odd)));
  auto in = samplePackInput();
  in.weights = w.finish();
  ASSERT_EQ(in.weights.size() % 2, 1U);
  const ByteBuffer original = in.weights;
  writeIodeep(buildModel(in), dir / "odd.dcm");
  const auto f = readIodeep(dir / "odd.dcm");
  ASSERT_EQ(f.model.weights.size(), original.size());
  EXPECT_TRUE(std::equal(original.bytes().begin(), original.bytes().end(), f.model.weights.bytes().begin()));
  EXPECT_EQ(countErrors(verifyIodeep(f)), 0U);
  EXPECT_TRUE(test::dciodvfyErrors(dir / "odd.dcm").empty());
}

TEST(IodeepObject, FailedWriteLeavesNoFile) {
  test::TempDir dir;
  const auto m = buildModel(samplePackInput());
  EXPECT_THROW(writeIodeep(m, dir / "missing" / "m.dcm"), Error);
  IodeepModel bad = m;
  bad.seriesInstanceUid = bad.studyInstanceUid;
  EXPECT_THROW(writeIodeep(bad, dir / "bad.dcm"), Error);
  EXPECT_TRUE(test::listFiles(dir.path()).empty());
}

// A large payload is not read into memory: readIodeep maps it from the file (the pages the
// weights' tensors then view), and it verifies exactly as one read into memory does.
TEST(IodeepObject, LargePayloadIsMappedFromTheFileNotCopied) {
  test::TempDir dir;
  auto in = samplePackInput();
  in.weights = test::smallWeights(7, 9 * 300000);  // 10.8 MB of floats
  writeIodeep(buildModel(in), dir / "big.dcm");
  const IodeepFile f = readIodeep(dir / "big.dcm");
  EXPECT_EQ(countErrors(verifyIodeep(f)), 0U);  // SHA-256 and DnnUID over the mapped bytes
  EXPECT_EQ(f.model.weights.size(), in.weights.size());
  EXPECT_TRUE(std::equal(f.model.weights.bytes().begin(), f.model.weights.bytes().end(), in.weights.bytes().begin()));
  // the bytes live in a mapping of the file itself (/proc/self/maps names it)
  const auto address = reinterpret_cast<std::uintptr_t>(f.model.weights.data());
  std::ifstream maps("/proc/self/maps");
  std::string mappedFrom;
  for (std::string line; std::getline(maps, line);) {
    std::uintptr_t lo = 0;
    std::uintptr_t hi = 0;
    char dash = 0;
    std::istringstream fields(line);
    fields >> std::hex >> lo >> dash >> hi;
    if (address < lo || address >= hi) continue;
    const auto slash = line.find('/');
    mappedFrom = slash == std::string::npos ? "" : line.substr(slash);
  }
  EXPECT_EQ(std::filesystem::path(mappedFrom), std::filesystem::canonical(dir / "big.dcm"));
  // a small payload is read with the rest (nothing to gain from a mapping)
  writeIodeep(buildModel(samplePackInput()), dir / "small.dcm");
  EXPECT_EQ(countErrors(verifyIodeep(readIodeep(dir / "small.dcm"))), 0U);
}
