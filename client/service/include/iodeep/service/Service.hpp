#pragma once
/// @file Service.hpp
/// `iodeep serve`: network selection and prediction as HTTP services (the IODeep paper's second
/// architecture, docs/service.md). HTTP/1.1 on Boost.Beast, HTTPS through OpenSSL. The HTTP layer
/// only parses and answers: every step is the workflow's (one Workstation for the process).
///
/// Serving: a fixed pool of I/O threads; a separate, bounded inference queue served by its own
/// threads (a full queue answers 503 with Retry-After at once); a deadline per request (504); a
/// body size limit (413); keep-alive; on SIGTERM or stop(), requests in flight finish and new
/// ones get 503 until the last one is answered.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "iodeep/workflow/ClientConfig.hpp"

namespace iodeep::service {

/// The configuration's "service" object (docs/service.md, "Configuration").
struct ServiceOptions {
  std::string listenHost{"127.0.0.1"};
  std::uint16_t listenPort{8080};  ///< 0: a free port (tests); port() tells which
  unsigned ioThreads{2};
  unsigned inferenceThreads{1};  ///< predictions run one per thread; each uses the engine's intra-op threads
  std::size_t queueLimit{16};    ///< jobs waiting for an inference thread; beyond: 503
  std::chrono::milliseconds deadline{30000};
  std::uint64_t maxBodyBytes{64ULL << 20U};
  std::chrono::milliseconds idleTimeout{30000};  ///< a keep-alive connection with no request is closed
  /// Bearer tokens: one "sha256:<hex> <identity>" per line ('#' comments); `iodeep serve token`
  /// makes one. Empty: no token accepted.
  std::filesystem::path tokensFile;
  /// HTTPS: the server's certificate chain and key (PEM); with clientCa, a client certificate
  /// signed by it is an identity too (its subject's CN).
  std::filesystem::path tlsCertificate, tlsKey, tlsClientCa;
  /// No authentication at all: only allowed when listening on loopback.
  bool allowAnonymous{false};
  std::filesystem::path workDir;         ///< per-request working directories (slices retrieved, bodies)
  std::filesystem::path idempotencyDir;  ///< first answers of POST /v1/structure-sets; default workDir/idempotency
  std::chrono::seconds networksTtl{30};  ///< GET /v1/networks answers from a list this old at most
  bool buildAhead{true};                 ///< a network first listed is fetched and built before its first use
  /// At most this many networks are built ahead over the service's life (the newest first): a
  /// PACS with thousands of networks does not fill the model cache with them.
  std::size_t buildAheadMax{16};

  [[nodiscard]] bool tls() const noexcept { return !tlsCertificate.empty(); }
};

struct ServiceConfig {
  client::ClientConfig client;
  ServiceOptions service;
};

/// The client configuration (workflow/ClientConfig.hpp) with its "service" object: @p path as
/// loadClientConfig finds it. Unknown keys, wrong types and invalid values are refused naming
/// the file and key (Error InvalidArgument, InvalidJson, FileNotFound).
[[nodiscard]] ServiceConfig loadServiceConfig(const std::filesystem::path& path = {});
[[nodiscard]] ServiceConfig parseServiceConfig(const std::string& json, const std::string& source);

/// A token for the tokens file: a random bearer token (printed once to the caller) and its line.
struct NewToken {
  std::string token;  ///< what the caller sends: "Authorization: Bearer <token>"
  std::string line;   ///< "sha256:<hex> <identity>", for the tokens file
};
[[nodiscard]] NewToken makeToken(const std::string& identity);

class Service {
 public:
  /// Checks the options (Error InvalidArgument: anonymous on a non-loopback address, TLS files
  /// missing, ...), loads the tokens, builds the workstation, binds the port (Error OutputError
  /// naming the address when it is taken).
  explicit Service(ServiceConfig config);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service();

  /// The port bound (the configured one, or the free one chosen for 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Serves until stop() (or SIGTERM/SIGINT with @p handleSignals) and the drain are over.
  void run(bool handleSignals = true);
  /// Starts the drain: thread-safe, returns at once.
  void stop();

  struct Impl;  ///< opaque: the HTTP layer (Server.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace iodeep::service
