#pragma once
// One association with the PACS (DcmSCU), and the DIMSE statuses its exchanges end with.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/scu.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

struct ReadLimits;  // DicomTls.hpp
struct Wanted;      // Collect.hpp

// ---- statuses (PS3.4 C.4 and PS3.7 C) ---------------------------------------------------------
inline constexpr Uint16 kSuccess = 0x0000;
inline constexpr Uint16 kCancel = 0xFE00;
// The most one C-FIND response may take on the wire (PDU headers included): an identifier of a
// few return keys is a few hundred bytes; this stops a peer that would send gigabytes.
inline constexpr std::uint64_t kMaxFindResponseBytes = std::uint64_t{1} << 20U;
bool isPending(Uint16 s);
bool isWarning(Uint16 s);
/// @p s as "0x" and four upper-case hex digits.
std::string statusHex(Uint16 s);

// ---- the association -----------------------------------------------------------------------------

// One association with the PACS. Released by release(), aborted by the destructor otherwise.
// Every OFCondition is checked where it is produced; every DIMSE status is checked on its own.
class Association : public DcmSCU {
 public:
  Association(const NetworkOptions& o, TlsContext* tls, std::string peer);
  Association(const Association&) = delete;
  Association& operator=(const Association&) = delete;
  Association(Association&&) = delete;
  Association& operator=(Association&&) = delete;
  ~Association() override;

  [[nodiscard]] ErrorContext where() const { return ErrorContext{.peer = peer_}; }

  void propose(const char* abstractSyntax, const OFList<OFString>& syntaxes, T_ASC_SC_ROLE role = ASC_SC_ROLE_DEFAULT);

  // Negotiates the association; each way it can fail is one Error with a hint for the user.
  void open();

  // Throws TlsFailure when a handshake or TLS read of this association failed.
  void throwIfTlsFailed() const;

  // The accepted context for @p abstractSyntax; AssociationRejected when there is none.
  T_ASC_PresentationContextID context(const char* abstractSyntax, const std::string& what);

  void release();

  // Throws NetworkError for a failed exchange (timeout, connection lost).
  void checkExchange(const OFCondition& cond, const std::string& what) const;

  // C-FIND: responses streamed to the handler, at most maxMatches, all within the deadline
  std::function<bool(const DicomRecord&)> onMatch;
  std::size_t matches{0};
  std::size_t maxMatches{0};
  Uint16 finalStatus{kSuccess};
  bool cancelled{false};
  bool truncated{false};
  bool deadlinePassed{false};
  ReadLimits* readLimits{nullptr};  ///< this C-FIND's limits on every read of the connection
  std::chrono::steady_clock::time_point deadline;
  std::uint32_t dimseTimeout{0};

  // The wait for the next message: the DIMSE timeout, or what is left before the deadline.
  // False when the deadline has passed.
  bool limitWaitToDeadline();

  OFCondition handleFINDResponse(T_ASC_PresentationContextID presID, QRResponse* response,
                                 OFBool& waitForNextResponse) override;

  // C-MOVE / C-GET: pending responses report progress; the handler may cancel
  RetrieveProgressHandler onProgress;
  bool retrieveCancelled{false};

  OFCondition reportProgress(T_ASC_PresentationContextID presID, const RetrieveResponse& response);

  OFCondition handleMOVEResponse(T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                 OFBool& waitForNextResponse) override;

  OFCondition handleCGETResponse(T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                 OFBool& continueCGETSession) override;

  // C-GET: instances arrive on the same association, written to disk as they are received
  // (DCMSCU_STORAGE_BIT_PRESERVING) under a name of ours, never the peer's UID
  std::filesystem::path receiveDir;
  std::uint32_t received{0};
  const Wanted* wanted{nullptr};
  std::uint32_t discarded{0};

  OFCondition handleSTORERequestFile(T_ASC_PresentationContextID* presID, const OFString& peersName,
                                     T_DIMSE_C_StoreRQ* request) override;

 private:
  std::string peer_;
  bool tls_;
  DcmTransportLayer* layer_;
};

}  // namespace iodeep::client::detail
