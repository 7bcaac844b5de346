#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "iodeep/client/ModelCache.hpp"
#include "iodeep/client/Outbox.hpp"
#include "iodeep/client/Predict.hpp"
#include "iodeep/client/Review.hpp"
#include "iodeep/client/Trust.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

// A small valid IODeep object written to @p path; returns it.
iod::IodeepModel writeModel(const fs::path& path, std::uint32_t seed, std::size_t extraFloats = 0) {
  auto in = test::samplePackInput(seed);
  in.weights = test::smallWeights(seed, extraFloats);
  in.name = "Net " + std::to_string(seed);
  auto model = iod::buildModel(std::move(in));
  iod::writeIodeep(model, path);
  return model;
}

// Flips one bit of tensor data inside the embedded payload of @p path.
void flipPayloadBit(const fs::path& path, const iod::ByteBuffer& weights) {
  auto bytes = test::readBytes(path);
  const auto w = weights.bytes();
  const auto at = std::search(bytes.begin(), bytes.end(), w.begin(), w.begin() + 64);
  ASSERT_NE(at, bytes.end()) << "payload not found in " << path;
  const auto last = static_cast<std::size_t>(at - bytes.begin()) + w.size() - 4;  // inside the last float
  bytes[last] ^= std::byte{0x01};
  test::writeBytes(path, bytes);
}

std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void later() {
  // entries are ordered by their index file's modification time
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

TEST(ModelCache, AdmitVerifiesAndFinds) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  const auto model = writeModel(dir / "in.dcm", 1);
  const auto size = fs::file_size(dir / "in.dcm");
  const auto entry = cache.admit(dir / "in.dcm");
  EXPECT_FALSE(fs::exists(dir / "in.dcm"));  // consumed
  EXPECT_EQ(entry.sopInstanceUid, model.sopInstanceUid);
  EXPECT_EQ(entry.dnnUid, model.dnnUid);
  EXPECT_EQ(entry.name, "Net 1");
  EXPECT_EQ(entry.bytes, size);
  EXPECT_EQ(entry.modality, "MR");
  EXPECT_EQ(entry.bodyPartExamined, "HEAD");
  EXPECT_EQ(entry.samplesPerPixel, 1);
  EXPECT_EQ(fs::file_size(entry.file), size);
  EXPECT_EQ(names(dir / "cache"),
            (std::vector<std::string>{model.sopInstanceUid + ".dcm", model.sopInstanceUid + ".json"}));

  const auto bySop = cache.findBySopInstance(model.sopInstanceUid);
  ASSERT_TRUE(bySop);
  EXPECT_EQ(bySop->dnnUid, model.dnnUid);
  EXPECT_EQ(bySop->file, entry.file);
  const auto byDnn = cache.findByDnnUid(model.dnnUid);
  ASSERT_TRUE(byDnn);
  EXPECT_EQ(byDnn->sopInstanceUid, model.sopInstanceUid);
  EXPECT_FALSE(cache.findBySopInstance("1.2.3.4"));
  EXPECT_FALSE(cache.findBySopInstance("../../etc/passwd"));
  EXPECT_FALSE(cache.findByDnnUid("2.25.1"));
  // a second cache object on the same directory (another process) sees it
  const client::ModelCache other(dir / "cache", 1ULL << 30U);
  EXPECT_TRUE(other.findBySopInstance(model.sopInstanceUid));
  ASSERT_EQ(other.list().size(), 1U);
}

TEST(ModelCache, FlippedBitIsRefusedAndLeavesNothing) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  const auto model = writeModel(dir / "in.dcm", 2);
  flipPayloadBit(dir / "in.dcm", test::smallWeights(2));
  try {
    (void)cache.admit(dir / "in.dcm");
    FAIL() << "a flipped bit was admitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::ChecksumMismatch);
    EXPECT_EQ(e.file(), (dir / "in.dcm").string());
  }
  EXPECT_FALSE(fs::exists(dir / "in.dcm"));
  EXPECT_TRUE(names(dir / "cache").empty());
  EXPECT_FALSE(cache.findBySopInstance(model.sopInstanceUid));
  EXPECT_FALSE(cache.findByDnnUid(model.dnnUid));
  EXPECT_TRUE(cache.list().empty());
  // not DICOM at all: refused too, nothing left
  test::writeBytes(dir / "junk.dcm", std::vector<std::byte>(300, std::byte{7}));
  try {
    (void)cache.admit(dir / "junk.dcm");
    FAIL() << "junk was admitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotDicom);
  }
  EXPECT_TRUE(names(dir / "cache").empty());
}

