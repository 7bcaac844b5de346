#include "iodeep/stores/ImageCache.hpp"

#include <sys/stat.h>
#include <atomic>

#include <algorithm>
#include <set>
#include <utility>

#include "StoreDirectory.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/iod/Uid.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

std::int32_t toInt(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoi(s);
  } catch (const std::exception&) {
    return 0;
  }
}

std::uint64_t directoryBytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

struct ReadInstance {
  fs::path file;
  iod::SliceAttributes attributes;
};

void discard(const fs::path& file, const std::string& why) {
  std::error_code ec;
  fs::remove(file, ec);
  iod::warn("discarded " + file.string() + " from the image cache: " + why);
}

// The instances in the series folder @p dir, each file's attributes read once. A folder holds
// only its series: a file of another series (or of another study, when @p studyUid is given),
// one not named after its own SOP Instance UID, or one that is not DICOM is deleted and logged.
// What stays is the owner's only (0600), whoever wrote it.
std::vector<ReadInstance> seriesContent(const fs::path& dir, const std::string& studyUid,
                                        const std::string& seriesUid) {
  std::vector<ReadInstance> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.path().extension() != ".dcm") continue;
    const fs::path& file = e.path();
    iod::SliceAttributes a;
    try {
      a = iod::readSliceAttributes(file);
    } catch (const Error& err) {
      // gone meanwhile (evicted by another process) or unreadable for now: left as it is
      if (err.code() == ErrorCode::FileNotFound || err.code() == ErrorCode::IoError) continue;
      discard(file, "not a readable DICOM instance (" + err.detail() + ")");
      continue;
    }
    if (a.seriesInstanceUid != seriesUid) {
      discard(file, "SeriesInstanceUID " + a.seriesInstanceUid + " in the folder of series " + seriesUid);
      continue;
    }
    if (!studyUid.empty() && a.studyInstanceUid != studyUid) {
      discard(file,
              "StudyInstanceUID " + a.studyInstanceUid + " where series " + seriesUid + " is in study " + studyUid);
      continue;
    }
    if (file.stem() != a.sopInstanceUid) {
      discard(file, "its SOP Instance UID is " + a.sopInstanceUid);
      continue;
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      (void)::chmod(file.c_str(), S_IRUSR | S_IWUSR);
    }
    out.push_back({file, std::move(a)});
  }
  return out;
}

// The images among @p read, in display order (orderedImages).
std::vector<LocalInstance> ordered(const std::vector<ReadInstance>& read) {
  struct Keyed {
    LocalInstance instance;
    bool geometry{false};
  };
  std::vector<Keyed> found;
  for (const auto& [file, a] : read) {
    if (a.rows == 0 || a.columns == 0) continue;  // not an image
    Keyed k;
    k.instance.file = file;
    k.instance.sopInstanceUid = a.sopInstanceUid;
    k.instance.instanceNumber = toInt(a.instanceNumber);
    if (a.imagePositionPatient && a.imageOrientationPatient) {
      const auto& o = *a.imageOrientationPatient;
      const std::array<double, 3> normal{o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                         o[0] * o[4] - o[1] * o[3]};
      const auto& p = *a.imagePositionPatient;
      k.instance.position = p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
      k.geometry = true;
    }
    found.push_back(std::move(k));
  }
  const bool byPosition =
      !found.empty() && std::all_of(found.begin(), found.end(), [](const Keyed& k) { return k.geometry; });
  std::sort(found.begin(), found.end(), [&](const Keyed& a, const Keyed& b) {
    if (byPosition && a.instance.position != b.instance.position) return a.instance.position < b.instance.position;
    if (a.instance.instanceNumber != b.instance.instanceNumber) {
      return a.instance.instanceNumber < b.instance.instanceNumber;
    }
    return a.instance.sopInstanceUid < b.instance.sopInstanceUid;
  });
  // the same slices in the same order as their instance numbers when those ascend the other way
  if (byPosition && found.size() > 1 && found.front().instance.instanceNumber > found.back().instance.instanceNumber) {
    std::reverse(found.begin(), found.end());
  }
  std::vector<LocalInstance> out;
  out.reserve(found.size());
  for (auto& k : found) out.push_back(std::move(k.instance));
  return out;
}

}  // namespace

