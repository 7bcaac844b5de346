#pragma once
/// @file DiscoveryCache.hpp
/// What model discovery learnt from each PACS (docs/selection.md, "Discovery"): per PACS and per
/// modality asked, the IODeep models as C-FIND described them, when that listing was made and
/// refreshed, and how the PACS answers (its DiscoveryPath). One file per PACS (lines of
/// tab-separated fields, format "iodeep-discovery-2": with 3,000 models, a cached selection's
/// discovery step took 7.5 ms where the JSON of version 1 took 27-38 ms) in a directory
/// private to the user (0700, files 0600), written whole to a temporary file and renamed over the
/// old one under an exclusive flock of <directory>/.lock: several processes (the CLI's commands,
/// the viewer, the service) share it. A file that cannot be read or is not what this version
/// writes is ignored (reported as Corrupt) and replaced by the next listing; it never throws for
/// that. With no directory the cache lives in memory, for the object's lifetime.
///
/// A long-lived process (the service, the viewer) does not read a listing again while its file is
/// unchanged: what find() read is kept per PACS and modality with the file's identity (device,
/// inode, size, modification and change times) and given again while they still match. A file
/// modified or changed less than a second before it was read is not kept (its times could hide
/// a change made in the same clock tick), so the next find() reads it again.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/network/Query.hpp"

namespace iodeep::client {

/// One listing: the models of one modality ("" for every modality) on one PACS.
struct DiscoveryEntry {
  std::string modality;
  std::int64_t builtAt{0};      ///< when the listing was made from scratch (seconds since the epoch, UTC)
  std::int64_t refreshedAt{0};  ///< when it was last brought up to date (same clock)
  std::vector<RemoteModel> models;
};

/// What the cache holds for a PACS and a modality.
struct DiscoveryLookup {
  enum class State {
    Absent,   ///< nothing for this PACS (or this modality)
    Corrupt,  ///< the PACS's file could not be read or was not ours: ignored, rebuilt by the next put
    Found,
  };
  State state{State::Absent};
  std::shared_ptr<const DiscoveryEntry> entry;  ///< when Found (shared with the cache's memory of it)
  std::optional<DiscoveryPath> path;            ///< how the PACS answered last time, when known
};

namespace detail {
/// A file's identity: what changes when it is replaced or modified.
struct DiscoveryFileStamp {
  std::uint64_t device{0}, inode{0}, size{0};
  std::int64_t modifiedNs{0}, changedNs{0};
  bool operator==(const DiscoveryFileStamp&) const = default;
};
}  // namespace detail

class DiscoveryCache {
 public:
  /// @p directory: where the files live (created 0700 on the first put; an existing one of this
  /// user tightened to 0700); empty: in memory only. Nothing is touched on disk here.
  explicit DiscoveryCache(std::filesystem::path directory);

  /// The listing of @p modality for the PACS named @p peer (any text naming it, e.g. the calling
  /// AE title and "AET@host:port"). Never throws for a missing, unreadable or corrupt file.
  [[nodiscard]] DiscoveryLookup find(const std::string& peer, const std::string& modality) const;

  /// Records @p entry for @p peer (replacing the listing of its modality; other modalities kept,
  /// unless @p path differs from the one recorded: their listings were made another way and are
  /// dropped) and @p path when known. Throws Error(OutputError) when the directory or the file
  /// cannot be written.
  void put(const std::string& peer, const DiscoveryEntry& entry, std::optional<DiscoveryPath> path) const;

  /// Adds to @p peer's listing of @p modality what a later query told about some of its models
  /// (@p described, by SOP Instance UID): a SamplesPerPixel or PhotometricInterpretation the
  /// listing did not have (Orthanc answers them only to an IMAGE-level query on one instance,
  /// by reading the stored file; a stored instance does not change, so one answer holds). The
  /// listing's times are kept. Nothing happens when there is no such listing or nothing is new.
  /// Throws Error(OutputError) when the file cannot be written.
  void learn(const std::string& peer, const std::string& modality, const std::vector<RemoteModel>& described) const;

  /// Drops everything recorded for @p peer. Throws Error(OutputError) when the file stays.
  void forget(const std::string& peer) const;

  /// The file that holds @p peer's listings (empty in memory).
  [[nodiscard]] std::filesystem::path fileOf(const std::string& peer) const;
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

  /// Instances built in this process (the workstation's construction counts).
  [[nodiscard]] static std::uint64_t instancesBuilt() noexcept;

 private:
  std::filesystem::path directory_;
  /// in memory (no directory): the text a file would hold, per peer
  mutable std::mutex memoryMutex_;
  mutable std::map<std::string, std::string> memory_;

  /// What a file held when find() last read it: per (peer, modality), with the file's identity.
  struct Remembered {
    detail::DiscoveryFileStamp stamp;
    std::shared_ptr<const DiscoveryEntry> entry;
    std::optional<DiscoveryPath> path;
  };
  mutable std::mutex rememberedMutex_;
  mutable std::map<std::pair<std::string, std::string>, Remembered> remembered_;
};

}  // namespace iodeep::client
