// DICOM networking over DCMTK dcmnet: one association per call, released or aborted by RAII;
// every OFCondition checked where it is produced and every DIMSE status checked on its own.
#include "iodeep/network/Pacs.hpp"

#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmnet/cond.h>
#include <dcmtk/dcmnet/dcmlayer.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dstorscp.h>
#include <dcmtk/dcmnet/scu.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "DicomTls.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/iod/Uid.hpp"

namespace iodeep::client {

namespace {

// ---- statuses (PS3.4 C.4 and PS3.7 C) ---------------------------------------------------------
constexpr Uint16 kSuccess = 0x0000;
constexpr Uint16 kCancel = 0xFE00;
// The most one C-FIND response may take on the wire (PDU headers included): an identifier of a
// few return keys is a few hundred bytes; this stops a peer that would send gigabytes.
constexpr std::uint64_t kMaxFindResponseBytes = std::uint64_t{1} << 20U;
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

// ---- transfer syntaxes -------------------------------------------------------------------------
// Requests (C-ECHO/FIND/MOVE/GET) travel uncompressed: Explicit VR first, Implicit VR always.
OFList<OFString> requestSyntaxes() {
  OFList<OFString> l;
  l.emplace_back(UID_LittleEndianExplicitTransferSyntax);
  l.emplace_back(UID_LittleEndianImplicitTransferSyntax);
  return l;
}

// What we accept for instances we receive: uncompressed always, and the compressed syntaxes the
// slice decoder reads (DCMTK's JPEG, JPEG-LS and RLE codecs; deflate is read by dcmdata; JPEG 2000
// by OpenJPEG, iod/src/Jpeg2000.cpp). A PACS that cannot transcode (Orthanc 1.10 has no JPEG 2000
// codec, dcmqrscp transcodes nothing) fails a retrieval whose stored syntax is not among them.
OFList<OFString> uncompressedStorageSyntaxes() {
  OFList<OFString> l = requestSyntaxes();
  l.emplace_back(UID_BigEndianExplicitTransferSyntax);
  l.emplace_back(UID_DeflatedExplicitVRLittleEndianTransferSyntax);
  return l;
}

const std::vector<const char*>& compressedStorageSyntaxes() {
  static const std::vector<const char*> syntaxes = {
      UID_JPEGProcess1TransferSyntax,     UID_JPEGProcess2_4TransferSyntax,       UID_JPEGProcess14TransferSyntax,
      UID_JPEGProcess14SV1TransferSyntax, UID_JPEGLSLosslessTransferSyntax,       UID_JPEGLSLossyTransferSyntax,
      UID_RLELosslessTransferSyntax,      UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax};
  return syntaxes;
}

OFList<OFString> acceptedStorageSyntaxes() {
  OFList<OFString> l = uncompressedStorageSyntaxes();
  for (const char* ts : compressedStorageSyntaxes()) l.emplace_back(ts);
  return l;
}

// The storage classes offered for C-GET when the caller names none: images this client reads,
// structure sets, and Raw Data (IODeep).
const std::vector<std::string>& defaultStorageClasses() {
  static const std::vector<std::string> classes = {UID_RawDataStorage,
                                                   UID_CTImageStorage,
                                                   UID_MRImageStorage,
                                                   UID_EnhancedCTImageStorage,
                                                   UID_EnhancedMRImageStorage,
                                                   UID_SecondaryCaptureImageStorage,
                                                   UID_RTStructureSetStorage,
                                                   UID_ComputedRadiographyImageStorage,
                                                   UID_DigitalXRayImageStorageForPresentation,
                                                   UID_UltrasoundImageStorage,
                                                   UID_PositronEmissionTomographyImageStorage,
                                                   UID_NuclearMedicineImageStorage,
                                                   UID_XRayAngiographicImageStorage};
  return classes;
}

const char* levelName(QueryLevel level) {
  switch (level) {
    case QueryLevel::Study: return "STUDY";
    case QueryLevel::Series: return "SERIES";
    case QueryLevel::Image: return "IMAGE";
  }
  return "STUDY";
}

std::string trimmed(const OFString& s) {
  std::string v(s.c_str(), s.length());
  while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

bool isCharsetText(DcmEVR vr) {
  return vr == EVR_PN || vr == EVR_LO || vr == EVR_SH || vr == EVR_ST || vr == EVR_LT || vr == EVR_UT || vr == EVR_UC;
}

DicomRecord toRecord(DcmDataset& ds) {
  DicomRecord r;
  iod::dcmtk::Utf8Text utf8(ds);  // text as UTF-8, from the response's SpecificCharacterSet
  for (unsigned long i = 0; i < ds.card(); ++i) {
    DcmElement* e = ds.getElement(i);
    if (e == nullptr) continue;
    const DcmTag& t = e->getTag();
    if (t.getGroup() == 0x0008 && t.getElement() == 0x0052) continue;  // QueryRetrieveLevel
    OFString value;
    if (e->ident() != EVR_SQ) (void)e->getOFStringArray(value);  // an empty value stays empty
    std::string text = trimmed(value);
    text = isCharsetText(e->ident()) ? utf8(text, e->ident() == EVR_PN) : iod::sanitizeUtf8(text);
    r.values.emplace_back(makeTag(t.getGroup(), t.getElement()), std::move(text));
  }
  return r;
}

// What a retrieval asked for: anything else that arrives is discarded (docs/security.md).
struct Wanted {
  QueryLevel level{QueryLevel::Study};
  std::string study, series, instance;
  std::vector<std::string> classes;  ///< empty: any storage class

  // Why an instance announced with these UIDs is not wanted; empty when it is.
  [[nodiscard]] std::string refusal(const std::string& sopClass, const std::string& sopInstance) const {
    if (!iod::isValidUid(sopInstance)) return "its SOP Instance UID is not a UID";
    if (level == QueryLevel::Image && sopInstance != instance) return "SOP instance " + instance + " was asked for";
    if (!classes.empty() && std::find(classes.begin(), classes.end(), sopClass) == classes.end()) {
      return "SOP class " + sopClass + " was not asked for";
    }
    return {};
  }
  // The same, with the study and series the data set names.
  [[nodiscard]] std::string refusal(const std::string& sopClass, const std::string& sopInstance,
                                    const std::string& studyUid, const std::string& seriesUid) const {
    auto why = refusal(sopClass, sopInstance);
    if (!why.empty()) return why;
    if (studyUid != study) return "it belongs to study " + studyUid + ", not " + study;
    if (level != QueryLevel::Study && seriesUid != series)
      return "it belongs to series " + seriesUid + ", not " + series;
    return {};
  }
};

void reportDiscarded(const std::string& peer, const std::string& sopInstance, const std::string& why) {
  iod::warn("discarded " + (sopInstance.empty() ? std::string("an instance") : sopInstance) + " from " + peer +
            ": not requested (" + why + ")");
}

// ---- the transport -------------------------------------------------------------------------------

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

DcmTransportLayer& quickAckLayer() {
  static QuickAckLayer layer;
  return layer;
}

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

// ---- the association -----------------------------------------------------------------------------

// One association with the PACS. Released by release(), aborted by the destructor otherwise.
class Association : public DcmSCU {
 public:
  Association(const NetworkOptions& o, detail::TlsContext* tls, std::string peer)
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
  Association(const Association&) = delete;
  Association& operator=(const Association&) = delete;
  Association(Association&&) = delete;
  Association& operator=(Association&&) = delete;
  ~Association() override {
    if (isConnected()) (void)abortAssociation();
  }

  [[nodiscard]] ErrorContext where() const { return ErrorContext{.peer = peer_}; }

  void propose(const char* abstractSyntax, const OFList<OFString>& syntaxes, T_ASC_SC_ROLE role = ASC_SC_ROLE_DEFAULT) {
    iod::dcmtk::check(addPresentationContext(abstractSyntax, syntaxes, role), ErrorCode::Internal,
                      std::string("cannot propose ") + abstractSyntax, where());
  }

  void open() {
    iod::dcmtk::check(initNetwork(), ErrorCode::NetworkError, "cannot initialise the network", where());
    // the layer's connections are plain TCP or TLS (useSecureConnection only installs it)
    iod::dcmtk::check(useSecureConnection(layer_), ErrorCode::Internal, "transport layer", where());
    detail::clearThreadTlsFailure();
    const OFCondition cond = negotiateAssociation();
    if (cond.good()) return;
    throwIfTlsFailed();
    const std::string text = cond.text();
    if (cond == DUL_ASSOCIATIONREJECTED) {
      throw Error(ErrorCode::AssociationRejected, "association rejected (" + text + "); is our AE title known?",
                  where());
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

  // Throws TlsFailure when a handshake or TLS read of this association failed.
  void throwIfTlsFailed() const {
    if (!tls_) return;
    const auto problem = detail::threadTlsFailure();
    if (!problem) return;
    throw Error(ErrorCode::TlsFailure, "TLS: " + problem->reason + std::string(tlsHint(*problem)), where());
  }

  // The accepted context for @p abstractSyntax; AssociationRejected when there is none.
  T_ASC_PresentationContextID context(const char* abstractSyntax, const std::string& what) {
    const T_ASC_PresentationContextID id = findAnyPresentationContextID(abstractSyntax, "");
    if (id == 0) throw Error(ErrorCode::AssociationRejected, "the peer does not accept " + what, where());
    return id;
  }

  void release() {
    if (!isConnected()) return;
    if (releaseAssociation().bad()) (void)abortAssociation();
  }

  // Throws NetworkError for a failed exchange (timeout, connection lost).
  void checkExchange(const OFCondition& cond, const std::string& what) const {
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

  // C-FIND: responses streamed to the handler, at most maxMatches, all within the deadline
  std::function<bool(const DicomRecord&)> onMatch;
  std::size_t matches{0};
  std::size_t maxMatches{0};
  Uint16 finalStatus{kSuccess};
  bool cancelled{false};
  bool truncated{false};
  bool deadlinePassed{false};
  detail::ReadLimits* readLimits{nullptr};  ///< this C-FIND's limits on every read of the connection
  std::chrono::steady_clock::time_point deadline;
  std::uint32_t dimseTimeout{0};

  // The wait for the next message: the DIMSE timeout, or what is left before the deadline.
  // False when the deadline has passed.
  bool limitWaitToDeadline() {
    const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    setDIMSETimeout(static_cast<Uint32>(std::min<long long>(dimseTimeout, left)));
    return true;
  }

  OFCondition handleFINDResponse(const T_ASC_PresentationContextID presID, QRResponse* response,
                                 OFBool& waitForNextResponse) override {
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

  // C-MOVE / C-GET: pending responses report progress; the handler may cancel
  RetrieveProgressHandler onProgress;
  bool retrieveCancelled{false};

  OFCondition reportProgress(const T_ASC_PresentationContextID presID, const RetrieveResponse& response) {
    if (!isPending(response.m_status) || !onProgress || retrieveCancelled) return EC_Normal;
    const RetrieveProgress p{
        static_cast<std::uint32_t>(response.m_numberOfCompletedSubops) + response.m_numberOfWarningSubops,
        response.m_numberOfRemainingSubops, response.m_numberOfFailedSubops};
    if (onProgress(p)) return EC_Normal;
    retrieveCancelled = true;
    return sendCANCELRequest(presID);  // the PACS then ends the retrieval with a final response
  }

  OFCondition handleMOVEResponse(const T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                 OFBool& waitForNextResponse) override {
    const OFCondition cond = DcmSCU::handleMOVEResponse(presID, response, waitForNextResponse);
    if (cond.bad() || response == nullptr) return cond;
    return reportProgress(presID, *response);
  }

  OFCondition handleCGETResponse(const T_ASC_PresentationContextID presID, RetrieveResponse* response,
                                 OFBool& continueCGETSession) override {
    const OFCondition cond = DcmSCU::handleCGETResponse(presID, response, continueCGETSession);
    if (cond.bad() || response == nullptr) return cond;
    return reportProgress(presID, *response);
  }

  // C-GET: instances arrive on the same association, written to disk as they are received
  // (DCMSCU_STORAGE_BIT_PRESERVING) under a name of ours, never the peer's UID
  std::filesystem::path receiveDir;
  std::uint32_t received{0};
  const Wanted* wanted{nullptr};
  std::uint32_t discarded{0};

  OFCondition handleSTORERequestFile(T_ASC_PresentationContextID* presID, const OFString& /*peersName*/,
                                     T_DIMSE_C_StoreRQ* request) override {
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

 private:
  std::string peer_;
  bool tls_;
  DcmTransportLayer* layer_;
};

// ---- our storage SCP for C-MOVE ----------------------------------------------------------------

// The addresses of @p host (a name or a numeric address), as text.
std::set<std::string> addressesOf(const std::string& host) {
  std::set<std::string> out{host};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST] = {};
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0) out.insert(text);
  }
  ::freeaddrinfo(found);
  return out;
}

class MoveDestination : public DcmStorageSCP {
 public:
  MoveDestination(const NetworkOptions& o, detail::TlsContext* tls, const std::filesystem::path& dir,
                  const std::vector<std::string>& classes, const Wanted& wanted, std::string peer)
      : pacsAeTitle_(o.pacs.aeTitle), wanted_(wanted), peer_(std::move(peer)) {
    if (!o.moveFromHost.empty()) allowedHosts_ = addressesOf(o.moveFromHost);
    const std::string ae = o.moveAeTitle.empty() ? o.callingAeTitle : o.moveAeTitle;
    setAETitle(ae.c_str());
    setPort(o.movePort);
    setMaxReceivePDULength(o.maxPdu);
    setConnectionBlockingMode(DUL_NOBLOCK);
    setConnectionTimeout(1);
    setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    setDIMSETimeout(o.dimseTimeoutSeconds);
    setACSETimeout(o.connectTimeoutSeconds);
    setHostLookupEnabled(OFFalse);
    setDatasetStorageMode(DGM_StoreBitPreserving);  // streamed to disk as received
    // with TLS, the PACS's association to us is a TLS one (DcmSCP asks the layer for a secure
    // connection whenever one is set)
    getConfig().setTransportLayer(tls != nullptr ? &tls->acceptor() : &quickAckLayer());
    setDirectoryGenerationMode(DGM_NoSubdirectory);
    setFilenameGenerationMode(FGM_UniqueFromNewUID);
    setFilenameExtension(".part");
    const ErrorContext where{.file = dir.string()};
    iod::dcmtk::check(setOutputDirectory(dir.c_str()), ErrorCode::OutputError, "cannot receive into", where);
    const OFList<OFString> syntaxes = acceptedStorageSyntaxes();
    // DcmSCP takes at most 128 contexts: the classes asked for and the usual ones
    std::vector<std::string> all = classes;
    for (const auto& c : defaultStorageClasses()) {
      if (std::find(all.begin(), all.end(), c) == all.end()) all.push_back(c);
    }
    for (const auto& c : all) {
      iod::dcmtk::check(addPresentationContext(c.c_str(), syntaxes), ErrorCode::Internal, "storage SCP context");
    }
    // (DcmStorageSCP adds the Verification SOP Class itself)
  }

  void stop() { stop_ = true; }
  /// Associations are accepted only while this is true (our C-MOVE request is pending).
  void setPending(bool pending) { pending_ = pending; }
  [[nodiscard]] std::uint32_t discarded() const { return discarded_.load(); }

 protected:
  OFBool stopAfterConnectionTimeout() override { return stop_.load(); }
  OFBool stopAfterCurrentAssociation() override { return stop_.load(); }

  // Only the PACS we asked, and only while we wait for it (docs/security.md): anyone else on the
  // network who connects to the move port is refused before any data set is read.
  void notifyAssociationRequest(const T_ASC_Parameters& params, DcmSCPActionType& desiredAction) override {
    DcmStorageSCP::notifyAssociationRequest(params, desiredAction);
    const std::string callingAe = trimmed(params.DULparams.callingAPTitle);
    std::string host = trimmed(params.DULparams.callingPresentationAddress);
    if (const auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) host.resize(colon);
    std::string why;
    if (!pending_.load()) {
      why = "no retrieval of ours is pending";
    } else if (callingAe != pacsAeTitle_) {
      why = "only " + peer_ + " may send what we retrieve";
    } else if (!allowedHosts_.empty() && allowedHosts_.count(host) == 0) {
      why = "host " + host + " is not the configured PACS host (move_from_host)";
    }
    if (why.empty()) return;
    desiredAction = DCMSCP_ACTION_REFUSE_ASSOCIATION;
    if (stop_.load()) return;  // our own nudge that wakes the SCP to stop
    iod::warn("refused an association to our move port from AE '" + callingAe + "' at " + host + ": " + why);
  }
  // What the PACS sends that is not what we asked for is deleted as soon as it is on disk.
  void notifyInstanceStored(const OFString& filename, const OFString& sopClassUid, const OFString& sopInstanceUid,
                            DcmDataset* /*dataset*/) const override {
    const std::string why = wanted_.refusal(sopClassUid.c_str(), sopInstanceUid.c_str());
    if (why.empty()) return;
    std::error_code ec;
    std::filesystem::remove(filename.c_str(), ec);
    ++discarded_;
    reportDiscarded(peer_, sopInstanceUid.c_str(), why);
  }

 private:
  std::string pacsAeTitle_;
  std::set<std::string> allowedHosts_;
  const Wanted& wanted_;
  std::string peer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> pending_{false};
  mutable std::atomic<std::uint32_t> discarded_{0};
};

// Wakes an SCP waiting in accept() so that it sees its stop flag at once.
void nudge(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::close(fd);
}

// Runs the storage SCP in a thread for the lifetime of the object.
class ListeningScp {
 public:
  ListeningScp(const NetworkOptions& o, detail::TlsContext* tls, const std::filesystem::path& dir,
               const std::vector<std::string>& classes, const Wanted& wanted, const std::string& peer)
      : scp_(o, tls, dir, classes, wanted, peer),
        port_(o.movePort),
        inputCorrection_(dcmEnableAutomaticInputDataCorrection.get()) {
    OFCondition cond = EC_Normal;
    {
      // openListenPort switches dcmdata's automatic input correction off for the whole process;
      // the readers in other threads (the viewer's, dcmrt's) expect it on, and this SCP stores
      // what it receives bit for bit (DGM_StoreBitPreserving): it is switched back before any
      // reader can run (iod::dcmtk::globalsMutex)
      const std::unique_lock lock(iod::dcmtk::globalsMutex());
      cond = scp_.openListenPort();
      dcmEnableAutomaticInputDataCorrection.set(inputCorrection_);
    }
    if (cond.bad()) {
      throw Error(ErrorCode::NetworkError,
                  "our move destination cannot listen on port " + std::to_string(o.movePort) +
                      " (already taken?): " + cond.text(),
                  ErrorContext{.peer = peer});
    }
    thread_ = std::thread([this] { (void)scp_.acceptAssociations(); });
  }
  ListeningScp(const ListeningScp&) = delete;
  ListeningScp& operator=(const ListeningScp&) = delete;
  ListeningScp(ListeningScp&&) = delete;
  ListeningScp& operator=(ListeningScp&&) = delete;
  MoveDestination& scp() { return scp_; }

  ~ListeningScp() {
    scp_.stop();
    nudge(port_);
    if (thread_.joinable()) thread_.join();
    dcmEnableAutomaticInputDataCorrection.set(inputCorrection_);  // as it was (see the constructor)
  }

 private:
  MoveDestination scp_;
  std::uint16_t port_;
  OFBool inputCorrection_;
  std::thread thread_;
};

// One move destination per process at a time: it listens on the one configured port, so two
// retrievals by C-MOVE at once (the viewer opening a series while it fetches a network or lists
// structure sets) take turns instead of failing with "port taken".
std::mutex& moveDestinationMutex() {
  static std::mutex m;
  return m;
}

// Moves every complete instance that was asked for from @p from into @p to as
// <SOPInstanceUID>.dcm; the others are deleted and reported. Two files that claim one SOP
// instance are both discarded: which one is genuine cannot be told, and the directory's order must
// not decide it.
void collect(const std::filesystem::path& from, const std::filesystem::path& to, const Wanted& wanted,
             const std::string& peer, RetrieveResult& result) {
  struct Arrived {
    std::filesystem::path path;
    std::string sop;
  };
  std::vector<Arrived> arrived;
  std::map<std::string, std::size_t> copies;
  const auto discard = [&](const std::filesystem::path& path, const std::string& sop, const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    ++result.discarded;
    reportDiscarded(peer, sop, why);
  };
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    std::string sop, sopClass, study, series;
    try {
      // values longer than 4 KiB stay on disk: the UIDs are what is read here
      auto file = iod::dcmtk::loadFile(entry.path(), 4096);
      DcmDataset& ds = *file->getDataset();
      sop = iod::dcmtk::getString(ds, DCM_SOPInstanceUID);
      sopClass = iod::dcmtk::getString(ds, DCM_SOPClassUID);
      study = iod::dcmtk::getString(ds, DCM_StudyInstanceUID);
      series = iod::dcmtk::getString(ds, DCM_SeriesInstanceUID);
    } catch (const Error&) {
      continue;  // incomplete: not handed over (the temporary directory goes with it)
    }
    const std::string why = wanted.refusal(sopClass, sop, study, series);
    if (!why.empty()) {
      discard(entry.path(), sop, why);
      continue;
    }
    ++copies[sop];
    arrived.push_back({entry.path(), sop});
  }
  for (const auto& a : arrived) {
    if (copies[a.sop] > 1) {
      discard(a.path, a.sop, std::to_string(copies[a.sop]) + " files claim this SOP instance");
      continue;
    }
    const auto target = to / (a.sop + ".dcm");
    // patient data and networks: ours alone (0600), whatever mode the toolkit created them with
    std::filesystem::permissions(a.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::rename(a.path, target);
    result.bytes += std::filesystem::file_size(target);
    result.files.push_back(target);
  }
}

void putKey(DcmDataset& ds, Tag tag, const std::string& value, const ErrorContext& where) {
  iod::dcmtk::check(
      ds.putAndInsertString(DcmTag(static_cast<Uint16>(tag >> 16U), static_cast<Uint16>(tag & 0xFFFFU)), value.c_str()),
      ErrorCode::InvalidArgument, "query key", where);
}

}  // namespace

// ---- Peer, options, records -------------------------------------------------------------------

Peer Peer::parse(std::string_view text) {
  const auto at = text.find('@');
  const auto colon = text.rfind(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon < at || at == 0 || colon == at + 1 ||
      colon + 1 == text.size()) {
    throw Error(ErrorCode::InvalidArgument, "'" + std::string(text) + "' is not AET@host:port");
  }
  Peer p;
  p.aeTitle = std::string(text.substr(0, at));
  p.host = std::string(text.substr(at + 1, colon - at - 1));
  const auto portText = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535) {
    throw Error(ErrorCode::InvalidArgument, "'" + std::string(portText) + "' is not a TCP port (1-65535)");
  }
  p.port = static_cast<std::uint16_t>(port);
  if (p.aeTitle.size() > 16) throw Error(ErrorCode::InvalidArgument, "AE title '" + p.aeTitle + "' is longer than 16");
  return p;
}

std::string Peer::toString() const {
  return aeTitle + "@" + host + ":" + std::to_string(port);
}

void NetworkOptions::validate() const {
  if (findDeadlineSeconds == 0 || maxFindResults == 0) {
    throw Error(ErrorCode::InvalidArgument, "find_deadline and max_find_results must be at least 1");
  }
  if (pacs.aeTitle.empty() || pacs.host.empty() || pacs.port == 0) {
    throw Error(ErrorCode::InvalidArgument, "no PACS given (--pacs AET@host:port or the configuration file)");
  }
  for (const auto* ae : {&callingAeTitle, &moveAeTitle}) {
    if (ae->size() > 16) throw Error(ErrorCode::InvalidArgument, "AE title '" + *ae + "' is longer than 16");
  }
  if (callingAeTitle.empty()) throw Error(ErrorCode::InvalidArgument, "our AE title (--aet) is empty");
  if (retrieve == RetrieveMode::Move && movePort == 0) {
    throw Error(ErrorCode::InvalidArgument, "C-MOVE needs our storage port (--move-port)");
  }
  if (maxPdu < 4096 || maxPdu > 131072) {
    throw Error(ErrorCode::InvalidArgument, "maximum PDU " + std::to_string(maxPdu) + " is outside 4096-131072");
  }
  if (connectTimeoutSeconds == 0 || dimseTimeoutSeconds == 0) {
    throw Error(ErrorCode::InvalidArgument, "timeouts must be at least 1 second");
  }
  if (!tls.enabled) return;
  if (tls.certificate.empty() || tls.privateKey.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "DICOM TLS needs our certificate and private key (--tls-certificate, --tls-key)");
  }
  if (tls.verifyPeer && tls.trustedCertificates.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "DICOM TLS needs the certificates that verify the peer (--tls-trusted), or --tls-no-verify-peer");
  }
  const auto readable = [](const std::filesystem::path& p, const char* what) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::filesystem::directory_iterator it(p, ec);
      if (!ec) return;
    } else if (std::ifstream(p).good()) {
      return;
    }
    throw Error(ErrorCode::FileNotFound, std::string(what) + " cannot be read", ErrorContext{.file = p.string()});
  };
  readable(tls.certificate, "our TLS certificate");
  readable(tls.privateKey, "our TLS private key");
  for (const auto& t : tls.trustedCertificates) readable(t, "trusted certificates");
}

