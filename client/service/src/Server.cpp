// The HTTP layer: Boost.Beast sessions over TCP or TLS, on a fixed pool of I/O threads. It reads
// one request at a time per connection (keep-alive), enforces the body limit (413), the idle
// timeout and the request's deadline (504), authenticates, and hands the request to the routes
// (Api.cpp) as plain types. Shutdown: stop() or SIGTERM starts the drain; once nothing is in
// flight the acceptor closes and the I/O threads end.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <csignal>
#include <functional>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "Api.hpp"
#include "Auth.hpp"
#include "Exchange.hpp"
#include "Metrics.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/service/Service.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::service {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using detail::Clock;

namespace detail {

Response problem(unsigned status, const std::string& text, const std::string& field, const std::string& code) {
  nlohmann::json j = {{"type", "about:blank"},
                      {"title", std::string(http::obsolete_reason(static_cast<http::status>(status)))},
                      {"status", status},
                      {"detail", text}};
  if (!field.empty()) j["field"] = field;
  if (!code.empty()) j["code"] = code;
  Response r;
  r.status = status;
  r.contentType = "application/problem+json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace detail

namespace {

std::string newRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::ostringstream o;
  o << std::hex << random();
  return o.str();
}

bool loopback(const std::string& host) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// The CN of the client certificate the handshake verified, or empty.
std::string certificateIdentity(SSL* ssl) {
  if (ssl == nullptr) return {};
  X509* cert = SSL_get_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    std::array<char, 256> buf{};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf.data(),
                                  static_cast<int>(buf.size())) > 0) {
      cn = std::string("cert:") + buf.data();
    }
  }
  X509_free(cert);
  return cn;
}

}  // namespace

struct Service::Impl {
  explicit Impl(ServiceConfig c);

  ServiceConfig config;
  client::Workstation ws;
  detail::Metrics metrics;
  detail::Tokens tokens;
  std::optional<ssl::context> tls;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::unique_ptr<detail::Api> api;
  std::atomic<bool> stopping{false};
  std::optional<net::steady_timer> drainTimer;
  Clock::time_point drainStarted{};

  void accept();
  void beginDrain();
  void pollDrain();
  /// Authenticates @p r (bearer token or certificate identity); empty when it may go on.
  [[nodiscard]] std::optional<detail::Response> authenticate(detail::Request& r, const std::string& certIdentity,
                                                             const std::string& authorization) const;
  [[nodiscard]] bool authRequired() const { return !config.service.allowAnonymous; }
};

