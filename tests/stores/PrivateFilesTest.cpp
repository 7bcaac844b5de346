// Our directories 0700, our files 0600: the model cache, the image cache, the outbox, the audit
// log and everything written through iod::AtomicFile, whatever the umask.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/stores/ModelCache.hpp"
#include "iodeep/stores/Outbox.hpp"
#include "iodeep/trust/Audit.hpp"

using namespace iodeep;
namespace fs = std::filesystem;

namespace {

unsigned modeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777U;
}

// Sets the process's umask for the lifetime of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST(PrivateFiles, CachesAndOutboxAreCreated0700WhateverTheUmask) {
  test::TempDir dir;
  const auto parentMode = modeOf(dir.path());
  const ScopedUmask permissive(0);
  const client::ModelCache models(dir / "home" / ".cache" / "iodeep" / "models", 1ULL << 30U);
  const client::ImageCache images(dir / "home" / ".cache" / "iodeep" / "images", 1ULL << 30U);
  const client::Outbox outbox(dir / "home" / ".local" / "share" / "iodeep" / "outbox");
  for (const auto* sub : {"home", "home/.cache", "home/.cache/iodeep", "home/.cache/iodeep/models",
                          "home/.cache/iodeep/images", "home/.local/share/iodeep/outbox"}) {
    EXPECT_EQ(modeOf(dir / sub), 0700U) << sub;
  }
  EXPECT_EQ(modeOf(dir.path()), parentMode) << "an existing parent is left as it is";
}

TEST(PrivateFiles, AnExistingDirectoryOfOursIsTightened) {
  test::TempDir dir;
  for (const auto* name : {"models", "images", "outbox"}) {
    fs::create_directories(dir / name);
    fs::permissions(dir / name, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    ASSERT_EQ(modeOf(dir / name), 0755U);
  }
  const client::ModelCache models(dir / "models", 1ULL << 30U);
  const client::ImageCache images(dir / "images", 1ULL << 30U);
  const client::Outbox outbox(dir / "outbox");
  EXPECT_EQ(modeOf(dir / "models"), 0700U);
  EXPECT_EQ(modeOf(dir / "images"), 0700U);
  EXPECT_EQ(modeOf(dir / "outbox"), 0700U);
  // a file where the directory should be: a clear OutputError
  test::writeBytes(dir / "file", std::vector<std::byte>(4, std::byte{1}));
  EXPECT_EQ(test::codeOf([&] { const client::ModelCache c(dir / "file", 1U); }), ErrorCode::OutputError);
  EXPECT_EQ(test::codeOf([&] { const client::ImageCache c(dir / "file" / "sub", 1U); }), ErrorCode::OutputError);
}

// Someone else's directory is never used for our private data (it is not tightened either).
TEST(PrivateFiles, ADirectoryOfAnotherUserIsRefused) {
  // the suite runs as root (README's quick start, CI): only root can give a directory to another user
  ASSERT_EQ(::geteuid(), 0U) << "run the test suite as root (README quick start)";
  test::TempDir dir;
  fs::create_directories(dir / "theirs");
  ASSERT_EQ(::chown((dir / "theirs").c_str(), 65534, 65534), 0);
  fs::permissions(dir / "theirs", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);
  EXPECT_EQ(test::codeOf([&] { const client::ModelCache c(dir / "theirs", 1U); }), ErrorCode::OutputError);
  EXPECT_EQ(test::codeOf([&] { const client::Outbox o(dir / "theirs"); }), ErrorCode::OutputError);
  EXPECT_EQ(modeOf(dir / "theirs"), 0755U);
}

TEST(PrivateFiles, AdmittedModelAndItsIndexAre0600) {
  test::TempDir dir;
  const ScopedUmask permissive(0);
  client::ModelCache cache(dir / "cache", 1ULL << 30U);
  auto in = test::samplePackInput(5);
  in.weights = test::smallWeights(5);
  iod::writeIodeep(iod::buildModel(std::move(in)), dir / "in.dcm");
  fs::permissions(dir / "in.dcm", fs::perms::all);  // as a peer's file might arrive
  const auto entry = cache.admit(dir / "in.dcm");
  EXPECT_EQ(modeOf(entry.file), 0600U);
  EXPECT_EQ(modeOf(fs::path(entry.file).replace_extension(".json")), 0600U);
  EXPECT_EQ(modeOf(dir / "cache"), 0700U);
}

TEST(PrivateFiles, AtomicFilesAre0600AndTemporaryDirectories0700) {
  test::TempDir dir;
  const ScopedUmask permissive(0);
  iod::writeFileAtomically(dir / "text.json", std::string_view("{}"));
  EXPECT_EQ(modeOf(dir / "text.json"), 0600U);
  // overwriting a file that others could read: the new one is private
  test::writeBytes(dir / "old.dcm", std::vector<std::byte>(4, std::byte{1}));
  fs::permissions(dir / "old.dcm", fs::perms::all);
  iod::writeFileAtomically(dir / "old.dcm", std::string_view("new"));
  EXPECT_EQ(modeOf(dir / "old.dcm"), 0600U);
  {
    // written by someone else (the toolkit) at the temporary path, with the umask's mode
    iod::AtomicFile out(dir / "toolkit.dcm");
    std::ofstream(out.temporaryPath()) << "DICM";
    ASSERT_EQ(modeOf(out.temporaryPath()), 0666U);
    out.commit();
  }
  EXPECT_EQ(modeOf(dir / "toolkit.dcm"), 0600U);
  const iod::TemporaryDirectory work(dir / "parent" / "runs", "run-");
  EXPECT_EQ(modeOf(work.path()), 0700U);
  EXPECT_EQ(modeOf(dir / "parent"), 0700U);
}

TEST(PrivateFiles, AuditLogIsTheOwnersOnly) {
  test::TempDir dir;
  const ScopedUmask permissive(0);
  client::AuditEvent e;
  e.event = "network_run";
  e.dnnUid = "1.2.3";
  client::appendAudit(dir / "logs" / "audit.log", e);
  EXPECT_EQ(modeOf(dir / "logs"), 0700U);  // created by us
  EXPECT_EQ(modeOf(dir / "logs" / "audit.log"), 0600U);
  // a log of ours that others could read is tightened on the next line; its directory, which
  // the user named and may share, is left as it is
  fs::permissions(dir / "logs", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  fs::permissions(dir / "logs" / "audit.log",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  client::appendAudit(dir / "logs" / "audit.log", e);
  EXPECT_EQ(modeOf(dir / "logs" / "audit.log"), 0600U);
  EXPECT_EQ(modeOf(dir / "logs"), 0750U);
  EXPECT_EQ(client::readAudit(dir / "logs" / "audit.log").size(), 2U);
}
