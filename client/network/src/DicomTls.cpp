// DICOM TLS over DCMTK's dcmtls (OpenSSL). Choices (docs/security.md, "DICOM TLS"):
// - DCMTK's Non-downgrading BCP 195 profile (TSP_Profile_BCP195_ND): TLS 1.2 or newer, never
//   older; TLS 1.2 only with ECDHE/DHE-RSA AES-GCM suites (forward secrecy, AEAD); TLS 1.3 with
//   OpenSSL's AEAD suites. The downgrading BCP 195 profile would still accept TLS 1.0 and
//   TLS_RSA_WITH_AES_128_CBC_SHA (no forward secrecy, CBC/SHA-1); the extended one refuses TLS 1.3.
// - OpenSSL security level 2 (DCMTK sets 0 so that its retired NULL-cipher profile can work): RSA
//   and DH keys of 2048 bits or more, no SHA-1 signatures.
// - Both sides present a certificate; the peer's must chain to a trusted certificate and, when we
//   are the client, name the host we connect to (RFC 6125 identity check, not done by DCMTK).
// - Handshakes are bounded by the connect timeout (DCMTK waits for them with the socket's default
//   timeouts, 60 s), and each failure is remembered for the error the caller throws: OpenSSL's
//   reason, and what it means (TlsProblem::Kind) decided on DCMTK's and OpenSSL's codes.
#include "DicomTls.hpp"

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmtls/tlscond.h>
#include <dcmtk/dcmtls/tlslayer.h>
#include <dcmtk/dcmtls/tlstrans.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <utility>

#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::client::detail {

void quickAck(DcmNativeSocketType socket) {
  int one = 1;
  (void)::setsockopt(socket, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

void noDelay(DcmNativeSocketType socket) {
  int one = 1;
  (void)::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

namespace {
thread_local ReadLimits* readLimitsOfThisThread = nullptr;
}  // namespace

ReadGuard::ReadGuard(ReadLimits& limits) : previous_(readLimitsOfThisThread) {
  readLimitsOfThisThread = &limits;
}

ReadGuard::~ReadGuard() {
  readLimitsOfThisThread = previous_;
}

bool readAllowed() {
  ReadLimits* l = readLimitsOfThisThread;
  if (l == nullptr) return true;
  if (std::chrono::steady_clock::now() >= l->deadline) {
    l->deadlinePassed = true;
    errno = ETIMEDOUT;
    return false;
  }
  return true;
}

bool readDone(ssize_t n) {
  ReadLimits* l = readLimitsOfThisThread;
  if (l == nullptr || n <= 0) return true;
  if (static_cast<std::uint64_t>(n) > l->bytesLeft) {
    l->budgetExhausted = true;
    errno = EMSGSIZE;
    return false;
  }
  l->bytesLeft -= static_cast<std::uint64_t>(n);
  return true;
}

namespace {

thread_local std::optional<TlsProblem> tlsFailureOfThisThread;

using Kind = TlsProblem::Kind;

// What an error of OpenSSL's SSL library (ERR_LIB_SSL) with reason code @p reason means for the user.
Kind kindOfSslReason(int reason) {
  switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return Kind::PeerCertificateUntrusted;
    // the peer's alerts about our certificate
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED: return Kind::OurCertificateRefused;
    // no version or cipher suite both sides accept, whichever side found it out
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_BAD_PROTOCOL_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_INSUFFICIENT_SECURITY:
    case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY: return Kind::NoCommonProtocol;
    default: return Kind::Other;
  }
}

// The oldest error in OpenSSL's queue (then emptied), or nothing.
std::optional<TlsProblem> openSslProblem() {
  std::optional<TlsProblem> problem;
  while (const unsigned long e = ERR_get_error()) {
    if (problem) continue;
    const char* r = ERR_reason_error_string(e);
    problem = TlsProblem{ERR_GET_LIB(e) == ERR_LIB_SSL ? kindOfSslReason(ERR_GET_REASON(e)) : Kind::Other,
                         r != nullptr ? r : "OpenSSL error " + std::to_string(e)};
  }
  return problem;
}

// OpenSSL's reason for the oldest error in its queue (then emptied), or empty.
std::string openSslReason() {
  auto problem = openSslProblem();
  return problem ? std::move(problem->reason) : std::string();
}

// The SSL-library reason code a DCMTK condition carries, or nothing: DCMTK 3.6.7 makes an error of
// OpenSSL's SSL library into module OFM_dcmtls, code DCMTLS_EC_SSL_Offset + the reason
// (DcmTLSTransportLayer::convertOpenSSLError); its own codes and the X.509 ones are below that.
std::optional<int> sslReasonOf(const OFCondition& cond) {
  if (cond.module() != OFM_dcmtls || cond.code() < DCMTLS_EC_SSL_Offset) return std::nullopt;
  return static_cast<int>(cond.code()) - DCMTLS_EC_SSL_Offset;
}

// A failed handshake's condition as a TlsProblem: OpenSSL's own words for an SSL-library error
// (DCMTK's text is the same behind "TLS error: "), DCMTK's text for anything else.
TlsProblem problemOf(const OFCondition& cond) {
  const auto reason = sslReasonOf(cond);
  if (!reason) return {Kind::Other, cond.text()};
  const char* text = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, *reason));
  return {kindOfSslReason(*reason), text != nullptr ? text : cond.text()};
}

bool hostMismatch(long verifyResult) {
  return verifyResult == X509_V_ERR_HOSTNAME_MISMATCH || verifyResult == X509_V_ERR_IP_ADDRESS_MISMATCH ||
         verifyResult == X509_V_ERR_EMAIL_MISMATCH;
}

// Sets the socket's send and receive timeouts for a handshake; puts the previous ones back.
class HandshakeDeadline {
 public:
  HandshakeDeadline(DcmNativeSocketType socket, std::uint32_t seconds) : socket_(socket) {
    socklen_t len = sizeof receive_;
    (void)::getsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &receive_, &len);
    len = sizeof send_;
    (void)::getsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &send_, &len);
    timeval limit{};
    limit.tv_sec = static_cast<decltype(limit.tv_sec)>(seconds);
    (void)::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    (void)::setsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  }
  ~HandshakeDeadline() {
    (void)::setsockopt(socket_, SOL_SOCKET, SO_RCVTIMEO, &receive_, sizeof receive_);
    (void)::setsockopt(socket_, SOL_SOCKET, SO_SNDTIMEO, &send_, sizeof send_);
  }
  HandshakeDeadline(const HandshakeDeadline&) = delete;
  HandshakeDeadline& operator=(const HandshakeDeadline&) = delete;
  HandshakeDeadline(HandshakeDeadline&&) = delete;
  HandshakeDeadline& operator=(HandshakeDeadline&&) = delete;

 private:
  DcmNativeSocketType socket_;
  timeval receive_{};
  timeval send_{};
};

