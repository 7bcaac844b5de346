// The client core against a real Orthanc: the CTest fixture's (IODEEP_ORTHANC_ENV) for the
// services, and private ones (scripts/orthanc.sh in a temporary directory) for the tests that
// fill the PACS with their own models or kill and restart it.
#include <dcmtk/dcmdata/dctk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "OrthancSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/reports/BrowseReport.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/Pack.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/StructureSets.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
using test::codeOf;
using test::optionsFrom;
using test::PrivateOrthanc;
using test::readEnv;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";
const fs::path kPydicomTestFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files";

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

// A PACS that answers a C-STORE with a failure status: DcmSCU reports a good condition, the
// status is what says so. Orthanc 1.10 answers 0xA700 (Refused: Out of resources) to an instance
// without StudyInstanceUID. The error names the peer, the file, its UID and the status; the
// instance before it on the same association was stored.
TEST(SharedOrthanc, StoreAnsweredWithAFailureStatus) {
  const auto o = optionsFrom(readEnv(IODEEP_ORTHANC_ENV));
  test::TempDir dir;
  const auto noStudy = dir / "no-study.dcm";
  {
    DcmFileFormat f;
    ASSERT_TRUE(f.loadFile(kSlice22.c_str()).good());
    ASSERT_TRUE(f.getDataset()->findAndDeleteElement(DCM_StudyInstanceUID).good());
    ASSERT_TRUE(f.saveFile(noStudy.c_str(), EXS_LittleEndianExplicit).good());
  }
  const auto sop = iod::readSliceAttributes(kSlice22).sopInstanceUid;
  const auto e = test::errorOf([&] { (void)client::Pacs(o).store({kBrain, noStudy}); });
  EXPECT_EQ(e.code(), ErrorCode::DimseFailure) << e.what();
  EXPECT_EQ(e.context().dimseStatus, "0xA700") << e.what();
  EXPECT_EQ(e.peer(), o.pacs.toString());
  EXPECT_EQ(e.file(), noStudy.string());
  EXPECT_EQ(e.uid(), sop);
  const std::string what = e.what();
  EXPECT_NE(what.find("(status 0xA700)"), std::string::npos) << what;
  EXPECT_NE(what.find(noStudy.string()), std::string::npos) << what;
  EXPECT_NE(what.find(o.pacs.toString()), std::string::npos) << what;
  EXPECT_EQ(what.find(kBrain.string()), std::string::npos) << "the stored file is not the refused one: " << what;
}

