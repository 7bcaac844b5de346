// The discovery cache: per PACS one file of the model listings C-FIND gave, written by rename.
#include "iodeep/stores/DiscoveryCache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "StoreDirectory.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Sha256.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

std::atomic<std::uint64_t> builtCount{0};

constexpr std::string_view kFormat = "iodeep-discovery-2";
constexpr std::string_view kLockFile = ".lock";
// A listing of 10,000 models is about 2 MB; a file beyond this is not ours.
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

// The file is lines of tab-separated fields (as JSON, the parse of a listing of 3,000 models cost
// more than the selection it served; bench/README.md, "Network discovery at scale"):
//   iodeep-discovery-2
//   peer <TAB> <peer>
//   path <TAB> relational | study-list | hierarchical        (when known)
//   listing <TAB> <modality> <TAB> <built> <TAB> <refreshed> <TAB> <count>
//   <count> lines of a model's kModelFields fields (RemoteModel's, in appendModel's order)
//   ... one listing per modality
// In a field, a backslash, tab, line feed and carriage return are written \\ \t \n \r.
constexpr std::size_t kModelFields = 11;

void appendField(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

// Throws std::invalid_argument for an escape we do not write.
std::string unescaped(std::string_view v) {
  if (v.find('\\') == std::string_view::npos) return std::string(v);
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      out += v[i];
      continue;
    }
    if (++i == v.size()) throw std::invalid_argument("a field ends in a backslash");
    switch (v[i]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default: throw std::invalid_argument("an unknown escape");
    }
  }
  return out;
}

// The tab-separated fields of @p line into @p out (split in place: a listing of 3,000 models is
// 3,000 lines per read); their number, or out.size() + 1 when there are more.
std::size_t splitFields(std::string_view line, std::span<std::string_view> out) {
  std::size_t n = 0;
  for (std::size_t from = 0;;) {
    if (n == out.size()) return n + 1;
    const auto tab = line.find('\t', from);
    out[n++] = line.substr(from, tab == std::string_view::npos ? std::string_view::npos : tab - from);
    if (tab == std::string_view::npos) return n;
    from = tab + 1;
  }
}

// Throws std::invalid_argument when @p text is not a whole number in [lo, hi].
std::int64_t integerOf(std::string_view text, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || v < lo || v > hi) {
    throw std::invalid_argument("not a number in range");
  }
  return v;
}

void appendModel(std::string& out, const RemoteModel& m) {
  const std::string spp = std::to_string(m.samplesPerPixel);
  const std::array<std::string_view, kModelFields> fields{
      m.studyInstanceUid,  m.seriesInstanceUid, m.sopInstanceUid,     m.sopClassUid,
      m.seriesDescription, m.modality,          m.bodyPartExamined,   m.photometricInterpretation,
      m.contentDate,       m.contentTime,       std::string_view(spp)};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) out += '\t';
    appendField(out, fields[i]);
  }
  out += '\n';
}

// Throws std::invalid_argument when @p line is not a model as written.
RemoteModel modelFrom(std::string_view line) {
  std::array<std::string_view, kModelFields> f{};
  if (splitFields(line, f) != kModelFields) throw std::invalid_argument("not a model");
  RemoteModel m;
  m.studyInstanceUid = unescaped(f[0]);
  m.seriesInstanceUid = unescaped(f[1]);
  m.sopInstanceUid = unescaped(f[2]);
  m.sopClassUid = unescaped(f[3]);
  m.seriesDescription = unescaped(f[4]);
  m.modality = unescaped(f[5]);
  m.bodyPartExamined = unescaped(f[6]);
  m.photometricInterpretation = unescaped(f[7]);
  m.contentDate = unescaped(f[8]);
  m.contentTime = unescaped(f[9]);
  m.samplesPerPixel = static_cast<std::uint16_t>(integerOf(f[10], 0, 65535));
  if (m.sopInstanceUid.empty() || m.seriesInstanceUid.empty() || m.studyInstanceUid.empty()) {
    throw std::invalid_argument("a model without its UIDs");
  }
  return m;
}

// One listing of a document: its header's values and its model lines, unparsed.
struct Listing {
  std::string modality;
  std::int64_t built{0}, refreshed{0};
  std::size_t count{0};
  std::string_view lines;  ///< the count model lines, each ending in a line feed
};

struct Document {
  std::optional<DiscoveryPath> path;
  std::vector<Listing> listings;
};

// Reads one line of @p text at @p at (moved past it); nothing at the end. A last line without
// its line feed is not a line (a file cut short).
std::optional<std::string_view> nextLine(std::string_view text, std::size_t& at) {
  const auto end = text.find('\n', at);
  if (end == std::string_view::npos) return std::nullopt;
  const auto line = text.substr(at, end - at);
  at = end + 1;
  return line;
}

