#pragma once
// Slices the service retrieved by reference, kept by SOP Instance UID so that the next request on
// the same slice (a retry, another network, the structure set) does not retrieve it again. Each
// request gets its own hard link: evicting an entry never pulls a file from under a request.
// Patient data: the directory is private (0700), the files 0600.

#include <cstdint>
#include <filesystem>
#include <string>

#include "iodeep/network/Pacs.hpp"

namespace iodeep::service::detail {

class SliceStore {
 public:
  /// @p maxFiles: entries beyond it are dropped, least recently used first.
  explicit SliceStore(std::filesystem::path directory, std::size_t maxFiles = 2000);

  struct Got {
    std::filesystem::path file;  ///< in the caller's directory
    bool fromCache{false};
    std::uint64_t bytes{0};  ///< retrieved from the PACS
  };
  /// The slice in @p workDir: from the store, else retrieved (IMAGE-level C-GET/C-MOVE) and
  /// entered. The UIDs are checked by the caller (digits and dots). Throws the PACS's errors;
  /// Error(DimseFailure) when the PACS has no such instance.
  Got get(const client::Pacs& pacs, const std::string& study, const std::string& series, const std::string& instance,
          const std::filesystem::path& workDir) const;

 private:
  void evict() const;
  std::filesystem::path directory_;
  std::size_t maxFiles_;
};

}  // namespace iodeep::service::detail