bool isIpAddress(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

bool certificateFileName(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".pem" || ext == ".crt" || ext == ".cer";
}

}  // namespace

std::optional<TlsProblem> threadTlsFailure() {
  return tlsFailureOfThisThread;
}

void clearThreadTlsFailure() {
  tlsFailureOfThisThread.reset();
}

// A dcmtls layer whose connections acknowledge at once what they read, bound their handshake and
// remember why one failed: in the thread's record for a client, in the layer for our SCP (its
// thread is not the one that asked for the C-MOVE).
class TlsLayer : public DcmTLSTransportLayer {
 public:
  TlsLayer(const TlsOptions& o, T_ASC_NetworkRole networkRole, const std::string& peerHost,
           std::uint32_t handshakeSeconds)
      : DcmTLSTransportLayer(networkRole, nullptr, OFFalse),
        acceptor_(networkRole == NET_ACCEPTOR),
        seconds_(handshakeSeconds) {
    if (!*this) fail("cannot create the TLS context: " + openSslReason(), {});
    setPrivateKeyPasswd(o.privateKeyPassphrase.c_str());  // never the console prompt
    check(setPrivateKeyFile(o.privateKey.c_str(), DCF_Filetype_PEM), "cannot read our private key (passphrase?)",
          o.privateKey);
    check(setCertificateFile(o.certificate.c_str(), DCF_Filetype_PEM), "cannot read our certificate", o.certificate);
    if (!checkPrivateKeyMatchesCertificate()) fail("the private key does not match our certificate", o.privateKey);
    for (const auto& trusted : o.trustedCertificates) {
      std::error_code ec;
      if (!std::filesystem::is_directory(trusted, ec)) {
        check(addTrustedCertificateFile(trusted.c_str(), DCF_Filetype_PEM), "cannot read trusted certificates",
              trusted);
        continue;
      }
      std::size_t added = 0;
      for (const auto& entry : std::filesystem::directory_iterator(trusted)) {
        if (!entry.is_regular_file() || !certificateFileName(entry.path())) continue;
        check(addTrustedCertificateFile(entry.path().c_str(), DCF_Filetype_PEM), "cannot read trusted certificates",
              entry.path());
        ++added;
      }
      if (added == 0) fail("no certificate (*.pem, *.crt, *.cer) in the trusted directory", trusted);
    }
    check(setTLSProfile(TSP_Profile_BCP195_ND), "cannot select the BCP 195 TLS profile", {});
    check(activateCipherSuites(), "cannot activate the BCP 195 cipher suites", {});
    SSL_CTX* ctx = getNativeHandle();
    SSL_CTX_set_security_level(ctx, 2);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) fail("cannot require TLS 1.2: " + openSslReason(), {});
    setCertificateVerification(o.verifyPeer ? DCV_requireCertificate : DCV_ignoreCertificate);
    if (o.verifyPeer && !acceptor_) {
      // the peer's certificate must name the host we connect to (DNS name or IP address)
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
      const int set = isIpAddress(peerHost) ? X509_VERIFY_PARAM_set1_ip_asc(param, peerHost.c_str())
                                            : X509_VERIFY_PARAM_set1_host(param, peerHost.c_str(), 0);
      if (set != 1) fail("cannot check the PACS's host name '" + peerHost + "': " + openSslReason(), {});
    }
  }

  DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool useSecureLayer) override;

  void noteFailure(TlsProblem problem) {
    if (!acceptor_) {
      if (!tlsFailureOfThisThread) tlsFailureOfThisThread = std::move(problem);
      return;
    }
    const std::lock_guard lock(mutex_);
    if (!failure_) failure_ = std::move(problem);
  }

  std::optional<TlsProblem> takeFailure() {
    const std::lock_guard lock(mutex_);
    return std::exchange(failure_, std::nullopt);
  }

  [[nodiscard]] std::uint32_t handshakeSeconds() const { return seconds_; }

 private:
  [[noreturn]] static void fail(const std::string& what, const std::filesystem::path& file) {
    throw Error(ErrorCode::TlsFailure, what, ErrorContext{.file = file.string()});
  }
  // DCMTK's condition through the bridge: its text holds OpenSSL's first error, the rest of the
  // queue is dropped.
  static void check(const OFCondition& cond, const std::string& what, const std::filesystem::path& file) {
    if (cond.bad()) ERR_clear_error();
    iod::dcmtk::check(cond, ErrorCode::TlsFailure, what, ErrorContext{.file = file.string()});
  }

  bool acceptor_;
  std::uint32_t seconds_;
  std::mutex mutex_;
  std::optional<TlsProblem> failure_;
};

