#include "iodeep/stores/ModelCache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "StoreDirectory.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/JsonParse.hpp"
#include "iodeep/iod/Uid.hpp"
#include "iodeep/trust/SignatureJson.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

// The model file open with a shared flock (per open file description: two ModelCache objects of
// one process exclude each other as two processes do). Eviction takes LOCK_EX | LOCK_NB on its
// own descriptor of the file and skips the entry when that fails.
class ModelLease {
 public:
  explicit ModelLease(int fd) noexcept : fd_(fd) {}
  ~ModelLease() { ::close(fd_); }
  ModelLease(const ModelLease&) = delete;
  ModelLease& operator=(const ModelLease&) = delete;
  ModelLease(ModelLease&&) = delete;
  ModelLease& operator=(ModelLease&&) = delete;

 private:
  int fd_;
};

namespace {

// Each entry is <SOP Instance UID>.dcm with a <SOP Instance UID>.json beside it that records
// what verification found and the identity of the file it was found in. The JSON is written
// last: an entry without it does not exist. Its modification time is the entry's last use.
// Whatever changes entries (admission's publication, eviction, removal of a stale entry) holds
// an exclusive flock on <directory>/.lock; finding an entry does not.
constexpr std::string_view kModelExtension = ".dcm";
constexpr std::string_view kIndexExtension = ".json";
constexpr std::string_view kLockFile = ".lock";
constexpr mode_t kPrivateFile = S_IRUSR | S_IWUSR;

// The file as stat(2) saw it once it was in place. Writing it (in place or by a hard link or
// rename over it) changes the inode, the size or the modification time; restoring the
// modification time (utimensat) or changing its mode or links changes the change time, which no
// user can set back.
struct FileIdentity {
  std::uint64_t device{0}, inode{0}, size{0};
  std::int64_t modifiedSeconds{0}, modifiedNanoseconds{0}, changedSeconds{0}, changedNanoseconds{0};
  bool operator==(const FileIdentity&) const = default;
};

FileIdentity identityOf(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_dev),         static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size),        static_cast<std::int64_t>(st.st_mtim.tv_sec),
          static_cast<std::int64_t>(st.st_mtim.tv_nsec), static_cast<std::int64_t>(st.st_ctim.tv_sec),
          static_cast<std::int64_t>(st.st_ctim.tv_nsec)};
}

// What is at @p path now (a symbolic link is not a model file): nothing when absent.
std::optional<FileIdentity> identityAt(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return identityOf(st);
}

std::optional<FileIdentity> identityOf(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return identityOf(st);
}

nlohmann::json toJson(const FileIdentity& i) {
  return {{"device", i.device},
          {"inode", i.inode},
          {"size", i.size},
          {"modified", {i.modifiedSeconds, i.modifiedNanoseconds}},
          {"changed", {i.changedSeconds, i.changedNanoseconds}}};
}

FileIdentity identityFromJson(const nlohmann::json& j) {
  return {j.at("device").get<std::uint64_t>(),        j.at("inode").get<std::uint64_t>(),
          j.at("size").get<std::uint64_t>(),          j.at("modified").at(0).get<std::int64_t>(),
          j.at("modified").at(1).get<std::int64_t>(), j.at("changed").at(0).get<std::int64_t>(),
          j.at("changed").at(1).get<std::int64_t>()};
}

int openNoFollow(const fs::path& path, int flags) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  } while (fd < 0 && errno == EINTR);
  return fd;
}

