#pragma once
/// @file Outbox.hpp
/// Structure sets waiting for the PACS. An approved set is written into the outbox before the
/// first store attempt and leaves it only when the PACS has answered the C-STORE with success:
/// nothing approved is lost when the PACS is down, refuses the association, answers with a
/// failure status, or the process is killed.
///
/// The outbox sends only what it wrote: put() writes a set and, in the same step, a record beside
/// it (`<name>.record.json`: the file's size and SHA-256, its SOP Instance UID and SOP Class, and
/// what the audit event of its store needs). A `.dcm` without a matching record (dropped there by
/// something else, or changed since it was written), or whose SOP Class is not RT Structure Set
/// Storage, is listed as "not written by iodeep: not sent", never sent, and left where it is.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "iodeep/network/Pacs.hpp"
#include "iodeep/trust/Audit.hpp"

namespace iodeep::client {

struct OutboxEntry {
  std::filesystem::path file;
  std::string sopInstanceUid;
  std::string label;           ///< StructureSetLabel
  std::string approvalStatus;  ///< APPROVED or REJECTED
  std::string reviewer;        ///< ReviewerName
  std::uint32_t attempts{0};   ///< store attempts that failed
  std::string lastError;       ///< the last attempt's error, one line
  /// Empty for a set the outbox wrote; else "not written by iodeep: <why>" (never sent).
  std::string notSent;
};

/// What the outbox directory holds.
struct OutboxContents {
  std::vector<OutboxEntry> waiting;  ///< sets the outbox wrote, oldest first: what flush() sends
  std::vector<OutboxEntry> notOurs;  ///< every other `.dcm`, with `notSent`: never sent, left in place
};

struct FlushResult {
  std::vector<std::string> stored;   ///< SOP Instance UIDs now on the PACS (removed from the outbox)
  std::vector<OutboxEntry> failed;   ///< still waiting, with the new error
  std::vector<OutboxEntry> notSent;  ///< files the outbox did not write: not sent, left in place
};

/// The RT Structure Set and Segmentation Storage SOP Classes: the only ones the outbox sends.
inline constexpr const char* kRtStructureSetStorageUid = "1.2.840.10008.5.1.4.1.1.481.3";
inline constexpr const char* kSegmentationStorageUid = "1.2.840.10008.5.1.4.1.1.66.4";

class Outbox {
 public:
  /// Creates @p directory when missing. Throws Error(OutputError) when it cannot.
  explicit Outbox(std::filesystem::path directory);

  /// Writes a structure set into the outbox and records it, in one step. @p write writes the set
  /// at the path it is given (a new `<fresh UID>.dcm` in the outbox) and returns what the audit
  /// event of its store is to carry besides what the file says (the network, its signer, the
  /// slices, who signed the set: as auditEventFor and the review make it; event, time, user and
  /// PACS are filled when it is stored). The outbox then reads the file back (it must be an RT
  /// Structure Set) and writes its record. Returns the set's path. Throws what @p write throws,
  /// Error(NotRtStructureSet, MalformedRtStructureSet, ...) for a file that is not a readable
  /// RT Structure Set, Error(OutputError) when nothing was written or the record cannot be; in
  /// every case nothing of it is left in the outbox.
  std::filesystem::path put(const std::function<AuditEvent(const std::filesystem::path&)>& write) const;
  /// Records a failed attempt for @p file (kept beside it; the set itself is never touched).
  void recordFailure(const std::filesystem::path& file, const std::string& error) const;
  /// Removes a set that the PACS stored, with its record.
  void remove(const std::filesystem::path& file) const;

  /// The sets the outbox wrote and the files it did not (each `.dcm` is read and, when it has a
  /// record, hashed: a set whose bytes changed since put() is not ours any more).
  [[nodiscard]] OutboxContents contents() const;
  /// The waiting sets (contents().waiting), oldest first.
  [[nodiscard]] std::vector<OutboxEntry> list() const;
  /// Sends every waiting set, each on its own association (one refusal does not hold back the
  /// others); stored ones leave the outbox, the others stay with their error; files it did not
  /// write are not sent (FlushResult::notSent). Never throws for a PACS problem: that is a failed
  /// entry. Each set stored is appended to @p auditLog ("rtstruct_stored", with the network, its
  /// signer and the slices from its record) when it is given.
  FlushResult flush(const Pacs& pacs, const std::filesystem::path& auditLog = {}) const;

  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

  /// Instances built in this process (the workstation's construction counts).
  [[nodiscard]] static std::uint64_t instancesBuilt() noexcept;

 private:
  std::filesystem::path directory_;
};

/// Reports for `iodeep outbox list|flush` (text or JSON). The JSON list is one array: the waiting
/// sets, then the files not sent (their "notSent" says why; empty for a waiting set).
[[nodiscard]] std::string outboxReport(const OutboxContents& contents, bool json);
[[nodiscard]] std::string flushReport(const FlushResult& result, bool json);

}  // namespace iodeep::client