namespace {

class TlsConnection : public DcmTLSConnection {
 public:
  TlsConnection(DcmNativeSocketType socket, SSL* ssl, TlsLayer& layer)
      : DcmTLSConnection(socket, ssl), ssl_(ssl), layer_(layer) {
    noDelay(socket);
    quickAck(socket);
  }

  OFCondition clientSideHandshake() override { return handshake(true); }
  OFCondition serverSideHandshake() override { return handshake(false); }

  ssize_t read(void* buf, size_t nbyte) override {
    if (!readAllowed()) return -1;
    ERR_clear_error();
    const ssize_t n = DcmTLSConnection::read(buf, nbyte);
    if (!readDone(n)) return -1;
    if (n > 0) {
      answered_ = true;
    } else {
      // e.g. a TLS 1.3 server that refuses our certificate after the handshake: its alert
      // arrives with the first read ("tlsv13 alert certificate required", "tlsv1 alert unknown ca")
      if (failed(static_cast<int>(n))) noteReadOrWriteFailure();
    }
    quickAck(getSocket());
    return n;
  }

  ssize_t write(void* buf, size_t nbyte) override {
    ERR_clear_error();
    const ssize_t n = DcmTLSConnection::write(buf, nbyte);
    // the same refusal, when the peer has already reset the connection: its alert is lost
    if (n <= 0 && failed(static_cast<int>(n))) noteReadOrWriteFailure();
    return n;
  }

