// The SCU services of Pacs: C-ECHO, C-FIND, C-MOVE/C-GET and C-STORE, one association per call.
#include "iodeep/network/Pacs.hpp"

#include <dcmtk/dcmdata/dctk.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "Association.hpp"
#include "Collect.hpp"
#include "DicomTls.hpp"
#include "DicomWeb.hpp"
#include "Http.hpp"
#include "Records.hpp"
#include "StorageScp.hpp"
#include "TransferSyntaxes.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"

namespace iodeep::client {

using detail::Association;
using detail::collect;
using detail::compressedStorageSyntaxes;
using detail::defaultStorageClasses;
using detail::isWarning;
using detail::kCancel;
using detail::kMaxFindResponseBytes;
using detail::kSuccess;
using detail::levelName;
using detail::ListeningScp;
using detail::moveDestinationMutex;
using detail::putKey;
using detail::requestSyntaxes;
using detail::statusHex;
using detail::uncompressedStorageSyntaxes;
using detail::Wanted;

namespace {
std::atomic<std::uint64_t> builtCount{0};
std::atomic<std::uint64_t> findCount{0};
}  // namespace

std::uint64_t Pacs::instancesBuilt() noexcept {
  return builtCount.load();
}

std::uint64_t Pacs::findsSent() noexcept {
  return findCount.load();
}

Pacs::Pacs(NetworkOptions options) : options_(std::move(options)) {
  options_.validate();
  if (options_.pacs.isWeb()) {
    web_ = std::make_shared<detail::HttpPeer>(options_);
  } else if (options_.tls.enabled) {
    tls_ = std::make_shared<detail::TlsContext>(options_);
  }
  // Nagle's algorithm is turned off on each connection by setsockopt (detail::noDelay), not by
  // DCMTK's TCP_NODELAY environment variable: setenv is not safe in a multithreaded process.
  builtCount.fetch_add(1, std::memory_order_relaxed);  // built: counted
}

void Pacs::echo() const {
  if (web_) {
    detail::webEcho(*web_);
    return;
  }
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
  findCount.fetch_add(1, std::memory_order_relaxed);
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
  if (web_) {
    std::vector<FindResult> results;
    for (std::size_t i = 0; i < queries.size(); ++i) {
      findCount.fetch_add(1, std::memory_order_relaxed);
      results.push_back(
          detail::webFind(*web_, options_, queries[i], [&](const DicomRecord& r) { return onMatch(i, r); }));
    }
    return results;
  }
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
  if (web_) {
    return detail::webRetrieve(*web_, options_, level, studyUid, seriesUid, sopInstanceUid, directory, sopClassUids,
                               onProgress);
  }
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
  if (web_) return detail::webStore(*web_, files);
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