namespace {

// One connection. Stream: beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Service::Impl& service, Stream stream) : service_(service), stream_(std::move(stream)) {}

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->read(); });
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return;  // a failed handshake: nothing to answer
        self->certIdentity_ = certificateIdentity(self->stream_.native_handle());
        self->read();
      });
    }
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(service_.config.service.maxBodyBytes);
    parser_->header_limit(64U * 1024U);
    beast::get_lowest_layer(stream_).expires_after(service_.config.service.idleTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  // The header alone: who calls is known before any body is read (an unauthenticated caller
  // cannot make us buffer one).
  void onHeader(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted || ec == beast::error::timeout) {
      return close();
    }
    if (ec == http::error::body_limit) return refuseBodyTooLarge();  // its Content-Length says so
    if (ec) {
      if (buffer_.size() > 0) return respondAndClose(detail::problem(400, "not an HTTP/1.1 request: " + ec.message()));
      return close();
    }
    const auto& message = parser_->get();
    keepAlive_ = message.keep_alive();
    detail::Request& r = pending_;
    r = detail::Request{};
    r.method = std::string(message.method_string());
    const std::string target(message.target());
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? std::string() : target.substr(q + 1);
    r.contentType = std::string(message[http::field::content_type]);
    r.idempotencyKey = std::string(message["Idempotency-Key"]);
    r.requestId = std::string(message["X-Request-Id"]).substr(0, 64);
    if (r.requestId.empty()) r.requestId = newRequestId();
    r.received = Clock::now();
    r.deadline = r.received + service_.config.service.deadline;
    const bool probe = r.path == "/livez" || r.path == "/readyz" || r.path == "/metrics";
    if (!probe) {
      if (auto refused = service_.authenticate(r, certIdentity_, std::string(message[http::field::authorization]))) {
        return respondAndClose(std::move(*refused));  // the body, if any, is not read
      }
    }
    beast::get_lowest_layer(stream_).expires_after(service_.config.service.idleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code bec, std::size_t) { self->onBody(bec); });
  }

  void onBody(beast::error_code ec) {
    if (ec == http::error::body_limit) return refuseBodyTooLarge();
    if (ec == net::error::operation_aborted || ec == beast::error::timeout) return close();
    if (ec) return respondAndClose(detail::problem(400, "not an HTTP/1.1 request: " + ec.message()));
    beast::get_lowest_layer(stream_).expires_never();
    detail::Request r = std::move(pending_);
    r.body = std::move(parser_->release().body());
    ++service_.metrics.inFlight;
    const auto deadline = r.deadline;
    auto self = this->shared_from_this();
    auto exchange = std::make_shared<detail::Exchange>(std::move(r), [self](detail::Response response) {
      net::dispatch(self->stream_.get_executor(),
                    [self, response = std::move(response)]() mutable { self->answered(std::move(response)); });
    });
    exchange_ = exchange;
    timer_.emplace(stream_.get_executor());
    timer_->expires_at(deadline);
    timer_->async_wait([weak = std::weak_ptr(exchange), this, self](beast::error_code tec) {
      if (tec) return;
      if (auto ex = weak.lock()) {
        ++service_.metrics.deadlineExceeded;
        ex->answer(detail::problem(504, "no answer within the deadline (" +
                                            std::to_string(service_.config.service.deadline.count()) + " ms)"));
      }
    });
    service_.api->handle(exchange);
  }

  void answered(detail::Response response) {
    if (timer_) timer_->cancel();
    auto ex = std::move(exchange_);
    finish(std::move(response), ex ? ex->route : "other", ex ? ex->request() : detail::Request{});
  }

  void finish(detail::Response response, const std::string& route, const detail::Request& r) {
    const double seconds = std::chrono::duration<double>(Clock::now() - r.received).count();
    service_.metrics.observe(route, static_cast<int>(response.status), seconds);
    --service_.metrics.inFlight;
    if (route != "/livez" && route != "/readyz" && route != "/metrics") {
      std::clog << "iodeep serve: " << r.requestId << ' ' << (r.identity.empty() ? "-" : r.identity) << ' ' << r.method
                << ' ' << r.path << ' ' << response.status << ' ' << std::llround(seconds * 1000) << " ms\n";
    }
    bool close = !keepAlive_ || service_.api->draining();
    for (const auto& [k, v] : response.headers) close = close || (k == "Connection" && v == "close");
    send(std::move(response), r.requestId, close);
  }

  void refuseBodyTooLarge() {
    if (pending_.requestId.empty()) pending_.requestId = std::string(parser_->get()["X-Request-Id"]).substr(0, 64);
    respondAndClose(detail::problem(413,
                                    "the body is larger than the service takes (" +
                                        std::to_string(service_.config.service.maxBodyBytes >> 20U) + " MiB)",
                                    "body"));
  }

  // An answer before the request was read whole (refused caller, body too large, malformed): the
  // connection closes after it; what is known of the request (its id) goes with it.
  void respondAndClose(detail::Response response) {
    response.headers.emplace_back("Connection", "close");
    keepAlive_ = false;
    ++service_.metrics.inFlight;
    detail::Request r = std::move(pending_);
    if (r.received == Clock::time_point{}) r.received = Clock::now();
    finish(std::move(response), "other", r);
  }

  void send(detail::Response response, const std::string& requestId, bool close) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "iodeep");
    res->set(http::field::content_type, response.contentType);
    res->set(http::field::cache_control, "no-store");
    if (!requestId.empty()) res->set("X-Request-Id", requestId);
    for (const auto& [k, v] : response.headers) {
      if (k != "Connection") res->set(k, v);
    }
    if (response.status == 401) res->set(http::field::www_authenticate, "Bearer realm=\"iodeep\"");
    res->body() = std::move(response.body);
    res->keep_alive(!close);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res, close](beast::error_code ec, std::size_t) {
      if (ec || close) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      (void)stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      // A lingering close: what the peer still sends (the rest of a refused body) is read and
      // dropped, for at most 2 s, so that closing does not reset the connection before the peer
      // has read our answer.
      stream_.expires_after(std::chrono::seconds(2));
      discard();
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    }
  }

  void discard() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.async_read_some(net::buffer(sink_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
        if (!ec) self->discard();
      });
    }
  }

  Service::Impl& service_;
  Stream stream_;
  std::array<char, 16384> sink_{};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<net::steady_timer> timer_;
  std::shared_ptr<detail::Exchange> exchange_;
  detail::Request pending_;  // the request whose header was read, until its body is
  std::string certIdentity_;
  bool keepAlive_{true};
};

}  // namespace