TEST(ModelCache, IndexWithoutModelIsNoEntry) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  const auto model = writeModel(dir / "in.dcm", 3);
  const auto entry = cache.admit(dir / "in.dcm");
  fs::resize_file(entry.file, entry.bytes / 2);  // damaged on disk: not an entry
  EXPECT_FALSE(cache.findBySopInstance(model.sopInstanceUid));
  EXPECT_TRUE(cache.list().empty());
}

TEST(ModelCache, LeastRecentlyUsedEvictionKeepsTheNewest) {
  test::TempDir dir;
  // three models of about the same size; room for two
  writeModel(dir / "a.dcm", 10);
  const auto one = fs::file_size(dir / "a.dcm");
  client::ModelCache cache(dir / "cache", 2 * one + one / 2);
  const auto a = cache.admit(dir / "a.dcm");
  later();
  writeModel(dir / "b.dcm", 11);
  const auto b = cache.admit(dir / "b.dcm");
  later();
  ASSERT_TRUE(cache.findBySopInstance(a.sopInstanceUid));  // a used after b: b is the least recent
  later();
  writeModel(dir / "c.dcm", 12);
  const auto c = cache.admit(dir / "c.dcm");
  EXPECT_TRUE(cache.findBySopInstance(a.sopInstanceUid));
  EXPECT_FALSE(cache.findBySopInstance(b.sopInstanceUid));
  EXPECT_TRUE(cache.findBySopInstance(c.sopInstanceUid));
  EXPECT_FALSE(fs::exists(b.file));
  EXPECT_EQ(cache.list().size(), 2U);
  later();
  ASSERT_TRUE(cache.findByDnnUid(a.dnnUid));  // findByDnnUid marks as used too: c is now the oldest
  later();
  writeModel(dir / "d.dcm", 13);
  const auto d = cache.admit(dir / "d.dcm");
  const auto list = cache.list();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].sopInstanceUid, d.sopInstanceUid);  // most recently used first
  EXPECT_EQ(list[1].sopInstanceUid, a.sopInstanceUid);
}

TEST(ModelCache, NeverEvictsTheOneJustAdmitted) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1);  // smaller than any model
  writeModel(dir / "a.dcm", 20);
  const auto a = cache.admit(dir / "a.dcm");
  EXPECT_TRUE(cache.findBySopInstance(a.sopInstanceUid));
  later();
  writeModel(dir / "b.dcm", 21, 1000);
  const auto b = cache.admit(dir / "b.dcm");
  EXPECT_FALSE(cache.findBySopInstance(a.sopInstanceUid));
  ASSERT_TRUE(cache.findBySopInstance(b.sopInstanceUid));
  EXPECT_EQ(names(dir / "cache"), (std::vector<std::string>{b.sopInstanceUid + ".dcm", b.sopInstanceUid + ".json"}));
}

// Two processes (fork) admit the same model at the same moment, several times: the cache ends
// with one valid entry and no temporary file.
TEST(ModelCache, TwoProcessesAdmittingTheSameModel) {
  test::TempDir dir;
  const auto model = writeModel(dir / "model.dcm", 30, 20000);
  for (int round = 0; round < 5; ++round) {
    fs::copy_file(dir / "model.dcm", dir / "p.dcm", fs::copy_options::overwrite_existing);
    fs::copy_file(dir / "model.dcm", dir / "c.dcm", fs::copy_options::overwrite_existing);
    const pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
      int code = 0;
      try {
        client::ModelCache cache(dir / "cache", 1ULL << 30U);
        (void)cache.admit(dir / "c.dcm");
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    client::ModelCache cache(dir / "cache", 1ULL << 30U);
    EXPECT_NO_THROW((void)cache.admit(dir / "p.dcm"));
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the other process failed to admit";
  }
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  const auto entry = cache.findBySopInstance(model.sopInstanceUid);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->bytes, fs::file_size(dir / "model.dcm"));
  EXPECT_EQ(test::readBytes(entry->file), test::readBytes(dir / "model.dcm"));
  for (const auto& f : iod::verifyIodeep(iod::readIodeep(entry->file))) {
    EXPECT_NE(f.severity, iod::Finding::Severity::Error) << f.message;
  }
  EXPECT_EQ(names(dir / "cache"),
            (std::vector<std::string>{model.sopInstanceUid + ".dcm", model.sopInstanceUid + ".json"}));
}

