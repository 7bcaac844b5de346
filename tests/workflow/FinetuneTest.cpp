// `iodeep finetune` on a dataset directory (issue 20): the next version written with its
// predecessor and provenance, passing inspect's verification and dciodvfy; datasets that cannot be
// trained on refused with one line each.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/workflow/Dataset.hpp"
#include "iodeep/workflow/Finetune.hpp"
#include "iodeep/workflow/Masks.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

const fs::path kBrainModel = IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm";
constexpr const char* kHeader =
    "split,patient_id,study_uid,series_uid,sop_instance_uid,image,mask,label,source,reviewer,review_date,"
    "structure_set_uid,original_mask\n";

std::string brainDnnUid() {
  static const std::string uid = iod::readIodeep(kBrainModel).model.dnnUid;
  return uid;
}

// A dataset as `iodeep dataset` writes it: slices 30-33 of the example series with their reference
// masks; slice 33 under a patient of its own, for validation.
fs::path writeDataset(const test::TempDir& dir, const std::string& network = brainDnnUid(), std::size_t maskSize = 128,
                      const std::string& label = "Brain") {
  const fs::path d = dir.path() / "ds";
  fs::create_directories(d / "images");
  fs::create_directories(d / "masks");
  std::string csv = kHeader;
  for (int k = 30; k <= 33; ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "slice_%03d.dcm", k);
    const auto a = iod::readSliceAttributes(test::fixture("brain-series") / name);
    fs::copy_file(test::fixture("brain-series") / name, d / "images" / (a.sopInstanceUid + ".dcm"));
    std::snprintf(name, sizeof name, "mask_%03d.u8", k);
    const auto bytes = test::readBytes(test::fixture("brain-series") / name);
    client::Mask m{maskSize, maskSize, std::vector<std::uint8_t>(maskSize * maskSize, 0)};
    for (std::size_t i = 0; i < m.values.size() && i < bytes.size(); ++i) m.values[i] = bytes[i] != std::byte{0};
    client::writeMaskPng(m, d / "masks" / (a.sopInstanceUid + "_Brain.png"));
    const bool validation = k == 33;
    csv += std::string(validation ? "validation" : "train") + "," + (validation ? "OTHER" : a.patientId) + "," +
           a.studyInstanceUid + "," + a.seriesInstanceUid + "," + a.sopInstanceUid + ",images/" + a.sopInstanceUid +
           ".dcm,masks/" + a.sopInstanceUid + "_Brain.png," + label + "," + (k == 30 ? "corrected" : "accepted") +
           ",Doe^Jane,20261204,2.25.1,\n";
  }
  std::ofstream(d / "manifest.csv") << csv;
  std::ofstream(d / "dataset.json") << nlohmann::json{{"format", "iodeep-dataset"}, {"network", network}}.dump();
  return d;
}

client::FinetuneOptions options(const fs::path& dataset, const fs::path& output) {
  client::FinetuneOptions o;
  o.network = kBrainModel;
  o.dataset = dataset;
  o.output = output;
  o.training.epochs = 2;
  o.training.batchSize = 2;
  o.training.learningRate = 1e-4;
  return o;
}

}  // namespace

