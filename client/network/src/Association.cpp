// The association: request and negotiation, the TLS hookup, the C-FIND deadline and the responses.
#include "Association.hpp"

#include <dcmtk/dcmnet/cond.h>

#include <algorithm>
#include <string_view>
#include <system_error>
#include <utility>

#include "Collect.hpp"
#include "DicomTls.hpp"
#include "Records.hpp"
#include "Transport.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"

namespace iodeep::client::detail {

bool isPending(Uint16 s) {
  return s == 0xFF00 || s == 0xFF01;
}
bool isWarning(Uint16 s) {
  return s == 0x0001 || (s & 0xF000) == 0xB000;
}

std::string statusHex(Uint16 s) {
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kDigits[(s >> static_cast<unsigned>(shift)) & 0xFU]);
  return out;
}

namespace {

// What the user can do about a TLS failure (its kind was decided on OpenSSL's codes).
std::string_view tlsHint(const detail::TlsProblem& problem) {
  using Kind = detail::TlsProblem::Kind;
  switch (problem.kind) {
    case Kind::PeerCertificateWrongHost: return "; the peer's certificate is not for this host";
    case Kind::PeerCertificateUntrusted:
      return "; the peer's certificate is not issued by a trusted certificate (--tls-trusted)";
    case Kind::OurCertificateRefused: return "; the peer does not accept our certificate";
    case Kind::ClosedAfterHandshake:
      // TLS 1.3: the server checks our certificate after our side of the handshake has ended
      return "; does the peer accept our certificate (issued by a CA it trusts, valid now)?";
    case Kind::NoCommonProtocol:
      return "; no TLS version or cipher suite in common (we offer TLS 1.2+ with the BCP 195 suites)";
    case Kind::Other: break;
  }
  return "; does the peer speak DICOM TLS on this port?";
}

}  // namespace

Association::Association(const NetworkOptions& o, TlsContext* tls, std::string peer)
    : peer_(std::move(peer)), tls_(tls != nullptr), layer_(tls != nullptr ? &tls->requestor() : &quickAckLayer()) {
  setAETitle(o.callingAeTitle.c_str());
  setPeerAETitle(o.pacs.aeTitle.c_str());
  setPeerHostName(o.pacs.host.c_str());
  setPeerPort(o.pacs.port);
  setMaxReceivePDULength(o.maxPdu);
  setConnectionTimeout(static_cast<Sint32>(o.connectTimeoutSeconds));
  setACSETimeout(o.connectTimeoutSeconds);
  setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  setDIMSETimeout(o.dimseTimeoutSeconds);
}

Association::~Association() {
  if (isConnected()) (void)abortAssociation();
}

void Association::propose(const char* abstractSyntax, const OFList<OFString>& syntaxes, T_ASC_SC_ROLE role) {
  iod::dcmtk::check(addPresentationContext(abstractSyntax, syntaxes, role), ErrorCode::Internal,
                    std::string("cannot propose ") + abstractSyntax, where());
}

void Association::open() {
  iod::dcmtk::check(initNetwork(), ErrorCode::NetworkError, "cannot initialise the network", where());
  // the layer's connections are plain TCP or TLS (useSecureConnection only installs it)
  iod::dcmtk::check(useSecureConnection(layer_), ErrorCode::Internal, "transport layer", where());
  detail::clearThreadTlsFailure();
  const OFCondition cond = negotiateAssociation();
  if (cond.good()) return;
  throwIfTlsFailed();
  const std::string text = cond.text();
  if (cond == DUL_ASSOCIATIONREJECTED) {
    throw Error(ErrorCode::AssociationRejected, "association rejected (" + text + "); is our AE title known?", where());
  }
  if (cond == NET_EC_NoAcceptablePresentationContexts) {
    throw Error(ErrorCode::AssociationRejected, "the peer accepted none of the services we proposed", where());
  }
  if (cond == DUL_PEERABORTEDASSOCIATION || cond == DUL_PEERREQUESTEDRELEASE) {
    // a TLS-only peer (Orthanc with DicomTlsEnabled) aborts a plain association at once
    throw Error(ErrorCode::AssociationRejected,
                "the peer aborted the association (" + text + ")" +
                    (tls_ ? std::string() : "; does it require DICOM TLS (--tls)?"),
                where());
  }
  if (!tls_ && (cond == DUL_ILLEGALPDU || cond == DUL_ILLEGALPDULENGTH || cond == DUL_UNEXPECTEDPDU ||
                cond.code() == DULC_UNRECOGNIZEDPDUTYPE)) {
    // what came back is no DICOM PDU: a TLS server answers a plain request with a TLS alert
    throw Error(ErrorCode::AssociationRejected,
                "no association (" + text + "); does the peer require DICOM TLS (--tls)?", where());
  }
  throw Error(ErrorCode::PacsUnreachable, "cannot connect (" + text + ")", where());
}

