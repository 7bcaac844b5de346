#pragma once
// HTTP for the DICOMweb transport (docs/pacs-workflow.md, "DICOMweb"), through libcurl: one easy
// handle per thread, reset between requests, so that the connections (and TLS sessions) it keeps
// are reused by the next request of that thread. Private to the network module: curl stays here.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

/// What the body of a 2xx response is given to, chunk by chunk, with the response's Content-Type.
/// Returns false to stop the transfer (the sink says why through its own state).
using BodySink = std::function<bool(std::string_view data, const std::string& contentType)>;

/// The body of a POST, produced chunk by chunk: fills up to @p size bytes of @p buffer and returns
/// how many (0 at the end).
using BodySource = std::function<std::size_t(char* buffer, std::size_t size)>;

struct HttpRequest {
  std::string method{"GET"};  ///< GET or POST
  std::string url;
  std::vector<std::string> headers;  ///< "Name: value"
  BodySource body;                   ///< POST only
  std::uint64_t bodySize{0};
  /// Back to the body's start (curl resends it on a fresh connection when a reused one died);
  /// false when it cannot.
  std::function<bool()> rewind;
  /// Longest the whole exchange may take (0: no limit, only the stall timeout).
  std::uint32_t totalTimeoutSeconds{0};
  /// Most response-body bytes accepted; more: Error(NetworkError) naming the cap.
  std::uint64_t maxBodyBytes{0};
  /// Receives the body of a 2xx response as it arrives; empty: the body is kept in HttpResponse.
  BodySink sink;
};

struct HttpResponse {
  long status{0};
  std::string contentType;
  std::string body;  ///< the body when no sink took it (and the start of an error response's body)
  std::uint64_t bytes{0};
  bool stopped{false};  ///< the sink stopped the transfer (its state says why)
};

/// The DICOMweb server of NetworkOptions::pacs (its url), with the options' authentication, TLS
/// trust and timeouts. Shared by the copies of a Pacs; each request runs on the calling thread's
/// handle.
class HttpPeer {
 public:
  /// Reads the trusted certificates (Error(FileNotFound) naming one that cannot be read).
  explicit HttpPeer(const NetworkOptions& options);

  /// Performs @p request. Throws PacsUnreachable (no connection), TlsFailure (handshake, peer
  /// certificate), NetworkError (timeout, lost connection, a body over the cap, a sink that
  /// stopped: its message is the caller's), AssociationRejected (HTTP 401 or 403); any other
  /// status is returned for the caller to judge.
  HttpResponse perform(const HttpRequest& request, const std::string& what) const;

  /// The base URL without a trailing '/'.
  [[nodiscard]] const std::string& base() const noexcept { return base_; }
  [[nodiscard]] ErrorContext where() const { return {.peer = base_}; }
  /// @p text percent-encoded for a URL's query or path.
  [[nodiscard]] static std::string escape(std::string_view text);

 private:
  const NetworkOptions options_;
  std::string base_;
  std::string trustedPem_;  ///< the trusted certificates, concatenated (empty: the system's)
};

/// The parameter @p name of a header value such as `multipart/related; type="application/dicom";
/// boundary=abc` (quotes removed; case-insensitive name), empty when absent.
[[nodiscard]] std::string headerParameter(std::string_view value, std::string_view name);
/// The media type of a Content-Type value, lower case, without parameters.
[[nodiscard]] std::string mediaType(std::string_view value);

}  // namespace iodeep::client::detail