std::vector<std::string> NetworkOptions::warnings() const {
  std::vector<std::string> w;
  if (tls.enabled && !tls.verifyPeer) {
    w.emplace_back(
        "DICOM TLS without peer verification: any peer that answers is accepted (encrypted, but it may be an "
        "impostor)");
  }
  return w;
}

std::string DicomRecord::get(Tag tag) const {
  for (const auto& [t, v] : values) {
    if (t == tag) return v;
  }
  return {};
}

bool DicomRecord::has(Tag tag) const {
  for (const auto& [t, v] : values) {
    if (t == tag) return true;
  }
  return false;
}

// ---- the services -----------------------------------------------------------------------------

Pacs::Pacs(NetworkOptions options) : options_(std::move(options)) {
  options_.validate();
  if (options_.tls.enabled) tls_ = std::make_shared<detail::TlsContext>(options_);
  // Nagle's algorithm is turned off on each connection by setsockopt (detail::noDelay), not by
  // DCMTK's TCP_NODELAY environment variable: setenv is not safe in a multithreaded process.
}

void Pacs::echo() const {
  Association a(options_, tls_.get(), options_.pacs.toString());
  a.propose(UID_VerificationSOPClass, requestSyntaxes());
  a.open();
  const auto id = a.context(UID_VerificationSOPClass, "C-ECHO");
  a.checkExchange(a.sendECHORequest(id), "C-ECHO");
  a.release();
}

