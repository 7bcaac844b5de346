// QIDO-RS, WADO-RS and STOW-RS: the DICOMweb transport of Pacs (docs/pacs-workflow.md, "DICOMweb").
#include "DicomWeb.hpp"

#include <dcmtk/dcmdata/dctk.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <system_error>

#include "Collect.hpp"
#include "Multipart.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::client::detail {

namespace {

std::string tagText(Tag tag) {
  std::array<char, 9> text{};
  (void)std::snprintf(text.data(), text.size(), "%08X", tag);
  return text.data();
}

bool parseTag(const std::string& text, Tag& tag) {
  if (text.size() != 8) return false;
  Tag value = 0;
  for (const char c : text) {
    const int digit = std::isdigit(static_cast<unsigned char>(c)) != 0 ? c - '0'
                      : (c >= 'A' && c <= 'F')                         ? c - 'A' + 10
                      : (c >= 'a' && c <= 'f')                         ? c - 'a' + 10
                                                                       : -1;
    if (digit < 0) return false;
    value = (value << 4U) | static_cast<Tag>(digit);
  }
  tag = value;
  return true;
}

// One value of the DICOM JSON model as the text C-FIND would have given.
std::string valueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  // (nlohmann counts an unsigned number as an integer too: unsigned first)
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) {
    // the shortest text that reads back as the same number (0.1, not 0.10000000000000001)
    std::array<char, 32> text{};
    const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v.get<double>());
    return ec == std::errc() ? std::string(text.data(), end) : std::string();
  }
  if (v.is_object()) {  // PN: the alphabetic group (ideographic and phonetic are not used here)
    const auto a = v.find("Alphabetic");
    return a != v.end() && a->is_string() ? a->get<std::string>() : std::string();
  }
  return {};
}

// A QIDO-RS match as a C-FIND record: every top-level attribute but sequences and bulk data.
DicomRecord recordOf(const nlohmann::json& match) {
  DicomRecord r;
  for (const auto& [key, attribute] : match.items()) {
    Tag tag = 0;
    if (!parseTag(key, tag) || !attribute.is_object()) continue;
    const auto vr = attribute.value("vr", std::string());
    if (vr == "SQ") continue;
    std::string text;
    const auto values = attribute.find("Value");
    if (values != attribute.end() && values->is_array()) {
      for (std::size_t i = 0; i < values->size(); ++i) {
        if (i > 0) text += '\\';
        text += valueText((*values)[i]);
      }
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
    r.values.emplace_back(tag, std::move(text));
  }
  return r;
}

bool isUidTag(Tag tag) {
  return tag == tags::kStudyInstanceUid || tag == tags::kSeriesInstanceUid || tag == tags::kSopInstanceUid ||
         tag == tags::kSopClassUid;
}

// A value that names one UID (no list, no wildcard): it can go in the path.
bool single(const std::string& uid) {
  return !uid.empty() && uid.find_first_of("\\*?,") == std::string::npos;
}

// Text a server chose (a body, a content type), fit for a one-line message: control characters
// replaced, at most @p max bytes.
std::string printable(std::string_view text, std::size_t max = 200) {
  std::string out(text.substr(0, max));
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = '?';
  }
  if (text.size() > max) out += "...";
  return out;
}

std::string firstLineOf(const std::string& body) {
  return printable(std::string_view(body).substr(0, body.find_first_of("\r\n")));
}

[[noreturn]] void throwStatus(const HttpPeer& web, const std::string& what, const HttpResponse& r,
                              const std::string& hint = {}) {
  const std::string body = firstLineOf(r.body);
  throw Error(ErrorCode::DimseFailure,
              what + " failed (HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body) + ")" + hint,
              web.where());
}

// A matching value in a QIDO-RS query string. Characters that would break the URL (or that a
// server could read as another parameter) are percent-encoded; the rest goes as it is, wildcards
// included. A space goes as the '?' wildcard: Orthanc's DICOMweb plugin (1.7) does not decode
// percent-encoded values before matching ("IODEEP%20MODELS" matches nothing), and '?' matches the
// space on any server; callers that need the exact value check what comes back.
std::string queryValue(std::string_view value) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  static constexpr std::string_view kAsIs = "-_.~*?,^:/'()!$;@";
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ') {
      out += '?';
    } else if ((std::isalnum(u) != 0 && u < 0x80) || kAsIs.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4U];
      out += kHex[u & 0xFU];
    }
  }
  return out;
}

