#pragma once
// JSON written as it goes, indented like nlohmann's dump(indent) (compact when indent < 0): for the reports that list
// thousands of candidates (`select --json` with 10,000 networks on the PACS), where building a DOM first cost more than
// the selection itself. Text that is not UTF-8 is written with U+FFFD in place of each bad byte (as nlohmann's
// error_handler_t::replace does); a number that is not finite is null.

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "iodeep/iod/Text.hpp"

namespace iodeep::client::detail {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, int indent = 2) : out_(out), indent_(indent) {}

  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }

  /// The next member's name (inside an object).
  JsonWriter& key(std::string_view name) {
    element();
    string(name);
    out_ += indent_ < 0 ? ":" : ": ";
    afterKey_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view s) {
    element();
    string(s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) {
    element();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& value(double d) {
    element();
    if (!std::isfinite(d)) {
      out_ += "null";
      return *this;
    }
    std::array<char, 32> buffer{};
    const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), d);
    out_.append(buffer.data(), r.ptr);
    return *this;
  }
  template <typename Int>
  requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>) JsonWriter& value(Int i) {
    element();
    std::array<char, 24> buffer{};
    const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), i);
    out_.append(buffer.data(), r.ptr);
    return *this;
  }

  template <typename T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

 private:
  // before a value or a key: the comma after the previous element, a new line, the indent
  void element() {
    if (afterKey_) {
      afterKey_ = false;
      return;
    }
    if (!empty_.empty()) {
      if (!empty_.back()) out_ += ',';
      empty_.back() = false;
      newLine();
    }
  }
  void newLine() {
    if (indent_ < 0) return;
    out_ += '\n';
    out_.append(empty_.size() * static_cast<std::size_t>(indent_), ' ');
  }
  JsonWriter& open(char c) {
    element();
    out_ += c;
    empty_.push_back(true);
    return *this;
  }
  JsonWriter& close(char c) {
    const bool wasEmpty = empty_.back();
    empty_.pop_back();
    if (!wasEmpty) newLine();
    out_ += c;
    return *this;
  }
  void string(std::string_view s) {
    if (!iod::isValidUtf8(s)) {
      escaped(iod::sanitizeUtf8(s));
    } else {
      escaped(s);
    }
  }
  // runs of characters that need no escape are appended whole (the bulk of any report)
  void escaped(std::string_view s) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out_ += '"';
    std::size_t plain = 0;  // start of the current run
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20U && c != '"' && c != '\\') continue;
      out_.append(s.data() + plain, i - plain);
      plain = i + 1;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          out_ += "\\u00";
          out_ += kHex[c >> 4U];
          out_ += kHex[c & 0xFU];
      }
    }
    out_.append(s.data() + plain, s.size() - plain);
    out_ += '"';
  }

  std::string& out_;
  int indent_;
  std::vector<bool> empty_;  ///< per open object or array: nothing written in it yet
  bool afterKey_{false};
};

}  // namespace iodeep::client::detail