namespace {
// A long-running service keeps what discovery learnt for as long as its own network list
// (unless the configuration says otherwise): a selection then sends one C-FIND, to confirm.
ServiceConfig withDiscoveryAge(ServiceConfig c) {
  if (c.client.discoveryMaxAgeSeconds == 0) {
    c.client.discoveryMaxAgeSeconds = static_cast<std::uint32_t>(c.service.networksTtl.count());
  }
  return c;
}
}  // namespace

Service::Impl::Impl(ServiceConfig c) : config(withDiscoveryAge(std::move(c))), ws(config.client), acceptor(ioc) {
  auto& s = config.service;
  if (s.workDir.empty()) {
    throw Error(ErrorCode::InvalidArgument, "the service needs a working directory (service.work_dir or --work-dir)");
  }
  iod::createPrivateDirectory(s.workDir);
  iod::createPrivateDirectory(s.workDir / "requests");
  if (!s.tokensFile.empty()) tokens = detail::Tokens::load(s.tokensFile);
  if (!s.allowAnonymous && tokens.empty() && s.tlsClientCa.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "no way to authenticate callers: give service.tokens_file (--tokens) or service.tls_client_ca, "
                "or allow_anonymous (loopback only)");
  }
  if (s.allowAnonymous && !loopback(s.listenHost)) {
    throw Error(ErrorCode::InvalidArgument,
                "allow_anonymous is refused on " + s.listenHost + ": anonymous callers only on a loopback address");
  }
  if (s.tls()) {
    tls.emplace(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    boost::system::error_code ec;
    (void)tls->use_certificate_chain_file(s.tlsCertificate.string(), ec);
    if (ec) {
      throw Error(ErrorCode::FileNotFound, "cannot use the HTTPS certificate: " + ec.message(),
                  ErrorContext{.file = s.tlsCertificate.string()});
    }
    (void)tls->use_private_key_file(s.tlsKey.string(), ssl::context::pem, ec);
    if (ec) {
      throw Error(ErrorCode::FileNotFound, "cannot use the HTTPS key: " + ec.message(),
                  ErrorContext{.file = s.tlsKey.string()});
    }
    if (!s.tlsClientCa.empty()) {
      (void)tls->load_verify_file(s.tlsClientCa.string(), ec);
      if (ec) {
        throw Error(ErrorCode::FileNotFound, "cannot read the client CA: " + ec.message(),
                    ErrorContext{.file = s.tlsClientCa.string()});
      }
      tls->set_verify_mode(ssl::verify_peer);  // a certificate is optional; one sent must verify
    }
  }
  boost::system::error_code ec;
  const auto address = net::ip::make_address(s.listenHost, ec);
  if (ec) throw Error(ErrorCode::InvalidArgument, "service.listen: '" + s.listenHost + "' is not an IP address");
  const tcp::endpoint endpoint(address, s.listenPort);
  const std::string where = s.listenHost + ":" + std::to_string(s.listenPort);
  (void)acceptor.open(endpoint.protocol(), ec);
  if (!ec) (void)acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) (void)acceptor.bind(endpoint, ec);
  if (!ec) (void)acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::NetworkError, "cannot listen on " + where + ": " + ec.message());
  api = std::make_unique<detail::Api>(config, ws, metrics);
}