// @p text as a document of @p peer, its structure checked (the models' own lines are checked
// when one listing is read); nothing when it is not what put() writes for @p peer.
std::optional<Document> checkedDocument(std::string_view text, const std::string& peer) {
  try {
    std::size_t at = 0;
    const auto format = nextLine(text, at);
    const auto who = nextLine(text, at);
    if (!format || *format != kFormat || !who) return std::nullopt;
    std::array<std::string_view, 5> f{};  // a header line has at most 5 fields
    if (splitFields(*who, f) != 2 || f[0] != "peer" || unescaped(f[1]) != peer) return std::nullopt;
    Document doc;
    while (at < text.size()) {
      const auto line = nextLine(text, at);
      if (!line) return std::nullopt;
      const std::size_t fields = splitFields(*line, f);
      if (fields == 2 && f[0] == "path" && doc.listings.empty() && !doc.path) {
        doc.path = discoveryPathFrom(f[1]);
        if (!doc.path) return std::nullopt;
        continue;
      }
      if (fields != 5 || f[0] != "listing") return std::nullopt;
      Listing l;
      l.modality = unescaped(f[1]);
      l.built = integerOf(f[2], 0, std::numeric_limits<std::int64_t>::max());
      l.refreshed = integerOf(f[3], 0, std::numeric_limits<std::int64_t>::max());
      l.count = static_cast<std::size_t>(integerOf(f[4], 0, static_cast<std::int64_t>(text.size())));
      const std::size_t first = at;
      for (std::size_t i = 0; i < l.count; ++i) {
        if (!nextLine(text, at)) return std::nullopt;
      }
      l.lines = text.substr(first, at - first);
      for (const auto& other : doc.listings) {
        if (other.modality == l.modality) return std::nullopt;
      }
      doc.listings.push_back(std::move(l));
    }
    return doc;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void appendListingHeader(std::string& out, const std::string& modality, std::int64_t built, std::int64_t refreshed,
                         std::size_t count) {
  out += "listing\t";
  appendField(out, modality);
  out += '\t' + std::to_string(built) + '\t' + std::to_string(refreshed) + '\t' + std::to_string(count) + '\n';
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
  return directory_ / (iod::toHex(digest).substr(0, 32) + ".tsv");
}

namespace {

using detail::DiscoveryFileStamp;

DiscoveryFileStamp stampOf(const struct stat& st) {
  constexpr std::int64_t kNs = 1'000'000'000;
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec * kNs + st.st_mtim.tv_nsec,
          st.st_ctim.tv_sec * kNs + st.st_ctim.tv_nsec};
}

// The text of @p peer's document ("" when there is none; nothing when it cannot be read), the
// identity of the file it was read from, and whether that file was last modified and changed
// more than a second before the read (then its times tell any later change; else a change in the
// same clock tick could leave them as they are).
struct Read {
  std::optional<std::string> text;
  DiscoveryFileStamp stamp;
  bool settled{false};
};

Read readText(const fs::path& file) {
  Read r;
  int fd = -1;
  do {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT) r.text = std::string();
    return r;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) <= kMaxFileBytes) {
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
      const auto n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == text.size()) {
      r.text = std::move(text);
      r.stamp = stampOf(st);
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      r.settled = now.tv_sec - st.st_mtim.tv_sec > 1 && now.tv_sec - st.st_ctim.tv_sec > 1;
    }
  }
  ::close(fd);
  return r;
}

// The listing of @p modality for @p peer in @p text, a file's content ("" none, nothing unreadable).
DiscoveryLookup lookUp(const std::optional<std::string>& text, const std::string& peer, const std::string& modality) {
  DiscoveryLookup out;
  if (text && text->empty()) return out;
  const auto doc = text ? checkedDocument(*text, peer) : std::nullopt;
  if (!doc) {
    out.state = DiscoveryLookup::State::Corrupt;
    return out;
  }
  out.path = doc->path;
  const auto listing = std::find_if(doc->listings.begin(), doc->listings.end(),
                                    [&](const Listing& l) { return l.modality == modality; });
  if (listing == doc->listings.end()) return out;
  try {
    auto entry = std::make_shared<DiscoveryEntry>();
    entry->modality = modality;
    entry->builtAt = listing->built;
    entry->refreshedAt = listing->refreshed;
    entry->models.reserve(listing->count);
    std::size_t at = 0;
    while (const auto line = nextLine(listing->lines, at)) entry->models.push_back(modelFrom(*line));
    out.state = DiscoveryLookup::State::Found;
    out.entry = std::move(entry);
  } catch (const std::exception&) {
    out.state = DiscoveryLookup::State::Corrupt;
    out.path.reset();
  }
  return out;
}

