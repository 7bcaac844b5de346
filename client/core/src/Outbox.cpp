#include "iodeep/client/Outbox.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "iodeep/client/Audit.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

fs::path attemptsFile(const fs::path& set) {
  return fs::path(set).replace_extension(".attempts.json");
}

}  // namespace

Outbox::Outbox(fs::path directory) : directory_(std::move(directory)) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || !fs::is_directory(directory_)) {
    throw Error(ErrorCode::OutputError, "cannot create the outbox: " + ec.message(),
                ErrorContext{.file = directory_.string()});
  }
}

fs::path Outbox::pathFor(const std::string& uniqueName) const {
  return directory_ / (uniqueName + ".dcm");
}

void Outbox::recordFailure(const fs::path& file, const std::string& error) const {
  std::uint32_t attempts = 0;
  try {
    attempts = nlohmann::json::parse(iod::readTextFile(attemptsFile(file))).value("attempts", 0U);
  } catch (const std::exception&) {
    attempts = 0;
  }
  const nlohmann::json j = {{"attempts", attempts + 1}, {"lastError", error}};
  iod::writeFileAtomically(attemptsFile(file), std::string_view(j.dump(1)));
}

void Outbox::remove(const fs::path& file) const {
  std::error_code ec;
  fs::remove(file, ec);
  fs::remove(attemptsFile(file), ec);
}

std::vector<OutboxEntry> Outbox::list() const {
  std::vector<std::pair<fs::file_time_type, OutboxEntry>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    const auto& p = e.path();
    if (p.extension() != ".dcm" || p.filename().string().find(".tmp") != std::string::npos) continue;
    OutboxEntry entry;
    entry.file = p;
    try {
      const auto set = rtstruct::readStructureSet(p);
      entry.sopInstanceUid = set.sopInstanceUid;
      entry.label = set.label;
      entry.approvalStatus = set.approvalStatus;
      entry.reviewer = set.reviewerName;
    } catch (const Error& err) {
      entry.lastError = err.what();  // kept and listed: a person decides what to do with it
    }
    try {
      const auto j = nlohmann::json::parse(iod::readTextFile(attemptsFile(p)));
      entry.attempts = j.value("attempts", 0U);
      if (entry.lastError.empty()) entry.lastError = j.value("lastError", "");
    } catch (const std::exception&) {
      entry.attempts = 0;
    }
    found.emplace_back(fs::last_write_time(p, ec), std::move(entry));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.file < b.second.file;
  });
  std::vector<OutboxEntry> out;
  out.reserve(found.size());
  for (auto& [t, e] : found) out.push_back(std::move(e));
  return out;
}

FlushResult Outbox::flush(const Pacs& pacs, const fs::path& auditLog) const {
  FlushResult r;
  for (auto& entry : list()) {
    // one store per set: a failure of one does not hold back the others
    try {
      (void)pacs.store({entry.file});
      remove(entry.file);
      r.stored.push_back(entry.sopInstanceUid);
      if (!auditLog.empty()) {
        AuditEvent e;
        e.event = "rtstruct_stored";
        e.reviewer = entry.reviewer;
        e.structureSetUid = entry.sopInstanceUid;
        e.approvalStatus = entry.approvalStatus;
        e.pacs = pacs.options().pacs.toString();
        e.detail = "sent from the outbox after " + std::to_string(entry.attempts) + " failed attempt(s)";
        appendAudit(auditLog, std::move(e));
      }
    } catch (const Error& e) {
      recordFailure(entry.file, e.what());
      entry.attempts += 1;
      entry.lastError = e.what();
      r.failed.push_back(std::move(entry));
    }
  }
  return r;
}

namespace {

nlohmann::json entryJson(const OutboxEntry& e) {
  return {{"file", e.file.string()}, {"sopInstanceUid", e.sopInstanceUid},
          {"label", e.label},        {"approvalStatus", e.approvalStatus},
          {"attempts", e.attempts},  {"lastError", e.lastError}};
}

std::string entryText(const OutboxEntry& e) {
  return e.file.string() + ": " + e.approvalStatus + " '" + e.label + "' " + e.sopInstanceUid + ", " +
         std::to_string(e.attempts) + " failed attempt(s)" + (e.lastError.empty() ? "" : ", last: " + e.lastError);
}

}  // namespace

std::string outboxReport(const std::vector<OutboxEntry>& entries, bool json) {
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : entries) a.push_back(entryJson(e));
    return a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out;
  for (const auto& e : entries) out += entryText(e) + "\n";
  return out + std::to_string(entries.size()) + " structure set(s) waiting\n";
}

std::string flushReport(const FlushResult& r, bool json) {
  if (json) {
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& e : r.failed) failed.push_back(entryJson(e));
    const nlohmann::json j = {{"stored", r.stored}, {"failed", failed}};
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out;
  for (const auto& uid : r.stored) out += "stored: " + uid + "\n";
  for (const auto& e : r.failed) out += "still waiting: " + entryText(e) + "\n";
  return out + "outbox: " + std::to_string(r.stored.size()) + " stored, " + std::to_string(r.failed.size()) +
         " still waiting\n";
}

}  // namespace iodeep::client