TEST(Finetune, NextVersionIsWrittenWithItsPredecessorAndProvenance) {
  test::TempDir dir;
  const auto ds = writeDataset(dir);
  const auto r = client::finetune(options(ds, dir.path() / "v2.dcm"));
  EXPECT_EQ(r.trainingSlices, 3U);
  EXPECT_EQ(r.validationSlices, 1U);
  EXPECT_EQ(r.corrected, 1U);
  EXPECT_EQ(r.accepted, 3U);
  EXPECT_EQ(r.training.epochsRun, 2);
  const auto file = iod::readIodeep(dir.path() / "v2.dcm");
  for (const auto& f : iod::verifyIodeep(file)) EXPECT_NE(f.severity, iod::Finding::Severity::Error) << f.text();
  const auto old = iod::readIodeep(kBrainModel).model;
  const auto& m = file.model;
  EXPECT_EQ(m.version, "2");
  EXPECT_EQ(m.name, old.name);
  EXPECT_NE(m.dnnUid, old.dnnUid);
  EXPECT_EQ(r.dnnUid, m.dnnUid);
  EXPECT_NE(m.sopInstanceUid, old.sopInstanceUid);
  EXPECT_EQ(m.studyInstanceUid, old.studyInstanceUid);
  EXPECT_EQ(m.predecessorDnnUid, old.dnnUid);
  EXPECT_EQ(m.predecessorSopInstanceUid, old.sopInstanceUid);
  EXPECT_EQ(m.target.modality, "MR");
  EXPECT_EQ(m.target.bodyPartExamined, "HEAD");
  const auto t = nlohmann::json::parse(m.trainingJson);
  EXPECT_EQ(t.at("slices"), 4);
  EXPECT_EQ(t.at("corrected"), 1);
  EXPECT_EQ(t.at("accepted"), 3);
  EXPECT_EQ(t.at("epochs"), 2);
  EXPECT_TRUE(t.contains("diceBefore") && t.contains("diceAfter"));
  EXPECT_EQ(test::dciodvfyErrors(dir.path() / "v2.dcm"), std::vector<std::string>{});
  // the predecessor is untouched
  EXPECT_EQ(iod::readIodeep(kBrainModel).model.dnnUid, old.dnnUid);
}

TEST(Finetune, SignedWhenKeysAreGiven) {
  test::TempDir dir;
  auto o = options(writeDataset(dir), dir.path() / "signed.dcm");
  o.training.epochs = 1;
  o.signing = iod::SigningCredentials{test::fixture("pki") / "signer.key", test::fixture("pki") / "signer.pem", {}};
  const auto r = client::finetune(o);
  EXPECT_FALSE(r.signedBy.empty());
  const auto report = iod::verifyFileSignatures(dir.path() / "signed.dcm");
  ASSERT_NE(report.wholeObjectSignature(), nullptr);
  EXPECT_EQ(report.wholeObjectSignature()->signer.subject, r.signedBy);
}

TEST(Finetune, DatasetsThatCannotBeTrainedOnAreRefused) {
  const auto refused = [](const client::FinetuneOptions& o, const std::string& text) {
    const auto e = test::errorOf([&] { (void)client::finetune(o); });
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(o.output)) << "written though refused";
  };
  {
    test::TempDir dir;
    refused(options(writeDataset(dir, "2.25.42"), dir.path() / "o.dcm"),
            "the dataset was made from the proposals of the network 2.25.42");
  }
  {
    test::TempDir dir;
    refused(options(writeDataset(dir, brainDnnUid(), 64), dir.path() / "o.dcm"), "the mask is 64 x 64 pixels");
  }
  {
    test::TempDir dir;
    refused(options(writeDataset(dir, brainDnnUid(), 128, "Liver"), dir.path() / "o.dcm"),
            "the dataset's label 'Liver' is not one of the network's");
  }
  {
    test::TempDir dir;
    const auto ds = writeDataset(dir);
    std::ofstream(ds / "manifest.csv") << kHeader;
    refused(options(ds, dir.path() / "o.dcm"), "the dataset is empty");
  }
  {
    test::TempDir dir;
    const auto ds = writeDataset(dir);
    std::ofstream(ds / "manifest.csv", std::ios::app) << "validation,ITK-KMEANS-T1,1,2,3,images/x.dcm,masks/x.png,"
                                                         "Brain,accepted,Doe^Jane,20261204,2.25.1,\n";
    refused(options(ds, dir.path() / "o.dcm"), "is on both sides of the split");
  }
  {
    test::TempDir dir;
    refused(options(dir.path() / "nothing", dir.path() / "o.dcm"), "no manifest.csv");
  }
}

TEST(Finetune, NextVersion) {
  EXPECT_EQ(client::nextVersion("1"), "2");
  EXPECT_EQ(client::nextVersion("1.0"), "1.1");
  EXPECT_EQ(client::nextVersion("1.9"), "1.10");
  EXPECT_EQ(client::nextVersion("99"), "100");
  EXPECT_EQ(client::nextVersion("v3-beta"), "v4-beta");
  EXPECT_EQ(client::nextVersion(""), "2");
  EXPECT_EQ(client::nextVersion("beta"), "beta.2");
}
