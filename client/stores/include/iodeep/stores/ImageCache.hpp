#pragma once
/// @file ImageCache.hpp
/// The viewer's local copy of the series it opened: one directory per series under the
/// configuration's image_cache_dir, one file per instance (<SOP Instance UID>.dcm), entered by
/// rename when complete. Opening a series again retrieves only what is missing. Bounded in bytes:
/// the least recently opened series leave first. These are patient data: the directory is the
/// user's own cache (mode 0700, files 0600; docs/viewer.md). A series directory holds only
/// instances of its series: any other file found there is deleted and logged (iod::warn).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"

namespace iodeep::client {

/// One instance of an opened series, in display order.
struct LocalInstance {
  std::filesystem::path file;
  std::string sopInstanceUid;
  std::int32_t instanceNumber{0};
  double position{0};  ///< along the slice normal (mm), when the file has geometry
};

/// Progress of opening a series: instances present locally out of the series' total.
struct SeriesProgress {
  std::size_t present{0}, total{0};
};
/// Return false to cancel.
using SeriesProgressHandler = std::function<bool(const SeriesProgress&)>;

/// The DICOM images among @p files (unreadable files and non-images left out) in display order: by
/// position along the slice normal when every slice has geometry (kept in instance-number order
/// when the positions fall as the numbers rise), else by InstanceNumber, then SOP Instance UID.
[[nodiscard]] std::vector<LocalInstance> orderedImages(const std::vector<std::filesystem::path>& files);

class ImageCache {
 public:
  /// Creates @p directory when missing (iod::createPrivateDirectory: mode 0700). Throws
  /// Error(OutputError), also when the directory belongs to another user.
  ImageCache(std::filesystem::path directory, std::uint64_t maxBytes);

  /// The instances of a series, local, in display order (by position along the slice normal when
  /// every slice has geometry, else InstanceNumber, then SOP Instance UID). Asks the PACS which
  /// instances the series has (C-FIND), retrieves the missing ones (one series-level retrieval
  /// when none is local, else instance by instance), reporting progress; a cancel keeps what
  /// arrived and throws Error(Cancelled). Non-image instances (no Rows) are left out. Files of
  /// another study or series, or not named after their own SOP Instance UID, are deleted and
  /// logged, before and after the retrieval.
  std::vector<LocalInstance> openSeries(const Pacs& pacs, const std::string& studyUid, const std::string& seriesUid,
                                        const SeriesProgressHandler& onProgress = {});

  /// What is already local for a series, in display order (no PACS). A file found in its
  /// directory that is not of the series (another SeriesInstanceUID, another StudyInstanceUID when
  /// @p studyUid is given, a name that is not its SOP Instance UID, not DICOM) is deleted and
  /// logged, never listed.
  [[nodiscard]] std::vector<LocalInstance> localSeries(const std::string& seriesUid,
                                                       const std::string& studyUid = {}) const;

  [[nodiscard]] std::filesystem::path seriesDirectory(const std::string& seriesUid) const;
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

  /// Instances built in this process (the workstation's construction counts).
  [[nodiscard]] static std::uint64_t instancesBuilt() noexcept;

 private:
  void evict(const std::string& keep) const;
  std::filesystem::path directory_;
  std::uint64_t maxBytes_;
};

}  // namespace iodeep::client
