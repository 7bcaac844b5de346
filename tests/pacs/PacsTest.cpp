// The client core against a real Orthanc: the CTest fixture's (IODEEP_ORTHANC_ENV) for the
// services, and private ones (scripts/orthanc.sh in a temporary directory) for the tests that
// fill the PACS with their own models or kill and restart it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "../iod/TestSupport.hpp"
#include "iodeep/client/Browse.hpp"
#include "iodeep/client/ModelCache.hpp"
#include "iodeep/client/Outbox.hpp"
#include "iodeep/client/Pack.hpp"
#include "iodeep/client/Pacs.hpp"
#include "iodeep/client/Predict.hpp"
#include "iodeep/client/Review.hpp"
#include "iodeep/client/Roi.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Uid.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";

std::map<std::string, std::string> readEnv(const fs::path& file) {
  std::map<std::string, std::string> env;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env.empty()) throw std::runtime_error("no Orthanc env in " + file.string() + " (the orthanc fixture)");
  return env;
}

client::NetworkOptions optionsFrom(const std::map<std::string, std::string>& env) {
  client::NetworkOptions o;
  o.pacs = client::Peer::parse(env.at("ORTHANC_AET") + "@127.0.0.1:" + env.at("ORTHANC_DICOM_PORT"));
  o.callingAeTitle = env.at("CLIENT_AET");
  o.movePort = static_cast<std::uint16_t>(std::stoi(env.at("CLIENT_PORT")));
  o.connectTimeoutSeconds = 3;
  o.dimseTimeoutSeconds = 30;
  return o;
}

// An Orthanc of the test's own, stopped (by PID) when the test ends.
class PrivateOrthanc {
 public:
  PrivateOrthanc() {
    script("start");
    env_ = readEnv(dir_ / "orthanc" / "env");
  }
  ~PrivateOrthanc() {
    try {
      script("stop");
    } catch (const std::exception&) {
      // already reported by the test
    }
  }
  PrivateOrthanc(const PrivateOrthanc&) = delete;
  PrivateOrthanc& operator=(const PrivateOrthanc&) = delete;
  void kill() { script("kill"); }
  void restart() { script("restart"); }
  [[nodiscard]] client::NetworkOptions options() const { return optionsFrom(env_); }

 private:
  void script(const std::string& command) {
    const std::string cmd = "bash '" + (kSource / "scripts/orthanc.sh").string() + "' " + command + " '" +
                            (dir_ / "orthanc").string() + "' >'" + (dir_ / (command + ".log")).string() + "' 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("orthanc.sh " + command + " failed: see " + cmd);
  }
  test::TempDir tmp_;
  fs::path dir_{tmp_.path()};
  std::map<std::string, std::string> env_;
};

template <typename F>
ErrorCode codeOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::Internal;
}

}  // namespace

// ---- the fixture's Orthanc -----------------------------------------------------------------------

TEST(SharedOrthanc, EchoAndAssociationErrors) {
  const auto o = optionsFrom(readEnv(IODEEP_ORTHANC_ENV));
  EXPECT_NO_THROW(client::Pacs(o).echo());
  auto wrongAe = o;
  wrongAe.pacs.aeTitle = "NOTORTHANC";
  try {
    client::Pacs(wrongAe).echo();
    FAIL() << "a wrong called AE title was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::AssociationRejected);
    EXPECT_EQ(e.peer(), wrongAe.pacs.toString());
  }
  auto closed = o;
  closed.pacs.port = 1;  // nothing listens on port 1
  try {
    client::Pacs(closed).echo();
    FAIL() << "no error for a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PacsUnreachable);
    EXPECT_EQ(e.peer(), closed.pacs.toString());
  }
}

