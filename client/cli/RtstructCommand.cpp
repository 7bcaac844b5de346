#include <iostream>

#include "Commands.hpp"
#include "iodeep/client/StructureSetReport.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int rtstructCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "list") return rtstructListCommand({args.begin() + 1, args.end()});
  if (args.empty() || args[0] != "show") {
    std::cerr
        << "iodeep rtstruct: usage: iodeep rtstruct show FILE [--json] | list --pacs AET@host:port --series UID\n";
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
  const auto report = client::showStructureSet(file);
  std::cout << (parsed->count("json") != 0 ? report.toJson() : report.toText());
  return kExitOk;
}

}  // namespace iodeep::cli