 private:
  // OpenSSL's error, or, when it has none and the peer has not answered since the handshake, the
  // peer closing the connection after it (a TLS 1.3 server refusing our certificate).
  void noteReadOrWriteFailure() {
    auto problem = openSslProblem();
    if (!problem && !answered_) problem = TlsProblem{Kind::ClosedAfterHandshake, kClosedAfterHandshake};
    if (problem) layer_.noteFailure(std::move(*problem));
  }

  // The connection failed (not a signal's EINTR or a timeout, after which DCMTK goes on or
  // reports the timeout itself).
  bool failed(int result) const {
    const int error = errno;
    switch (SSL_get_error(ssl_, result)) {
      case SSL_ERROR_SSL:
      case SSL_ERROR_ZERO_RETURN: return true;
      case SSL_ERROR_SYSCALL: return error != EINTR && error != EAGAIN && error != EWOULDBLOCK;
      default: return false;
    }
  }

  OFCondition handshake(bool client) {
    ERR_clear_error();
    errno = 0;
    OFCondition cond = EC_Normal;
    int error = 0;
    {
      const HandshakeDeadline deadline(getSocket(), layer_.handshakeSeconds());
      // a signal (another thread's, e.g. while libtorch loads) interrupts a blocking read or write
      // with EINTR, which OpenSSL reports as "want read/write": the handshake goes on
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(layer_.handshakeSeconds());
      do {
        errno = 0;
        cond = client ? DcmTLSConnection::clientSideHandshake() : DcmTLSConnection::serverSideHandshake();
        error = errno;
      } while (
          error == EINTR &&
          (cond == DCMTLS_EC_TLSReadOperationDidNotComplete || cond == DCMTLS_EC_TLSWriteOperationDidNotComplete) &&
          std::chrono::steady_clock::now() < until);
    }
    if (cond.good()) return cond;
    TlsProblem problem = problemOf(cond);
    const long verify = SSL_get_verify_result(ssl_);
    if (sslReasonOf(cond) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
      problem.reason += std::string(": ") + X509_verify_cert_error_string(verify);
      if (hostMismatch(verify)) problem.kind = Kind::PeerCertificateWrongHost;
    } else if (error == EAGAIN || error == EWOULDBLOCK) {
      problem = {Kind::Other, "no TLS handshake within " + std::to_string(layer_.handshakeSeconds()) + " s"};
    } else if (cond == DCMTLS_EC_OpenSSLIOError || cond == DCMTLS_EC_TLSConnectionClosedByPeer) {
      problem = {Kind::Other, "the connection closed during the TLS handshake"};
    }
    layer_.noteFailure(std::move(problem));
    return cond;
  }

  static constexpr const char* kClosedAfterHandshake = "the peer closed the connection after the TLS handshake";

  SSL* ssl_;  // owned by DcmTLSConnection
  TlsLayer& layer_;
  bool answered_{false};  // the peer has sent data since the handshake
};

}  // namespace

DcmTransportConnection* TlsLayer::createConnection(DcmNativeSocketType socket, OFBool useSecureLayer) {
  if (!useSecureLayer) return DcmTLSTransportLayer::createConnection(socket, useSecureLayer);
  SSL* ssl = SSL_new(getNativeHandle());
  if (ssl == nullptr) return nullptr;  // DCMTK reports a TCP initialisation error
  if (SSL_set_fd(ssl, static_cast<int>(socket)) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  return new TlsConnection(socket, ssl, *this);  // NOLINT(cppcoreguidelines-owning-memory): DCMTK takes ownership
}

TlsContext::TlsContext(const NetworkOptions& o) {
  static std::once_flag once;
  std::call_once(once, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
  requestor_ = std::make_unique<TlsLayer>(o.tls, NET_REQUESTOR, o.pacs.host, o.connectTimeoutSeconds);
  if (o.retrieve == RetrieveMode::Move) {
    acceptor_ = std::make_unique<TlsLayer>(o.tls, NET_ACCEPTOR, std::string(), o.connectTimeoutSeconds);
  }
}

TlsContext::~TlsContext() = default;

DcmTransportLayer& TlsContext::requestor() {
  return *requestor_;
}

DcmTransportLayer& TlsContext::acceptor() {
  if (!acceptor_) throw Error(ErrorCode::Internal, "no TLS acceptor: the options retrieve by C-GET");
  return *acceptor_;
}

std::optional<TlsProblem> TlsContext::takeAcceptorFailure() {
  return acceptor_ ? acceptor_->takeFailure() : std::nullopt;
}

}  // namespace iodeep::client::detail