TEST(SharedOrthanc, StoreFindCancelAndRetrieveBothWays) {
  const auto o = optionsFrom(readEnv(IODEEP_ORTHANC_ENV));
  const client::Pacs pacs(o);
  test::TempDir dir;
  // bad files are refused before any association
  EXPECT_EQ(codeOf([&] { (void)pacs.store({dir / "absent.dcm"}); }), ErrorCode::FileNotFound);
  test::writeBytes(dir / "junk.dcm", std::vector<std::byte>(200, std::byte{0}));
  EXPECT_EQ(codeOf([&] { (void)pacs.store({dir / "junk.dcm"}); }), ErrorCode::NotDicom);
  // the brain model (pacs_roi_workflow_orthanc stores the same instance)
  const auto stored = pacs.store({kBrain});
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].status, 0);
  const auto model = iod::readIodeep(kBrain).model;
  EXPECT_EQ(stored[0].sopInstanceUid, model.sopInstanceUid);
  // C-FIND stopped after the first match (C-CANCEL), then the same association style again
  const client::Query q{client::QueryLevel::Series,
                        {{client::tags::kStudyInstanceUid, ""},
                         {client::tags::kSeriesInstanceUid, ""},
                         {client::tags::kSeriesDescription, "IODEEP*"}}};
  std::size_t seen = 0;
  (void)pacs.find(q, [&](const client::DicomRecord&) { return ++seen < 1; });
  EXPECT_EQ(seen, 1U);
  EXPECT_GE(pacs.findAll(q).size(), 1U);
  // C-FIND with no answer
  client::StudyFilter nobody;
  nobody.patientName = "NOBODY^HERE";
  EXPECT_TRUE(client::findStudies(pacs, nobody).empty());
  // C-GET and C-MOVE of the model: the instance, complete, nothing else in the directory
  for (const auto mode : {client::RetrieveMode::Get, client::RetrieveMode::Move}) {
    auto m = o;
    m.retrieve = mode;
    const auto into = dir / (mode == client::RetrieveMode::Get ? "get" : "move");
    const auto r = client::Pacs(m).retrieve(client::QueryLevel::Image, model.studyInstanceUid, model.seriesInstanceUid,
                                            model.sopInstanceUid, into);
    ASSERT_EQ(r.files.size(), 1U);
    EXPECT_EQ(r.files[0], into / (model.sopInstanceUid + ".dcm"));
    EXPECT_EQ(r.bytes, fs::file_size(r.files[0]));
    EXPECT_EQ(r.completed, 1U);
    EXPECT_EQ(r.failed, 0U);
    EXPECT_EQ(test::listFiles(into).size(), 1U);
    EXPECT_EQ(iod::readIodeep(r.files[0]).model.dnnUid, model.dnnUid);
    // an instance the PACS does not have: a failure, nothing left behind
    EXPECT_EQ(codeOf([&] {
                (void)client::Pacs(m).retrieve(client::QueryLevel::Image, model.studyInstanceUid,
                                               model.seriesInstanceUid, "2.25.1", dir / "none");
              }),
              ErrorCode::DimseFailure);
    EXPECT_TRUE(test::listFiles(dir / "none").empty());
  }
}

// ---- discovery with 200 IODeep instances on the PACS ------------------------------------------------

