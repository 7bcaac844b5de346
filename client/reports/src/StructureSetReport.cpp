#include "iodeep/reports/StructureSetReport.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "iodeep/trust/SignatureJson.hpp"

namespace iodeep::client {

namespace {

// Contours per referenced image, in the order of the image UIDs.
std::map<std::string, int> contoursPerImage(const rtstruct::StoredRoi& roi) {
  std::map<std::string, int> perImage;
  for (const auto& [uid, points] : roi.contours) ++perImage[uid.empty() ? "(no image reference)" : uid];
  return perImage;
}

}  // namespace

StructureSetReport showStructureSet(const std::filesystem::path& path, const std::optional<iod::TrustAnchors>& trust) {
  StructureSetReport r;
  r.path = path;
  r.set = rtstruct::readStructureSet(path);
  r.signatures = checkSignatures(path, trust);
  return r;
}

std::string StructureSetReport::toJson() const {
  nlohmann::json j;
  j["label"] = set.label;
  j["approvalStatus"] = set.approvalStatus;
  j["reviewerName"] = set.reviewerName;
  j["reviewDate"] = set.reviewDate;
  j["reviewTime"] = set.reviewTime;
  j["frameOfReferenceUid"] = set.frameOfReferenceUid;
  j["proposedBy"] = set.contributingAlgorithm;
  j["rois"] = nlohmann::json::array();
  for (const auto& roi : set.rois) {
    j["rois"].push_back({{"number", roi.number},
                         {"name", roi.name},
                         {"color", roi.color},
                         {"interpretedType", roi.interpretedType},
                         {"generationAlgorithm", roi.generationAlgorithm},
                         {"generationDescription", roi.generationDescription},
                         {"contoursPerImage", contoursPerImage(roi)}});
  }
  const auto sig = signatureCheckJson(signatures);
  j["signed"] = sig["signed"];
  j["signaturesOk"] = sig["ok"];
  j["signatures"] = sig["signatures"];
  if (sig.contains("trust")) j["trust"] = sig["trust"];
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string StructureSetReport::toText() const {
  std::ostringstream o;
  o << path.string() << ": RT Structure Set '" << set.label << "', " << set.approvalStatus;
  if (!set.reviewerName.empty()) o << " by " << set.reviewerName << " on " << set.reviewDate << " " << set.reviewTime;
  o << "\nproposed by: " << (set.contributingAlgorithm.empty() ? "(not recorded)" : set.contributingAlgorithm) << "\n";
  for (const auto& roi : set.rois) {
    o << "  ROI " << roi.number << " " << roi.name << " (" << roi.interpretedType << ", " << roi.generationAlgorithm
      << ")\n";
    for (const auto& [uid, n] : contoursPerImage(roi)) o << "    " << n << " contour(s) on " << uid << "\n";
  }
  o << signatures.toText();
  return o.str();
}

}  // namespace iodeep::client
