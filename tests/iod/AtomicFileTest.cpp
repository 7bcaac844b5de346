#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "TestSupport.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"

using namespace iodeep;
using namespace iodeep::iod;

TEST(AtomicFile, WritesCompletelyAndReplaces) {
  test::TempDir dir;
  writeFileAtomically(dir / "out.txt", std::string_view("first"));
  writeFileAtomically(dir / "out.txt", std::string_view("second"));
  EXPECT_EQ(readTextFile(dir / "out.txt"), "second");
  EXPECT_EQ(test::listFiles(dir.path()).size(), 1U);
}

TEST(AtomicFile, AbandonedWriteLeavesNothing) {
  test::TempDir dir;
  {
    AtomicFile f(dir / "out.bin");
    writeFileAtomically(f.temporaryPath(), std::string_view("partial"));  // simulate a half-written file
    // no commit(): an exception on the way would look like this
  }
  EXPECT_TRUE(test::listFiles(dir.path()).empty());
}

TEST(AtomicFile, UnwritableTargetsAreOutputErrors) {
  test::TempDir dir;
  writeFileAtomically(dir / "file", std::string_view("x"));
  for (const auto& target : {dir / "missing-dir/out", dir / "file/out", dir.path()}) {
    try {
      writeFileAtomically(target, std::string_view("x"));
      ADD_FAILURE() << "wrote " << target;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::OutputError);
      EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos);
    }
  }
  EXPECT_EQ(test::listFiles(dir.path()).size(), 1U);
}

// A process killed on the way leaves its temporary directory behind; the next one made with the
// same prefix removes it, and nothing else: not a running process's, not another prefix's, not a
// name that only looks alike.
TEST(TemporaryDirectory, RemovesWhatAKilledProcessLeft) {
  test::TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // a process that no longer runs
  const std::string dead = std::to_string(child);
  const std::string live = std::to_string(::getppid());
  const std::string stale = "run-" + dead + "-123";
  const std::vector<std::string> kept = {"run-" + live + "-123", "select-" + dead + "-123", "run-" + dead + "-12x",
                                         "run-" + dead, "run--123"};
  for (const auto& name : kept) {
    std::filesystem::create_directories(dir / name);
    writeFileAtomically(dir / name / "slice.dcm", std::string_view("x"));
  }
  std::filesystem::create_directories(dir / stale / ".receiving-1-2");
  writeFileAtomically(dir / stale / "slice.dcm", std::string_view("x"));
  {
    const TemporaryDirectory t(dir.path(), "run-");
    EXPECT_TRUE(std::filesystem::is_directory(t.path()));
    EXPECT_EQ(t.path().filename().string().rfind("run-" + std::to_string(::getpid()) + "-", 0), 0U) << t.path();
    EXPECT_FALSE(std::filesystem::exists(dir / stale));
    for (const auto& name : kept) EXPECT_TRUE(std::filesystem::exists(dir / name / "slice.dcm")) << name;
  }
  EXPECT_EQ(test::listFiles(dir.path()).size(), kept.size());  // its own is gone too
}

TEST(ByteBuffer, MapFileAndSlicesShareBytes) {
  test::TempDir dir;
  writeFileAtomically(dir / "b", std::string_view("abcdef"));
  const auto b = ByteBuffer::mapFile(dir / "b");
  ASSERT_EQ(b.size(), 6U);
  ASSERT_TRUE(b.backingFile().has_value());
  const auto s = b.slice(2, 3);
  EXPECT_EQ(static_cast<char>(s.bytes()[0]), 'c');
  EXPECT_EQ(s.data(), b.data() + 2);
  try {
    (void)ByteBuffer::mapFile(dir / "nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::FileNotFound);
  }
}
