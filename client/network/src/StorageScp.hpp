#pragma once
// Our storage SCP for C-MOVE: the move destination and the thread it listens in.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmnet/dstorscp.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

struct Wanted;  // Collect.hpp

// Receives what the PACS sends for our C-MOVE, straight to disk, from that PACS only, and deletes
// what was not asked for.
class MoveDestination : public DcmStorageSCP {
 public:
  MoveDestination(const NetworkOptions& o, TlsContext* tls, const std::filesystem::path& dir,
                  const std::vector<std::string>& classes, const Wanted& wanted, std::string peer);

  void stop() { stop_ = true; }
  /// Associations are accepted only while this is true (our C-MOVE request is pending).
  void setPending(bool pending) { pending_ = pending; }
  [[nodiscard]] std::uint32_t discarded() const { return discarded_.load(); }

 protected:
  OFBool stopAfterConnectionTimeout() override { return stop_.load(); }
  OFBool stopAfterCurrentAssociation() override { return stop_.load(); }

  // Only the PACS we asked, and only while we wait for it (docs/security.md): anyone else on the
  // network who connects to the move port is refused before any data set is read.
  void notifyAssociationRequest(const T_ASC_Parameters& params, DcmSCPActionType& desiredAction) override;
  // What the PACS sends that is not what we asked for is deleted as soon as it is on disk.
  void notifyInstanceStored(const OFString& filename, const OFString& sopClassUid, const OFString& sopInstanceUid,
                            DcmDataset* dataset) const override;

 private:
  std::string pacsAeTitle_;
  std::set<std::string> allowedHosts_;
  const Wanted& wanted_;
  std::string peer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> pending_{false};
  mutable std::atomic<std::uint32_t> discarded_{0};
};

// Runs the storage SCP in a thread for the lifetime of the object.
class ListeningScp {
 public:
  ListeningScp(const NetworkOptions& o, TlsContext* tls, const std::filesystem::path& dir,
               const std::vector<std::string>& classes, const Wanted& wanted, const std::string& peer);
  ListeningScp(const ListeningScp&) = delete;
  ListeningScp& operator=(const ListeningScp&) = delete;
  ListeningScp(ListeningScp&&) = delete;
  ListeningScp& operator=(ListeningScp&&) = delete;
  MoveDestination& scp() { return scp_; }

  ~ListeningScp();

 private:
  MoveDestination scp_;
  std::uint16_t port_;
  OFBool inputCorrection_;
  std::thread thread_;
};

// One move destination per process at a time: it listens on the one configured port, so two
// retrievals by C-MOVE at once (the viewer opening a series while it fetches a network or lists
// structure sets) take turns instead of failing with "port taken".
std::mutex& moveDestinationMutex();

}  // namespace iodeep::client::detail
