#include <iostream>
#include <nlohmann/json.hpp>

#include "Commands.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int rtstructCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "show") {
    std::cerr << "iodeep rtstruct: usage: iodeep rtstruct show FILE [--json]\n";
    return args.empty() ? kExitUsage : (args[0] == "--help" || args[0] == "-h" ? kExitOk : kExitUsage);
  }
  std::string file;
  po::options_description desc(
      "usage: iodeep rtstruct show FILE [--json]\n\n"
      "Lists an RT Structure Set's ROIs, their contours per image, the approval status, the reviewer and\n"
      "the network that proposed them.\n\nOptions");
  desc.add_options()("help,h", "show this help")("json", "print JSON")("file", po::value(&file), "RT Structure Set");
  po::positional_options_description pos;
  pos.add("file", 1);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const auto parsed = parseOptions(rest, desc, &pos);
  if (!parsed) return kExitOk;
  if (file.empty()) {
    std::cerr << "iodeep rtstruct show: no file given\n";
    return kExitUsage;
  }
  const auto set = rtstruct::readStructureSet(file);
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
    std::map<std::string, int> perImage;
    for (const auto& [uid, pts] : roi.contours) ++perImage[uid.empty() ? "(no image reference)" : uid];
    j["rois"].push_back({{"number", roi.number},
                         {"name", roi.name},
                         {"color", roi.color},
                         {"interpretedType", roi.interpretedType},
                         {"generationAlgorithm", roi.generationAlgorithm},
                         {"generationDescription", roi.generationDescription},
                         {"contoursPerImage", perImage}});
  }
  if (parsed->count("json") != 0) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  std::cout << file << ": RT Structure Set '" << set.label << "', " << set.approvalStatus;
  if (!set.reviewerName.empty())
    std::cout << " by " << set.reviewerName << " on " << set.reviewDate << " " << set.reviewTime;
  std::cout << "\nproposed by: " << (set.contributingAlgorithm.empty() ? "(not recorded)" : set.contributingAlgorithm)
            << "\n";
  for (const auto& roi : j["rois"]) {
    std::cout << "  ROI " << roi["number"] << " " << roi["name"].get<std::string>() << " ("
              << roi["interpretedType"].get<std::string>() << ", " << roi["generationAlgorithm"].get<std::string>()
              << ")\n";
    for (const auto& [uid, n] : roi["contoursPerImage"].items())
      std::cout << "    " << n << " contour(s) on " << uid << "\n";
  }
  return kExitOk;
}

}  // namespace iodeep::cli