// JPEG 2000 (lossless only, .90; lossless or lossy, .91) reaches us as the PACS keeps it, by C-MOVE
// (our storage SCP) and by C-GET (our SCP-role contexts), and decodes to the original's values.
// Orthanc 1.10 cannot transcode JPEG 2000: were it not accepted, the retrieval would fail.
TEST(SharedOrthanc, Jpeg2000RetrievedAsStoredByMoveAndGet) {
  const auto o = optionsFrom(readEnv(IODEEP_ORTHANC_ENV));
  test::TempDir dir;
  for (const auto* name : {"MR_small_jp2klossless.dcm", "693_J2KI.dcm"}) {
    const auto source = kPydicomTestFiles / name;
    const auto original = iod::readSlice(source);
    const auto& a = original.attributes;
    ASSERT_TRUE(a.transferSyntaxUid == "1.2.840.10008.1.2.4.90" || a.transferSyntaxUid == "1.2.840.10008.1.2.4.91")
        << name << ": " << a.transferSyntaxUid;
    ASSERT_EQ(client::Pacs(o).store({source}).size(), 1U) << name;
    for (const auto mode : {client::RetrieveMode::Move, client::RetrieveMode::Get}) {
      auto m = o;
      m.retrieve = mode;
      const auto into = dir / (std::string(name) + (mode == client::RetrieveMode::Get ? ".get" : ".move"));
      const std::string how = std::string(name) + (mode == client::RetrieveMode::Get ? " by C-GET" : " by C-MOVE");
      try {
        const auto got = client::Pacs(m).retrieve(client::QueryLevel::Image, a.studyInstanceUid, a.seriesInstanceUid,
                                                  a.sopInstanceUid, into);
        ASSERT_EQ(got.files.size(), 1U) << how;
        const auto received = iod::readSlice(got.files[0]);
        EXPECT_EQ(received.attributes.transferSyntaxUid, a.transferSyntaxUid) << how;
        EXPECT_EQ(received.pixels, original.pixels) << how;
      } catch (const Error& e) {
        ADD_FAILURE() << how << ": " << e.what();
      }
    }
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
  client::Workstation ws(config);
  const auto r = client::runRoi(ws, request);
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
  const auto again = client::runRoi(ws, request);
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
  client::ReviewFiles written;
  const auto path = outbox.put([&](const fs::path& to) {
    written = client::writeReview(p, client::ReviewDecision{{0}, "Doe^Jane"}, to);
    return client::AuditEvent{};
  });
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

// ---- what the viewer uses: the image cache with progress and cancel, local selection, review ----

namespace {

std::vector<fs::path> exampleSeries() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kSource / "examples/brain-unet/series")) {
    if (e.path().extension() == ".dcm") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(ViewerCore, ImageCacheRetrievesOnlyWhatIsMissingInSliceOrder) {
  PrivateOrthanc orthanc;
  for (const auto mode : {client::RetrieveMode::Move, client::RetrieveMode::Get}) {
    auto options = orthanc.options();
    options.retrieve = mode;
    const client::Pacs pacs(options);
    const auto files = exampleSeries();
    ASSERT_EQ(files.size(), 62U);
    (void)pacs.store(files);
    const auto a = iod::readSliceAttributes(files.front());
    test::TempDir dir;
    client::ImageCache cache(dir / "images", 1ULL << 30U);
    std::vector<client::SeriesProgress> seen;
    const auto record = [&](const client::SeriesProgress& p) {
      seen.push_back(p);
      return true;
    };
    auto series = cache.openSeries(pacs, a.studyInstanceUid, a.seriesInstanceUid, record);
    ASSERT_EQ(series.size(), 62U);
    EXPECT_EQ(seen.front().present, 0U);  // nothing local at first
    EXPECT_EQ(seen.back().present, 62U);
    EXPECT_EQ(seen.back().total, 62U);
    EXPECT_GT(seen.size(), 2U) << "the PACS's pending responses reach the progress handler";
    // in order along the slice normal (this series' positions fall as its instance numbers rise:
    // the order of the instance numbers is kept)
    for (std::size_t i = 1; i < series.size(); ++i) {
      EXPECT_LT(series[i - 1].instanceNumber, series[i].instanceNumber);
      EXPECT_GT(series[i - 1].position, series[i].position);
    }
    // everything local: opening again moves nothing
    seen.clear();
    series = cache.openSeries(pacs, a.studyInstanceUid, a.seriesInstanceUid, record);
    EXPECT_EQ(seen.front().present, 62U);
    // two removed: only those two come back, one by one
    fs::remove(series[3].file);
    fs::remove(series[40].file);
    seen.clear();
    series = cache.openSeries(pacs, a.studyInstanceUid, a.seriesInstanceUid, record);
    ASSERT_EQ(series.size(), 62U);
    EXPECT_EQ(seen.front().present, 60U);
    EXPECT_EQ(seen.size(), 4U);  // 60, 61, 62, and the final report
    EXPECT_EQ(cache.localSeries(a.seriesInstanceUid).size(), 62U);
    // a hostile series UID cannot leave the cache directory
    EXPECT_THROW((void)cache.seriesDirectory("../../etc"), Error);
  }
}

TEST(ViewerCore, CancelledRetrievalKeepsOnlyCompleteFiles) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  const auto files = exampleSeries();
  (void)pacs.store(files);
  const auto a = iod::readSliceAttributes(files.front());
  test::TempDir dir;
  client::ImageCache cache(dir / "images", 1ULL << 30U);
  std::size_t calls = 0;
  try {
    (void)cache.openSeries(pacs, a.studyInstanceUid, a.seriesInstanceUid,
                           [&](const client::SeriesProgress&) { return ++calls < 3; });
    FAIL() << "the cancel was not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cancelled) << e.what();
  }
  // whatever arrived before the PACS saw the C-CANCEL is complete and readable
  const auto kept = cache.localSeries(a.seriesInstanceUid);
  EXPECT_LE(kept.size(), 62U);
  for (const auto& k : kept) EXPECT_NO_THROW((void)iod::readSlice(k.file)) << k.file;
  for (const auto& e : fs::directory_iterator(cache.seriesDirectory(a.seriesInstanceUid))) {
    EXPECT_EQ(e.path().extension(), ".dcm") << "no partial file left: " << e.path();
  }
  // and the next open completes the series
  EXPECT_EQ(cache.openSeries(pacs, a.studyInstanceUid, a.seriesInstanceUid).size(), 62U);
}

// One AI ROI click builds the PACS connection, the model cache and the outbox once, on the
// workstation (every construction in the process is counted, wherever it happens), and a second
// click on the same workstation builds none.
TEST(Workstation, OneAiRoiClickBuildsEachPartOnce) {
  PrivateOrthanc orthanc;
  (void)client::Pacs(orthanc.options()).store({kBrain, kSlice22});
  test::TempDir dir;
  client::ClientConfig config;
  config.network = orthanc.options();
  config.cacheDir = dir / "models";
  config.outboxDir = dir / "outbox";
  config.imageCacheDir = dir / "images";
  config.auditLog = dir / "audit.log";
  config.reviewer = "Doe^Jane";
  client::RoiOptions click;
  click.slices.instances = {iod::readSliceAttributes(kSlice22).sopInstanceUid};
  click.approve = "all";

  const auto before = client::Workstation::constructed();
  client::Workstation ws(config);
  const auto r = client::runRoi(ws, click);
  ASSERT_TRUE(r.approvedSet && r.approvedSet->stored) << r.toText();
  const auto after = client::Workstation::constructed();
  EXPECT_EQ(after.workstations - before.workstations, 1U);
  EXPECT_EQ(after.pacs - before.pacs, 1U);
  EXPECT_EQ(after.modelCaches - before.modelCaches, 1U);
  EXPECT_EQ(after.outboxes - before.outboxes, 1U);
  EXPECT_EQ(after.imageCaches - before.imageCaches, 0U);  // the CLI's click reads no series into it

  const auto again = client::runRoi(ws, click);
  ASSERT_TRUE(again.approvedSet && again.approvedSet->stored) << again.toText();
  EXPECT_TRUE(again.modelFromCache);
  const auto second = client::Workstation::constructed();
  EXPECT_EQ(second.pacs, after.pacs);
  EXPECT_EQ(second.modelCaches, after.modelCaches);
  EXPECT_EQ(second.outboxes, after.outboxes);
  EXPECT_EQ(&ws.models(), &ws.models());  // one cache object for the workstation's lifetime
}

TEST(ViewerCore, LocalSelectionFetchPredictStoreReview) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  (void)pacs.store({kBrain, kSlice22});
  test::TempDir dir;
  client::ClientConfig config;
  config.network = orthanc.options();
  config.cacheDir = dir / "models";
  config.outboxDir = dir / "outbox";
  client::Workstation ws(config);
  const auto selection = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(selection.selection.matched()) << selection.toText();
  const auto& chosen = selection.models.at(*selection.selection.chosen);
  const auto first = client::fetchModel(ws, chosen, dir / "work");
  EXPECT_FALSE(first.fromCache);
  EXPECT_GT(first.bytesMoved, 0U);
  const auto again = client::fetchModel(ws, chosen, dir / "work");
  EXPECT_TRUE(again.fromCache);
  EXPECT_EQ(again.bytesMoved, 0U);
  const auto p = client::predict({again.model.file, kSlice22, 0, false, true});
  ASSERT_GE(p.proposals.size(), 1U);
  const std::vector<client::PredictResult> predictions{p};
  // no reviewer: refused before anything is written
  EXPECT_EQ(codeOf([&] { (void)client::storeReview(ws, predictions, {{0}, ""}); }), ErrorCode::InvalidArgument);
  const auto stored = client::storeReview(ws, predictions, {{0}, "Doe^Jane"});
  ASSERT_TRUE(stored.approvedSet);
  EXPECT_TRUE(stored.approvedSet->stored);
  EXPECT_TRUE(stored.approvedSet->foundOnPacs);
  EXPECT_EQ(stored.approvedSet->rois, 1U);
  EXPECT_FALSE(stored.rejectedSet);
  EXPECT_TRUE(client::Outbox(config.outboxDir).list().empty());
}

