#include <gtest/gtest.h>

#include <set>

#include "iodeep/iod/Uid.hpp"

using namespace iodeep::iod;

TEST(Uid, RandomUidsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto uid = makeRandomUid();
    EXPECT_TRUE(isValidUid(uid)) << uid;
    EXPECT_TRUE(uid.starts_with("2.25.")) << uid;
    EXPECT_LE(uid.size(), 64U);
    seen.insert(uid);
  }
  EXPECT_EQ(seen.size(), 1000U);
}

TEST(Uid, DigestUidIsDeterministic) {
  Sha256Digest a{};
  Sha256Digest b{};
  b[3] = std::byte{1};
  EXPECT_EQ(uidFromDigest(a), uidFromDigest(a));
  EXPECT_NE(uidFromDigest(a), uidFromDigest(b));
  EXPECT_TRUE(isValidUid(uidFromDigest(a)));
  Sha256Digest ff{};
  ff.fill(std::byte{0xFF});
  EXPECT_TRUE(isValidUid(uidFromDigest(ff)));
}

TEST(Uid, Validation) {
  EXPECT_TRUE(isValidUid("1.2.840.10008.5.1.4.1.1.66"));
  EXPECT_TRUE(isValidUid("0.1"));
  EXPECT_FALSE(isValidUid(""));
  EXPECT_FALSE(isValidUid("1..2"));
  EXPECT_FALSE(isValidUid("1.02"));
  EXPECT_FALSE(isValidUid("1.2."));
  EXPECT_FALSE(isValidUid("1.2a"));
  EXPECT_FALSE(isValidUid(std::string(65, '1')));
}
