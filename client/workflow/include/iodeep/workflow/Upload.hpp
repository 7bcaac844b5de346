#pragma once
/// @file Upload.hpp
/// The PACS administrator's upload: every file is checked to be a valid IODeep object before it
/// is sent; the others are refused with the reason; a summary says what happened to each.

#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client {

struct UploadItem {
  std::filesystem::path file;
  enum class Outcome { Stored, Refused, Failed } outcome{Outcome::Failed};
  std::string sopInstanceUid, name, version, dnnUid;
  ErrorCode code{ErrorCode::Internal};  ///< Refused/Failed: why
  std::string reason;
};

struct UploadReport {
  std::vector<UploadItem> items;
  [[nodiscard]] std::size_t count(UploadItem::Outcome outcome) const;
  /// kExitOk when everything was stored; kExitContent when a file was refused; kExitPacs when
  /// a store failed.
  [[nodiscard]] int exitCode() const;
  [[nodiscard]] std::string toText() const;
  [[nodiscard]] std::string toJson() const;
};

/// Uploads the IODeep files in @p paths (directories: their *.dcm files, recursively, in order).
/// Never throws for a bad file or a PACS failure: those are items. Each valid file is stored on
/// its own association, so one failure does not stop the others.
[[nodiscard]] UploadReport upload(const Pacs& pacs, const std::vector<std::filesystem::path>& paths);

}  // namespace iodeep::client