// The viewer retrieves from several threads (a series opening while a network is fetched): two
// C-MOVEs at once share the one move destination port by taking turns, neither fails.
TEST(ViewerCore, TwoRetrievalsByMoveAtOnceTakeTurns) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  const auto files = exampleSeries();
  (void)pacs.store(files);
  (void)pacs.store({kBrain});
  const auto a = iod::readSliceAttributes(files.front());
  const auto model = iod::readIodeep(kBrain).model;
  const auto m = client::locateInstance(pacs, model.sopInstanceUid);
  test::TempDir dir;
  std::size_t seriesFiles = 0;
  std::size_t modelFiles = 0;
  std::thread series([&] {
    seriesFiles = pacs.retrieve(client::QueryLevel::Series, a.studyInstanceUid, a.seriesInstanceUid, {}, dir / "series")
                      .files.size();
  });
  std::thread network([&] {
    modelFiles = pacs.retrieve(client::QueryLevel::Image, m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid,
                               dir / "model", {std::string(iod::kRawDataStorageUid)})
                     .files.size();
  });
  series.join();
  network.join();
  EXPECT_EQ(seriesFiles, 62U);
  EXPECT_EQ(modelFiles, 1U);
}

// ---- the trust policy over DICOM (docs/security.md) ------------------------------------------------

