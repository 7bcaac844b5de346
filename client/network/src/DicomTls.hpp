#pragma once
// DICOM TLS for the network module (docs/security.md, "DICOM TLS"): DCMTK's dcmtls transport layers,
// built once per Pacs from NetworkOptions::tls, for the associations we open (requestor) and for
// our C-MOVE storage SCP (acceptor). Private to the network module: DCMTK and OpenSSL stay here.

#include <dcmtk/dcmnet/dcmlayer.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

/// Sets TCP_QUICKACK on @p socket: Linux would otherwise delay the ACK of what we just read by up
/// to 40 ms, and DCMTK-based peers wait for it before the second half of each PDU.
void quickAck(DcmNativeSocketType socket);
/// Turns Nagle's algorithm off on @p socket (TCP_NODELAY): a PDU written in two parts would
/// otherwise wait for the peer's delayed ACK, about 40 ms per request on loopback.
void noDelay(DcmNativeSocketType socket);

/// Limits on what this thread reads from its associations while one is installed (ReadGuard):
/// a deadline for the whole exchange and a byte budget for one message, enforced on every read
/// of the connection, so that a peer that dribbles a message in small pieces, or sends one of
/// gigabytes, is stopped inside DCMTK's receive loop (a C-FIND, Pacs.cpp).
struct ReadLimits {
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t bytesLeft{0};
  bool deadlinePassed{false};
  bool budgetExhausted{false};
};

/// Installs @p limits for this thread's reads while it lives.
class ReadGuard {
 public:
  explicit ReadGuard(ReadLimits& limits);
  ~ReadGuard();
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
  ReadGuard(ReadGuard&&) = delete;
  ReadGuard& operator=(ReadGuard&&) = delete;

 private:
  ReadLimits* previous_;
};

/// Called before and after each read of a connection: false (errno set) when the read must fail.
bool readAllowed();
bool readDone(ssize_t n);

/// Why a TLS handshake (or a TLS read or write) failed: one line for the user, and what it means,
/// decided on the codes of DCMTK's condition and OpenSSL's error queue and verification result,
/// never on their text.
struct TlsProblem {
  enum class Kind {
    PeerCertificateUntrusted,  ///< the peer's certificate does not verify against the trusted ones
    PeerCertificateWrongHost,  ///< the peer's certificate does not name the host we connect to
    OurCertificateRefused,     ///< the peer's alert says it does not accept our certificate
    ClosedAfterHandshake,      ///< the peer closed the connection after the handshake, before answering
    NoCommonProtocol,          ///< no TLS version or cipher suite in common
    Other,                     ///< anything else: a timeout, a closed connection, no TLS on that port
  };
  Kind kind{Kind::Other};
  std::string reason;  ///< OpenSSL's reason, with the certificate verification error when there is one
};

/// Why the last TLS handshake (or TLS read) of an association this thread opened failed; nothing
/// when none did since clearThreadTlsFailure().
[[nodiscard]] std::optional<TlsProblem> threadTlsFailure();
void clearThreadTlsFailure();

class TlsLayer;

/// The transport layers of one Pacs. Shared by its copies and by the threads that use them
/// (OpenSSL contexts are safe to share once set up); outlives every association built on it.
class TlsContext {
 public:
  /// Reads our certificate and key and the trusted certificates. Throws Error(TlsFailure) with
  /// the file as context when one cannot be used.
  explicit TlsContext(const NetworkOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  TlsContext(TlsContext&&) = delete;
  TlsContext& operator=(TlsContext&&) = delete;

  /// For the associations we open (TLS client).
  [[nodiscard]] DcmTransportLayer& requestor();
  /// For our C-MOVE storage SCP (TLS server). Error(Internal) when the options retrieve by C-GET.
  [[nodiscard]] DcmTransportLayer& acceptor();
  /// Why the last handshake of a peer connecting to our storage SCP failed (then forgotten);
  /// nothing when none did.
  [[nodiscard]] std::optional<TlsProblem> takeAcceptorFailure();

 private:
  std::unique_ptr<TlsLayer> requestor_;
  std::unique_ptr<TlsLayer> acceptor_;
};

}  // namespace iodeep::client::detail
