#include "SliceStore.hpp"

#include <algorithm>
#include <random>
#include <system_error>
#include <vector>

#include "Requests.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::service::detail {

namespace fs = std::filesystem;

SliceStore::SliceStore(fs::path directory, std::size_t maxFiles)
    : directory_(std::move(directory)), maxFiles_(maxFiles) {
  iod::createPrivateDirectory(directory_);
}

SliceStore::Got SliceStore::get(const client::Pacs& pacs, const std::string& study, const std::string& series,
                                const std::string& instance, const fs::path& workDir) const {
  const fs::path entry = directory_ / (instance + ".dcm");
  const fs::path mine = workDir / ("slice-" + instance + ".dcm");
  std::error_code ec;
  fs::create_hard_link(entry, mine, ec);
  if (!ec) {
    fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);  // recently used
    return {mine, true, 0};
  }
  client::RetrieveResult got;
  try {
    got = pacs.retrieve(client::QueryLevel::Image, study, series, instance, workDir, {});
  } catch (const Error& e) {
    // the PACS's failure status for a retrieval by reference: what was referred to is not there
    if (e.code() != ErrorCode::DimseFailure) throw;
    throw detail::RequestError(404, "the PACS does not give the referenced instance: " + e.detail(), "instance");
  }
  if (got.files.empty()) {
    throw Error(ErrorCode::DimseFailure, "the PACS sent no instance for the reference",
                ErrorContext{.uid = instance, .peer = pacs.options().pacs.toString()});
  }
  fs::rename(got.files.front(), mine, ec);
  if (ec) throw Error(ErrorCode::OutputError, "cannot keep the retrieved slice: " + ec.message());
  // entered under a temporary name, then renamed: a reader sees the whole file or none
  thread_local std::mt19937_64 random{std::random_device{}()};
  const fs::path temporary = directory_ / (".in-" + std::to_string(random()) + ".dcm");
  fs::create_hard_link(mine, temporary, ec);
  if (!ec) {
    fs::rename(temporary, entry, ec);
    if (ec) fs::remove(temporary, ec);
    evict();
  }
  return {mine, false, got.bytes};
}

void SliceStore::evict() const {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    if (e.path().extension() == ".dcm" && e.path().filename().string().front() != '.') {
      entries.emplace_back(e.last_write_time(ec), e.path());
    }
  }
  if (entries.size() <= maxFiles_) return;
  std::sort(entries.begin(), entries.end());
  for (std::size_t i = 0; i + maxFiles_ < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

}  // namespace iodeep::service::detail