// Three networks for the same slice: the newest unsigned, the next signed by a CA nobody trusts,
// the oldest signed by the hospital's signer. With require_signed_networks on, selection judges
// them best first, lists the refused ones with their reasons and chooses the trusted one; with it
// off, the newest is chosen.
TEST(TrustPolicy, UntrustedNetworksAreRefusedAndExplainedBySelection) {
  PrivateOrthanc orthanc;
  const client::Pacs pacs(orthanc.options());
  test::TempDir dir;
  const fs::path pki = test::fixture("pki");
  std::map<std::string, std::string> sopOf;
  for (const auto& [version, signer] :
       std::vector<std::pair<std::string, std::string>>{{"3.0", ""}, {"2.0", "rogue"}}) {
    client::PackOptions p;
    p.architecture = kSource / "examples/tiny-unet/architecture.json";
    p.weights = kSource / "examples/tiny-unet/weights.safetensors";
    p.output = dir / ("net-" + version + ".dcm");
    p.name = "Tiny";
    p.version = version;
    p.modality = "MR";
    p.bodyPart = "HEAD";
    sopOf[version] = client::pack(p).model.sopInstanceUid;
    if (!signer.empty()) iod::signFile(p.output, p.output, {pki / (signer + ".key"), pki / (signer + ".pem"), ""});
    ASSERT_EQ(pacs.store({p.output}).size(), 1U);
  }
  // the brain network (version 1), signed by the hospital's signer
  iod::signFile(kBrain, dir / "brain-signed.dcm", {pki / "signer.key", pki / "signer.pem", ""});
  sopOf["1"] = iod::readIodeep(kBrain).model.sopInstanceUid;
  ASSERT_EQ(pacs.store({dir / "brain-signed.dcm", kSlice22}).size(), 2U);
  client::ClientConfig config;
  config.network = orthanc.options();
  config.cacheDir = dir / "cache";
  config.outboxDir = dir / "outbox";
  config.auditLog = dir / "audit.log";

  client::Workstation openWs(config);
  const auto open = client::selectForLocalSlices(openWs, {kSlice22}, dir / "work-open");
  ASSERT_TRUE(open.selection.matched()) << open.toText();
  EXPECT_EQ(open.candidates.at(*open.selection.chosen).version, "3.0");  // policy off: the newest

  config.trust.requireSignedNetworks = true;
  config.trust.anchors.certificates = {pki / "ca.pem"};
  client::Workstation ws(config);
  const auto r = client::selectForLocalSlices(ws, {kSlice22}, dir / "work");
  ASSERT_TRUE(r.selection.matched()) << r.toText();
  const auto& chosen = r.candidates.at(*r.selection.chosen);
  EXPECT_EQ(chosen.version, "1");
  EXPECT_EQ(chosen.sopInstanceUid, sopOf["1"]);
  EXPECT_EQ(r.trustChecked, 3U);
  ASSERT_TRUE(r.trust);
  EXPECT_EQ(r.trust->status, "trusted");
  const auto text = r.toText();
  for (std::size_t i = 0; i < r.candidates.size(); ++i) {
    const auto& v = r.selection.verdicts[i];
    if (r.candidates[i].version == "3.0") {
      EXPECT_NE(v.refusal.find("not signed"), std::string::npos) << text;
    }
    if (r.candidates[i].version == "2.0") {
      EXPECT_NE(v.refusal.find("Rogue Signer"), std::string::npos) << text;
      EXPECT_NE(text.find(v.refusal), std::string::npos) << text;  // the CLI's explanation says it
    }
  }
  // the refused network is never handed out for building, even when asked for by name
  const auto rogue = std::find_if(r.models.begin(), r.models.end(),
                                  [&](const client::RemoteModel& m) { return m.sopInstanceUid == sopOf["2.0"]; });
  ASSERT_NE(rogue, r.models.end());
  EXPECT_EQ(codeOf([&] { (void)client::fetchModel(ws, *rogue, dir / "work"); }), ErrorCode::UntrustedSigner);
  // the trusted one runs; the run and the store are in the audit trail with the signer
  const auto fetched = client::fetchModel(ws, r.models.at(*r.selection.chosen), dir / "work");
  EXPECT_TRUE(fetched.fromCache);  // judged at selection: already in the cache
  EXPECT_EQ(fetched.trust.status, "trusted");
  client::PredictOptions po{fetched.model.file, kSlice22, 0, false, true};
  po.policy = ws.runPolicy(fetched.trust);
  const auto p = client::predict(po);
  ASSERT_EQ(p.proposals.size(), 1U);
  const std::vector<client::PredictResult> predictions{p};
  const auto stored = client::storeReview(ws, predictions, {{0}, "Doe^Jane"});
  ASSERT_TRUE(stored.approvedSet && stored.approvedSet->stored);
  const auto events = client::readAudit(config.auditLog);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].event, "rtstruct_stored");
  EXPECT_EQ(events[1].structureSetUid, stored.approvedSet->sopInstanceUid);
  EXPECT_EQ(events[1].approvalStatus, "APPROVED");
  EXPECT_EQ(events[1].reviewer, "Doe^Jane");
  EXPECT_EQ(events[1].signerStatus, "trusted");
  EXPECT_EQ(events[1].sliceUids, std::vector<std::string>{p.slice.attributes.sopInstanceUid});
  EXPECT_EQ(events[1].pacs, config.network.pacs.toString());
  EXPECT_EQ(events[0].event, "network_run");
  EXPECT_EQ(events[0].modelUid, sopOf["1"]);
  EXPECT_NE(events[0].signer.find("Model Lab Signer"), std::string::npos);
  EXPECT_EQ(events[0].pacs, config.network.pacs.toString());

  // nothing trusted at all: no match, every candidate with its reason (exit code 7)
  config.trust.anchors.certificates = {pki / "selfsigned.pem"};  // a certificate that signed none of them
  config.trust.requireSignedNetworks = true;
  client::Workstation strict(config);
  const auto none = client::selectForLocalSlices(strict, {kSlice22}, dir / "work-none");
  EXPECT_FALSE(none.selection.matched()) << none.toText();
  EXPECT_EQ(none.selection.exitCode(), kExitNoMatch);
  EXPECT_NE(none.toText().find("Model Lab Signer"), std::string::npos) << none.toText();
}
