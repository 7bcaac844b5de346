// HTTP through libcurl for the DICOMweb transport: one handle per thread, the trust, timeouts,
// caps and authentication of NetworkOptions, curl's failures as iodeep errors.
#include "Http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

namespace iodeep::client::detail {

namespace {

std::once_flag curlInitialised;

struct HandleDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};

// This thread's handle, reset: its connection cache (and TLS sessions) survive the reset.
CURL* threadHandle() {
  std::call_once(curlInitialised, [] { (void)curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, HandleDeleter> handle;
  if (handle) {
    curl_easy_reset(handle.get());
  } else {
    handle.reset(curl_easy_init());
    if (!handle) throw Error(ErrorCode::Internal, "libcurl could not make a handle");
  }
  return handle.get();
}

struct HeaderList {
  curl_slist* list{nullptr};
  HeaderList() = default;
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  HeaderList(HeaderList&&) = delete;
  HeaderList& operator=(HeaderList&&) = delete;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& header) {
    curl_slist* next = curl_slist_append(list, header.c_str());
    if (next == nullptr) throw Error(ErrorCode::Internal, "libcurl could not hold a header");
    list = next;
  }
};

// Kept of an error response's body: enough for its message.
constexpr std::size_t kErrorBodyKept = 4096;

struct Transfer {
  const HttpRequest* request{nullptr};
  CURL* handle{nullptr};
  HttpResponse* response{nullptr};
  bool started{false};
  bool toSink{false};
  bool capExceeded{false};
  std::exception_ptr failure;  // thrown by a sink or a source: rethrown after curl returns
};

void noteStatus(Transfer& t) {
  if (t.started) return;
  t.started = true;
  long code = 0;
  (void)curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &code);
  t.response->status = code;
  char* type = nullptr;
  if (curl_easy_getinfo(t.handle, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    t.response->contentType = type;
  }
  t.toSink = t.request->sink && code >= 200 && code < 300;
}

std::size_t onWrite(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  try {
    noteStatus(t);
    t.response->bytes += n;
    if (t.request->maxBodyBytes != 0 && t.response->bytes > t.request->maxBodyBytes) {
      t.capExceeded = true;
      return 0;
    }
    if (t.toSink) {
      if (!t.request->sink(std::string_view(data, n), t.response->contentType)) {
        t.response->stopped = true;
        return 0;
      }
      return n;
    }
    const bool success = t.response->status >= 200 && t.response->status < 300;
    if (success) {
      t.response->body.append(data, n);
    } else if (t.response->body.size() < kErrorBodyKept) {
      t.response->body.append(data, std::min(n, kErrorBodyKept - t.response->body.size()));
    }
    return n;
  } catch (...) {
    t.failure = std::current_exception();
    return 0;
  }
}

std::size_t onRead(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  try {
    return t.request->body(buffer, size * count);
  } catch (...) {
    t.failure = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

int onSeek(void* user, curl_off_t offset, int origin) {
  auto& t = *static_cast<Transfer*>(user);
  try {
    if (offset == 0 && origin == SEEK_SET && t.request->rewind && t.request->rewind()) return CURL_SEEKFUNC_OK;
  } catch (...) {
    t.failure = std::current_exception();
    return CURL_SEEKFUNC_FAIL;
  }
  return CURL_SEEKFUNC_CANTSEEK;
}

bool isTlsFailure(CURLcode rc) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED: return true;
    default: return false;
  }
}

std::string readTrusted(const std::vector<std::filesystem::path>& paths) {
  std::string pem;
  const auto add = [&](const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::FileNotFound, "trusted certificates cannot be read", {.file = file.string()});
    std::ostringstream text;
    text << in.rdbuf();
    pem += text.str();
    pem += "\n";
  };
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(p, ec)) {
        const auto ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".cer")) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f);
    } else {
      add(p);
    }
  }
  return pem;
}

}  // namespace

HttpPeer::HttpPeer(const NetworkOptions& options) : options_(options), base_(options.pacs.url) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  if (base_.rfind("https://", 0) == 0) trustedPem_ = readTrusted(options_.tls.trustedCertificates);
}

