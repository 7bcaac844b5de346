// The outbox: it sends only the RT Structure Sets it wrote itself (each with a record of its size,
// SHA-256, SOP Instance UID and SOP Class), lists everything else as "not written by iodeep: not
// sent" and leaves it; a flush audits each store with the network, its signer and the slices, as
// a direct store does. The peer is DCMTK's storescp on a free loopback port: what it received is
// what was sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "../workflow/OfflinePacs.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/seg/Segmentation.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Audit.hpp"
#include "iodeep/workflow/ClientConfig.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";

// The brain model's proposals on slice 22, as from a network whose signature was checked.
const client::PredictResult& prediction() {
  static const client::PredictResult p = [] {
    auto r = client::predict({kBrain, kSlice22, 0, false});
    r.trust.trusted = true;
    r.trust.status = "trusted";
    r.trust.signer = "CN=Model Lab Signer,O=IODEEP Test Hospital";
    r.trust.signerFingerprint = "ab:cd:ef";
    return r;
  }();
  return p;
}

// What the review records for the store's audit event (as Roi.cpp does).
client::AuditEvent provenance() {
  const std::vector<client::PredictResult> predictions{prediction()};
  auto e = client::auditEventFor("rtstruct_stored", predictions, {});
  e.reviewer = "Doe^Jane";
  return e;
}

// An approved set written into @p box through put().
fs::path putApproved(const client::Outbox& box, std::string* sop = nullptr) {
  return box.put([&](const fs::path& path) {
    const auto files = client::writeReview(prediction(), client::ReviewDecision{{0}, "Doe^Jane"}, path);
    if (sop != nullptr) *sop = files.approved->sopInstanceUid;
    return provenance();
  });
}

std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// DCMTK's storescp writing what it receives into a directory, stopped by its PID.
class StoreScp {
 public:
  explicit StoreScp(const fs::path& received)
      : port_(test::freeLoopbackPort()), server_(command(received, port_), port_) {}
  StoreScp(const StoreScp&) = delete;
  StoreScp& operator=(const StoreScp&) = delete;

  [[nodiscard]] client::NetworkOptions options() const {
    client::NetworkOptions o;
    o.pacs = client::Peer::parse("STORESCP@127.0.0.1:" + std::to_string(port_));
    o.connectTimeoutSeconds = 5;
    o.dimseTimeoutSeconds = 20;
    return o;
  }

 private:
  static std::vector<std::string> command(const fs::path& received, std::uint16_t port) {
    fs::create_directories(received);
    return {"storescp", "-od", received.string(), std::to_string(port)};
  }
  std::uint16_t port_;
  test::ServerProcess server_;
};

// SOP Instance UIDs of the structure sets in @p dir.
std::vector<std::string> receivedSets(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(rtstruct::readStructureSet(e.path()).sopInstanceUid);
  std::sort(out.begin(), out.end());
  return out;
}

std::string notSentOf(const std::vector<client::OutboxEntry>& entries, const fs::path& file) {
  for (const auto& e : entries) {
    if (e.file == file) return e.notSent;
  }
  return "(not listed)";
}

}  // namespace

