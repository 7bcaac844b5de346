// The service's request handling before any workflow runs: the bytes as an HTTP/1.1 request
// through Beast's parser with the service's limits, then as the body of each route (select,
// predict by reference and by value, structure sets) and as a predict answer (the client's side).
// Any input must end in a parsed request or a RequestError: never a crash, a hang, a sanitizer
// report or an allocation proportional to what the request claims.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../../client/service/src/Requests.hpp"

namespace http = boost::beast::http;
using iodeep::service::detail::RequestError;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  iodeep::service::detail::Request request;
  {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1U << 20U);
    parser.header_limit(64U * 1024U);
    parser.eager(true);
    boost::beast::error_code ec;
    (void)parser.put(boost::asio::buffer(bytes), ec);
    if (!ec && parser.is_done()) {
      auto m = parser.release();
      request.method = std::string(m.method_string());
      request.path = std::string(m.target());
      request.contentType = std::string(m[http::field::content_type]);
      request.body = std::move(m.body());
    }
  }
  const auto attempt = [](auto&& f) {
    try {
      f();
    } catch (const RequestError&) {
    }
  };
  attempt([&] { (void)iodeep::service::detail::parseSelectRequest(bytes); });
  attempt([&] { (void)iodeep::service::detail::parseReviewRequest(bytes); });
  attempt([&] { (void)iodeep::service::detail::proposalsOf(bytes); });
  attempt([&] { (void)iodeep::service::detail::parsePredictRequest(request); });
  iodeep::service::detail::Request byValue;
  byValue.contentType = "application/dicom";
  byValue.query = bytes.substr(0, 256);
  byValue.body = "x";
  attempt([&] { (void)iodeep::service::detail::parsePredictRequest(byValue); });
  iodeep::service::detail::Request byReference;
  byReference.contentType = "application/json; charset=utf-8";
  byReference.body = bytes;
  attempt([&] { (void)iodeep::service::detail::parsePredictRequest(byReference); });
  attempt([&] {
    const auto review = iodeep::service::detail::parseReviewRequest(bytes);
    iodeep::service::detail::checkProposals(review.proposals, 512, 512);
  });
  return 0;
}
