#pragma once
// What a retrieval keeps: the filter of what was asked for, discarding the rest, collecting the files.

#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

// What a retrieval asked for: anything else that arrives is discarded (docs/security.md).
struct Wanted {
  QueryLevel level{QueryLevel::Study};
  std::string study, series, instance;
  std::vector<std::string> classes;  ///< empty: any storage class

  // Why an instance announced with these UIDs is not wanted; empty when it is.
  [[nodiscard]] std::string refusal(const std::string& sopClass, const std::string& sopInstance) const;
  // The same, with the study and series the data set names.
  [[nodiscard]] std::string refusal(const std::string& sopClass, const std::string& sopInstance,
                                    const std::string& studyUid, const std::string& seriesUid) const;
};

/// Reports (iod::warn) that @p sopInstance (empty: unknown) from @p peer was discarded, and why.
void reportDiscarded(const std::string& peer, const std::string& sopInstance, const std::string& why);

// Moves every complete instance that was asked for from @p from into @p to as
// <SOPInstanceUID>.dcm; the others are deleted and reported. Two files that claim one SOP
// instance are both discarded: which one is genuine cannot be told, and the directory's order must
// not decide it.
void collect(const std::filesystem::path& from, const std::filesystem::path& to, const Wanted& wanted,
             const std::string& peer, RetrieveResult& result);

}  // namespace iodeep::client::detail