// The document @p before (a file's content) with @p entry as its listing of entry.modality (the
// others kept, unless @p path differs from the recorded one) and @p path when known; a corrupt or
// foreign @p before is replaced.
std::string documentWith(const std::optional<std::string>& before, const std::string& peer, const DiscoveryEntry& entry,
                         std::optional<DiscoveryPath> path) {
  std::optional<Document> doc;
  if (before && !before->empty()) doc = checkedDocument(*before, peer);
  if (!doc || (path && doc->path && *doc->path != *path)) doc = Document{};
  if (path) doc->path = path;
  std::string out(kFormat);
  out += "\npeer\t";
  appendField(out, peer);
  out += '\n';
  if (doc->path) out += "path\t" + std::string(toString(*doc->path)) + '\n';
  for (const auto& l : doc->listings) {
    if (l.modality == entry.modality) continue;
    appendListingHeader(out, l.modality, l.built, l.refreshed, l.count);
    out += l.lines;
  }
  appendListingHeader(out, entry.modality, entry.builtAt, entry.refreshedAt, entry.models.size());
  for (const auto& m : entry.models) appendModel(out, m);
  return out;
}

}  // namespace

DiscoveryLookup DiscoveryCache::find(const std::string& peer, const std::string& modality) const {
  std::optional<std::string> text;
  Read read;
  const auto key = std::make_pair(peer, modality);
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    const auto it = memory_.find(peer);
    text = it == memory_.end() ? std::string() : it->second;
  } else {
    const fs::path file = fileOf(peer);
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0) {
      const std::lock_guard lock(rememberedMutex_);
      const auto it = remembered_.find(key);
      if (it != remembered_.end() && it->second.stamp == stampOf(st)) {
        DiscoveryLookup out;
        out.state = DiscoveryLookup::State::Found;
        out.entry = it->second.entry;
        out.path = it->second.path;
        return out;
      }
    }
    read = readText(file);
    text = std::move(read.text);
  }
  DiscoveryLookup out = lookUp(text, peer, modality);
  if (!directory_.empty()) {
    const std::lock_guard lock(rememberedMutex_);
    if (out.state == DiscoveryLookup::State::Found && read.settled) {
      remembered_[key] = Remembered{read.stamp, out.entry, out.path};
    } else {
      remembered_.erase(key);
    }
  }
  return out;
}

void DiscoveryCache::put(const std::string& peer, const DiscoveryEntry& entry,
                         std::optional<DiscoveryPath> path) const {
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    const auto it = memory_.find(peer);
    memory_[peer] = documentWith(it == memory_.end() ? std::optional<std::string>() : it->second, peer, entry, path);
    return;
  }
  detail::createStoreDirectory(directory_, "discovery cache");
  const WriteLock lock(directory_);
  const fs::path file = fileOf(peer);
  iod::writeFileAtomically(file, std::string_view(documentWith(readText(file).text, peer, entry, path)));
  // the JSON file of iodeep-discovery-1 (until 2026-12-03), replaced by this one
  std::error_code ec;
  fs::remove(fs::path(file).replace_extension(".json"), ec);
}

void DiscoveryCache::learn(const std::string& peer, const std::string& modality,
                           const std::vector<RemoteModel>& described) const {
  if (described.empty()) return;
  // the listing as it is now with what @p described adds; nothing when it adds nothing
  const auto learnt = [&](const std::optional<std::string>& before) -> std::optional<std::string> {
    const auto found = lookUp(before, peer, modality);
    if (found.state != DiscoveryLookup::State::Found) return std::nullopt;
    std::map<std::string_view, const RemoteModel*> bySop;
    for (const auto& d : described) bySop.emplace(d.sopInstanceUid, &d);
    DiscoveryEntry entry = *found.entry;
    bool changed = false;
    for (auto& m : entry.models) {
      const auto it = bySop.find(m.sopInstanceUid);
      if (it == bySop.end()) continue;
      const RemoteModel& d = *it->second;
      if (m.samplesPerPixel == 0 && d.samplesPerPixel != 0) {
        m.samplesPerPixel = d.samplesPerPixel;
        changed = true;
      }
      if (m.photometricInterpretation.empty() && !d.photometricInterpretation.empty()) {
        m.photometricInterpretation = d.photometricInterpretation;
        changed = true;
      }
    }
    if (!changed) return std::nullopt;
    return documentWith(before, peer, entry, std::nullopt);
  };
  if (directory_.empty()) {
    const std::lock_guard lock(memoryMutex_);
    const auto it = memory_.find(peer);
    if (it == memory_.end()) return;
    if (auto text = learnt(it->second)) it->second = std::move(*text);
    return;
  }
  std::error_code ec;
  if (!fs::exists(directory_, ec)) return;
  const WriteLock lock(directory_);
  const fs::path file = fileOf(peer);
  if (const auto text = learnt(readText(file).text)) iod::writeFileAtomically(file, std::string_view(*text));
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