namespace {

// One C-FIND on an open association.
FindResult runFind(Association& a, T_ASC_PresentationContextID id, const Query& query,
                   const std::function<bool(const DicomRecord&)>& onMatch, const NetworkOptions& o) {
  DcmDataset keys;
  putKey(keys, tags::kQueryRetrieveLevel, levelName(query.level), a.where());
  for (const auto& [tag, value] : query.keys) putKey(keys, tag, value, a.where());
  a.onMatch = onMatch;
  a.matches = 0;
  a.maxMatches = o.maxFindResults;
  a.cancelled = false;
  a.truncated = false;
  a.deadlinePassed = false;
  a.finalStatus = kSuccess;
  a.dimseTimeout = o.dimseTimeoutSeconds;
  a.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.findDeadlineSeconds);
  (void)a.limitWaitToDeadline();
  // the deadline and the byte budget hold inside DCMTK's receive loop too (every read checks them)
  detail::ReadLimits limits{a.deadline, kMaxFindResponseBytes};
  OFCondition cond = EC_Normal;
  {
    const detail::ReadGuard guard(limits);
    a.readLimits = &limits;
    cond = a.sendFINDRequest(id, &keys, nullptr);
    a.readLimits = nullptr;
  }
  a.setDIMSETimeout(o.dimseTimeoutSeconds);
  const std::string what = std::string("C-FIND at ") + levelName(query.level) + " level";
  if (limits.budgetExhausted) {
    throw Error(ErrorCode::NetworkError,
                what + ": a response larger than " + std::to_string(kMaxFindResponseBytes) +
                    " bytes (a C-FIND identifier is a few hundred); the association was aborted",
                a.where());
  }
  if (a.deadlinePassed || limits.deadlinePassed || (cond.bad() && std::chrono::steady_clock::now() >= a.deadline)) {
    throw Error(ErrorCode::NetworkError,
                what + " did not finish within " + std::to_string(o.findDeadlineSeconds) + " s (find_deadline; " +
                    std::to_string(a.matches) + " response(s) by then)",
                a.where());
  }
  a.checkExchange(cond, "C-FIND");
  if (a.finalStatus != kSuccess && !(a.cancelled && a.finalStatus == kCancel) && !isWarning(a.finalStatus)) {
    auto where = a.where();
    where.dimseStatus = statusHex(a.finalStatus);
    throw Error(ErrorCode::DimseFailure, what + " failed", where);
  }
  if (a.truncated) {
    iod::warn(what + " stopped after " + std::to_string(a.matches) + " responses (max_find_results) from " +
              o.pacs.toString() + ": the list is incomplete; narrow the query");
  }
  return {a.matches, a.truncated};
}

}  // namespace

