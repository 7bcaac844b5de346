// The discovery cache: per PACS one JSON file of the model listings C-FIND gave, written by rename.
#include "iodeep/stores/DiscoveryCache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "StoreDirectory.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Sha256.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

std::atomic<std::uint64_t> builtCount{0};

constexpr std::string_view kFormat = "iodeep-discovery-1";
constexpr std::string_view kLockFile = ".lock";
// A listing of 10,000 models is about 4 MB of JSON; a file beyond this is not ours.
constexpr std::uint64_t kMaxFileBytes = 64U << 20U;

// The exclusive flock of <directory>/.lock, held while a file is read, changed and renamed.
class WriteLock {
 public:
  explicit WriteLock(const fs::path& directory) {
    const fs::path file = directory / kLockFile;
    do {
      fd_ =
          ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,  // NOLINT(cppcoreguidelines-pro-type-vararg)
                 0600);
    } while (fd_ < 0 && errno == EINTR);
    bool locked = fd_ >= 0;
    while (locked && ::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) locked = false;
    }
    if (!locked) {
      const std::string why = std::strerror(errno);
      if (fd_ >= 0) ::close(fd_);
      throw Error(ErrorCode::OutputError, "cannot lock the discovery cache: " + why,
                  ErrorContext{.file = file.string()});
    }
  }
  ~WriteLock() { ::close(fd_); }
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;
  WriteLock(WriteLock&&) = delete;
  WriteLock& operator=(WriteLock&&) = delete;

 private:
  int fd_{-1};
};

// A model is one array of its fields, in this order (a listing of 10,000 models reads in a few
// milliseconds: no key to look up per field).
constexpr std::size_t kModelFields = 11;

nlohmann::json toJson(const RemoteModel& m) {
  return nlohmann::json::array({m.studyInstanceUid, m.seriesInstanceUid, m.sopInstanceUid, m.sopClassUid,
                                m.seriesDescription, m.modality, m.bodyPartExamined, m.photometricInterpretation,
                                m.contentDate, m.contentTime, m.samplesPerPixel});
}

// Throws (nlohmann's exceptions or std::invalid_argument) when @p j is not a model as written.
RemoteModel modelFrom(const nlohmann::json& j) {
  if (!j.is_array() || j.size() != kModelFields) throw std::invalid_argument("not a model");
  const auto text = [&](std::size_t i) -> const std::string& { return j[i].get_ref<const std::string&>(); };
  RemoteModel m;
  m.studyInstanceUid = text(0);
  m.seriesInstanceUid = text(1);
  m.sopInstanceUid = text(2);
  m.sopClassUid = text(3);
  m.seriesDescription = text(4);
  m.modality = text(5);
  m.bodyPartExamined = text(6);
  m.photometricInterpretation = text(7);
  m.contentDate = text(8);
  m.contentTime = text(9);
  m.samplesPerPixel = j[10].get<std::uint16_t>();
  if (m.sopInstanceUid.empty() || m.seriesInstanceUid.empty() || m.studyInstanceUid.empty()) {
    throw std::invalid_argument("a model without its UIDs");
  }
  return m;
}