const char* levelPath(QueryLevel level) {
  switch (level) {
    case QueryLevel::Study: return "studies";
    case QueryLevel::Series: return "series";
    case QueryLevel::Image: return "instances";
  }
  return "studies";
}

std::string randomBoundary() {
  std::random_device device;
  std::array<char, 33> text{};
  (void)std::snprintf(text.data(), text.size(), "%08x%08x%08x%08x", device(), device(), device(), device());
  return std::string("iodeep-") + text.data();
}

}  // namespace

void webEcho(const HttpPeer& web) {
  HttpRequest request;
  request.url = web.base() + "/studies?limit=1";
  request.headers = {"Accept: application/dicom+json"};
  request.maxBodyBytes = kMaxQidoBytes;
  const auto r = web.perform(request, "QIDO-RS (echo)");
  if (r.status < 200 || r.status >= 300) throwStatus(web, "QIDO-RS (echo)", r, "; is this a DICOMweb base URL?");
}

FindResult webFind(const HttpPeer& web, const NetworkOptions& options, const Query& query,
                   const std::function<bool(const DicomRecord&)>& onMatch) {
  std::string study, series;
  for (const auto& [tag, value] : query.keys) {
    if (tag == tags::kStudyInstanceUid) study = value;
    if (tag == tags::kSeriesInstanceUid) series = value;
  }
  std::string path;
  bool studyInPath = false, seriesInPath = false;
  if (query.level != QueryLevel::Study && single(study)) {
    path = "/studies/" + HttpPeer::escape(study);
    studyInPath = true;
    if (query.level == QueryLevel::Image && single(series)) {
      path += "/series/" + HttpPeer::escape(series);
      seriesInPath = true;
    }
  }
  path += std::string("/") + levelPath(query.level);
  std::string parameters;
  const auto add = [&](const std::string& p) { parameters += (parameters.empty() ? "?" : "&") + p; };
  for (const auto& [tag, value] : query.keys) {
    if ((tag == tags::kStudyInstanceUid && studyInPath) || (tag == tags::kSeriesInstanceUid && seriesInPath)) continue;
    if (value.empty()) {
      add("includefield=" + tagText(tag));
      continue;
    }
    std::string v = value;
    if (isUidTag(tag)) std::replace(v.begin(), v.end(), '\\', ',');  // UID list matching (PS3.18 8.3.4.1)
    add(tagText(tag) + "=" + queryValue(v));
  }
  add("limit=" + std::to_string(static_cast<std::uint64_t>(options.maxFindResults) + 1));
  const std::string what = std::string("QIDO-RS ") + path;
  HttpRequest request;
  request.url = web.base() + path + parameters;
  request.headers = {"Accept: application/dicom+json"};
  request.maxBodyBytes = kMaxQidoBytes;
  request.totalTimeoutSeconds = options.findDeadlineSeconds;
  const auto r = web.perform(request, what);
  FindResult result;
  if (r.status == 204 || (r.status == 404 && studyInPath)) return result;  // no match (below an unknown study)
  if (r.status < 200 || r.status >= 300) throwStatus(web, what, r);
  if (r.body.empty()) return result;
  const std::string type = mediaType(r.contentType);
  if (type != "application/dicom+json" && type != "application/json") {
    throw Error(ErrorCode::NetworkError,
                what + ": the server answered " + (type.empty() ? std::string("no content type") : printable(type)) +
                    ", not application/dicom+json",
                web.where());
  }
  std::string_view body = r.body;
  std::string cut;
  // a server that ignores `limit` cannot make us build a tree of millions of matches: those beyond
  // the first max_find_results + 1 are never parsed
  if (const auto end = iod::endOfTopLevelElement(body, static_cast<std::size_t>(options.maxFindResults) + 1);
      end != std::string_view::npos) {
    cut = std::string(body.substr(0, end)) + "]";
    body = cut;
  }
  const auto matches = iod::parseJson(body, what, {.maxBytes = kMaxQidoBytes, .maxDepth = 16});
  if (!matches.is_array()) {
    throw Error(ErrorCode::NetworkError, what + ": the answer is not a JSON array of matches", web.where());
  }
  for (const auto& match : matches) {
    if (result.matches >= options.maxFindResults) {
      result.truncated = true;
      iod::warn(what + " stopped after " + std::to_string(result.matches) + " matches (max_find_results) from " +
                web.base() + ": the list is incomplete; narrow the query");
      break;
    }
    if (!match.is_object()) {
      throw Error(ErrorCode::NetworkError, what + ": a match is not a JSON object", web.where());
    }
    ++result.matches;
    if (!onMatch(recordOf(match))) break;
  }
  return result;
}