// ---- Outbox ------------------------------------------------------------------------------------

TEST(Outbox, ListRecordFailureRemove) {
  test::TempDir dir;
  const client::Outbox box(dir / "outbox");
  EXPECT_TRUE(box.list().empty());
  // an approved structure set from the brain model on slice 22 of the example series
  const fs::path src = IODEEP_SOURCE_DIR "/examples/brain-unet";
  const auto p = client::predict({src / "brain-unet.dcm", src / "series" / "slice_022.dcm", 0, false});
  ASSERT_FALSE(p.proposals.empty());
  const auto path = box.pathFor("2.25.4242");
  EXPECT_EQ(path, dir / "outbox" / "2.25.4242.dcm");
  const auto files = client::writeReview(p, client::ReviewDecision{{0}, "Doe^Jane"}, path);
  ASSERT_TRUE(files.approved);
  auto list = box.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].file, path);
  EXPECT_EQ(list[0].sopInstanceUid, files.approved->sopInstanceUid);
  EXPECT_EQ(list[0].approvalStatus, "APPROVED");
  EXPECT_FALSE(list[0].label.empty());
  EXPECT_EQ(list[0].attempts, 0U);
  EXPECT_TRUE(list[0].lastError.empty());

  box.recordFailure(path, "first: PACS down");
  box.recordFailure(path, "second: association rejected");
  list = box.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].attempts, 2U);
  EXPECT_EQ(list[0].lastError, "second: association rejected");
  EXPECT_EQ(test::readBytes(path).size(), fs::file_size(path));  // the set itself is untouched

  // something that is not a structure set is listed with why, never dropped
  test::writeBytes(dir / "outbox" / "2.25.99.dcm", std::vector<std::byte>(10, std::byte{1}));
  list = box.list();
  ASSERT_EQ(list.size(), 2U);
  const auto junk = std::find_if(list.begin(), list.end(), [](const auto& e) { return e.sopInstanceUid.empty(); });
  ASSERT_NE(junk, list.end());
  EXPECT_FALSE(junk->lastError.empty());

  box.remove(path);
  box.remove(dir / "outbox" / "2.25.99.dcm");
  EXPECT_TRUE(box.list().empty());
  EXPECT_TRUE(names(dir / "outbox").empty());  // the attempts file went with it
}

// The signature is verified (the data set hashed) once, on entry, and kept with the entry; an
// entry written before signatures were recorded is not an entry (retrieved and verified again).
TEST(ModelCache, KeepsEachEntrysVerifiedSignatures) {
  test::TempDir dir;
  const auto pki = test::fixture("pki");
  const auto model = writeModel(dir / "plain.dcm", 41);
  iod::signFile(dir / "plain.dcm", dir / "signed.dcm", {pki / "signer.key", pki / "signer.pem", ""});
  {
    client::ModelCache cache(dir / "cache", 1ULL << 30U);
    const auto entry = cache.admit(dir / "signed.dcm");
    ASSERT_EQ(entry.signatures.signatures.size(), 1U);
    ASSERT_NE(entry.signatures.wholeObjectSignature(), nullptr);
  }
  const client::ModelCache reopened(dir / "cache", 1ULL << 30U);
  const auto found = reopened.findBySopInstance(model.sopInstanceUid);
  ASSERT_TRUE(found);
  const auto* s = found->signatures.wholeObjectSignature();
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->signer.subject.find("Model Lab Signer"), std::string::npos) << s->signer.subject;
  EXPECT_FALSE(s->signer.pem.empty());  // trust is decided again later from this
  const auto decision = client::decideNetworkTrust({true, {{pki / "ca.pem"}}}, found->signatures);
  EXPECT_TRUE(decision.trusted) << decision.reason;
  EXPECT_EQ(decision.status, "trusted");
  // an index without "signatures" (an older cache): not an entry
  const auto index = dir / "cache" / (model.sopInstanceUid + ".json");
  auto j = nlohmann::json::parse(iod::readTextFile(index));
  j.erase("signatures");
  iod::writeFileAtomically(index, std::string_view(j.dump()));
  EXPECT_FALSE(reopened.findBySopInstance(model.sopInstanceUid));
}