// A peer's document, checked as a whole; nothing when it is not what put() writes for @p peer.
std::optional<nlohmann::json> checkedDocument(const std::string& text, const std::string& peer) {
  try {
    // Our own file in a directory only this user can enter, bounded in size when read: parsed
    // without iod::parseJson's depth-counting callback, which costs more than the parse itself
    // here (nlohmann-json's parser and destructor do not recurse).
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || j.at("format").get<std::string>() != kFormat || j.at("peer").get<std::string>() != peer) {
      return std::nullopt;
    }
    if (j.contains("path") && !discoveryPathFrom(j.at("path").get<std::string>())) return std::nullopt;
    if (!j.at("entries").is_object()) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

DiscoveryCache::DiscoveryCache(fs::path directory) : directory_(std::move(directory)) {
  builtCount.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t DiscoveryCache::instancesBuilt() noexcept {
  return builtCount.load();
}

fs::path DiscoveryCache::fileOf(const std::string& peer) const {
  if (directory_.empty()) return {};
  const auto digest = iod::sha256(std::as_bytes(std::span(peer.data(), peer.size())));
  return directory_ / (iod::toHex(digest).substr(0, 32) + ".json");
}

namespace {

// The text of @p peer's document: "" when there is none; nothing when it cannot be read.
std::optional<std::string> readText(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return std::string();
  try {
    return iod::readTextFile(file, kMaxFileBytes);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

DiscoveryLookup DiscoveryCache::find(const std::string& peer, const std::string& modality) const {
  std::optional<std::string> text;
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    const auto it = memory_.find(peer);
    text = it == memory_.end() ? std::string() : it->second;
  } else {
    text = readText(fileOf(peer));
  }
  DiscoveryLookup out;
  if (text && text->empty()) return out;
  const auto doc = text ? checkedDocument(*text, peer) : std::nullopt;
  if (!doc) {
    out.state = DiscoveryLookup::State::Corrupt;
    return out;
  }
  if (doc->contains("path")) out.path = discoveryPathFrom(doc->at("path").get<std::string>());
  const auto& entries = doc->at("entries");
  if (!entries.contains(modality)) return out;
  try {
    const auto& e = entries.at(modality);
    DiscoveryEntry entry;
    entry.modality = modality;
    entry.builtAt = e.at("built").get<std::int64_t>();
    entry.refreshedAt = e.at("refreshed").get<std::int64_t>();
    const auto& models = e.at("models");
    if (!models.is_array()) throw std::invalid_argument("models is not an array");
    entry.models.reserve(models.size());
    for (const auto& m : models) entry.models.push_back(modelFrom(m));
    out.state = DiscoveryLookup::State::Found;
    out.entry = std::move(entry);
  } catch (const std::exception&) {
    out.state = DiscoveryLookup::State::Corrupt;
    out.path.reset();
  }
  return out;
}

void DiscoveryCache::put(const std::string& peer, const DiscoveryEntry& entry,
                         std::optional<DiscoveryPath> path) const {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : entry.models) models.push_back(toJson(m));
  const nlohmann::json listing = {{"built", entry.builtAt}, {"refreshed", entry.refreshedAt}, {"models", models}};
  // the document as it is now (a corrupt or foreign one is replaced), with this listing
  const auto update = [&](const std::optional<std::string>& before) {
    nlohmann::json doc;
    if (before && !before->empty()) doc = checkedDocument(*before, peer).value_or(nullptr);
    const std::optional<DiscoveryPath> was =
        doc.is_object() && doc.contains("path") ? discoveryPathFrom(doc.at("path").get<std::string>()) : std::nullopt;
    if (!doc.is_object() || (path && was && *was != *path)) {
      doc = {{"format", kFormat}, {"peer", peer}, {"entries", nlohmann::json::object()}};
    }
    if (path) doc["path"] = std::string(toString(*path));
    doc["entries"][entry.modality] = listing;
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    const auto it = memory_.find(peer);
    memory_[peer] = update(it == memory_.end() ? std::optional<std::string>() : it->second);
    return;
  }
  detail::createStoreDirectory(directory_, "discovery cache");
  const WriteLock lock(directory_);
  const fs::path file = fileOf(peer);
  iod::writeFileAtomically(file, std::string_view(update(readText(file))));
}

void DiscoveryCache::forget(const std::string& peer) const {
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    memory_.erase(peer);
    return;
  }
  std::error_code ec;
  if (!fs::exists(directory_, ec)) return;
  const WriteLock lock(directory_);
  const fs::path file = fileOf(peer);
  fs::remove(file, ec);
  if (ec) {
    throw Error(ErrorCode::OutputError, "cannot remove the discovery cache's file: " + ec.message(),
                ErrorContext{.file = file.string()});
  }
}

}  // namespace iodeep::client
