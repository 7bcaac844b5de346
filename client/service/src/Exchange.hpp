#pragma once
// One request and its answer, between the HTTP layer (Server.cpp) and the routes (Api.cpp): plain
// types, no Beast. answer() may be called from any thread; only the first call is sent (a
// deadline that fires and a job that ends race for it).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace iodeep::service::detail {

using Clock = std::chrono::steady_clock;

struct Request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< without the query string
  std::string query;   ///< after '?', undecoded
  std::string contentType, idempotencyKey;
  std::string body;
  std::string identity;  ///< who called (token or certificate), empty when anonymous
  std::string requestId;
  Clock::time_point received{}, deadline{};
};

struct Response {
  unsigned status{200};
  std::string contentType{"application/json"};
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// An RFC 9457 problem (application/problem+json): its title is the status's meaning, @p text
/// (its detail) what went wrong; @p field names the request field at fault ("" when none), @p code our error
/// code (docs/service.md).
[[nodiscard]] Response problem(unsigned status, const std::string& text, const std::string& field = {},
                               const std::string& code = {});

class Exchange {
 public:
  Exchange(Request request, std::function<void(Response)> send)
      : request_(std::move(request)), send_(std::move(send)) {}
  [[nodiscard]] const Request& request() const noexcept { return request_; }
  /// Sends @p response unless an answer went already; true when this one was sent.
  bool answer(Response response) {
    if (answered_.exchange(true)) return false;
    send_(std::move(response));
    return true;
  }
  [[nodiscard]] bool answered() const noexcept { return answered_.load(); }
  std::string route{"other"};  ///< the metrics' route label, set by the router

 private:
  Request request_;
  std::function<void(Response)> send_;
  std::atomic<bool> answered_{false};
};

}  // namespace iodeep::service::detail
