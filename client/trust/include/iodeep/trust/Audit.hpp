#pragma once
/// @file Audit.hpp
/// The local audit trail (docs/security.md): every network run and every store of a reviewed
/// structure set is appended to a log file, one JSON object per line. The file is only ever
/// opened for appending (O_APPEND, one write per line under an exclusive lock, then fsync):
/// nothing in it is rewritten. `iodeep audit` prints it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace iodeep::client {

struct AuditEvent {
  /// "network_run", "rtstruct_stored" (the PACS answered the C-STORE with success) or
  /// "rtstruct_queued" (the PACS did not take it: it waits in the outbox).
  std::string event;
  std::string time;  ///< UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"; filled by appendAudit when empty
  std::string user;  ///< the operating-system user running the client
  std::string
      caller;  ///< who asked the inference service (its token's or certificate's identity); empty for local work
  std::string reviewer;                                 ///< ReviewerName (stores)
  std::string structureSetUid, approvalStatus;          ///< stores
  std::string structureSetSigner;                       ///< who signed the structure set (stores), or empty
  std::string dnnUid, dnnName, dnnVersion, modelUid;    ///< the network (its IODeep SOP Instance UID)
  std::string signer, signerFingerprint, signerStatus;  ///< NetworkTrust's signer and status
  std::vector<std::string> sliceUids;                   ///< SOP Instance UIDs of the slices
  std::string pacs;                                     ///< "AET@host:port", or empty for local work
  std::uint64_t proposals{0};                           ///< network runs
  std::string detail;                                   ///< e.g. why a store failed
};

/// Appends @p event as one line to @p log (created with mode 0600, directories too). Throws
/// Error(OutputError) naming the file when it cannot: an action that must be audited is not
/// done silently without its record.
void appendAudit(const std::filesystem::path& log, AuditEvent event);

/// Every event of @p log, oldest first; a missing file is an empty trail. Throws
/// Error(InvalidJson) naming the file and line for a line that is not an audit event.
[[nodiscard]] std::vector<AuditEvent> readAudit(const std::filesystem::path& log);

/// The trail as text (one line per event) or as JSON lines (the file's own form).
[[nodiscard]] std::string auditReport(const std::vector<AuditEvent>& events, bool json);

}  // namespace iodeep::client
