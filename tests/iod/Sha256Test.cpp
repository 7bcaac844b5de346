#include <gtest/gtest.h>

#include "iodeep/iod/Sha256.hpp"

using namespace iodeep::iod;

namespace {
std::string hexOf(std::string_view s) {
  return toHex(sha256(std::as_bytes(std::span<const char>(s.data(), s.size()))));
}
}  // namespace

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hexOf("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Sha256 h;
  h.update("ab");
  h.update("c");
  const auto d = h.finish();
  EXPECT_EQ(toHex(d), hexOf("abc"));
}
