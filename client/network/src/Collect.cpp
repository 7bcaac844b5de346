// Collecting what a retrieval received: the Wanted filter, discarding, handing complete files over.
#include "Collect.hpp"

#include <dcmtk/dcmdata/dctk.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <system_error>

#include "iodeep/iod/DcmtkBridge.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/iod/Uid.hpp"

namespace iodeep::client::detail {

std::string Wanted::refusal(const std::string& sopClass, const std::string& sopInstance) const {
  if (!iod::isValidUid(sopInstance)) return "its SOP Instance UID is not a UID";
  if (level == QueryLevel::Image && sopInstance != instance) return "SOP instance " + instance + " was asked for";
  if (!classes.empty() && std::find(classes.begin(), classes.end(), sopClass) == classes.end()) {
    return "SOP class " + sopClass + " was not asked for";
  }
  return {};
}

std::string Wanted::refusal(const std::string& sopClass, const std::string& sopInstance, const std::string& studyUid,
                            const std::string& seriesUid) const {
  auto why = refusal(sopClass, sopInstance);
  if (!why.empty()) return why;
  if (studyUid != study) return "it belongs to study " + studyUid + ", not " + study;
  if (level != QueryLevel::Study && seriesUid != series) return "it belongs to series " + seriesUid + ", not " + series;
  return {};
}

void reportDiscarded(const std::string& peer, const std::string& sopInstance, const std::string& why) {
  // the UID and the reason carry the peer's text (not yet known to be UIDs): one printable line of
  // bounded length
  const auto shown = [](const std::string& text, std::size_t max) {
    std::string out = text.substr(0, max);
    for (auto& c : out) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F) c = '?';
    }
    return text.size() > max ? out + "..." : out;
  };
  iod::warn("discarded " + (sopInstance.empty() ? std::string("an instance") : shown(sopInstance, 64)) + " from " +
            peer + ": not requested (" + shown(why, 300) + ")");
}

void collect(const std::filesystem::path& from, const std::filesystem::path& to, const Wanted& wanted,
             const std::string& peer, RetrieveResult& result) {
  struct Arrived {
    std::filesystem::path path;
    std::string sop;
  };
  std::vector<Arrived> arrived;
  std::map<std::string, std::size_t> copies;
  const auto discard = [&](const std::filesystem::path& path, const std::string& sop, const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    ++result.discarded;
    reportDiscarded(peer, sop, why);
  };
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    std::string sop, sopClass, study, series;
    try {
      // values longer than 4 KiB stay on disk: the UIDs are what is read here
      auto file = iod::dcmtk::loadFile(entry.path(), 4096);
      DcmDataset& ds = *file->getDataset();
      sop = iod::dcmtk::getString(ds, DCM_SOPInstanceUID);
      sopClass = iod::dcmtk::getString(ds, DCM_SOPClassUID);
      study = iod::dcmtk::getString(ds, DCM_StudyInstanceUID);
      series = iod::dcmtk::getString(ds, DCM_SeriesInstanceUID);
    } catch (const Error&) {
      continue;  // incomplete: not handed over (the temporary directory goes with it)
    }
    const std::string why = wanted.refusal(sopClass, sop, study, series);
    if (!why.empty()) {
      discard(entry.path(), sop, why);
      continue;
    }
    ++copies[sop];
    arrived.push_back({entry.path(), sop});
  }
  for (const auto& a : arrived) {
    if (copies[a.sop] > 1) {
      discard(a.path, a.sop, std::to_string(copies[a.sop]) + " files claim this SOP instance");
      continue;
    }
    const auto target = to / (a.sop + ".dcm");
    // patient data and networks: ours alone (0600), whatever mode the toolkit created them with
    std::filesystem::permissions(a.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::rename(a.path, target);
    result.bytes += std::filesystem::file_size(target);
    result.files.push_back(target);
  }
}

}  // namespace iodeep::client::detail
