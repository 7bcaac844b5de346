#include "iodeep/client/ImageCache.hpp"

#include <algorithm>
#include <set>

#include "iodeep/iod/Error.hpp"
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

}  // namespace

ImageCache::ImageCache(fs::path directory, std::uint64_t maxBytes)
    : directory_(std::move(directory)), maxBytes_(maxBytes) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || !fs::is_directory(directory_)) {
    throw Error(ErrorCode::OutputError, "cannot create the image cache: " + ec.message(),
                ErrorContext{.file = directory_.string()});
  }
}

fs::path ImageCache::seriesDirectory(const std::string& seriesUid) const {
  // a UID names the directory: nothing a PACS sends can leave the cache
  if (!iod::isValidUid(seriesUid)) {
    throw Error(ErrorCode::InvalidArgument, "'" + seriesUid + "' is not a valid Series Instance UID");
  }
  return directory_ / seriesUid;
}

std::vector<LocalInstance> orderedImages(const std::vector<fs::path>& files) {
  struct Keyed {
    LocalInstance instance;
    bool geometry{false};
  };
  std::vector<Keyed> found;
  for (const auto& file : files) {
    try {
      const auto a = iod::readSliceAttributes(file);
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
    } catch (const Error&) {
      continue;  // not readable: not offered
    }
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

std::vector<LocalInstance> ImageCache::localSeries(const std::string& seriesUid) const {
  const fs::path dir = seriesDirectory(seriesUid);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".dcm") files.push_back(e.path());
  }
  return orderedImages(files);
}

std::vector<LocalInstance> ImageCache::openSeries(const Pacs& pacs, const std::string& studyUid,
                                                  const std::string& seriesUid,
                                                  const SeriesProgressHandler& onProgress) {
  const fs::path dir = seriesDirectory(seriesUid);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorCode::OutputError, "cannot create the series directory: " + ec.message(),
                ErrorContext{.file = dir.string()});
  }
  fs::last_write_time(dir, fs::file_time_type::clock::now(), ec);  // most recently opened
  const auto remote = findInstances(pacs, studyUid, seriesUid);
  std::vector<const InstanceInfo*> missing;
  for (const auto& i : remote) {
    if (!iod::isValidUid(i.sopInstanceUid)) continue;
    if (!fs::exists(dir / (i.sopInstanceUid + ".dcm"), ec)) missing.push_back(&i);
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
  auto local = localSeries(seriesUid);
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
