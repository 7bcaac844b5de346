// The audit trail: JSON lines, appended only.
#include "iodeep/trust/Audit.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/trust/AuditJson.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

std::string utcNow() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 8> ms{};
  std::snprintf(ms.data(), ms.size(), ".%03dZ", static_cast<int>(millis));
  return std::string(buf.data(), n) + ms.data();
}

std::string currentUser() {
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return std::to_string(geteuid());
}

nlohmann::json toJson(const AuditEvent& e) {
  nlohmann::json j = {{"time", e.time}, {"event", e.event}, {"user", e.user}};
  const auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("caller", e.caller);
  put("reviewer", e.reviewer);
  put("structureSetUid", e.structureSetUid);
  put("approvalStatus", e.approvalStatus);
  put("structureSetSigner", e.structureSetSigner);
  put("dnnUid", e.dnnUid);
  put("dnnName", e.dnnName);
  put("dnnVersion", e.dnnVersion);
  put("modelUid", e.modelUid);
  put("signer", e.signer);
  put("signerFingerprint", e.signerFingerprint);
  put("signerStatus", e.signerStatus);
  if (!e.sliceUids.empty()) j["sliceUids"] = e.sliceUids;
  put("pacs", e.pacs);
  if (e.event == "network_run") j["proposals"] = e.proposals;
  put("detail", e.detail);
  return j;
}

AuditEvent fromJson(const nlohmann::json& j) {
  AuditEvent e;
  e.time = j.at("time").get<std::string>();
  e.event = j.at("event").get<std::string>();
  e.user = j.value("user", "");
  e.caller = j.value("caller", "");
  e.reviewer = j.value("reviewer", "");
  e.structureSetUid = j.value("structureSetUid", "");
  e.approvalStatus = j.value("approvalStatus", "");
  e.structureSetSigner = j.value("structureSetSigner", "");
  e.dnnUid = j.value("dnnUid", "");
  e.dnnName = j.value("dnnName", "");
  e.dnnVersion = j.value("dnnVersion", "");
  e.modelUid = j.value("modelUid", "");
  e.signer = j.value("signer", "");
  e.signerFingerprint = j.value("signerFingerprint", "");
  e.signerStatus = j.value("signerStatus", "");
  e.sliceUids = j.value("sliceUids", std::vector<std::string>{});
  e.pacs = j.value("pacs", "");
  e.proposals = j.value("proposals", std::uint64_t{0});
  e.detail = j.value("detail", "");
  return e;
}

Error outputError(const fs::path& log, const std::string& what) {
  return Error(ErrorCode::OutputError, "cannot append to the audit log: " + what, ErrorContext{.file = log.string()});
}

}  // namespace

nlohmann::json auditEventToJson(const AuditEvent& event) {
  return toJson(event);
}

AuditEvent auditEventFromJson(const nlohmann::json& json) {
  return fromJson(json);
}

void appendAudit(const fs::path& log, AuditEvent event) {
  if (event.time.empty()) event.time = utcNow();
  if (event.user.empty()) event.user = currentUser();
  const std::string line = toJson(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // directories it needs are created 0700; existing ones (the user may have named a shared one)
  // are left as they are
  if (log.has_parent_path()) {
    try {
      iod::createMissingDirectories(log.parent_path());
    } catch (const Error& e) {
      throw outputError(log, e.what());
    }
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) takes the mode as a variadic argument
  const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) throw outputError(log, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // a log of ours that others could read (an older version, a copy) becomes the owner's only
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 &&
      ::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    throw outputError(log, std::strerror(errno));
  }
  // one write per line under an exclusive lock: lines of concurrent processes never interleave
  if (::flock(fd, LOCK_EX) != 0) throw outputError(log, std::strerror(errno));
  std::size_t done = 0;
  while (done < line.size()) {
    const auto n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw outputError(log, std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw outputError(log, std::strerror(errno));
}

std::vector<AuditEvent> readAudit(const fs::path& log) {
  std::vector<AuditEvent> events;
  std::error_code ec;
  if (!fs::exists(log, ec)) return events;
  std::ifstream in(log);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot open the audit log", ErrorContext{.file = log.string()});
  std::string line;
  std::size_t number = 0;
  // one line at a time, each within the JSON size limit before it is parsed
  const auto nextLine = [&]() -> bool {
    line.clear();
    std::streambuf& buffer = *in.rdbuf();
    for (int c = buffer.sbumpc(); c != std::char_traits<char>::eof(); c = buffer.sbumpc()) {
      if (c == '\n') return true;
      if (line.size() >= iod::JsonLimits{}.maxBytes) {
        throw Error(ErrorCode::ResourceLimit,
                    "line " + std::to_string(number + 1) + " is longer than " +
                        std::to_string(iod::JsonLimits{}.maxBytes) + " bytes",
                    ErrorContext{.file = log.string()});
      }
      line.push_back(static_cast<char>(c));
    }
    return !line.empty();
  };
  while (nextLine()) {
    ++number;
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(number);
    try {
      // within the JSON limits (iod/JsonParse.hpp): a hostile line cannot recurse us to death
      events.push_back(fromJson(iod::parseJson(line, where)));
    } catch (const Error& e) {
      throw Error(e.code(), where + " is not an audit event (" + e.detail() + ")", ErrorContext{.file = log.string()});
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::InvalidJson, where + " is not an audit event (" + e.what() + ")",
                  ErrorContext{.file = log.string()});
    }
  }
  return events;
}

std::string auditReport(const std::vector<AuditEvent>& events, bool json) {
  std::ostringstream o;
  for (const auto& e : events) {
    if (json) {
      o << toJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      continue;
    }
    o << e.time << "  " << e.event;
    if (!e.approvalStatus.empty()) o << " " << e.approvalStatus;
    if (!e.structureSetUid.empty()) o << " " << e.structureSetUid;
    if (!e.reviewer.empty()) o << " by " << e.reviewer;
    if (!e.structureSetSigner.empty()) o << " (signed by " << e.structureSetSigner << ")";
    if (!e.dnnName.empty() || !e.dnnUid.empty()) {
      o << "; network " << e.dnnName << (e.dnnVersion.empty() ? "" : " " + e.dnnVersion) << " (" << e.dnnUid << ")";
    }
    if (!e.signerStatus.empty()) {
      o << "; " << e.signerStatus << (e.signer.empty() ? "" : " " + e.signer);
    }
    if (!e.sliceUids.empty()) o << "; " << e.sliceUids.size() << (e.sliceUids.size() == 1 ? " slice" : " slices");
    if (e.event == "network_run") o << ", " << e.proposals << (e.proposals == 1 ? " proposal" : " proposals");
    if (!e.pacs.empty()) o << "; PACS " << e.pacs;
    o << "; user " << e.user;
    if (!e.caller.empty()) o << " for " << e.caller;
    if (!e.detail.empty()) o << "; " << e.detail;
    o << "\n";
  }
  return o.str();
}

}  // namespace iodeep::client
