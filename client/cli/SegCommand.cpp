#include <iostream>

#include "Commands.hpp"
#include "iodeep/reports/SegmentationReport.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int segCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "show") {
    std::cerr << "iodeep seg: usage: iodeep seg show FILE [--json]\n";
    return args.empty() ? kExitUsage : (args[0] == "--help" || args[0] == "-h" ? kExitOk : kExitUsage);
  }
  std::string file;
  po::options_description desc(
      "usage: iodeep seg show FILE [--json]\n\n"
      "Lists a DICOM Segmentation's segments (number, label, algorithm type and name), each frame's\n"
      "referenced image and pixel count, the approval status, the reviewer, and the network that proposed\n"
      "them (name, version, DnnUID). Any binary or fractional Segmentation is read (fractional: a pixel is\n"
      "inside at half the maximum or more). Exit code 4 for another DICOM object (NotSegmentation) or a\n"
      "malformed one (MalformedSegmentation).\n\nOptions");
  desc.add_options()("help,h", "show this help")("json", "print JSON")("file", po::value(&file), "Segmentation");
  po::positional_options_description pos;
  pos.add("file", 1);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const auto parsed = parseOptions(rest, desc, &pos);
  if (!parsed) return kExitOk;
  if (file.empty()) {
    std::cerr << "iodeep seg show: no file given\n";
    return kExitUsage;
  }
  const auto report = client::showSegmentation(file);
  std::cout << (parsed->count("json") != 0 ? report.toJson() : report.toText());
  return kExitOk;
}

}  // namespace iodeep::cli