TEST(Outbox, PutRecordsListRecordFailureRemove) {
  test::TempDir dir;
  const client::Outbox box(dir / "outbox");
  EXPECT_TRUE(box.list().empty());
  std::string sop;
  const auto path = putApproved(box, &sop);
  EXPECT_EQ(path.parent_path(), dir / "outbox");
  EXPECT_EQ(path.extension(), ".dcm");
  // the record, written with the set: size, SHA-256, SOP Instance UID and Class, the audit event
  const auto recordPath = fs::path(path).replace_extension(".record.json");
  ASSERT_TRUE(fs::exists(recordPath));
  const auto record = nlohmann::json::parse(iod::readTextFile(recordPath));
  EXPECT_EQ(record.at("size").get<std::uint64_t>(), fs::file_size(path));
  EXPECT_EQ(record.at("sha256").get<std::string>().size(), 64U);
  EXPECT_EQ(record.at("sopInstanceUid"), sop);
  EXPECT_EQ(record.at("sopClassUid"), "1.2.840.10008.5.1.4.1.1.481.3");
  EXPECT_EQ(record.at("audit").at("dnnUid"), prediction().dnnUid);
  auto list = box.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].file, path);
  EXPECT_EQ(list[0].sopInstanceUid, sop);
  EXPECT_EQ(list[0].approvalStatus, "APPROVED");
  EXPECT_FALSE(list[0].label.empty());
  EXPECT_EQ(list[0].attempts, 0U);
  EXPECT_TRUE(list[0].lastError.empty());
  EXPECT_TRUE(list[0].notSent.empty());

  box.recordFailure(path, "first: PACS down");
  box.recordFailure(path, "second: association rejected");
  list = box.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].attempts, 2U);
  EXPECT_EQ(list[0].lastError, "second: association rejected");

  // something that is not a structure set is listed apart with why, never dropped
  test::writeBytes(dir / "outbox" / "2.25.99.dcm", std::vector<std::byte>(10, std::byte{1}));
  const auto c = box.contents();
  ASSERT_EQ(c.waiting.size(), 1U);
  ASSERT_EQ(c.notOurs.size(), 1U);
  EXPECT_EQ(c.notOurs[0].file, dir / "outbox" / "2.25.99.dcm");
  EXPECT_EQ(c.notOurs[0].notSent.rfind("not written by iodeep: not sent", 0), 0U) << c.notOurs[0].notSent;
  const auto text = client::outboxReport(c, false);
  EXPECT_NE(text.find("1 structure set(s) waiting"), std::string::npos) << text;
  EXPECT_NE(text.find("2.25.99.dcm: not written by iodeep: not sent"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(client::outboxReport(c, true));
  ASSERT_EQ(json.size(), 2U);
  EXPECT_EQ(json[0].at("notSent"), "");
  EXPECT_NE(json[1].at("notSent").get<std::string>().find("not written by iodeep"), std::string::npos);

  box.remove(path);
  EXPECT_EQ(names(dir / "outbox"), std::vector<std::string>{"2.25.99.dcm"});  // attempts and record went with it
}

// put() takes RT Structure Sets only, and leaves nothing behind when it cannot record one.
TEST(Outbox, PutRefusesWhatItCannotRecord) {
  test::TempDir dir;
  const client::Outbox box(dir / "outbox");
  EXPECT_EQ(test::codeOf([&] {
              (void)box.put([](const fs::path& path) {
                fs::copy_file(kSlice22, path);  // an MR image, not a structure set
                return client::AuditEvent{};
              });
            }),
            ErrorCode::NotRtStructureSet);
  EXPECT_EQ(test::codeOf([&] { (void)box.put([](const fs::path&) { return client::AuditEvent{}; }); }),
            ErrorCode::OutputError);  // nothing written
  EXPECT_EQ(test::codeOf([&] {
              (void)box.put([](const fs::path& path) -> client::AuditEvent {
                test::writeBytes(path, std::vector<std::byte>(100, std::byte{0}));
                throw Error(ErrorCode::SigningFailed, "the writer failed");
              });
            }),
            ErrorCode::SigningFailed);
  EXPECT_TRUE(names(dir / "outbox").empty());
}

// A foreign structure set dropped into the outbox, sets changed after they were recorded and a
// record naming another SOP Class: none is sent, each is listed with why and left in place; the
// set the outbox wrote is stored, audited with the network, its signer and the slice.
TEST(Outbox, FlushSendsOnlyTheSetsItWrote) {
  test::TempDir dir;
  const client::Outbox box(dir / "outbox");
  std::string ours;
  const auto oursPath = putApproved(box, &ours);
  // a genuine RT Structure Set, but written there by something else
  const auto foreign = dir / "outbox" / "2.25.1234.dcm";
  ASSERT_TRUE(client::writeReview(prediction(), client::ReviewDecision{{0}, "Doe^Jane"}, foreign).approved);
  // recorded, then changed: the same size (a name in it edited), or other bytes altogether
  const auto edited = putApproved(box);
  auto bytes = test::readBytes(edited);
  const std::string from = "Doe^Jane";
  const auto at = std::search(bytes.begin(), bytes.end(), from.begin(), from.end(),
                              [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
  ASSERT_NE(at, bytes.end());
  *(at + 5) = static_cast<std::byte>('o');  // Doe^Joan
  test::writeBytes(edited, bytes);
  const auto replaced = putApproved(box);
  fs::copy_file(foreign, replaced, fs::copy_options::overwrite_existing);
  // a record that names another SOP Class (CT Image Storage) for a set that is otherwise intact
  const auto otherClass = putApproved(box);
  const auto recordPath = fs::path(otherClass).replace_extension(".record.json");
  auto record = nlohmann::json::parse(iod::readTextFile(recordPath));
  record["sopClassUid"] = "1.2.840.10008.5.1.4.1.1.2";
  test::writeBytes(recordPath, [&] {
    const auto text = record.dump();
    std::vector<std::byte> b(text.size());
    std::transform(text.begin(), text.end(), b.begin(), [](char ch) { return static_cast<std::byte>(ch); });
    return b;
  }());

  const auto contents = box.contents();
  ASSERT_EQ(contents.waiting.size(), 1U);
  EXPECT_EQ(contents.waiting[0].file, oursPath);
  ASSERT_EQ(contents.notOurs.size(), 4U);
  EXPECT_NE(notSentOf(contents.notOurs, foreign).find("no outbox record"), std::string::npos);
  EXPECT_NE(notSentOf(contents.notOurs, edited).find("SHA-256"), std::string::npos);
  EXPECT_NE(notSentOf(contents.notOurs, replaced).find("changed since it was written"), std::string::npos);
  EXPECT_NE(notSentOf(contents.notOurs, otherClass).find("is neither RT Structure Set nor Segmentation Storage"),
            std::string::npos);
  for (const auto& e : contents.notOurs) EXPECT_EQ(e.notSent.rfind("not written by iodeep: not sent", 0), 0U);

  const StoreScp scp(dir / "received");
  const client::Pacs pacs(scp.options());
  const auto log = dir / "audit.log";
  const auto r = box.flush(pacs, log);
  EXPECT_EQ(r.stored, std::vector<std::string>{ours});
  EXPECT_TRUE(r.failed.empty());
  ASSERT_EQ(r.notSent.size(), 4U);
  EXPECT_EQ(receivedSets(dir / "received"), std::vector<std::string>{ours});  // the peer got ours alone
  for (const auto& f : {foreign, edited, replaced, otherClass}) EXPECT_TRUE(fs::exists(f)) << f;  // left there
  EXPECT_FALSE(fs::exists(oursPath));
  const auto report = client::flushReport(r, false);
  EXPECT_NE(report.find("1 stored, 0 still waiting, 4 not written by iodeep: not sent"), std::string::npos) << report;
  EXPECT_EQ(nlohmann::json::parse(client::flushReport(r, true)).at("notSent").size(), 4U);

  // the flush's audit event carries what a direct store's does
  const auto events = client::readAudit(log);
  ASSERT_EQ(events.size(), 1U);
  const auto& e = events[0];
  EXPECT_EQ(e.event, "rtstruct_stored");
  EXPECT_EQ(e.structureSetUid, ours);
  EXPECT_EQ(e.approvalStatus, "APPROVED");
  EXPECT_EQ(e.reviewer, "Doe^Jane");
  EXPECT_EQ(e.dnnUid, prediction().dnnUid);
  EXPECT_EQ(e.dnnName, prediction().dnnName);
  EXPECT_EQ(e.modelUid, prediction().modelSopInstanceUid);
  EXPECT_EQ(e.signer, "CN=Model Lab Signer,O=IODEEP Test Hospital");
  EXPECT_EQ(e.signerFingerprint, "ab:cd:ef");
  EXPECT_EQ(e.signerStatus, "trusted");
  EXPECT_EQ(e.sliceUids, std::vector<std::string>{prediction().slice.attributes.sopInstanceUid});
  EXPECT_EQ(e.pacs, scp.options().pacs.toString());
  EXPECT_FALSE(e.time.empty());
  EXPECT_FALSE(e.user.empty());
}

// A workstation whose PACS settings are refused (none configured yet) still keeps the approved
// set: it waits in the outbox with that reason, and the outbox can be listed.
TEST(Outbox, ReviewIsKeptWhenNoPacsIsConfigured) {
  test::TempDir dir;
  auto config = test::offlinePacsConfig(dir.path(), true);
  config.network.pacs = {};
  client::Workstation ws(config);
  EXPECT_NE(ws.pacsProblem().find("no PACS given"), std::string::npos) << ws.pacsProblem();
  EXPECT_EQ(test::codeOf([&] { (void)ws.pacs(); }), ErrorCode::InvalidArgument);
  const std::vector<client::PredictResult> predictions{prediction()};
  const auto stored = client::storeReview(ws, predictions, {{0}, "Doe^Jane"});
  ASSERT_TRUE(stored.approvedSet);
  EXPECT_FALSE(stored.approvedSet->stored);
  EXPECT_EQ(stored.approvedSet->storeError, ws.pacsProblem());
  ASSERT_EQ(ws.outbox().list().size(), 1U);
  EXPECT_EQ(ws.outbox().list().front().file, stored.approvedSet->outboxFile);
  EXPECT_EQ(client::readAudit(config.auditLog).back().event, "rtstruct_queued");
}

// Through the workflow: a review stored while the PACS is down is queued with its audit event; the
// flush's event when the PACS is back names the same network, signer and slices.
TEST(Outbox, FlushAuditsLikeADirectStore) {
  test::TempDir dir;
  const auto config = test::offlinePacsConfig(dir.path(), true);
  const std::vector<client::PredictResult> predictions{prediction()};
  client::Workstation ws(config);
  const auto stored = client::storeReview(ws, predictions, {{0}, "Doe^Jane"}, false, std::nullopt);
  ASSERT_TRUE(stored.approvedSet);
  ASSERT_FALSE(stored.approvedSet->stored);
  const client::Outbox box(config.outboxDir);
  ASSERT_EQ(box.list().size(), 1U);

  const StoreScp scp(dir / "received");
  const auto r = box.flush(client::Pacs(scp.options()), config.auditLog);
  ASSERT_EQ(r.stored, std::vector<std::string>{stored.approvedSet->sopInstanceUid});
  const auto events = client::readAudit(config.auditLog);
  ASSERT_EQ(events.size(), 2U);
  const auto& queued = events[0];
  const auto& flushed = events[1];
  EXPECT_EQ(queued.event, "rtstruct_queued");
  EXPECT_EQ(flushed.event, "rtstruct_stored");
  EXPECT_EQ(flushed.structureSetUid, queued.structureSetUid);
  EXPECT_EQ(flushed.reviewer, "Doe^Jane");
  EXPECT_EQ(flushed.approvalStatus, "APPROVED");
  for (const auto* e : {&queued, &flushed}) {
    EXPECT_EQ(e->dnnUid, prediction().dnnUid);
    EXPECT_EQ(e->dnnVersion, prediction().dnnVersion);
    EXPECT_EQ(e->modelUid, prediction().modelSopInstanceUid);
    EXPECT_EQ(e->signer, "CN=Model Lab Signer,O=IODEEP Test Hospital");
    EXPECT_EQ(e->signerStatus, "trusted");
    EXPECT_EQ(e->sliceUids, std::vector<std::string>{prediction().slice.attributes.sopInstanceUid});
  }
  EXPECT_EQ(flushed.pacs, scp.options().pacs.toString());
  EXPECT_NE(flushed.detail.find("after 1 failed attempt(s)"), std::string::npos) << flushed.detail;
}

// A DICOM Segmentation the outbox wrote (--format seg, docs/seg.md) is listed as waiting, with its
// label, status and reviewer, and flushed to the peer, which receives it whole; a SEG dropped
// there by something else is not sent.
TEST(Outbox, SegmentationsItWroteAreListedAndSent) {
  test::TempDir dir;
  const client::Outbox box(dir / "outbox");
  std::string sop;
  const auto path = box.put([&](const fs::path& p) {
    const auto files = client::writeReview(prediction(), client::ReviewDecision{{0}, "Doe^Jane"}, p, {}, std::nullopt,
                                           {}, client::ResultFormat::Seg);
    sop = files.approved->sopInstanceUid;
    return provenance();
  });
  const auto foreign = dir / "outbox" / "2.25.4321.dcm";
  ASSERT_TRUE(client::writeReview(prediction(), client::ReviewDecision{{0}, "Doe^Jane"}, foreign, {}, std::nullopt, {},
                                  client::ResultFormat::Seg)
                  .approved);
  const auto c = box.contents();
  ASSERT_EQ(c.waiting.size(), 1U);
  EXPECT_EQ(c.waiting[0].file, path);
  EXPECT_EQ(c.waiting[0].sopInstanceUid, sop);
  EXPECT_EQ(c.waiting[0].approvalStatus, "APPROVED");
  EXPECT_EQ(c.waiting[0].reviewer, "Doe^Jane");
  ASSERT_EQ(c.notOurs.size(), 1U);
  EXPECT_NE(c.notOurs[0].notSent.find("no outbox record"), std::string::npos) << c.notOurs[0].notSent;

  const StoreScp scp(dir / "received");
  const client::Pacs pacs(scp.options());
  const auto r = box.flush(pacs, dir / "audit.log");
  EXPECT_EQ(r.stored, std::vector<std::string>{sop});
  ASSERT_EQ(r.notSent.size(), 1U);
  EXPECT_FALSE(fs::exists(path));
  std::vector<fs::path> received;
  for (const auto& e : fs::directory_iterator(dir / "received")) received.push_back(e.path());
  ASSERT_EQ(received.size(), 1U);
  // the peer got it: a readable Segmentation, the one the outbox wrote
  const auto got = seg::readSegmentation(received[0]);
  EXPECT_EQ(got.sopInstanceUid, sop);
  EXPECT_EQ(got.approvalStatus, "APPROVED");
  EXPECT_EQ(got.segments.size(), 1U);
}
