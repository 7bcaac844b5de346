#include "iodeep/stores/Outbox.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "StoreDirectory.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"
#include "iodeep/seg/Segmentation.hpp"
#include "iodeep/trust/AuditJson.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRecordFormat = "iodeep outbox record";

// What the outbox lists of a result object: an RT Structure Set or a DICOM Segmentation.
struct Summary {
  std::string sopClassUid, sopInstanceUid, label, approvalStatus, reviewer;
};

// Reads @p path as an RT Structure Set, else as a Segmentation; throws the RT reader's error when
// it is neither.
Summary summarize(const fs::path& path) {
  try {
    const auto set = rtstruct::readStructureSet(path);
    return {kRtStructureSetStorageUid, set.sopInstanceUid, set.label, set.approvalStatus, set.reviewerName};
  } catch (const Error& e) {
    if (e.code() != ErrorCode::NotRtStructureSet) throw;
    try {
      const auto seg = seg::readSegmentation(path);
      return {kSegmentationStorageUid, seg.sopInstanceUid, seg.contentLabel, seg.approvalStatus, seg.reviewerName};
    } catch (const Error& segError) {
      if (segError.code() == ErrorCode::NotSegmentation) throw e;
      throw;
    }
  }
}
constexpr int kRecordVersion = 1;

fs::path attemptsFile(const fs::path& set) {
  return fs::path(set).replace_extension(".attempts.json");
}

// Written by put() with the set, never changed afterwards.
fs::path recordFile(const fs::path& set) {
  return fs::path(set).replace_extension(".record.json");
}

// What put() recorded about a set: the file as written, and the audit event of its store.
struct Record {
  std::uint64_t size{0};
  std::string sha256, sopInstanceUid, sopClassUid;
  AuditEvent audit;
};

std::string sha256OfFile(const fs::path& file) {
  return iod::toHex(iod::sha256(iod::ByteBuffer::mapFile(file).bytes()));
}

void writeRecord(const fs::path& set, const Record& r) {
  const nlohmann::json j = {{"format", kRecordFormat},
                            {"version", kRecordVersion},
                            {"file", set.filename().string()},
                            {"size", r.size},
                            {"sha256", r.sha256},
                            {"sopInstanceUid", r.sopInstanceUid},
                            {"sopClassUid", r.sopClassUid},
                            {"audit", auditEventToJson(r.audit)}};
  iod::writeFileAtomically(recordFile(set),
                           std::string_view(j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

// The record of @p set when it proves that the outbox wrote the file as it is now; else why not.
struct Verdict {
  std::optional<Record> record;
  std::string why;
};

Verdict verify(const fs::path& set) {
  std::error_code ec;
  const auto recordPath = recordFile(set);
  if (!fs::exists(recordPath, ec)) return {std::nullopt, "no outbox record"};
  Record r;
  try {
    const auto j = iod::parseJson(iod::readTextFile(recordPath), recordPath.string());
    if (!j.is_object() || j.value("format", "") != kRecordFormat || j.value("version", 0) != kRecordVersion) {
      return {std::nullopt, "its outbox record is not one"};
    }
    if (j.at("file").get<std::string>() != set.filename().string()) {
      return {std::nullopt, "its outbox record is another file's"};
    }
    r.size = j.at("size").get<std::uint64_t>();
    r.sha256 = j.at("sha256").get<std::string>();
    r.sopInstanceUid = j.at("sopInstanceUid").get<std::string>();
    r.sopClassUid = j.at("sopClassUid").get<std::string>();
    r.audit = auditEventFromJson(j.at("audit"));
  } catch (const Error& e) {
    return {std::nullopt, "its outbox record is unreadable: " + e.detail()};
  } catch (const nlohmann::json::exception& e) {
    return {std::nullopt, std::string("its outbox record is unreadable: ") + e.what()};
  }
  if (r.sopClassUid != kRtStructureSetStorageUid && r.sopClassUid != kSegmentationStorageUid) {
    return {std::nullopt, "SOP Class " + r.sopClassUid + " is neither RT Structure Set nor Segmentation Storage"};
  }
  const auto size = fs::file_size(set, ec);
  if (ec || size != r.size) return {std::nullopt, "changed since it was written (its size differs from its record)"};
  try {
    if (sha256OfFile(set) != r.sha256) {
      return {std::nullopt, "changed since it was written (its SHA-256 differs from its record)"};
    }
  } catch (const Error& e) {
    return {std::nullopt, e.detail()};
  }
  return {std::move(r), {}};
}

// One `.dcm` of the outbox, with its record when it is ours.
struct Scanned {
  OutboxEntry entry;
  std::optional<Record> record;
  fs::file_time_type time;
};

std::vector<Scanned> scan(const fs::path& directory) {
  std::vector<Scanned> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory, ec)) {
    const auto& p = e.path();
    if (p.extension() != ".dcm" || p.filename().string().find(".tmp") != std::string::npos) continue;
    Scanned s;
    s.entry.file = p;
    auto verdict = verify(p);
    s.record = std::move(verdict.record);
    try {
      const auto set = summarize(p);
      s.entry.sopInstanceUid = set.sopInstanceUid;
      s.entry.label = set.label;
      s.entry.approvalStatus = set.approvalStatus;
      s.entry.reviewer = set.reviewer;
      if (s.record && (set.sopInstanceUid != s.record->sopInstanceUid || set.sopClassUid != s.record->sopClassUid)) {
        s.record.reset();
        verdict.why = "its SOP Instance UID or SOP Class differs from its record";
      }
    } catch (const Error& err) {
      if (s.record) {
        s.record.reset();
        verdict.why = std::string("not a readable RT Structure Set or Segmentation: ") + err.what();
      }
    }
    if (!s.record) s.entry.notSent = "not written by iodeep: not sent (" + verdict.why + ")";
    try {
      const auto attempts = attemptsFile(p);
      const auto j = iod::parseJson(iod::readTextFile(attempts), attempts.string());
      s.entry.attempts = j.value("attempts", 0U);
      s.entry.lastError = j.value("lastError", "");
    } catch (const std::exception&) {
      s.entry.attempts = 0;
    }
    s.time = fs::last_write_time(p, ec);
    found.push_back(std::move(s));
  }
  std::sort(found.begin(), found.end(), [](const Scanned& a, const Scanned& b) {
    return a.time != b.time ? a.time < b.time : a.entry.file < b.entry.file;
  });
  return found;
}

}  // namespace

