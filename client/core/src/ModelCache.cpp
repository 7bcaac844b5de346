#include "iodeep/client/ModelCache.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "SignatureJson.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Uid.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

// Each entry is <SOP Instance UID>.dcm with a <SOP Instance UID>.json beside it that records
// what verification found. The JSON is written last: an entry without it does not exist. Its
// modification time is the entry's last use.
constexpr std::string_view kModelExtension = ".dcm";
constexpr std::string_view kIndexExtension = ".json";

std::optional<CachedModel> readEntry(const fs::path& index) {
  try {
    const auto j = nlohmann::json::parse(iod::readTextFile(index));
    CachedModel m;
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
    // entries admitted before signatures were verified have no "signatures": not entries (the
    // object is retrieved and verified again)
    m.signatures = detail::signatureReportFromJson(j.at("signatures"));
    m.file = fs::path(index).replace_extension(kModelExtension);
    std::error_code ec;
    if (!fs::is_regular_file(m.file, ec) || fs::file_size(m.file, ec) != m.bytes) return std::nullopt;
    return m;
  } catch (const std::exception&) {
    return std::nullopt;  // another process is replacing it, or it is damaged: not an entry
  }
}

void touch(const fs::path& index) {
  std::error_code ec;
  fs::last_write_time(index, fs::file_time_type::clock::now(), ec);
}

}  // namespace

ModelCache::ModelCache(fs::path directory, std::uint64_t maxBytes)
    : directory_(std::move(directory)), maxBytes_(maxBytes) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec || !fs::is_directory(directory_)) {
    throw Error(ErrorCode::OutputError, "cannot create the model cache: " + ec.message(),
                ErrorContext{.file = directory_.string()});
  }
}

std::optional<CachedModel> ModelCache::findBySopInstance(const std::string& sopInstanceUid, bool markUsed) const {
  if (!iod::isValidUid(sopInstanceUid)) return std::nullopt;
  const auto index = directory_ / (sopInstanceUid + std::string(kIndexExtension));
  auto m = readEntry(index);
  if (m && markUsed) touch(index);
  return m;
}

std::optional<CachedModel> ModelCache::findByDnnUid(const std::string& dnnUid) const {
  for (const auto& m : list()) {
    if (m.dnnUid == dnnUid) {
      touch(fs::path(m.file).replace_extension(kIndexExtension));
      return m;
    }
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
                    std::move(signatures)};
  read = {};  // release the mapping before the file moves
  std::error_code ec;
  fs::rename(file, entry.file, ec);
  if (ec) {
    // another file system: copy atomically, the source is removed by Consume
    iod::writeFileAtomically(entry.file, iod::ByteBuffer::mapFile(file).bytes());
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
                            {"signatures", detail::toJson(entry.signatures)}};
  iod::writeFileAtomically(fs::path(entry.file).replace_extension(kIndexExtension), std::string_view(j.dump(1)));
  evict(entry.sopInstanceUid);
  return entry;
}

std::vector<CachedModel> ModelCache::list() const {
  std::vector<std::pair<fs::file_time_type, CachedModel>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    if (e.path().extension() != kIndexExtension) continue;
    if (auto m = readEntry(e.path())) found.emplace_back(fs::last_write_time(e.path(), ec), std::move(*m));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second.sopInstanceUid < b.second.sopInstanceUid;
  });
  std::vector<CachedModel> out;
  out.reserve(found.size());
  for (auto& [t, m] : found) out.push_back(std::move(m));
  return out;
}

void ModelCache::evict(const std::string& keep) const {
  auto entries = list();  // most recently used first
  std::uint64_t total = 0;
  for (const auto& m : entries) total += m.bytes;
  for (auto it = entries.rbegin(); it != entries.rend() && total > maxBytes_; ++it) {
    if (it->sopInstanceUid == keep) continue;
    std::error_code ec;
    // the index goes first: from then on the entry does not exist for anyone
    fs::remove(fs::path(it->file).replace_extension(kIndexExtension), ec);
    fs::remove(it->file, ec);
    total -= it->bytes;
  }
}

}  // namespace iodeep::client