bool flockRetrying(int fd, int operation) {
  while (::flock(fd, operation) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

struct FileDescriptor {
  explicit FileDescriptor(int descriptor) noexcept : fd(descriptor) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&&) = delete;
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

// The exclusive lock of everything that changes entries, held for the object's lifetime.
class ChangeLock {
 public:
  explicit ChangeLock(const fs::path& directory) : file_{openNoFollow(directory / kLockFile, O_RDWR | O_CREAT)} {
    if (file_.fd < 0 || !flockRetrying(file_.fd, LOCK_EX)) {
      throw Error(ErrorCode::OutputError, std::string("cannot lock the model cache: ") + std::strerror(errno),
                  ErrorContext{.file = (directory / kLockFile).string()});
    }
  }

 private:
  FileDescriptor file_;
};

struct Entry {
  CachedModel model;
  FileIdentity identity;
};

// The index as written; nothing when it cannot be read or lacks what an entry needs (written by
// an older version without signatures or the file's identity: not an entry, the object is
// retrieved and verified again).
std::optional<Entry> readIndex(const fs::path& index) {
  try {
    const auto j = iod::parseJson(iod::readTextFile(index), index.string());
    Entry e;
    CachedModel& m = e.model;
    m.sopInstanceUid = j.at("sopInstanceUid").get<std::string>();
    m.dnnUid = j.at("dnnUid").get<std::string>();
    m.name = j.value("name", "");
    m.version = j.value("version", "");
    m.bytes = j.at("bytes").get<std::uint64_t>();
    m.modality = j.value("modality", "");
    m.bodyPartExamined = j.value("bodyPartExamined", "");
    m.photometricInterpretation = j.value("photometricInterpretation", "");
    m.seriesDescription = j.value("seriesDescription", "");
    m.contentDate = j.value("contentDate", "");
    m.contentTime = j.value("contentTime", "");
    m.samplesPerPixel = j.value("samplesPerPixel", std::uint16_t{0});
    m.signatures = detail::signatureReportFromJson(j.at("signatures"));
    m.file = fs::path(index).replace_extension(kModelExtension);
    e.identity = identityFromJson(j.at("file"));
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

enum class State { Absent, Stale, Valid };

struct Checked {
  State state{State::Absent};
  std::optional<Entry> entry;
};

// An index is an entry while its model file is the very file it recorded.
Checked check(const fs::path& index) {
  struct stat st {};
  if (::lstat(index.c_str(), &st) != 0) return {};
  auto e = readIndex(index);
  if (!e) return {State::Stale, std::nullopt};
  const auto now = identityAt(e->model.file);
  if (!now || *now != e->identity || now->size != e->model.bytes) return {State::Stale, std::nullopt};
  return {State::Valid, std::move(e)};
}

void removeEntry(const fs::path& index) {
  std::error_code ec;
  // the index goes first: from then on the entry does not exist for anyone
  fs::remove(index, ec);
  fs::remove(fs::path(index).replace_extension(kModelExtension), ec);
}

// Under the change lock (no admission is half done): an index still not an entry is removed with
// its file, which is not the one verified.
Checked settle(const fs::path& directory, const fs::path& index) {
  try {
    const ChangeLock lock(directory);
    auto c = check(index);
    if (c.state == State::Stale) removeEntry(index);
    return c;
  } catch (const Error&) {
    return {State::Stale, std::nullopt};  // cannot lock (read-only cache): not an entry, left as it is
  }
}

// Opens the entry's model with a shared lock; nothing when the file is no longer the one recorded
// (evicted or replaced since it was checked).
std::shared_ptr<const ModelLease> lease(const fs::path& file, const FileIdentity& identity) {
  const int fd = openNoFollow(file, O_RDONLY);
  if (fd < 0) return nullptr;
  auto held = std::make_shared<const ModelLease>(fd);
  if (!flockRetrying(fd, LOCK_SH)) return nullptr;
  // the descriptor is the verified file, and the path still names it: from now on no eviction
  // removes it (an eviction that got there first has unlinked it, which changed its change time)
  if (identityOf(fd) != identity || identityAt(file) != identity) return nullptr;
  return held;
}

void touch(const fs::path& index) {
  std::error_code ec;
  fs::last_write_time(index, fs::file_time_type::clock::now(), ec);
}

fs::path indexOf(const fs::path& model) {
  return fs::path(model).replace_extension(kIndexExtension);
}

[[noreturn]] void cannotEnter(const fs::path& file, const std::string& what, const std::string& uid) {
  Error e(ErrorCode::OutputError, "cannot enter the model cache: " + what, ErrorContext{.file = file.string()});
  e.withUid(uid);
  throw e;
}

struct Found {
  fs::file_time_type used;
  Entry entry;
};

// Every valid entry (no lease). Stale indexes are removed: directly when @p locked (the caller
// holds the change lock), else each after a check again under the lock.
std::vector<Found> scan(const fs::path& directory, bool locked) {
  std::vector<Found> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory, ec)) {
    if (e.path().extension() != kIndexExtension) continue;
    auto c = check(e.path());
    if (c.state == State::Stale) {
      if (locked) {
        removeEntry(e.path());
        continue;
      }
      c = settle(directory, e.path());
    }
    if (c.state != State::Valid) continue;
    found.push_back({fs::last_write_time(e.path(), ec), std::move(*c.entry)});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.used != b.used ? a.used > b.used : a.entry.model.sopInstanceUid < b.entry.model.sopInstanceUid;
  });
  return found;
}

}  // namespace

