#include "iodeep/iod/Text.hpp"

#include <iconv.h>

#include <memory>

namespace iodeep::iod {

namespace {

// Length of the well-formed UTF-8 sequence at @p i, or 0 when none starts there (RFC 3629).
std::size_t sequenceLength(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool isValidUtf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8Prefix(std::string_view s, std::size_t maxCharacters) {
  std::size_t i = 0;
  for (std::size_t characters = 0; i < s.size() && characters < maxCharacters; ++characters) {
    const std::size_t n = sequenceLength(s, i);
    i += n == 0 ? 1 : n;
  }
  return std::string(s.substr(0, i));
}

std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = sequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {

// One run of 7-bit ISO-2022-JP-2 text through glibc's iconv; nothing when iconv refuses it.
std::optional<std::string> iso2022JpRun(std::string_view run) {
  const iconv_t cd = ::iconv_open("UTF-8", "ISO-2022-JP-2");
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;  // NOLINT(performance-no-int-to-ptr): iconv's API
  const std::unique_ptr<void, int (*)(iconv_t)> closer(cd, ::iconv_close);
  std::string in(run);
  std::string out(run.size() * 4 + 16, '\0');
  char* inPtr = in.data();
  std::size_t inLeft = in.size();
  char* outPtr = out.data();
  std::size_t outLeft = out.size();
  if (::iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == static_cast<std::size_t>(-1)) return std::nullopt;
  if (::iconv(cd, nullptr, nullptr, &outPtr, &outLeft) == static_cast<std::size_t>(-1)) return std::nullopt;
  out.resize(out.size() - outLeft);
  return out;
}

}  // namespace

std::optional<std::string> japaneseIso2022ToUtf8(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xA1 && c <= 0xDF) {  // JIS X 0201 katakana: U+FF61 ... U+FF9F
      const unsigned code = 0xFF61U + (c - 0xA1U);
      out.push_back(static_cast<char>(0xE0U | (code >> 12U)));
      out.push_back(static_cast<char>(0x80U | ((code >> 6U) & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (code & 0x3FU)));
      ++i;
      continue;
    }
    if (c >= 0x80) return std::nullopt;
    std::size_t end = i;
    while (end < s.size() && static_cast<unsigned char>(s[end]) < 0x80) ++end;
    const auto converted = iso2022JpRun(s.substr(i, end - i));
    if (!converted) return std::nullopt;
    out += *converted;
    i = end;
  }
  return out;
}

std::string latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0U | (c >> 6U)));
      out.push_back(static_cast<char>(0x80U | (c & 0x3FU)));
    }
  }
  return out;
}

std::string textValue(std::string_view s, std::size_t maxCharacters) {
  std::string v = sanitizeUtf8(utf8Prefix(s, maxCharacters));
  for (auto& c : v) {
    if (c == '\\') c = '/';
    if (static_cast<unsigned char>(c) < 0x20 && c != 0x1B) c = ' ';
  }
  return v;
}

std::string personNameValue(std::string_view s) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto end = s.find('=', start);
    out += textValue(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start), 64);
    if (end == std::string_view::npos) break;
    out += '=';
    start = end + 1;
  }
  return out;
}

}  // namespace iodeep::iod
