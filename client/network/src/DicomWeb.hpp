#pragma once
// The DICOMweb transport of Pacs (docs/pacs-workflow.md, "DICOMweb"): the DIMSE services the
// client uses, as QIDO-RS, WADO-RS and STOW-RS requests with the same contracts as Pacs's calls.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "Http.hpp"
#include "iodeep/network/Pacs.hpp"

namespace iodeep::client::detail {

/// Most bytes of one QIDO-RS answer (about 2 KB per match: 10000 matches fit many times over).
inline constexpr std::uint64_t kMaxQidoBytes = std::uint64_t{64} << 20U;
/// Most parts of one WADO-RS answer: for one instance, and for a series or study (each part is a
/// file: a server sending tiny parts cannot make millions of them).
inline constexpr std::size_t kMaxPartsForOne = 8;
inline constexpr std::size_t kMaxParts = 100000;
/// Most bytes of one STOW-RS answer (a few hundred per instance).
inline constexpr std::uint64_t kMaxStowAnswerBytes = std::uint64_t{1} << 20U;

/// C-ECHO's counterpart: a QIDO-RS request for one study.
void webEcho(const HttpPeer& web);

/// C-FIND as QIDO-RS: the query's UIDs in the path where they name one study or series, the other
/// matching keys as parameters (a UID list as a comma-separated list), the return keys as
/// includefield, limit = max_find_results + 1. HTTP 404 below a study or series is no match.
FindResult webFind(const HttpPeer& web, const NetworkOptions& options, const Query& query,
                   const std::function<bool(const DicomRecord&)>& onMatch);

/// C-GET as WADO-RS (Pacs::retrieve's contract).
RetrieveResult webRetrieve(const HttpPeer& web, const NetworkOptions& options, QueryLevel level,
                           const std::string& studyUid, const std::string& seriesUid, const std::string& sopInstanceUid,
                           const std::filesystem::path& directory, const std::vector<std::string>& sopClassUids,
                           const RetrieveProgressHandler& onProgress);

/// C-STORE as STOW-RS, one request per file on the thread's connection (Pacs::store's contract).
std::vector<StoreOutcome> webStore(const HttpPeer& web, const std::vector<std::filesystem::path>& files);

}  // namespace iodeep::client::detail
