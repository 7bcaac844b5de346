#include "iodeep/iod/Uid.hpp"

#include <algorithm>
#include <array>
#include <random>

namespace iodeep::iod {

namespace {

__extension__ typedef unsigned __int128 U128;  // GCC/Clang extension, for 2.25 UIDs

std::string toDecimal(U128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v != 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

// Sets the RFC 4122 variant bits and the given version nibble.
std::string uidFromBytes(std::array<std::uint8_t, 16> b, std::uint8_t version) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0FU) | (version << 4U));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3FU) | 0x80U);
  U128 v = 0;
  for (std::uint8_t x : b) v = (v << 8U) | x;
  return "2.25." + toDecimal(v);
}

}  // namespace

std::string makeRandomUid() {
  thread_local std::mt19937_64 engine([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 8) {
    std::uint64_t r = engine();
    for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<std::uint8_t>(r >> (8U * j));
  }
  return uidFromBytes(b, 4);
}

std::string uidFromDigest(const Sha256Digest& digest) {
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::to_integer<std::uint8_t>(digest[i]);
  return uidFromBytes(b, 8);
}

bool isValidUid(std::string_view uid) noexcept {
  if (uid.empty() || uid.size() > 64) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = uid.find('.', start);
    const std::string_view part = uid.substr(start, dot == std::string_view::npos ? uid.npos : dot - start);
    if (part.empty()) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    if (part.size() > 1 && part[0] == '0') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace iodeep::iod
