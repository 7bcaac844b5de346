#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Signature.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Trust.hpp"
#include "iodeep/workflow/Predict.hpp"
#include "iodeep/workflow/Review.hpp"

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

// The files in @p dir, without the model cache's lock file.
std::vector<std::string> names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename() != ".lock") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The entry without its lease: what it says, not a use of it (eviction may take it).
client::CachedModel released(client::CachedModel m) {
  m.lease.reset();
  return m;
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
  const auto a = released(cache.admit(dir / "a.dcm"));
  later();
  writeModel(dir / "b.dcm", 11);
  const auto b = released(cache.admit(dir / "b.dcm"));
  later();
  ASSERT_TRUE(cache.findBySopInstance(a.sopInstanceUid));  // a used after b: b is the least recent
  later();
  writeModel(dir / "c.dcm", 12);
  const auto c = released(cache.admit(dir / "c.dcm"));
  EXPECT_TRUE(cache.findBySopInstance(a.sopInstanceUid));
  EXPECT_FALSE(cache.findBySopInstance(b.sopInstanceUid));
  EXPECT_TRUE(cache.findBySopInstance(c.sopInstanceUid));
  EXPECT_FALSE(fs::exists(b.file));
  EXPECT_EQ(cache.list().size(), 2U);
  later();
  ASSERT_TRUE(cache.findByDnnUid(a.dnnUid));  // findByDnnUid marks as used too: c is now the oldest
  later();
  writeModel(dir / "d.dcm", 13);
  const auto d = released(cache.admit(dir / "d.dcm"));
  const auto list = cache.list();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].sopInstanceUid, d.sopInstanceUid);  // most recently used first
  EXPECT_EQ(list[1].sopInstanceUid, a.sopInstanceUid);
}

TEST(ModelCache, NeverEvictsTheOneJustAdmitted) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1);  // smaller than any model
  writeModel(dir / "a.dcm", 20);
  const auto a = released(cache.admit(dir / "a.dcm"));
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

// ---- the cache proves its entries ----------------------------------------------------------------

namespace {

struct stat statOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

bool sameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Sets the access and modification times of @p path to those of @p st.
void restoreTimes(const fs::path& path, const struct stat& st) {
  const std::array<timespec, 2> times{st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times.data(), 0), 0) << path;
}

}  // namespace

// A file of the same size with other content in an entry's place, renamed over it with the
// original's times, or written in place with the modification time put back (only the change
// time tells): neither is returned as verified, their entries are removed, and the object is
// admitted (verified) again. The untouched entry is still returned, without hashing it again.
TEST(ModelCache, SameSizeFileSwappedInIsNotReturnedAsVerified) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  writeModel(dir / "a.dcm", 50);
  writeModel(dir / "b.dcm", 51);
  writeModel(dir / "c.dcm", 52);
  fs::copy_file(dir / "a.dcm", dir / "a-again.dcm");
  const auto a = released(cache.admit(dir / "a.dcm"));
  const auto b = released(cache.admit(dir / "b.dcm"));
  const auto c = released(cache.admit(dir / "c.dcm"));
  ASSERT_EQ(cache.list().size(), 3U);
  const auto cBytes = test::readBytes(c.file);

  // a: another file of the same size, with a's times, renamed over it (a new inode)
  const auto aBefore = statOf(a.file);
  fs::copy_file(a.file, dir / "swap.dcm");
  flipPayloadBit(dir / "swap.dcm", test::smallWeights(50));
  ASSERT_EQ(fs::file_size(dir / "swap.dcm"), a.bytes);
  restoreTimes(dir / "swap.dcm", aBefore);
  fs::rename(dir / "swap.dcm", a.file);
  ASSERT_TRUE(sameTime(statOf(a.file).st_mtim, aBefore.st_mtim));

  // b: rewritten in place (same inode, same size), its modification time put back
  const auto bBefore = statOf(b.file);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a change time the clock can tell apart
  flipPayloadBit(b.file, test::smallWeights(51));
  restoreTimes(b.file, bBefore);
  const auto bAfter = statOf(b.file);
  ASSERT_EQ(bAfter.st_ino, bBefore.st_ino);
  ASSERT_EQ(bAfter.st_size, bBefore.st_size);
  ASSERT_TRUE(sameTime(bAfter.st_mtim, bBefore.st_mtim));
  ASSERT_FALSE(sameTime(bAfter.st_ctim, bBefore.st_ctim));

  EXPECT_FALSE(cache.findBySopInstance(a.sopInstanceUid));
  EXPECT_FALSE(cache.findByDnnUid(b.dnnUid));
  EXPECT_FALSE(cache.findBySopInstance(b.sopInstanceUid));
  const auto found = cache.findBySopInstance(c.sopInstanceUid);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->file, c.file);
  EXPECT_NE(found->lease, nullptr);
  EXPECT_EQ(test::readBytes(found->file), cBytes);
  const auto list = cache.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].sopInstanceUid, c.sopInstanceUid);
  EXPECT_EQ(list[0].lease, nullptr);  // a listing is not a use
  // the stale entries are gone, so the object is retrieved and verified again
  EXPECT_EQ(names(dir / "cache"), (std::vector<std::string>{c.sopInstanceUid + ".dcm", c.sopInstanceUid + ".json"}));
  (void)cache.admit(dir / "a-again.dcm");
  EXPECT_TRUE(cache.findBySopInstance(a.sopInstanceUid));
}