namespace {
std::atomic<std::uint64_t> builtCount{0};
}  // namespace

std::uint64_t ModelCache::instancesBuilt() noexcept {
  return builtCount.load();
}

ModelCache::ModelCache(fs::path directory, std::uint64_t maxBytes)
    : directory_(std::move(directory)), maxBytes_(maxBytes) {
  detail::createStoreDirectory(directory_, "model cache");
  builtCount.fetch_add(1, std::memory_order_relaxed);  // built: counted
}

std::optional<CachedModel> ModelCache::use(const fs::path& index, bool markUsed) const {
  // a few times: an admission of the same object may replace the file between check and lease
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto c = check(index);
    if (c.state == State::Absent) return std::nullopt;
    if (c.state == State::Stale) {
      c = settle(directory_, index);
      if (c.state != State::Valid) return std::nullopt;
    }
    if (auto held = lease(c.entry->model.file, c.entry->identity)) {
      c.entry->model.lease = std::move(held);
      if (markUsed) touch(index);
      return std::move(c.entry->model);
    }
  }
  return std::nullopt;
}

std::optional<CachedModel> ModelCache::findBySopInstance(const std::string& sopInstanceUid, bool markUsed) const {
  if (!iod::isValidUid(sopInstanceUid)) return std::nullopt;
  return use(directory_ / (sopInstanceUid + std::string(kIndexExtension)), markUsed);
}

std::optional<CachedModel> ModelCache::findByDnnUid(const std::string& dnnUid) const {
  for (const auto& m : list()) {
    if (m.dnnUid == dnnUid) return use(indexOf(m.file), true);
  }
  return std::nullopt;
}

CachedModel ModelCache::admit(const fs::path& file) {
  struct Consume {
    const fs::path& f;
    ~Consume() {
      std::error_code ec;
      fs::remove(f, ec);
    }
  } consume{file};
  iod::IodeepFile read;
  try {
    read = iod::readIodeep(file);
    for (const auto& f : iod::verifyIodeep(read)) {
      if (f.severity == iod::Finding::Severity::Error) {
        Error refused(f.code, "refused by the model cache: " + f.message, f.context);
        refused.withUid(read.model.sopInstanceUid);
        throw refused;
      }
    }
  } catch (Error& e) {
    e.inFile(file.string());
    throw;
  }
  iod::SignatureReport signatures;
  try {
    // the data set is hashed once here; the trust decision is taken again on each use
    signatures = iod::verifyFileSignatures(file);
  } catch (Error& e) {
    e.inFile(file.string()).withUid(read.model.sopInstanceUid);
    throw;
  }
  const auto& m = read.model;
  CachedModel entry{directory_ / (m.sopInstanceUid + std::string(kModelExtension)),
                    m.sopInstanceUid,
                    m.dnnUid,
                    m.name,
                    m.version,
                    fs::file_size(file),
                    m.target.modality,
                    m.target.bodyPartExamined,
                    m.target.photometricInterpretation,
                    m.seriesDescription,
                    m.contentDate,
                    m.contentTime,
                    m.target.samplesPerPixel,
                    std::move(signatures),
                    nullptr};
  read = {};  // release the mapping before the file moves
  // the owner only, before it enters
  if (::chmod(file.c_str(), kPrivateFile) != 0) cannotEnter(file, std::strerror(errno), entry.sopInstanceUid);
  {
    const ChangeLock lock(directory_);
    std::error_code ec;
    fs::rename(file, entry.file, ec);
    if (ec) {
      // another file system: copy atomically (0600), the source is removed by Consume
      iod::writeFileAtomically(entry.file, iod::ByteBuffer::mapFile(file).bytes());
    }
    // its identity once in place (a rename changes the change time) and on disk; the lease is
    // taken now, so the entry is never an instant without one
    const int fd = openNoFollow(entry.file, O_RDONLY);
    if (fd < 0) cannotEnter(entry.file, std::strerror(errno), entry.sopInstanceUid);
    auto held = std::make_shared<const ModelLease>(fd);
    if (::fsync(fd) != 0 && errno != EINVAL) cannotEnter(entry.file, std::strerror(errno), entry.sopInstanceUid);
    if (!flockRetrying(fd, LOCK_SH)) cannotEnter(entry.file, std::strerror(errno), entry.sopInstanceUid);
    const auto identity = identityOf(fd);
    if (!identity || identity->size != entry.bytes) {
      cannotEnter(entry.file, "the file changed while it entered", entry.sopInstanceUid);
    }
    const nlohmann::json j = {{"sopInstanceUid", entry.sopInstanceUid},
                              {"dnnUid", entry.dnnUid},
                              {"name", entry.name},
                              {"version", entry.version},
                              {"bytes", entry.bytes},
                              {"verified", "SHA-256 and DnnUID"},
                              {"modality", entry.modality},
                              {"bodyPartExamined", entry.bodyPartExamined},
                              {"samplesPerPixel", entry.samplesPerPixel},
                              {"photometricInterpretation", entry.photometricInterpretation},
                              {"seriesDescription", entry.seriesDescription},
                              {"contentDate", entry.contentDate},
                              {"contentTime", entry.contentTime},
                              {"signatures", detail::toJson(entry.signatures)},
                              {"file", toJson(*identity)}};
    iod::writeFileAtomically(indexOf(entry.file), std::string_view(j.dump(1)));
    entry.lease = std::move(held);
  }
  evict(entry.sopInstanceUid);
  return entry;
}