namespace {
std::atomic<std::uint64_t> builtCount{0};
}  // namespace

std::uint64_t ImageCache::instancesBuilt() noexcept {
  return builtCount.load();
}

ImageCache::ImageCache(fs::path directory, std::uint64_t maxBytes)
    : directory_(std::move(directory)), maxBytes_(maxBytes) {
  detail::createStoreDirectory(directory_, "image cache");
  builtCount.fetch_add(1, std::memory_order_relaxed);  // built: counted
}

fs::path ImageCache::seriesDirectory(const std::string& seriesUid) const {
  // a UID names the directory: nothing a PACS sends can leave the cache
  if (!iod::isValidUid(seriesUid)) {
    throw Error(ErrorCode::InvalidArgument, "'" + seriesUid + "' is not a valid Series Instance UID");
  }
  return directory_ / seriesUid;
}

std::vector<LocalInstance> orderedImages(const std::vector<fs::path>& files) {
  std::vector<ReadInstance> read;
  for (const auto& file : files) {
    try {
      read.push_back({file, iod::readSliceAttributes(file)});
    } catch (const Error&) {
      continue;  // not readable: not offered
    }
  }
  return ordered(read);
}

std::vector<LocalInstance> ImageCache::localSeries(const std::string& seriesUid, const std::string& studyUid) const {
  const fs::path dir = seriesDirectory(seriesUid);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  return ordered(seriesContent(dir, studyUid, seriesUid));
}

std::vector<LocalInstance> ImageCache::openSeries(const Pacs& pacs, const std::string& studyUid,
                                                  const std::string& seriesUid,
                                                  const SeriesProgressHandler& onProgress) {
  const fs::path dir = seriesDirectory(seriesUid);
  iod::createPrivateDirectory(dir);
  std::error_code ec;
  fs::last_write_time(dir, fs::file_time_type::clock::now(), ec);  // most recently opened
  const auto remote = findInstances(pacs, studyUid, seriesUid);
  // what is here and really of this series (anything else goes): the rest is retrieved
  std::set<std::string> here;
  for (const auto& r : seriesContent(dir, studyUid, seriesUid)) here.insert(r.attributes.sopInstanceUid);
  std::vector<const InstanceInfo*> missing;
  for (const auto& i : remote) {
    if (!iod::isValidUid(i.sopInstanceUid)) continue;
    if (here.count(i.sopInstanceUid) == 0) missing.push_back(&i);
  }
  const std::size_t total = remote.size();
  std::size_t present = total - missing.size();
  const auto report = [&](std::size_t now) { return !onProgress || onProgress({now, total}); };
  if (!report(present)) throw Error(ErrorCode::Cancelled, "opening the series cancelled");
  if (!missing.empty() && missing.size() == total) {
    // nothing local yet: one retrieval of the whole series, progress from its pending responses
    (void)pacs.retrieve(QueryLevel::Series, studyUid, seriesUid, {}, dir, {},
                        [&](const RetrieveProgress& p) { return report(p.completed + p.failed); });
  } else {
    for (const auto* i : missing) {
      const std::vector<std::string> classes =
          i->sopClassUid.empty() ? std::vector<std::string>{} : std::vector<std::string>{i->sopClassUid};
      (void)pacs.retrieve(QueryLevel::Image, studyUid, seriesUid, i->sopInstanceUid, dir, classes);
      if (!report(++present)) throw Error(ErrorCode::Cancelled, "opening the series cancelled");
    }
  }
  evict(seriesUid);
  auto local = localSeries(seriesUid, studyUid);  // what arrived is checked as it is listed
  (void)report(total);
  return local;
}

void ImageCache::evict(const std::string& keep) const {
  struct Entry {
    fs::path dir;
    fs::file_time_type used;
    std::uint64_t bytes;
  };
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    if (!e.is_directory(ec)) continue;
    const auto bytes = directoryBytes(e.path());
    total += bytes;
    entries.push_back({e.path(), fs::last_write_time(e.path(), ec), bytes});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const auto& e : entries) {
    if (total <= maxBytes_) break;
    if (e.dir.filename() == keep) continue;
    fs::remove_all(e.dir, ec);
    if (!ec) total -= e.bytes;
  }
}

}  // namespace iodeep::client
