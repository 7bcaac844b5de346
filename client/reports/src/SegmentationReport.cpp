#include "iodeep/reports/SegmentationReport.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace iodeep::client {

namespace {

std::size_t pixelsOf(const seg::SegmentFrame& frame) {
  return static_cast<std::size_t>(std::count_if(frame.mask.begin(), frame.mask.end(), [](auto v) { return v != 0; }));
}

std::string imageOf(const seg::SegmentFrame& frame) {
  return frame.referencedSopInstanceUid.empty() ? "(no image reference)" : frame.referencedSopInstanceUid;
}

}  // namespace

SegmentationReport showSegmentation(const std::filesystem::path& path) {
  SegmentationReport r;
  r.path = path;
  r.seg = seg::readSegmentation(path);
  return r;
}

std::string SegmentationReport::toJson() const {
  nlohmann::json j;
  j["sopInstanceUid"] = seg.sopInstanceUid;
  j["seriesInstanceUid"] = seg.seriesInstanceUid;
  j["studyInstanceUid"] = seg.studyInstanceUid;
  j["frameOfReferenceUid"] = seg.frameOfReferenceUid;
  j["seriesDescription"] = seg.seriesDescription;
  j["segmentationType"] = seg.segmentationType;
  j["rows"] = seg.rows;
  j["columns"] = seg.columns;
  j["contentLabel"] = seg.contentLabel;
  j["contentDescription"] = seg.contentDescription;
  j["contentCreatorName"] = seg.contentCreatorName;
  j["contentDate"] = seg.contentDate;
  j["contentTime"] = seg.contentTime;
  j["approvalStatus"] = seg.approvalStatus;
  j["reviewerName"] = seg.reviewerName;
  j["reviewDate"] = seg.reviewDate;
  j["reviewTime"] = seg.reviewTime;
  j["network"] = {{"name", seg.networkName}, {"version", seg.networkVersion}, {"dnnUid", seg.networkDnnUid}};
  j["referencedImages"] = nlohmann::json::array();
  for (const auto& [sop, series] : seg.referencedImages) {
    j["referencedImages"].push_back({{"sopInstanceUid", sop}, {"seriesInstanceUid", series}});
  }
  j["segments"] = nlohmann::json::array();
  for (const auto& s : seg.segments) {
    nlohmann::json frames = nlohmann::json::array();
    for (const auto& f : s.frames) frames.push_back({{"image", imageOf(f)}, {"pixels", pixelsOf(f)}});
    j["segments"].push_back({{"number", s.number},
                             {"label", s.label},
                             {"algorithmType", s.algorithmType},
                             {"algorithmName", s.algorithmName},
                             {"color", s.color},
                             {"frames", frames}});
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string SegmentationReport::toText() const {
  std::size_t frames = 0;
  for (const auto& s : seg.segments) frames += s.frames.size();
  std::ostringstream o;
  o << path.string() << ": Segmentation '" << seg.contentLabel << "' (" << seg.segmentationType << ", " << seg.rows
    << "x" << seg.columns << ", " << seg.segments.size() << " segment(s), " << frames << " frame(s)), "
    << (seg.approvalStatus.empty() ? std::string("approval not recorded") : seg.approvalStatus);
  if (!seg.reviewerName.empty()) o << " by " << seg.reviewerName << " on " << seg.reviewDate << " " << seg.reviewTime;
  o << "\n";
  if (!seg.contentDescription.empty() || !seg.contentCreatorName.empty()) {
    o << "content: " << seg.contentDescription;
    if (!seg.contentCreatorName.empty()) o << " (creator " << seg.contentCreatorName << ")";
    o << "\n";
  }
  o << "network: ";
  if (seg.networkName.empty()) {
    o << "(not recorded)";
  } else {
    o << seg.networkName << " " << seg.networkVersion << " (DnnUID " << seg.networkDnnUid << ")";
  }
  o << "\n";
  for (const auto& s : seg.segments) {
    o << "  segment " << s.number << " " << s.label << " (" << s.algorithmType;
    if (!s.algorithmName.empty()) o << ", " << s.algorithmName;
    o << ")\n";
    for (const auto& f : s.frames) o << "    " << pixelsOf(f) << " pixel(s) on " << imageOf(f) << "\n";
  }
  return o.str();
}

}  // namespace iodeep::client