RetrieveResult webRetrieve(const HttpPeer& web, const NetworkOptions& options, QueryLevel level,
                           const std::string& studyUid, const std::string& seriesUid, const std::string& sopInstanceUid,
                           const std::filesystem::path& directory, const std::vector<std::string>& sopClassUids,
                           const RetrieveProgressHandler& onProgress) {
  for (const auto* uid : {&studyUid, &seriesUid, &sopInstanceUid}) {
    if (!uid->empty() && !single(*uid)) {
      throw Error(ErrorCode::InvalidArgument, "'" + *uid + "' is not one UID", web.where());
    }
  }
  if (studyUid.empty() || (level != QueryLevel::Study && seriesUid.empty()) ||
      (level == QueryLevel::Image && sopInstanceUid.empty())) {
    throw Error(ErrorCode::InvalidArgument, "WADO-RS: a UID the retrieval level needs is empty", web.where());
  }
  std::string path = "/studies/" + HttpPeer::escape(studyUid);
  if (level != QueryLevel::Study) path += "/series/" + HttpPeer::escape(seriesUid);
  if (level == QueryLevel::Image) path += "/instances/" + HttpPeer::escape(sopInstanceUid);
  const std::string what = "WADO-RS " + path;
  const Wanted wanted{level, studyUid, level == QueryLevel::Study ? std::string() : seriesUid,
                      level == QueryLevel::Image ? sopInstanceUid : std::string(), sopClassUids};
  RetrieveResult result;
  if (onProgress && !onProgress(RetrieveProgress{})) {
    throw Error(ErrorCode::Cancelled, "the retrieval was cancelled before it began", web.where());
  }
  // As stored (transfer-syntax=*): the client decodes the syntaxes it reads and refuses the others
  // with a clear error; a server that cannot send as stored (406) is asked for its default.
  for (const bool asStored : {true, false}) {
    const iod::TemporaryDirectory incoming(directory, ".receiving-");
    std::unique_ptr<MultipartWriter> writer;
    std::string streamError;
    bool cancelled = false;
    HttpRequest request;
    request.url = web.base() + path;
    request.headers = {std::string("Accept: multipart/related; type=\"application/dicom\"") +
                       (asStored ? "; transfer-syntax=*" : "")};
    request.maxBodyBytes = options.web.maxRetrieveBytes;
    request.sink = [&](std::string_view data, const std::string& contentType) {
      if (!writer) {
        const std::string type = mediaType(contentType);
        const std::string boundary = headerParameter(contentType, "boundary");
        if (type != "multipart/related" || boundary.empty()) {
          streamError = what + ": the server answered " +
                        (type.empty() ? std::string("no content type") : printable(type)) +
                        ", not multipart/related with a boundary";
          return false;
        }
        // one instance asked for: a few parts at most; a series or study: a bound all the same
        writer = std::make_unique<MultipartWriter>(incoming.path(), boundary,
                                                   level == QueryLevel::Image ? kMaxPartsForOne : kMaxParts);
      }
      const std::size_t before = writer->parts().size();
      if (!writer->feed(data)) {
        streamError = what + ": " + writer->error();
        return false;
      }
      if (onProgress && writer->parts().size() > before &&
          !onProgress(RetrieveProgress{static_cast<std::uint32_t>(writer->parts().size()), 0, 0})) {
        cancelled = true;
        return false;
      }
      return true;
    };
    const auto r = web.perform(request, what);
    if (r.status == 406 && asStored) continue;
    if (r.status == 404) throwStatus(web, what, r, ": not on the server");
    if (r.status < 200 || r.status >= 300) throwStatus(web, what, r);
    if (!streamError.empty()) throw Error(ErrorCode::NetworkError, streamError, web.where());
    if (!writer) throw Error(ErrorCode::NetworkError, what + ": an empty answer", web.where());
    // parts that are not DICOM instances are not what was asked for
    const auto sortOut = [&] {
      for (const auto& part : writer->parts()) {
        const std::string type = mediaType(part.contentType);
        if (type != "application/dicom") {
          std::error_code ec;
          std::filesystem::remove(part.file, ec);
          ++result.discarded;
          reportDiscarded(
              web.base(), {},
              "a part of type " + (type.empty() ? std::string("(none)") : type) + ", not application/dicom");
        }
      }
    };
    if (cancelled) {
      // the part being received is incomplete: only the complete ones are collected
      for (const auto& entry : std::filesystem::directory_iterator(incoming.path())) {
        const bool complete = std::any_of(writer->parts().begin(), writer->parts().end(),
                                          [&](const MultipartWriter::Part& p) { return p.file == entry.path(); });
        if (!complete) std::filesystem::remove(entry.path());
      }
      sortOut();
      collect(incoming.path(), directory, wanted, web.base(), result);
      throw Error(ErrorCode::Cancelled,
                  what + " cancelled after " + std::to_string(result.files.size()) + " instance(s)", web.where());
    }
    if (!writer->finish()) throw Error(ErrorCode::NetworkError, what + ": " + writer->error(), web.where());
    sortOut();
    collect(incoming.path(), directory, wanted, web.base(), result);
    result.completed = static_cast<std::uint32_t>(result.files.size());
    if (result.files.empty()) {
      throw Error(ErrorCode::DimseFailure,
                  what + ": no instance received" +
                      (result.discarded > 0
                           ? ", " + std::to_string(result.discarded) + " discarded: nothing that was asked for arrived"
                           : std::string()),
                  web.where());
    }
    return result;
  }
  throw Error(ErrorCode::DimseFailure, what + ": the server sends no DICOM instances (HTTP 406)", web.where());
}