FindResult Pacs::find(const Query& query, const std::function<bool(const DicomRecord&)>& onMatch) const {
  return findEach({query}, [&](std::size_t, const DicomRecord& r) { return onMatch(r); }).front();
}

std::vector<FindResult> Pacs::findEach(const std::vector<Query>& queries,
                                       const std::function<bool(std::size_t, const DicomRecord&)>& onMatch) const {
  Association a(options_, tls_.get(), options_.pacs.toString());
  a.propose(UID_FINDStudyRootQueryRetrieveInformationModel, requestSyntaxes());
  a.open();
  const auto id = a.context(UID_FINDStudyRootQueryRetrieveInformationModel, "C-FIND (Study Root)");
  std::vector<FindResult> results;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    results.push_back(runFind(
        a, id, queries[i], [&](const DicomRecord& r) { return onMatch(i, r); }, options_));
  }
  a.release();
  return results;
}

std::vector<DicomRecord> Pacs::findAll(const Query& query) const {
  std::vector<DicomRecord> out;
  (void)find(query, [&](const DicomRecord& r) {
    out.push_back(r);
    return true;
  });
  return out;
}

RetrieveResult Pacs::retrieve(QueryLevel level, const std::string& studyUid, const std::string& seriesUid,
                              const std::string& sopInstanceUid, const std::filesystem::path& directory,
                              const std::vector<std::string>& sopClassUids,
                              const RetrieveProgressHandler& onProgress) const {
  const bool move = options_.retrieve == RetrieveMode::Move;
  const char* model =
      move ? UID_MOVEStudyRootQueryRetrieveInformationModel : UID_GETStudyRootQueryRetrieveInformationModel;
  // files arrive beside the target and enter it only when complete and asked for
  const iod::TemporaryDirectory incoming(directory, ".receiving-");
  const std::string peer = options_.pacs.toString();
  const Wanted wanted{level, studyUid, level == QueryLevel::Study ? std::string() : seriesUid,
                      level == QueryLevel::Image ? sopInstanceUid : std::string(), sopClassUids};
  Association a(options_, tls_.get(), peer);
  a.propose(model, requestSyntaxes());
  if (!move) {
    // The PACS sends each instance on an accepted context of its class, in that context's one
    // syntax, transcoding when they differ (and failing when it cannot: Orthanc 1.10 and JPEG 2000).
    // So one context offers the uncompressed syntaxes and, for classes that may hold compressed
    // pixels, each compressed syntax we read has a context of its own: the PACS can send an
    // instance as it keeps it. (The 13 default classes take 112 of the 128 contexts.)
    const auto& classes = sopClassUids.empty() ? defaultStorageClasses() : sopClassUids;
    const OFList<OFString> uncompressed = uncompressedStorageSyntaxes();
    for (const auto& c : classes) {
      a.propose(c.c_str(), uncompressed, ASC_SC_ROLE_SCP);
      if (c == UID_RawDataStorage || c == UID_RTStructureSetStorage) continue;  // no pixel data
      for (const char* ts : compressedStorageSyntaxes()) {
        OFList<OFString> one;
        one.emplace_back(ts);
        a.propose(c.c_str(), one, ASC_SC_ROLE_SCP);
      }
    }
  }
  DcmDataset keys;
  putKey(keys, tags::kQueryRetrieveLevel, levelName(level), a.where());
  putKey(keys, tags::kStudyInstanceUid, studyUid, a.where());
  if (level != QueryLevel::Study) putKey(keys, tags::kSeriesInstanceUid, seriesUid, a.where());
  if (level == QueryLevel::Image) putKey(keys, tags::kSopInstanceUid, sopInstanceUid, a.where());

  OFList<RetrieveResponse*> responses;
  // the responses are ours to free, whatever happens
  struct Owner {
    OFList<RetrieveResponse*>& list;
    ~Owner() {
      for (auto* r : list) delete r;  // NOLINT(cppcoreguidelines-owning-memory): DCMTK's ownership contract
    }
  } owner{responses};

  RetrieveResult result;
  std::optional<detail::TlsProblem> scpTlsFailure;  // why the PACS could not connect to our SCP over TLS
  {
    std::unique_lock<std::mutex> moveTurn;
    if (move) moveTurn = std::unique_lock<std::mutex>(moveDestinationMutex());
    std::unique_ptr<ListeningScp> scp;
    if (move && tls_) (void)tls_->takeAcceptorFailure();  // only this retrieval's
    if (move) {
      scp = std::make_unique<ListeningScp>(options_, tls_.get(), incoming.path(), sopClassUids, wanted, peer);
    }
    a.open();
    const auto id = a.context(model, move ? "C-MOVE (Study Root)" : "C-GET (Study Root)");
    a.receiveDir = incoming.path();
    a.wanted = &wanted;
    if (!move) {
      a.setStorageMode(DCMSCU_STORAGE_BIT_PRESERVING);  // straight to disk, never whole in memory
      a.setStorageDir(incoming.path().c_str());
    }
    a.onProgress = onProgress;
    if (onProgress && !onProgress(RetrieveProgress{})) {
      a.release();
      throw Error(ErrorCode::Cancelled, "the retrieval was cancelled before it began", a.where());
    }
    const std::string destination = options_.moveAeTitle.empty() ? options_.callingAeTitle : options_.moveAeTitle;
    if (scp) scp->scp().setPending(true);
    const OFCondition cond =
        move ? a.sendMOVERequest(id, destination.c_str(), &keys, &responses) : a.sendCGETRequest(id, &keys, &responses);
    if (scp) {
      scp->scp().setPending(false);
      result.discarded += scp->scp().discarded();
    }
    result.discarded += a.discarded;
    // the PACS has finished its sub-operations: any handshake with our SCP has been tried
    if (move && tls_) scpTlsFailure = tls_->takeAcceptorFailure();
    a.checkExchange(cond, move ? "C-MOVE" : "C-GET");
    a.release();
  }  // the storage SCP has stopped: every file it received is complete

  Uint16 finalStatus = kSuccess;
  if (!responses.empty()) {
    const RetrieveResponse* last = responses.back();
    finalStatus = last->m_status;
    result.completed = last->m_numberOfCompletedSubops;
    result.failed = last->m_numberOfFailedSubops;
    result.warnings = last->m_numberOfWarningSubops;
  }
  auto where = a.where();
  where.dimseStatus = statusHex(finalStatus);
  const std::string what = move ? "C-MOVE" : "C-GET";
  if (responses.empty()) throw Error(ErrorCode::NetworkError, what + ": no response", a.where());
  if (a.retrieveCancelled) {
    collect(incoming.path(), directory, wanted, peer, result);  // what arrived complete is kept
    throw Error(ErrorCode::Cancelled, what + " cancelled after " + std::to_string(result.files.size()) + " instance(s)",
                where);
  }
  const auto throwIfScpTlsFailed = [&] {
    if (!scpTlsFailure) return;
    throw Error(ErrorCode::TlsFailure,
                "the PACS could not connect to our move destination (port " + std::to_string(options_.movePort) +
                    ") over TLS: " + scpTlsFailure->reason +
                    "; does it reach us with DICOM TLS (Orthanc: \"UseDicomTls\": true in our modality) and a "
                    "certificate we trust?",
                where);
  };
  if (finalStatus != kSuccess && !isWarning(finalStatus)) {
    throwIfScpTlsFailed();
    throw Error(ErrorCode::DimseFailure,
                what + " failed (" + std::to_string(result.failed) + " sub-operation(s) failed)" +
                    (move ? "; does the PACS know our AE title, host and port?" : ""),
                where);
  }
  collect(incoming.path(), directory, wanted, peer, result);
  if (result.failed > 0 || result.files.empty()) {
    throwIfScpTlsFailed();
    throw Error(ErrorCode::DimseFailure,
                what + ": " + std::to_string(result.files.size()) + " instance(s) received, " +
                    std::to_string(result.failed) + " failed" +
                    (result.discarded > 0
                         ? ", " + std::to_string(result.discarded) + " discarded: nothing that was asked for arrived"
                         : std::string()),
                where);
  }
  return result;
}

