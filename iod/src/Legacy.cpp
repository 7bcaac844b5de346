#include "iodeep/iod/Legacy.hpp"

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Json.hpp"

namespace iodeep::iod {

namespace {

// A recursive-descent reader of Python literals (what repr() of a dict of plain values gives).
class PyLiteralParser {
 public:
  explicit PyLiteralParser(std::string_view text) : s_(text) {}

  nlohmann::json parseDocument() {
    nlohmann::json v = value(0);
    skipSpace();
    if (pos_ != s_.size()) fail("unexpected text after the literal");
    return v;
  }

 private:
  // the JSON limit (docs/security.md, "Limits"): what this reader builds is dumped later
  static constexpr int kMaxDepth = static_cast<int>(JsonLimits{}.maxDepth);
  std::string_view s_;
  std::size_t pos_{0};

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::InvalidPythonLiteral,
                "not a Python literal at character " + std::to_string(pos_) + ": " + what,
                ErrorContext{.part = "legacy architecture"});
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool keyword(std::string_view k) {
    if (s_.substr(pos_, k.size()) != k) return false;
    const std::size_t after = pos_ + k.size();
    if (after < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[after])) != 0 || s_[after] == '_'))
      return false;
    pos_ = after;
    return true;
  }

  nlohmann::json value(int depth) {
    if (depth >= kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    skipSpace();
    if (pos_ >= s_.size()) fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return dict(depth);
    if (c == '[') return sequence(depth, '[', ']');
    if (c == '(') return sequence(depth, '(', ')');
    if (c == '\'' || c == '"') return string();
    if (keyword("True")) return true;
    if (keyword("False")) return false;
    if (keyword("None")) return nullptr;
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) return number();
    fail(std::string("unexpected character '") + c + "' (only literals are allowed)");
  }

  nlohmann::json dict(int depth) {
    ++pos_;
    nlohmann::json obj = nlohmann::json::object();
    if (eat('}')) return obj;
    while (true) {
      nlohmann::json key = value(depth + 1);
      std::string k;
      if (key.is_string()) {
        k = key.get<std::string>();
      } else if (key.is_number() || key.is_boolean() || key.is_null()) {
        k = key.dump();
      } else {
        fail("a dict key must be a string or a number");
      }
      if (!eat(':')) fail("expected ':'");
      obj[k] = value(depth + 1);
      if (eat('}')) return obj;
      if (!eat(',')) fail("expected ',' or '}'");
      if (eat('}')) return obj;
    }
  }

  nlohmann::json sequence(int depth, char open, char close) {
    (void)open;
    ++pos_;
    nlohmann::json arr = nlohmann::json::array();
    if (eat(close)) return arr;
    while (true) {
      arr.push_back(value(depth + 1));
      if (eat(close)) return arr;
      if (!eat(',')) fail(std::string("expected ',' or '") + close + "'");
      if (eat(close)) return arr;
    }
  }

  static void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::uint32_t hex(std::size_t digits) {
    if (pos_ + digits > s_.size()) fail("truncated escape");
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      const char h = s_[pos_++];
      v <<= 4U;
      if (h >= '0' && h <= '9')
        v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else
        fail("bad hex digit in escape");
    }
    return v;
  }

  // Length of the UTF-8 sequence starting at @p at, or 0 when it is not valid UTF-8.
  std::size_t utf8Length(std::size_t at) const {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s_[i]); };
    const unsigned char c = b(at);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) return 1;
    if ((c & 0xE0U) == 0xC0U) {
      n = 2;
      cp = c & 0x1FU;
    } else if ((c & 0xF0U) == 0xE0U) {
      n = 3;
      cp = c & 0x0FU;
    } else if ((c & 0xF8U) == 0xF0U) {
      n = 4;
      cp = c & 0x07U;
    } else {
      return 0;
    }
    if (at + n > s_.size()) return 0;
    for (std::size_t i = 1; i < n; ++i) {
      if ((b(at + i) & 0xC0U) != 0x80U) return 0;
      cp = (cp << 6U) | (b(at + i) & 0x3FU);
    }
    const std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
  }

  nlohmann::json string() {
    const char quote = s_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c == '\n') fail("newline inside a string");
      if (c != '\\') {
        const std::size_t n = utf8Length(pos_);
        if (n == 0) fail("a string that is not valid UTF-8");
        out.append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'x': appendUtf8(out, hex(2)); break;
        case 'u':
        case 'U': {
          const std::uint32_t cp = hex(e == 'u' ? 4 : 8);
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("a code point that UTF-8 cannot hold");
          appendUtf8(out, cp);
          break;
        }
        default: fail(std::string("unsupported escape '\\") + e + "'");
      }
    }
    // Python concatenates adjacent string literals.
    skipSpace();
    if (pos_ < s_.size() && (s_[pos_] == '\'' || s_[pos_] == '"')) out += string().get<std::string>();
    return out;
  }

  nlohmann::json number() {
    const std::size_t start = pos_;
    if (s_[pos_] == '-' || s_[pos_] == '+') ++pos_;
    if (keyword("inf") || keyword("nan")) fail("inf and nan are not JSON numbers");
    bool isFloat = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if ((c >= '0' && c <= '9') || c == '_') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        isFloat = true;
        ++pos_;
        if ((c == 'e' || c == 'E') && pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+')) ++pos_;
      } else {
        break;
      }
    }
    std::string text;
    for (char c : s_.substr(start, pos_ - start)) {
      if (c != '_' && c != '+') text.push_back(c);
    }
    if (text.empty() || text == "-" || text == ".") fail("malformed number");
    try {
      std::size_t used = 0;
      if (!isFloat) {
        const long long v = std::stoll(text, &used);
        if (used != text.size()) fail("malformed integer");
        return v;
      }
      const double v = std::stod(text, &used);
      if (used != text.size() || !std::isfinite(v)) fail("malformed float");
      return v;
    } catch (const std::logic_error&) {
      fail("number out of range: " + text);
    }
  }
};

}  // namespace

