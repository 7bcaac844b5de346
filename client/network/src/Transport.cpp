// The plain TCP transport: connections that acknowledge at once and honour the read limits.
#include "Transport.hpp"

#include <dcmtk/dcmnet/dcmtrans.h>

#include <sys/types.h>

#include <cstddef>

#include "DicomTls.hpp"

namespace iodeep::client::detail {

namespace {

// A plain TCP connection that acknowledges at once what it reads. DCMTK-based peers (Orthanc,
// dcmqrscp) write a PDU in two parts with Nagle's algorithm on, so the second part waits for our
// ACK, which Linux delays by up to 40 ms: once per DIMSE exchange. TCP_QUICKACK turns the delay
// off; Linux resets it after some reads, so it is set again after each one. (The TLS connections,
// DicomTls.cpp, do the same.)
class QuickAckConnection : public DcmTCPConnection {
 public:
  explicit QuickAckConnection(DcmNativeSocketType socket) : DcmTCPConnection(socket) {
    detail::noDelay(socket);
    detail::quickAck(socket);
  }
  ssize_t read(void* buf, size_t nbyte) override {
    if (!detail::readAllowed()) return -1;  // the exchange's deadline has passed
    const ssize_t n = DcmTCPConnection::read(buf, nbyte);
    detail::quickAck(getSocket());
    return detail::readDone(n) ? n : -1;  // beyond one message's byte budget: fails the exchange
  }
};

// Hands out QuickAckConnections: the transport without DICOM TLS.
class QuickAckLayer : public DcmTransportLayer {
 public:
  DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool /*useSecureLayer*/) override {
    return new QuickAckConnection(socket);  // NOLINT(cppcoreguidelines-owning-memory): DCMTK takes ownership
  }
};

}  // namespace

DcmTransportLayer& quickAckLayer() {
  static QuickAckLayer layer;
  return layer;
}

}  // namespace iodeep::client::detail
