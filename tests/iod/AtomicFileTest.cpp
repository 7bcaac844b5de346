#include <gtest/gtest.h>

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