std::string pythonLiteralToJson(std::string_view literal) {
  // Strings were checked to be UTF-8 while parsing; "replace" only guards that promise.
  return PyLiteralParser(literal).parseDocument().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

ByteBuffer decodeBase64(std::string_view text) {
  static constexpr auto kTable = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  std::vector<std::byte> out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const std::int8_t v = kTable[static_cast<unsigned char>(c)];
    if (v < 0 || padding) {
      throw Error(ErrorCode::InvalidArgument, "not base64: character " + std::to_string(i));
    }
    acc = (acc << 6U) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::byte>((acc >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  // DICOM pads odd-length text values with a space, which is skipped above.
  if (bits >= 6) throw Error(ErrorCode::InvalidArgument, "not base64: truncated final group");
  return ByteBuffer::fromVector(std::move(out));
}

LegacyObject readLegacy(const std::filesystem::path& path) {
  auto file = dcmtk::loadFile(path);
  DcmDataset& ds = *file->getDataset();
  DcmMetaInfo& meta = *file->getMetaInfo();
  const DcmTagKey archTag(kPrivateGroup, 0x0016);
  const DcmTagKey weightsTag(kPrivateGroup, 0x0018);
  if (!ds.tagExists(archTag) || !ds.tagExists(weightsTag)) {
    throw Error(ErrorCode::NotIodeep, "not a legacy IODeep object (no (0017,0016)/(0017,0018))",
                ErrorContext{.file = path.string()});
  }
  LegacyObject o;
  o.architectureLiteral = dcmtk::getString(ds, archTag);
  o.weightsBase64 = dcmtk::getString(ds, weightsTag);
  o.name = dcmtk::getString(ds, DcmTagKey(kPrivateGroup, 0x0020));
  o.uid = dcmtk::getString(ds, DcmTagKey(kPrivateGroup, 0x0022));
  o.modality = dcmtk::getString(ds, DCM_Modality);
  o.bodyPartExamined = dcmtk::getString(ds, DCM_BodyPartExamined);
  o.samplesPerPixel = dcmtk::getString(ds, DCM_SamplesPerPixel);
  o.photometricInterpretation = dcmtk::getString(ds, DCM_PhotometricInterpretation);
  o.transferSyntaxUid = dcmtk::transferSyntaxOf(*file);
  o.sopClassUid = dcmtk::getString(ds, DCM_SOPClassUID);
  o.mediaStorageSopClassUid = dcmtk::getString(meta, DCM_MediaStorageSOPClassUID);

  auto& p = o.problems;
  p.emplace_back(
      "no private creator reserves group 0017: elements (0017,0010-00FF) are private-creator slots, so "
      "(0017,0016), (0017,0018), (0017,0020) and (0017,0022) are read as reservations, not data");
  if (!dcmtk::hasMetaInformation(*file)) {
    p.push_back("no File Meta Information (PS3.10 7.1): a bare data set, read as " + o.transferSyntaxUid);
  } else if (o.sopClassUid != o.mediaStorageSopClassUid) {
    p.push_back("SOPClassUID " + o.sopClassUid + " differs from MediaStorageSOPClassUID " + o.mediaStorageSopClassUid);
  }
  if (o.sopClassUid != kRawDataStorageUid)
    p.push_back("SOPClassUID is not a standard storage class (" + o.sopClassUid + ")");
  if (o.transferSyntaxUid == UID_LittleEndianImplicitTransferSyntax) {
    p.emplace_back("Implicit VR: without a dictionary the private values arrive as UN at a PACS");
  }
  if (!o.architectureLiteral.empty() && o.architectureLiteral.front() != '{') {
    p.emplace_back("the architecture does not start with '{'");
  }
  p.emplace_back("the architecture is a Python literal (repr), not JSON");
  p.emplace_back(
      "the weights are base64 of torch.save (pickle) bytes: loading them runs the pickle protocol on PACS content");
  if (o.bodyPartExamined.empty()) p.emplace_back("BodyPartExamined (0018,0015) is empty");
  if (!o.uid.empty() && !o.uid.starts_with("2.25.") && o.uid.find_first_not_of("0123456789.") != std::string::npos) {
    p.push_back("the UID '" + o.uid + "' is not a valid DICOM UID");
  }
  return o;
}

}  // namespace iodeep::iod
