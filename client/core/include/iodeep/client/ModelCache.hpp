#pragma once
/// @file ModelCache.hpp
/// The local model cache: IODeep objects retrieved from the PACS, verified (SHA-256, DnnUID)
/// once when they enter, then used without re-hashing. Keyed by SOP Instance UID and DnnUID;
/// bounded in bytes with least-recently-used eviction; safe for several iodeep processes at once
/// (every file enters by rename, readers keep what they opened).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "iodeep/iod/Signature.hpp"

namespace iodeep::client {

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
};

class ModelCache {
 public:
  /// Creates @p directory when missing. Throws Error(OutputError) when it cannot.
  ModelCache(std::filesystem::path directory, std::uint64_t maxBytes);

  /// The verified entry for an IODeep SOP Instance UID, marked as used unless @p markUsed is
  /// false; nothing when absent.
  [[nodiscard]] std::optional<CachedModel> findBySopInstance(const std::string& sopInstanceUid,
                                                             bool markUsed = true) const;
  /// The verified entry with this DnnUID, marked as used; nothing when absent.
  [[nodiscard]] std::optional<CachedModel> findByDnnUid(const std::string& dnnUid) const;

  /// Verifies @p file (a complete IODeep object: readIodeep + verifyIodeep, any error finding
  /// refuses it) and moves it into the cache, then evicts least recently used entries beyond the
  /// size limit (never the one just admitted). The file is consumed either way. Throws the
  /// verification error (e.g. ChecksumMismatch) with the file and UID as context.
  CachedModel admit(const std::filesystem::path& file);

  /// Every entry, most recently used first.
  [[nodiscard]] std::vector<CachedModel> list() const;
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }
  [[nodiscard]] std::uint64_t maxBytes() const noexcept { return maxBytes_; }

 private:
  void evict(const std::string& keep) const;
  std::filesystem::path directory_;
  std::uint64_t maxBytes_;
};

}  // namespace iodeep::client