namespace {

// The stored, warned or failed state of @p sop in a STOW-RS answer.
struct StowAnswer {
  bool stored{false}, failed{false};
  std::uint16_t status{0};
};

StowAnswer stowAnswerFor(const nlohmann::json& answer, const std::string& sop) {
  StowAnswer a;
  const auto items = [&](const char* sequence) -> const nlohmann::json* {
    const auto s = answer.find(sequence);
    if (s == answer.end() || !s->is_object()) return nullptr;
    const auto v = s->find("Value");
    return v != s->end() && v->is_array() ? &*v : nullptr;
  };
  const auto text = [](const nlohmann::json& item, const char* tag) {
    const auto e = item.find(tag);
    if (e == item.end() || !e->is_object()) return std::string();
    const auto v = e->find("Value");
    return v != e->end() && v->is_array() && !v->empty() ? valueText(v->front()) : std::string();
  };
  const auto number = [&](const nlohmann::json& item, const char* tag) -> std::uint16_t {
    const std::string t = text(item, tag);
    try {
      return t.empty() ? 0 : static_cast<std::uint16_t>(std::stoul(t));
    } catch (const std::exception&) {
      return 0xFFFF;
    }
  };
  if (const auto* referenced = items("00081199")) {
    for (const auto& item : *referenced) {
      if (item.is_object() && text(item, "00081155") == sop) {
        a.stored = true;
        a.status = number(item, "00081196");  // WarningReason
      }
    }
  }
  if (const auto* failed = items("00081198")) {
    for (const auto& item : *failed) {
      if (item.is_object() && text(item, "00081155") == sop) {
        a.failed = true;
        a.status = number(item, "00081197");  // FailureReason
      }
    }
  }
  return a;
}

std::string hex(std::uint16_t status) {
  std::array<char, 8> text{};
  (void)std::snprintf(text.data(), text.size(), "0x%04X", status);
  return text.data();
}

}  // namespace