HttpResponse HttpPeer::perform(const HttpRequest& request, const std::string& what) const {
  CURL* h = threadHandle();
  HttpResponse response;
  Transfer t;
  t.request = &request;
  t.handle = h;
  t.response = &response;
  std::array<char, CURL_ERROR_SIZE> error{};
  HeaderList headers;
  for (const auto& header : request.headers) headers.add(header);
  headers.add("Expect:");  // no 100-continue round trip before a POST body
  const auto set = [&](CURLoption option, auto value) {
    if (curl_easy_setopt(h, option, value) != CURLE_OK) {
      throw Error(ErrorCode::Internal, "libcurl refused option " + std::to_string(option), where());
    }
  };
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_ERRORBUFFER, error.data());
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_USERAGENT, "iodeep");
  set(CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connectTimeoutSeconds));
  // a peer that moves less than 1 KiB/s for dimse_timeout seconds is given up: one that sends
  // nothing (as on a DICOM association) or dribbles a body byte by byte to hold us
  set(CURLOPT_LOW_SPEED_LIMIT, 1024L);
  set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.dimseTimeoutSeconds));
  if (request.totalTimeoutSeconds != 0) set(CURLOPT_TIMEOUT, static_cast<long>(request.totalTimeoutSeconds));
  set(CURLOPT_WRITEFUNCTION, &onWrite);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_HTTPHEADER, headers.list);
  if (request.method == "POST") {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_READFUNCTION, &onRead);
    set(CURLOPT_READDATA, static_cast<void*>(&t));
    set(CURLOPT_SEEKFUNCTION, &onSeek);
    set(CURLOPT_SEEKDATA, static_cast<void*>(&t));
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.bodySize));
  }
  const auto& web = options_.web;
  if (!web.bearerToken.empty()) {
    set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
    set(CURLOPT_XOAUTH2_BEARER, web.bearerToken.c_str());
  } else if (!web.user.empty()) {
    set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    set(CURLOPT_USERNAME, web.user.c_str());
    set(CURLOPT_PASSWORD, web.password.c_str());
  }
  const auto& tls = options_.tls;
  if (base_.rfind("https://", 0) == 0) {
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!trustedPem_.empty()) {
      curl_blob blob{const_cast<char*>(trustedPem_.data()), trustedPem_.size(),  // NOLINT: curl copies it
                     CURL_BLOB_COPY};
      set(CURLOPT_CAINFO_BLOB, &blob);
      // the trusted certificates alone: not also the system's directory of CAs (Debian's curl
      // is built with a CA path, which a CA blob does not replace)
      set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    }
    set(CURLOPT_SSL_VERIFYPEER, tls.verifyPeer ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, tls.verifyPeer ? 2L : 0L);
    if (!tls.certificate.empty()) {
      set(CURLOPT_SSLCERT, tls.certificate.c_str());
      if (!tls.privateKey.empty()) set(CURLOPT_SSLKEY, tls.privateKey.c_str());
      if (!tls.privateKeyPassphrase.empty()) set(CURLOPT_KEYPASSWD, tls.privateKeyPassphrase.c_str());
    }
  }

  const CURLcode rc = curl_easy_perform(h);
  if (t.failure) std::rethrow_exception(t.failure);
  const bool answered = t.started;  // some of the body arrived
  noteStatus(t);
  const std::string detail = error[0] != '\0' ? std::string(error.data()) : std::string(curl_easy_strerror(rc));
  if (t.capExceeded) {
    throw Error(ErrorCode::NetworkError,
                what + ": the response is larger than " + std::to_string(request.maxBodyBytes) +
                    " bytes; the transfer was stopped",
                where());
  }
  if (response.stopped) return response;
  if (rc != CURLE_OK) {
    // connected: the request went out (its size is known only once it was sent)
    long requestBytes = 0;
    (void)curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &requestBytes);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        (rc == CURLE_OPERATION_TIMEDOUT && requestBytes == 0 && !answered)) {
      throw Error(ErrorCode::PacsUnreachable, what + ": no connection to the DICOMweb server (" + detail + ")",
                  where());
    }
    if (isTlsFailure(rc)) {
      throw Error(ErrorCode::TlsFailure, what + ": TLS with the DICOMweb server failed (" + detail + ")", where());
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      throw Error(ErrorCode::NetworkError, what + ": the DICOMweb server took too long (" + detail + ")", where());
    }
    throw Error(ErrorCode::NetworkError, what + ": the exchange with the DICOMweb server failed (" + detail + ")",
                where());
  }
  if (response.status == 401) {
    const bool credentials = !web.user.empty() || !web.bearerToken.empty();
    throw Error(ErrorCode::AssociationRejected,
                what + (credentials ? ": the DICOMweb server refused our credentials (HTTP 401)"
                                    : ": the DICOMweb server wants credentials (HTTP 401): give \"dicomweb\" a user "
                                      "and password_file, or a token_file, in the configuration"),
                where());
  }
  if (response.status == 403) {
    throw Error(ErrorCode::AssociationRejected, what + ": the DICOMweb server forbids it (HTTP 403)", where());
  }
  if (response.status >= 300 && response.status < 400) {
    char* location = nullptr;
    (void)curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
    throw Error(ErrorCode::NetworkError,
                what + ": the DICOMweb server redirects (HTTP " + std::to_string(response.status) + ")" +
                    (location != nullptr ? std::string(" to ") + location : std::string()) +
                    "; configure the address it redirects to",
                where());
  }
  return response;
}

std::string HttpPeer::escape(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '*' || c == '?') {
      out += c;  // '*' and '?' are the matching wildcards (PS3.18 8.3.4.1)
    } else {
      out += '%';
      out += kHex[u >> 4U];
      out += kHex[u & 0xFU];
    }
  }
  return out;
}

std::string mediaType(std::string_view value) {
  auto end = value.find(';');
  std::string type(value.substr(0, end));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())) != 0) type.pop_back();
  std::size_t start = 0;
  while (start < type.size() && std::isspace(static_cast<unsigned char>(type[start])) != 0) ++start;
  type.erase(0, start);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

std::string headerParameter(std::string_view value, std::string_view name) {
  std::size_t pos = value.find(';');
  while (pos != std::string_view::npos) {
    ++pos;
    while (pos < value.size() && std::isspace(static_cast<unsigned char>(value[pos])) != 0) ++pos;
    const auto eq = value.find('=', pos);
    if (eq == std::string_view::npos) return {};
    std::string key(value.substr(pos, eq - pos));
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back())) != 0) key.pop_back();
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t v = eq + 1;
    std::string result;
    std::size_t next = 0;
    if (v < value.size() && value[v] == '"') {
      const auto close = value.find('"', v + 1);
      if (close == std::string_view::npos) return {};
      result = std::string(value.substr(v + 1, close - v - 1));
      next = value.find(';', close);
    } else {
      next = value.find(';', v);
      result = std::string(value.substr(v, next == std::string_view::npos ? std::string_view::npos : next - v));
      while (!result.empty() && std::isspace(static_cast<unsigned char>(result.back())) != 0) result.pop_back();
    }
    if (key == name) return result;
    pos = next;
  }
  return {};
}

}  // namespace iodeep::client::detail
