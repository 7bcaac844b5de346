// The audit trail: JSON lines, appended only, readable back, safe for concurrent writers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/trust/Audit.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

client::AuditEvent storeEvent(const std::string& uid) {
  client::AuditEvent e;
  e.event = "rtstruct_stored";
  e.reviewer = "Doe^Jane";
  e.structureSetUid = uid;
  e.approvalStatus = "APPROVED";
  e.dnnUid = "1.2.3.4";
  e.dnnName = "Brain U-Net";
  e.dnnVersion = "1.0";
  e.signer = "CN=Model Lab Signer,O=IODEEP Test Hospital";
  e.signerStatus = "trusted";
  e.sliceUids = {"1.2.3.5", "1.2.3.6"};
  e.pacs = "ORTHANC@127.0.0.1:4242";
  return e;
}

}  // namespace

TEST(Audit, RoundTripAndEarlierLinesNeverChange) {
  test::TempDir dir;
  const auto log = dir / "sub" / "audit.log";   // directories are created
  EXPECT_TRUE(client::readAudit(log).empty());  // no file yet: an empty trail
  client::appendAudit(log, storeEvent("1.2.9.1"));
  const auto first = iod::readTextFile(log);
  ASSERT_EQ(std::count(first.begin(), first.end(), '\n'), 1);
  client::AuditEvent run;
  run.event = "network_run";
  run.dnnUid = "1.2.3.4";
  run.sliceUids = {"1.2.3.5"};
  run.proposals = 2;
  client::appendAudit(log, run);
  const auto both = iod::readTextFile(log);
  EXPECT_EQ(both.substr(0, first.size()), first);  // appended, the first line untouched
  const auto events = client::readAudit(log);
  ASSERT_EQ(events.size(), 2U);
  const auto want = storeEvent("1.2.9.1");
  EXPECT_EQ(events[0].event, want.event);
  EXPECT_EQ(events[0].reviewer, want.reviewer);
  EXPECT_EQ(events[0].structureSetUid, want.structureSetUid);
  EXPECT_EQ(events[0].signer, want.signer);
  EXPECT_EQ(events[0].sliceUids, want.sliceUids);
  EXPECT_EQ(events[0].pacs, want.pacs);
  EXPECT_FALSE(events[0].user.empty());
  ASSERT_EQ(events[0].time.size(), 24U) << events[0].time;  // YYYY-MM-DDTHH:MM:SS.mmmZ
  EXPECT_EQ(events[0].time.back(), 'Z');
  EXPECT_EQ(events[1].event, "network_run");
  EXPECT_EQ(events[1].proposals, 2U);
  // the JSON-lines report is the file's own lines
  EXPECT_EQ(client::auditReport(events, true), both);
  const auto text = client::auditReport(events, false);
  EXPECT_NE(text.find("rtstruct_stored APPROVED 1.2.9.1 by Doe^Jane"), std::string::npos) << text;
  EXPECT_NE(text.find("2 proposals"), std::string::npos) << text;
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);  // patient-related: the owner only
}

TEST(Audit, ConcurrentWritersNeverInterleave) {
  test::TempDir dir;
  const auto log = dir / "audit.log";
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &log] {
      for (int i = 0; i < kEach; ++i)
        client::appendAudit(log, storeEvent("1.2." + std::to_string(t) + "." + std::to_string(i)));
    });
  }
  for (auto& th : threads) th.join();
  const auto events = client::readAudit(log);  // every line parses
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> uids;
  for (const auto& e : events) uids.insert(e.structureSetUid);
  EXPECT_EQ(uids.size(), events.size());
}

TEST(Audit, UnwritableLogAndDamagedLineAreErrors) {
  test::TempDir dir;
  test::writeBytes(dir / "file", {std::byte{'x'}});
  try {
    client::appendAudit(dir / "file" / "audit.log", storeEvent("1.2.1"));  // parent is a file
    FAIL() << "no error for an audit log that cannot be written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::OutputError);
    EXPECT_NE(e.file().find("audit.log"), std::string::npos);
  }
  const auto log = dir / "audit.log";
  client::appendAudit(log, storeEvent("1.2.1"));
  {
    std::ofstream out(log, std::ios::app);
    out << "{not json\n";
  }
  try {
    (void)client::readAudit(log);
    FAIL() << "a damaged line was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidJson);
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}