std::vector<StoreOutcome> webStore(const HttpPeer& web, const std::vector<std::filesystem::path>& files) {
  struct Item {
    std::filesystem::path path;
    std::string sopInstance;
    std::uint64_t size{0};
  };
  std::vector<Item> items;
  for (const auto& f : files) {
    auto file = iod::dcmtk::loadFile(f, 4096);
    Item it{f, iod::dcmtk::getString(*file->getDataset(), DCM_SOPInstanceUID), 0};
    if (iod::dcmtk::getString(*file->getDataset(), DCM_SOPClassUID).empty() || it.sopInstance.empty()) {
      throw Error(ErrorCode::NotDicom, "no SOP Class or SOP Instance UID", ErrorContext{.file = f.string()});
    }
    it.size = std::filesystem::file_size(f);
    items.push_back(std::move(it));
  }
  std::vector<StoreOutcome> out;
  for (const auto& it : items) {
    const std::string boundary = randomBoundary();
    const std::string head = "--" + boundary + "\r\nContent-Type: application/dicom\r\n\r\n";
    const std::string tail = "\r\n--" + boundary + "--\r\n";
    std::ifstream in(it.path, std::ios::binary);
    if (!in) throw Error(ErrorCode::FileNotFound, "cannot be read", ErrorContext{.file = it.path.string()});
    std::uint64_t sent = 0;
    const std::uint64_t total = head.size() + it.size + tail.size();
    HttpRequest request;
    request.method = "POST";
    request.url = web.base() + "/studies";
    request.headers = {"Content-Type: multipart/related; type=\"application/dicom\"; boundary=" + boundary,
                       "Accept: application/dicom+json"};
    request.bodySize = total;
    request.maxBodyBytes = kMaxStowAnswerBytes;
    request.rewind = [&] {
      sent = 0;
      in.clear();
      in.seekg(0);
      return static_cast<bool>(in);
    };
    request.body = [&](char* buffer, std::size_t size) -> std::size_t {
      std::size_t n = 0;
      while (n < size && sent < total) {
        if (sent < head.size()) {
          const std::size_t k = std::min<std::size_t>(size - n, head.size() - sent);
          std::copy_n(head.data() + sent, k, buffer + n);
          n += k;
          sent += k;
        } else if (sent < head.size() + it.size) {
          const std::size_t k = std::min<std::uint64_t>(size - n, head.size() + it.size - sent);
          in.read(buffer + n, static_cast<std::streamsize>(k));
          if (static_cast<std::size_t>(in.gcount()) != k) {
            throw Error(ErrorCode::IoError, "the file changed while it was being stored",
                        ErrorContext{.file = it.path.string()});
          }
          n += k;
          sent += k;
        } else {
          const std::size_t offset = sent - head.size() - it.size;
          const std::size_t k = std::min<std::size_t>(size - n, tail.size() - offset);
          std::copy_n(tail.data() + offset, k, buffer + n);
          n += k;
          sent += k;
        }
      }
      return n;
    };
    const std::string what = "STOW-RS of " + it.path.string();
    const auto r = web.perform(request, what);
    ErrorContext where = web.where();
    where.file = it.path.string();
    where.uid = it.sopInstance;
    StowAnswer answer;
    if (!r.body.empty() &&
        (mediaType(r.contentType) == "application/dicom+json" || mediaType(r.contentType) == "application/json")) {
      try {
        const auto json = iod::parseJson(r.body, what, {.maxBytes = kMaxStowAnswerBytes, .maxDepth = 16});
        if (json.is_object()) answer = stowAnswerFor(json, it.sopInstance);
      } catch (const Error&) {
        // judged on the status alone below
      }
    }
    if (answer.failed || r.status == 409 || (r.status >= 400 && !answer.stored)) {
      if (answer.failed) where.dimseStatus = hex(answer.status);
      throw Error(ErrorCode::DimseFailure,
                  "the PACS refused to store the instance (HTTP " + std::to_string(r.status) + ")", where);
    }
    if (!answer.stored) {
      throw Error(
          ErrorCode::DimseFailure,
          "the DICOMweb server's answer (HTTP " + std::to_string(r.status) + ") does not name the instance as stored",
          where);
    }
    const bool warning = answer.status != 0 || r.status == 202;
    out.push_back({it.path, it.sopInstance, answer.status, warning});
  }
  return out;
}

}  // namespace iodeep::client::detail