// Done when (issue 9): with 200 IODeep instances on the PACS, discovery moves exactly one model's
// bytes. 199 small valid objects for MR/CT/PT/US and several body parts (the MR HEAD ones older),
// and one tiny U-Net for MR HEAD of version 100 that selection must choose and that predicts.
TEST(Discovery, TwoHundredModelsMoveOneModelsBytes) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  std::vector<fs::path> files;
  std::size_t mr = 0;
  const std::vector<std::string> modalities{"MR", "CT", "PT", "US"};
  const std::vector<std::string> parts{"KNEE", "CHEST", "HEAD", "ABDOMEN", "PELVIS"};
  for (std::uint32_t i = 0; i < 199; ++i) {
    auto in = test::samplePackInput(1000 + i);
    in.name = "Net " + std::to_string(i);
    in.version = std::to_string(i % 50) + "." + std::to_string(i % 7);  // all older than 100
    in.target.modality = modalities[i % modalities.size()];
    in.target.bodyPartExamined = parts[i % parts.size()];
    mr += in.target.modality == "MR" ? 1U : 0U;
    files.push_back(dir / ("m" + std::to_string(i) + ".dcm"));
    iod::writeIodeep(iod::buildModel(std::move(in)), files.back());
  }
  client::PackOptions best;
  best.architecture = kSource / "examples/tiny-unet/architecture.json";
  best.weights = kSource / "examples/tiny-unet/weights.safetensors";
  best.output = dir / "best.dcm";
  best.name = "Tiny best";
  best.modality = "MR";
  best.bodyPart = "HEAD";
  best.version = "100";
  const auto packed = client::pack(best);
  files.push_back(best.output);
  ASSERT_EQ(pacs.store(files).size(), 200U);
  ASSERT_EQ(pacs.store({kSlice22}).size(), 1U);

  client::ClientConfig config;
  config.network = orthanc.options();
  config.cacheDir = dir / "cache";
  config.outboxDir = dir / "outbox";
  client::RoiOptions request;
  request.slices.instances = {iod::readSliceAttributes(kSlice22).sopInstanceUid};
  const auto r = client::runRoi(config, request);
  ASSERT_TRUE(r.selection.selection.matched());
  EXPECT_EQ(r.selection.models.size(), mr + 1);  // every MR network was a candidate
  EXPECT_EQ(r.selection.describeBytes, 0U);      // described by C-FIND alone
  ASSERT_TRUE(r.model);
  EXPECT_EQ(r.model->sopInstanceUid, packed.model.sopInstanceUid);
  EXPECT_FALSE(r.modelFromCache);
  EXPECT_EQ(r.predictions.size(), 1U);
  // exactly one model's bytes: the chosen one as it arrived (Orthanc adds a few meta header bytes)
  const client::ModelCache cache(config.cacheDir, config.cacheMaxBytes);
  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].sopInstanceUid, packed.model.sopInstanceUid);
  EXPECT_EQ(r.modelBytesMoved, fs::file_size(entries[0].file));
  const auto sent = fs::file_size(best.output);
  EXPECT_LE(r.modelBytesMoved, sent + 256);
  EXPECT_GE(r.modelBytesMoved, sent);
  // and a second AI ROI moves none
  const auto again = client::runRoi(config, request);
  EXPECT_TRUE(again.modelFromCache);
  EXPECT_EQ(again.modelBytesMoved, 0U);
  EXPECT_EQ(cache.list().size(), 1U);
}

// ---- the outbox across a PACS that went away -------------------------------------------------------

TEST(OutboxFlush, KilledThenRestartedPacs) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  const client::Outbox outbox(dir / "outbox");
  const auto p = client::predict({kBrain, kSlice22, 0, false});
  ASSERT_FALSE(p.proposals.empty());
  const auto path = outbox.pathFor(iod::makeRandomUid());
  const auto written = client::writeReview(p, client::ReviewDecision{{0}, "Doe^Jane"}, path);
  ASSERT_TRUE(written.approved);
  const auto sop = written.approved->sopInstanceUid;

  orthanc.kill();
  const auto down = outbox.flush(pacs);
  EXPECT_TRUE(down.stored.empty());
  ASSERT_EQ(down.failed.size(), 1U);
  EXPECT_EQ(down.failed[0].sopInstanceUid, sop);
  EXPECT_EQ(down.failed[0].attempts, 1U);
  EXPECT_NE(down.failed[0].lastError.find(orthanc.options().pacs.toString()), std::string::npos)
      << down.failed[0].lastError;
  auto waiting = outbox.list();
  ASSERT_EQ(waiting.size(), 1U);
  EXPECT_EQ(waiting[0].attempts, 1U);
  EXPECT_TRUE(fs::exists(path));

  orthanc.restart();
  const auto up = outbox.flush(pacs);
  EXPECT_EQ(up.stored, std::vector<std::string>{sop});
  EXPECT_TRUE(up.failed.empty());
  EXPECT_TRUE(outbox.list().empty());
  EXPECT_TRUE(test::listFiles(dir / "outbox").empty());
  // the PACS returns it by C-FIND under the slice's study
  const auto slice = iod::readSliceAttributes(kSlice22);
  const auto found = client::findInstances(pacs, slice.studyInstanceUid, written.approved->seriesInstanceUid);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].sopInstanceUid, sop);
}