std::vector<CachedModel> ModelCache::list() const {
  auto found = scan(directory_, false);
  std::vector<CachedModel> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.entry.model));
  return out;
}

void ModelCache::drop(CachedModel entry) const {
  entry.lease.reset();
  const ChangeLock lock(directory_);
  int fd = openNoFollow(entry.file, O_RDWR);
  if (fd < 0 && errno == EACCES) fd = openNoFollow(entry.file, O_RDONLY);
  const FileDescriptor model{fd};
  if (model.fd < 0 || ::flock(model.fd, LOCK_EX | LOCK_NB) != 0) return;  // in use elsewhere: it stays
  // only the file that was refused: not one another process admitted under the same name since
  const auto recorded = readIndex(indexOf(entry.file));
  if (!recorded || identityOf(model.fd) != recorded->identity || recorded->model.dnnUid != entry.dnnUid) return;
  removeEntry(indexOf(entry.file));
}

void ModelCache::evict(const std::string& keep) const {
  const ChangeLock lock(directory_);
  const auto entries = scan(directory_, true);  // most recently used first
  std::uint64_t total = 0;
  for (const auto& f : entries) total += f.entry.model.bytes;
  for (auto it = entries.rbegin(); it != entries.rend() && total > maxBytes_; ++it) {
    const CachedModel& m = it->entry.model;
    if (m.sopInstanceUid == keep) continue;
    // in use by someone (a lease holds it shared): it stays. Read-write, so that the exclusive
    // lock also works where flock is emulated with POSIX locks (NFS).
    int fd = openNoFollow(m.file, O_RDWR);
    if (fd < 0 && errno == EACCES) fd = openNoFollow(m.file, O_RDONLY);  // made read-only: flock still works here
    const FileDescriptor model{fd};
    if (model.fd < 0 || ::flock(model.fd, LOCK_EX | LOCK_NB) != 0) continue;
    if (identityOf(model.fd) != it->entry.identity) continue;
    removeEntry(indexOf(m.file));
    total -= m.bytes;
  }
}

void fillBlanksFromCache(RemoteModel& model, const CachedModel& cached) {
  const auto fill = [](std::string& field, const std::string& value) {
    if (field.empty()) field = value;
  };
  fill(model.seriesDescription, cached.seriesDescription);
  fill(model.bodyPartExamined, cached.bodyPartExamined);
  fill(model.photometricInterpretation, cached.photometricInterpretation);
  fill(model.contentDate, cached.contentDate);
  fill(model.contentTime, cached.contentTime);
  if (model.samplesPerPixel == 0) model.samplesPerPixel = cached.samplesPerPixel;
}

}  // namespace iodeep::client
