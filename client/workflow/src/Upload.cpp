#include "iodeep/workflow/Upload.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/iod/IodeepObject.hpp"

namespace iodeep::client {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> expand(const std::vector<fs::path>& paths) {
  std::vector<fs::path> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> inside;
      for (const auto& e : fs::recursive_directory_iterator(p, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".dcm") inside.push_back(e.path());
      }
      std::sort(inside.begin(), inside.end());
      out.insert(out.end(), inside.begin(), inside.end());
    } else {
      out.push_back(p);
    }
  }
  return out;
}

std::string_view outcomeName(UploadItem::Outcome o) {
  switch (o) {
    case UploadItem::Outcome::Stored: return "stored";
    case UploadItem::Outcome::Refused: return "refused";
    case UploadItem::Outcome::Failed: return "failed";
  }
  return "failed";
}

}  // namespace

UploadReport upload(const Pacs& pacs, const std::vector<fs::path>& paths) {
  UploadReport report;
  for (const auto& file : expand(paths)) {
    UploadItem item;
    item.file = file;
    try {
      const auto f = iod::readIodeep(file);
      item.sopInstanceUid = f.model.sopInstanceUid;
      item.name = f.model.name;
      item.version = f.model.version;
      item.dnnUid = f.model.dnnUid;
      for (const auto& finding : iod::verifyIodeep(f)) {
        if (finding.severity == iod::Finding::Severity::Error) {
          Error refused(finding.code, finding.message, finding.context);
          refused.inFile(file.string());
          throw refused;
        }
      }
    } catch (const Error& e) {
      item.outcome = UploadItem::Outcome::Refused;
      item.code = e.code();
      item.reason = e.what();
      report.items.push_back(std::move(item));
      continue;
    }
    try {
      (void)pacs.store({file});
      item.outcome = UploadItem::Outcome::Stored;
    } catch (const Error& e) {
      item.outcome = UploadItem::Outcome::Failed;
      item.code = e.code();
      item.reason = e.what();
    }
    report.items.push_back(std::move(item));
  }
  return report;
}

std::size_t UploadReport::count(UploadItem::Outcome outcome) const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [&](const UploadItem& i) { return i.outcome == outcome; }));
}

int UploadReport::exitCode() const {
  if (count(UploadItem::Outcome::Failed) > 0) return kExitPacs;
  if (count(UploadItem::Outcome::Refused) > 0 || items.empty()) return kExitContent;
  return kExitOk;
}

std::string UploadReport::toText() const {
  std::ostringstream o;
  for (const auto& i : items) {
    o << outcomeName(i.outcome) << ": " << i.file.string();
    if (i.outcome == UploadItem::Outcome::Stored) {
      o << " (" << i.name << (i.version.empty() ? "" : " " + i.version) << ", SOP Instance " << i.sopInstanceUid << ")";
    } else {
      o << ": [" << toString(i.code) << "] " << i.reason;
    }
    o << "\n";
  }
  o << "upload: " << count(UploadItem::Outcome::Stored) << " stored, " << count(UploadItem::Outcome::Refused)
    << " refused, " << count(UploadItem::Outcome::Failed) << " failed\n";
  return o.str();
}

std::string UploadReport::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& i : items) {
    nlohmann::json j = {{"file", i.file.string()}, {"outcome", outcomeName(i.outcome)}};
    if (i.outcome == UploadItem::Outcome::Stored) {
      j["sopInstanceUid"] = i.sopInstanceUid;
      j["name"] = i.name;
      j["version"] = i.version;
      j["dnnUid"] = i.dnnUid;
    } else {
      j["code"] = toString(i.code);
      j["reason"] = i.reason;
    }
    list.push_back(j);
  }
  const nlohmann::json j = {{"items", list},
                            {"stored", count(UploadItem::Outcome::Stored)},
                            {"refused", count(UploadItem::Outcome::Refused)},
                            {"failed", count(UploadItem::Outcome::Failed)}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace iodeep::client