// Only touching the file (content and size unchanged) also unties it from its verdict.
TEST(ModelCache, TouchedFileIsVerifiedAgain) {
  test::TempDir dir;
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  writeModel(dir / "a.dcm", 53);
  const auto a = released(cache.admit(dir / "a.dcm"));
  ASSERT_TRUE(cache.findBySopInstance(a.sopInstanceUid));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fs::last_write_time(a.file, fs::file_time_type::clock::now());
  EXPECT_FALSE(cache.findBySopInstance(a.sopInstanceUid));
  EXPECT_FALSE(fs::exists(a.file));
}

// A model one user holds (its lease: a shared lock on its own open file description, as another
// process would) is never evicted by another ModelCache; the next least recently used goes
// instead. Copies of the entry share the lease; when the last is gone the entry can leave.
TEST(ModelCache, EvictionSkipsEntriesInUse) {
  test::TempDir dir;
  writeModel(dir / "a.dcm", 60);
  const auto one = fs::file_size(dir / "a.dcm");
  const client::ModelCache user(dir / "cache", 1ULL << 30U);
  client::ModelCache other(dir / "cache", 2 * one + one / 2);  // room for two
  const auto a = released(other.admit(dir / "a.dcm"));
  later();
  writeModel(dir / "b.dcm", 61);
  const auto b = released(other.admit(dir / "b.dcm"));
  later();
  auto inUse = user.findBySopInstance(a.sopInstanceUid, false);  // a stays the least recently used
  ASSERT_TRUE(inUse);
  ASSERT_NE(inUse->lease, nullptr);
  writeModel(dir / "c.dcm", 62);
  const auto c = released(other.admit(dir / "c.dcm"));
  EXPECT_TRUE(fs::exists(a.file));
  EXPECT_TRUE(other.findBySopInstance(a.sopInstanceUid, false));
  EXPECT_FALSE(other.findBySopInstance(b.sopInstanceUid));
  EXPECT_FALSE(fs::exists(b.file));
  EXPECT_TRUE(other.findBySopInstance(c.sopInstanceUid, false));

  auto copy = *inUse;
  inUse.reset();
  later();
  writeModel(dir / "d.dcm", 63);
  const auto d = released(other.admit(dir / "d.dcm"));
  EXPECT_TRUE(fs::exists(a.file)) << "a copy of the entry still holds it";
  EXPECT_FALSE(fs::exists(c.file));

  copy.lease.reset();
  later();
  writeModel(dir / "e.dcm", 64);
  (void)released(other.admit(dir / "e.dcm"));
  EXPECT_FALSE(fs::exists(a.file));
  EXPECT_FALSE(user.findBySopInstance(a.sopInstanceUid));
  EXPECT_TRUE(user.findBySopInstance(d.sopInstanceUid));
}

// Another process holds a model (a lease taken in a child process): eviction by this one
// leaves it.
TEST(ModelCache, EvictionSkipsAnEntryAnotherProcessUses) {
  test::TempDir dir;
  writeModel(dir / "a.dcm", 70);
  const auto one = fs::file_size(dir / "a.dcm");
  client::ModelCache cache(dir / "cache", one + one / 2);  // room for one
  const auto a = released(cache.admit(dir / "a.dcm"));
  std::array<int, 2> ready{};
  std::array<int, 2> done{};
  ASSERT_EQ(::pipe(ready.data()), 0);
  ASSERT_EQ(::pipe(done.data()), 0);
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    int code = 1;
    {
      const client::ModelCache mine(dir / "cache", 1ULL << 30U);
      const auto held = mine.findBySopInstance(a.sopInstanceUid, false);
      char byte = held && held->lease ? 'y' : 'n';
      if (::write(ready[1], &byte, 1) == 1 && ::read(done[0], &byte, 1) == 1) code = 0;
    }
    ::_exit(code);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'y');
  writeModel(dir / "b.dcm", 71);
  const auto b = released(cache.admit(dir / "b.dcm"));
  EXPECT_TRUE(fs::exists(a.file)) << "evicted while another process used it";
  EXPECT_TRUE(cache.findBySopInstance(a.sopInstanceUid, false));
  byte = 'x';
  EXPECT_EQ(::write(done[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (const int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
  // released: the next admission may take it
  writeModel(dir / "c.dcm", 72);
  (void)cache.admit(dir / "c.dcm");
  EXPECT_FALSE(fs::exists(a.file));
  EXPECT_FALSE(fs::exists(b.file));
}
