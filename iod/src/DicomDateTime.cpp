// DICOM date-time parsing: DT values and ISO 8601 UTC text to time_t and back (for signing times
// and certificate validity). No DCMTK, no OpenSSL.
#include "DicomDateTime.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace iodeep::iod::detail {

namespace {

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

int number(std::string_view s) {
  int v = 0;
  for (const char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::string formatUtc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

std::optional<ParsedTime> parseDicomDateTime(std::string_view dt) {
  while (!dt.empty() && (dt.back() == ' ' || dt.back() == '\0')) dt.remove_suffix(1);
  std::string_view offset;
  if (const auto sign = dt.find_first_of("+-"); sign != std::string_view::npos) {
    offset = dt.substr(sign);
    dt = dt.substr(0, sign);
  }
  if (const auto dot = dt.find('.'); dot != std::string_view::npos) {
    if (dot != 14 || !allDigits(dt.substr(dot + 1))) return std::nullopt;
    dt = dt.substr(0, dot);
  }
  if (dt.size() < 4 || dt.size() > 14 || dt.size() % 2 != 0 || !allDigits(dt)) return std::nullopt;
  const auto part = [&](std::size_t pos, int fallback) {
    return dt.size() >= pos + 2 ? number(dt.substr(pos, 2)) : fallback;
  };
  std::tm tm{};
  tm.tm_year = number(dt.substr(0, 4)) - 1900;
  tm.tm_mon = part(4, 1) - 1;
  tm.tm_mday = part(6, 1);
  tm.tm_hour = part(8, 0);
  tm.tm_min = part(10, 0);
  tm.tm_sec = part(12, 0);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  ParsedTime p;
  p.utc = timegm(&tm);
  if (!offset.empty()) {
    if (offset.size() != 5 || !allDigits(offset.substr(1))) return std::nullopt;
    const int minutes = number(offset.substr(1, 2)) * 60 + number(offset.substr(3, 2));
    // local = UTC + offset
    p.utc -= static_cast<std::time_t>(offset[0] == '-' ? -minutes : minutes) * 60;
    p.hasOffset = true;
  }
  return p;
}

std::optional<std::time_t> parseIso(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const std::string digits = std::string(s.substr(0, 4)) + std::string(s.substr(5, 2)) + std::string(s.substr(8, 2)) +
                             std::string(s.substr(11, 2)) + std::string(s.substr(14, 2)) + std::string(s.substr(17, 2));
  const auto p = parseDicomDateTime(digits);
  if (!p) return std::nullopt;
  return p->utc;
}

std::string signingTimeText(const std::string& dt) {
  const auto p = parseDicomDateTime(dt);
  if (!p) return dt;
  std::string text = formatUtc(p->utc);
  if (!p->hasOffset) text.pop_back();
  return text;
}

}  // namespace iodeep::iod::detail