namespace {
std::atomic<std::uint64_t> builtCount{0};
}  // namespace

std::uint64_t Outbox::instancesBuilt() noexcept {
  return builtCount.load();
}

Outbox::Outbox(fs::path directory) : directory_(std::move(directory)) {
  // 0700: structure sets are patient data
  detail::createStoreDirectory(directory_, "outbox");
  builtCount.fetch_add(1, std::memory_order_relaxed);  // built: counted
}

fs::path Outbox::put(const std::function<AuditEvent(const fs::path&)>& write) const {
  auto path = directory_ / (iod::makeRandomUid() + ".dcm");
  // nothing of a set that could not be recorded stays behind: it would never be sent
  class Undo {
   public:
    explicit Undo(fs::path set) : set_(std::move(set)) {}
    Undo(const Undo&) = delete;
    Undo& operator=(const Undo&) = delete;
    Undo(Undo&&) = delete;
    Undo& operator=(Undo&&) = delete;
    ~Undo() {
      if (keep_) return;
      std::error_code ec;
      fs::remove(set_, ec);
      fs::remove(recordFile(set_), ec);
    }
    void keep() { keep_ = true; }

   private:
    fs::path set_;
    bool keep_{false};
  } undo(path);
  Record r;
  r.audit = write(path);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw Error(ErrorCode::OutputError, "nothing was written into the outbox", ErrorContext{.file = path.string()});
  }
  const auto set = summarize(path);  // an RT Structure Set or a Segmentation (Modality, SOP Class), readable
  r.sopInstanceUid = set.sopInstanceUid;
  r.sopClassUid = set.sopClassUid;
  r.size = fs::file_size(path);
  r.sha256 = sha256OfFile(path);
  r.audit.structureSetUid = set.sopInstanceUid;
  r.audit.approvalStatus = set.approvalStatus;
  if (r.audit.reviewer.empty()) r.audit.reviewer = set.reviewer;
  writeRecord(path, r);
  undo.keep();
  return path;
}