std::vector<StoreOutcome> Pacs::store(const std::vector<std::filesystem::path>& files) const {
  struct Item {
    std::filesystem::path path;
    std::unique_ptr<DcmFileFormat> file;
    std::string sopClass, sopInstance, xfer;
  };
  std::vector<Item> items;
  for (const auto& f : files) {
    auto file = iod::dcmtk::loadFile(f);
    Item it{f, nullptr, iod::dcmtk::getString(*file->getDataset(), DCM_SOPClassUID),
            iod::dcmtk::getString(*file->getDataset(), DCM_SOPInstanceUID), iod::dcmtk::transferSyntaxOf(*file)};
    if (it.sopClass.empty() || it.sopInstance.empty()) {
      throw Error(ErrorCode::NotDicom, "no SOP Class or SOP Instance UID", ErrorContext{.file = f.string()});
    }
    it.file = std::move(file);
    items.push_back(std::move(it));
  }
  std::vector<StoreOutcome> out;
  if (items.empty()) return out;

  Association a(options_, tls_.get(), options_.pacs.toString());
  std::vector<std::pair<std::string, std::string>> proposed;  // (class, syntax) pairs, once each
  for (const auto& it : items) {
    // the file's own syntax, then uncompressed ones, each in a context of its own
    for (const std::string& ts : {it.xfer, std::string(UID_LittleEndianExplicitTransferSyntax),
                                  std::string(UID_LittleEndianImplicitTransferSyntax)}) {
      if (ts.empty()) continue;
      const std::pair key{it.sopClass, ts};
      if (std::find(proposed.begin(), proposed.end(), key) != proposed.end()) continue;
      proposed.push_back(key);
      OFList<OFString> one;
      one.emplace_back(ts.c_str());
      a.propose(it.sopClass.c_str(), one);
    }
  }
  if (proposed.size() > 127) throw Error(ErrorCode::InvalidArgument, "too many SOP classes for one association");
  a.setDatasetConversionMode(OFTrue);
  a.open();
  for (const auto& it : items) {
    T_ASC_PresentationContextID id = a.findPresentationContextID(it.sopClass.c_str(), it.xfer.c_str());
    if (id == 0) id = a.context(it.sopClass.c_str(), "storage of " + it.sopClass);
    Uint16 status = 0;
    a.checkExchange(a.sendSTORERequest(id, "", it.file->getDataset(), status), "C-STORE of " + it.path.string());
    if (status != kSuccess && !isWarning(status)) {
      auto where = a.where();
      where.file = it.path.string();
      where.uid = it.sopInstance;
      where.dimseStatus = statusHex(status);
      throw Error(ErrorCode::DimseFailure, "the PACS refused to store the instance", where);
    }
    out.push_back({it.path, it.sopInstance, status, status != kSuccess});
  }
  a.release();
  return out;
}

}  // namespace iodeep::client
