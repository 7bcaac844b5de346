#pragma once
/// @file ModelCache.hpp
/// The local model cache: IODeep objects retrieved from the PACS, verified (SHA-256, DnnUID,
/// signatures) once when they enter, then used without re-hashing: each entry records the
/// identity of the file that was verified (device, inode, size, modification and change times to
/// the nanosecond) and is an entry only while its file still has it. Keyed by SOP Instance UID and
/// DnnUID; bounded in bytes with least-recently-used eviction, which skips entries in use; safe
/// for several iodeep processes at once (every file enters by rename; directory 0700, files 0600).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"
#include "iodeep/network/Query.hpp"

namespace iodeep::client {

/// A use of a cache entry: the model file held open with a shared lock. While it lives no
/// ModelCache, in this process or another, evicts the entry. Opaque to callers: keep it (any copy
/// of the CachedModel that carries it) for as long as the model is used.
class ModelLease;

struct CachedModel {
  std::filesystem::path file;
  std::string sopInstanceUid;
  std::string dnnUid;
  std::string name, version;
  std::uint64_t bytes{0};
  // what it was trained for and its identification, as verified in the object: selection can use
  // them when the PACS does not return them at C-FIND
  std::string modality, bodyPartExamined, photometricInterpretation, seriesDescription, contentDate, contentTime;
  std::uint16_t samplesPerPixel{0};
  /// Its signatures as verified when it entered the cache (the data set hashed then, not again).
  iod::SignatureReport signatures;
  /// Set by findBySopInstance, findByDnnUid and admit (the caller is about to use the model);
  /// empty in list()'s answers.
  std::shared_ptr<const ModelLease> lease;
};

class ModelCache {
 public:
  /// Creates @p directory when missing (iod::createPrivateDirectory: mode 0700, an existing one
  /// of this user tightened to it). Throws Error(OutputError) when it cannot, or when the directory
  /// belongs to another user.
  ModelCache(std::filesystem::path directory, std::uint64_t maxBytes);

  /// The verified entry for an IODeep SOP Instance UID, with its lease, marked as used unless
  /// @p markUsed is false; nothing when absent. An entry whose file is no longer the one verified
  /// (replaced, rewritten, touched) is removed and reported absent: it is retrieved and verified
  /// again.
  [[nodiscard]] std::optional<CachedModel> findBySopInstance(const std::string& sopInstanceUid,
                                                             bool markUsed = true) const;
  /// The verified entry with this DnnUID, with its lease, marked as used; nothing when absent.
  [[nodiscard]] std::optional<CachedModel> findByDnnUid(const std::string& dnnUid) const;

  /// Verifies @p file (a complete IODeep object: readIodeep + verifyIodeep, any error finding
  /// refuses it) and moves it into the cache (mode 0600), then evicts least recently used entries
  /// beyond the size limit (never the one just admitted, nor one leased by anyone). Returns the
  /// entry with its lease. The file is consumed either way. Throws the verification error (e.g.
  /// ChecksumMismatch) with the file and UID as context, Error(OutputError) when it cannot enter.
  CachedModel admit(const std::filesystem::path& file);

  /// Removes @p entry, one the caller refused after using it (its description on the PACS did not
  /// match the object): the caller's lease is released first; an entry someone else holds stays.
  void drop(CachedModel entry) const;

  /// Every entry, most recently used first (without leases: a listing, not a use).
  [[nodiscard]] std::vector<CachedModel> list() const;
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }
  [[nodiscard]] std::uint64_t maxBytes() const noexcept { return maxBytes_; }

  /// Instances built in this process (the workstation's construction counts).
  [[nodiscard]] static std::uint64_t instancesBuilt() noexcept;

 private:
  [[nodiscard]] std::optional<CachedModel> use(const std::filesystem::path& index, bool markUsed) const;
  void evict(const std::string& keep) const;
  std::filesystem::path directory_;
  std::uint64_t maxBytes_;
};

/// What the PACS did not say about @p model at C-FIND (blank fields: series description, body
/// part, samples per pixel, photometric interpretation, content date and time), taken from its
/// verified cache entry @p cached. What the PACS said is kept: the object is compared with it
/// when it is used (the description check).
void fillBlanksFromCache(RemoteModel& model, const CachedModel& cached);

}  // namespace iodeep::client