void Outbox::recordFailure(const fs::path& file, const std::string& error) const {
  std::uint32_t attempts = 0;
  try {
    const auto path = attemptsFile(file);
    attempts = iod::parseJson(iod::readTextFile(path), path.string()).value("attempts", 0U);
  } catch (const std::exception&) {
    attempts = 0;
  }
  const nlohmann::json j = {{"attempts", attempts + 1}, {"lastError", error}};
  iod::writeFileAtomically(attemptsFile(file),
                           std::string_view(j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

void Outbox::remove(const fs::path& file) const {
  std::error_code ec;
  fs::remove(file, ec);
  fs::remove(attemptsFile(file), ec);
  fs::remove(recordFile(file), ec);
}

OutboxContents Outbox::contents() const {
  OutboxContents c;
  for (auto& s : scan(directory_)) (s.record ? c.waiting : c.notOurs).push_back(std::move(s.entry));
  return c;
}

std::vector<OutboxEntry> Outbox::list() const {
  return contents().waiting;
}

FlushResult Outbox::flush(const Pacs& pacs, const fs::path& auditLog) const {
  FlushResult r;
  for (auto& s : scan(directory_)) {
    auto& entry = s.entry;
    const auto& record = s.record;
    if (!record) {  // not ours: never sent, left where it is
      r.notSent.push_back(std::move(entry));
      continue;
    }
    // one store per set: a failure of one does not hold back the others
    try {
      (void)pacs.store({entry.file});
    } catch (const Error& e) {
      recordFailure(entry.file, e.what());
      entry.attempts += 1;
      entry.lastError = e.what();
      r.failed.push_back(std::move(entry));
      continue;
    }
    remove(entry.file);
    r.stored.push_back(entry.sopInstanceUid);
    if (!auditLog.empty()) {  // the event of a direct store: network, signer, slices from the record
      AuditEvent e = record->audit;
      e.event = "rtstruct_stored";
      e.time.clear();
      e.user.clear();
      e.structureSetUid = entry.sopInstanceUid;
      e.approvalStatus = entry.approvalStatus;
      if (e.reviewer.empty()) e.reviewer = entry.reviewer;
      e.pacs = pacs.options().pacs.toString();
      e.detail = "sent from the outbox after " + std::to_string(entry.attempts) + " failed attempt(s)";
      appendAudit(auditLog, std::move(e));
    }
  }
  return r;
}

namespace {

nlohmann::json entryJson(const OutboxEntry& e) {
  return {{"file", e.file.string()}, {"sopInstanceUid", e.sopInstanceUid},
          {"label", e.label},        {"approvalStatus", e.approvalStatus},
          {"attempts", e.attempts},  {"lastError", e.lastError},
          {"notSent", e.notSent}};
}

std::string entryText(const OutboxEntry& e) {
  return e.file.string() + ": " + e.approvalStatus + " '" + e.label + "' " + e.sopInstanceUid + ", " +
         std::to_string(e.attempts) + " failed attempt(s)" + (e.lastError.empty() ? "" : ", last: " + e.lastError);
}

std::string notSentText(const OutboxEntry& e) {
  return e.file.string() + ": " + e.notSent + ", left in the outbox\n";
}

}  // namespace

std::string outboxReport(const OutboxContents& c, bool json) {
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : c.waiting) a.push_back(entryJson(e));
    for (const auto& e : c.notOurs) a.push_back(entryJson(e));
    return a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out;
  for (const auto& e : c.waiting) out += entryText(e) + "\n";
  out += std::to_string(c.waiting.size()) + " structure set(s) waiting\n";
  for (const auto& e : c.notOurs) out += notSentText(e);
  if (!c.notOurs.empty()) out += std::to_string(c.notOurs.size()) + " file(s) not written by iodeep: not sent\n";
  return out;
}

std::string flushReport(const FlushResult& r, bool json) {
  if (json) {
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& e : r.failed) failed.push_back(entryJson(e));
    nlohmann::json notSent = nlohmann::json::array();
    for (const auto& e : r.notSent) notSent.push_back(entryJson(e));
    const nlohmann::json j = {{"stored", r.stored}, {"failed", failed}, {"notSent", notSent}};
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string out;
  for (const auto& uid : r.stored) out += "stored: " + uid + "\n";
  for (const auto& e : r.failed) out += "still waiting: " + entryText(e) + "\n";
  for (const auto& e : r.notSent) out += notSentText(e);
  return out + "outbox: " + std::to_string(r.stored.size()) + " stored, " + std::to_string(r.failed.size()) +
         " still waiting" +
         (r.notSent.empty() ? "" : ", " + std::to_string(r.notSent.size()) + " not written by iodeep: not sent") + "\n";
}

}  // namespace iodeep::client