void Association::throwIfTlsFailed() const {
  if (!tls_) return;
  const auto problem = detail::threadTlsFailure();
  if (!problem) return;
  throw Error(ErrorCode::TlsFailure, "TLS: " + problem->reason + std::string(tlsHint(*problem)), where());
}

T_ASC_PresentationContextID Association::context(const char* abstractSyntax, const std::string& what) {
  const T_ASC_PresentationContextID id = findAnyPresentationContextID(abstractSyntax, "");
  if (id == 0) throw Error(ErrorCode::AssociationRejected, "the peer does not accept " + what, where());
  return id;
}

void Association::release() {
  if (!isConnected()) return;
  if (releaseAssociation().bad()) (void)abortAssociation();
}

void Association::checkExchange(const OFCondition& cond, const std::string& what) const {
  if (cond.good()) return;
  throwIfTlsFailed();
  // Orthanc accepts the association of a calling AE title it does not know and aborts it at the
  // first request that needs a known peer (C-MOVE, C-STORE)
  const bool aborted = cond == DUL_PEERABORTEDASSOCIATION;
  throw Error(ErrorCode::NetworkError,
              what + " failed: " + cond.text() +
                  (aborted ? " (does the peer know our AE title and allow it this service?)" : ""),
              where());
}

bool Association::limitWaitToDeadline() {
  const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now()).count();
  if (left <= 0) return false;
  setDIMSETimeout(static_cast<Uint32>(std::min<long long>(dimseTimeout, left)));
  return true;
}

OFCondition Association::handleFINDResponse(const T_ASC_PresentationContextID presID, QRResponse* response,
                                            OFBool& waitForNextResponse) {
  waitForNextResponse = OFFalse;
  if (response == nullptr) return EC_IllegalParameter;
  const Uint16 s = response->m_status;
  if (readLimits != nullptr) readLimits->bytesLeft = kMaxFindResponseBytes;  // the next message's budget
  if (!isPending(s)) {
    finalStatus = s;
    return EC_Normal;
  }
  if (!limitWaitToDeadline()) {
    // the deadline: stop waiting at once (DCMTK ignores this condition; runFind sees the flag)
    deadlinePassed = true;
    return DIMSE_NODATAAVAILABLE;
  }
  waitForNextResponse = OFTrue;
  if (cancelled || response->m_dataset == nullptr) return EC_Normal;  // after a C-CANCEL: drained
  if (matches >= maxMatches) {
    truncated = true;
    cancelled = true;
    return sendCANCELRequest(presID);  // keep waiting for the final response
  }
  ++matches;
  if (onMatch && !onMatch(toRecord(*response->m_dataset))) {
    cancelled = true;
    return sendCANCELRequest(presID);
  }
  return EC_Normal;
}

OFCondition Association::reportProgress(const T_ASC_PresentationContextID presID, const RetrieveResponse& response) {
  if (!isPending(response.m_status) || !onProgress || retrieveCancelled) return EC_Normal;
  const RetrieveProgress p{
      static_cast<std::uint32_t>(response.m_numberOfCompletedSubops) + response.m_numberOfWarningSubops,
      response.m_numberOfRemainingSubops, response.m_numberOfFailedSubops};
  if (onProgress(p)) return EC_Normal;
  retrieveCancelled = true;
  return sendCANCELRequest(presID);  // the PACS then ends the retrieval with a final response
}

OFCondition Association::handleMOVEResponse(const T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                            OFBool& waitForNextResponse) {
  const OFCondition cond = DcmSCU::handleMOVEResponse(presID, response, waitForNextResponse);
  if (cond.bad() || response == nullptr) return cond;
  return reportProgress(presID, *response);
}

OFCondition Association::handleCGETResponse(const T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                            OFBool& continueCGETSession) {
  const OFCondition cond = DcmSCU::handleCGETResponse(presID, response, continueCGETSession);
  if (cond.bad() || response == nullptr) return cond;
  return reportProgress(presID, *response);
}

// Each instance goes to disk under a name of ours; one that was not asked for is deleted at once.
OFCondition Association::handleSTORERequestFile(T_ASC_PresentationContextID* presID, const OFString& /*peersName*/,
                                                T_DIMSE_C_StoreRQ* request) {
  if (request == nullptr) return EC_IllegalParameter;
  const auto path = receiveDir / ("get-" + std::to_string(++received) + ".part");
  const OFCondition cond = DcmSCU::handleSTORERequestFile(presID, OFString(path.c_str()), request);
  if (cond.bad()) return cond;
  const std::string why =
      wanted != nullptr ? wanted->refusal(request->AffectedSOPClassUID, request->AffectedSOPInstanceUID) : "";
  if (!why.empty()) {
    // answered with success (DcmSCU would end the whole C-GET on a failure), kept nowhere
    std::error_code ec;
    std::filesystem::remove(path, ec);
    ++discarded;
    reportDiscarded(peer_, request->AffectedSOPInstanceUID, why);
  }
  return EC_Normal;
}

}  // namespace iodeep::client::detail
