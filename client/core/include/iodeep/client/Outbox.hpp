#pragma once
/// @file Outbox.hpp
/// Structure sets waiting for the PACS. An approved set is written into the outbox before the
/// first store attempt and leaves it only when the PACS has answered the C-STORE with success:
/// nothing approved is lost when the PACS is down, refuses the association, answers with a
/// failure status, or the process is killed.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/client/Pacs.hpp"

namespace iodeep::client {

struct OutboxEntry {
  std::filesystem::path file;
  std::string sopInstanceUid;
  std::string label;           ///< StructureSetLabel
  std::string approvalStatus;  ///< APPROVED or REJECTED
  std::string reviewer;        ///< ReviewerName
  std::uint32_t attempts{0};   ///< store attempts that failed
  std::string lastError;       ///< the last attempt's error, one line
};

struct FlushResult {
  std::vector<std::string> stored;  ///< SOP Instance UIDs now on the PACS (removed from the outbox)
  std::vector<OutboxEntry> failed;  ///< still waiting, with the new error
};

class Outbox {
 public:
  /// Creates @p directory when missing. Throws Error(OutputError) when it cannot.
  explicit Outbox(std::filesystem::path directory);

  /// A file in the outbox named after @p uniqueName (a fresh UID, say): write a structure set there
  /// (atomically). The SOP Instance UID read from the file is what list() reports.
  [[nodiscard]] std::filesystem::path pathFor(const std::string& uniqueName) const;
  /// Records a failed attempt for @p file (kept beside it; the set itself is never touched).
  void recordFailure(const std::filesystem::path& file, const std::string& error) const;
  /// Removes a set that the PACS stored.
  void remove(const std::filesystem::path& file) const;

  /// Every waiting set, oldest first.
  [[nodiscard]] std::vector<OutboxEntry> list() const;
  /// Sends every waiting set, each on its own association (one refusal does not hold back the
  /// others); stored ones leave the outbox, the others stay
  /// with their error. Never throws for a PACS problem: that is a failed entry. Each set stored
  /// is appended to @p auditLog ("rtstruct_stored") when it is given.
  FlushResult flush(const Pacs& pacs, const std::filesystem::path& auditLog = {}) const;

  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_; }

 private:
  std::filesystem::path directory_;
};

/// Reports for `iodeep outbox list|flush` (text or JSON).
[[nodiscard]] std::string outboxReport(const std::vector<OutboxEntry>& entries, bool json);
[[nodiscard]] std::string flushReport(const FlushResult& result, bool json);

}  // namespace iodeep::client
