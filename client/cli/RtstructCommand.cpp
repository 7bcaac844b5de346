#include <iostream>

#include "Commands.hpp"
#include "iodeep/reports/StructureSetReport.hpp"

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
  std::vector<std::string> trusted;
  po::options_description desc(
      "usage: iodeep rtstruct show FILE [--json] [--trusted CERT.pem ...]\n\n"
      "Lists an RT Structure Set's ROIs, their contours per image, the approval status, the reviewer, the\n"
      "network that proposed them, and who signed it (every signature verified). Exit code 4 when a signature\n"
      "does not verify or leaves attributes unsigned, and (with --trusted) when the set is not trusted.\n\nOptions");
  desc.add_options()("help,h", "show this help")("json", "print JSON")(
      "trusted", po::value(&trusted)->composing(),
      "trusted certificates (PEM file or directory; repeatable): also decide whether the set is trusted")(
      "file", po::value(&file), "RT Structure Set");
  po::positional_options_description pos;
  pos.add("file", 1);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const auto parsed = parseOptions(rest, desc, &pos);
  if (!parsed) return kExitOk;
  if (file.empty()) {
    std::cerr << "iodeep rtstruct show: no file given\n";
    return kExitUsage;
  }
  const auto report = client::showStructureSet(file, trustAnchors(trusted));
  std::cout << (parsed->count("json") != 0 ? report.toJson() : report.toText());
  if (!report.ok()) {
    const auto problems = report.signatures.problems();
    std::cerr << "iodeep rtstruct show: error [" << toString(problems.front().code) << "]: " << file << ": "
              << problems.front().message << "\n";
    return kExitContent;
  }
  return kExitOk;
}

}  // namespace iodeep::cli
