// Our storage SCP for C-MOVE: who may connect, where instances go, the listening thread's life.
#include "StorageScp.hpp"

#include <dcmtk/dcmdata/dctk.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netdb.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "Collect.hpp"
#include "DicomTls.hpp"
#include "Records.hpp"
#include "TransferSyntaxes.hpp"
#include "Transport.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::client::detail {

namespace {

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

}  // namespace

MoveDestination::MoveDestination(const NetworkOptions& o, TlsContext* tls, const std::filesystem::path& dir,
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

void MoveDestination::notifyAssociationRequest(const T_ASC_Parameters& params, DcmSCPActionType& desiredAction) {
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

void MoveDestination::notifyInstanceStored(const OFString& filename, const OFString& sopClassUid,
                                           const OFString& sopInstanceUid, DcmDataset* /*dataset*/) const {
  const std::string why = wanted_.refusal(sopClassUid.c_str(), sopInstanceUid.c_str());
  if (why.empty()) return;
  std::error_code ec;
  std::filesystem::remove(filename.c_str(), ec);
  ++discarded_;
  reportDiscarded(peer_, sopInstanceUid.c_str(), why);
}

ListeningScp::ListeningScp(const NetworkOptions& o, TlsContext* tls, const std::filesystem::path& dir,
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

ListeningScp::~ListeningScp() {
  scp_.stop();
  nudge(port_);
  if (thread_.joinable()) thread_.join();
  dcmEnableAutomaticInputDataCorrection.set(inputCorrection_);  // as it was (see the constructor)
}

std::mutex& moveDestinationMutex() {
  static std::mutex m;
  return m;
}

}  // namespace iodeep::client::detail