std::optional<detail::Response> Service::Impl::authenticate(detail::Request& r, const std::string& certIdentity,
                                                            const std::string& authorization) const {
  if (!authorization.empty()) {
    const auto token = detail::bearerToken(authorization);
    if (auto who = tokens.identify(token)) {
      r.identity = "token:" + *who;
      return std::nullopt;
    }
    return detail::problem(401, "the bearer token is not one this service knows", "Authorization");
  }
  if (!certIdentity.empty()) {
    r.identity = certIdentity;
    return std::nullopt;
  }
  if (!authRequired()) return std::nullopt;
  return detail::problem(401, "authentication required: a bearer token or a client certificate", "Authorization");
}

void Service::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      accept();
      return;
    }
    (void)socket.set_option(tcp::no_delay(true), ec);
    if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls))
          ->start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)))->start();
    }
    accept();
  });
}

void Service::Impl::beginDrain() {
  net::post(ioc, [this] {
    if (drainTimer) return;  // draining already
    api->startDrain();
    drainStarted = Clock::now();
    std::clog << "iodeep serve: draining (" << metrics.inFlight.load() << " request(s) in flight)\n";
    drainTimer.emplace(ioc);
    pollDrain();
  });
}

void Service::Impl::pollDrain() {
  const bool idle = metrics.inFlight.load() <= 0;
  const bool overdue = Clock::now() - drainStarted > config.service.deadline + std::chrono::seconds(5);
  if (idle || overdue) {
    if (overdue && !idle) std::clog << "iodeep serve: drain overdue, " << metrics.inFlight.load() << " unanswered\n";
    beast::error_code ec;
    (void)acceptor.close(ec);
    ioc.stop();
    return;
  }
  drainTimer->expires_after(std::chrono::milliseconds(50));
  drainTimer->async_wait([this](beast::error_code ec) {
    if (!ec) pollDrain();
  });
}

Service::Service(ServiceConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Service::~Service() {
  if (impl_) impl_->api->shutdown();
}

std::uint16_t Service::port() const noexcept {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Service::stop() {
  impl_->beginDrain();
}

void Service::run(bool handleSignals) {
  auto& i = *impl_;
  std::optional<net::signal_set> signals;
  // a second signal while draining is noted, not fatal; after the drain they are ignored
  std::function<void(beast::error_code, int)> onSignal = [this, &signals, &onSignal](beast::error_code ec, int) {
    if (ec) return;
    impl_->beginDrain();
    signals->async_wait(onSignal);
  };
  if (handleSignals) {
    signals.emplace(i.ioc, SIGTERM, SIGINT);
    signals->async_wait(onSignal);
  }
  i.accept();
  std::clog << "iodeep serve: listening on " << (i.tls ? "https://" : "http://") << i.config.service.listenHost << ':'
            << port() << " (PACS " << i.ws.pacsName() << ", " << i.config.service.ioThreads << " I/O thread(s), "
            << i.config.service.inferenceThreads << " inference thread(s), queue " << i.config.service.queueLimit
            << ")\n";
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < i.config.service.ioThreads; ++t) threads.emplace_back([&i] { i.ioc.run(); });
  i.ioc.run();
  for (auto& t : threads) t.join();
  if (handleSignals) {
    (void)std::signal(SIGTERM, SIG_IGN);  // the teardown is not cut short by a repeated signal
    (void)std::signal(SIGINT, SIG_IGN);
  }
  i.api->shutdown();
  std::clog << "iodeep serve: stopped\n";
}

}  // namespace iodeep::service
