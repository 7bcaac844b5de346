#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/client/Inspect.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int inspectCommand(const std::vector<std::string>& args) {
  std::string file;
  po::options_description desc(
      "usage: iodeep inspect FILE [--json]\n\n"
      "Shows every field of an IODeep object, its tensors, and verifies it (SHA-256, weights finite, UIDs,\n"
      "SOP class). Recognises objects of the published reference code and explains what is wrong with them.\n"
      "Exit code 4 on any inconsistency.\n\nOptions");
  desc.add_options()                        //
      ("help,h", "show this help")          //
      ("json", "print the report as JSON")  //
      ("file", po::value(&file), "the file");
  po::positional_options_description pos;
  pos.add("file", 1);
  const auto parsed = parseOptions(args, desc, &pos);
  if (!parsed) return kExitOk;
  const auto& vm = *parsed;
  if (file.empty()) {
    std::cerr << "iodeep inspect: no file given (see 'iodeep inspect --help')\n";
    return kExitUsage;
  }
  const client::InspectReport r = client::inspect(file);
  std::cout << (vm.count("json") != 0 ? r.toJson() : r.toText());
  if (!r.ok()) {
    for (const auto& f : r.findings) {
      if (f.severity == iod::Finding::Severity::Error) {
        std::cerr << "iodeep inspect: " << file << ": " << f.message << "\n";
        break;
      }
    }
    return kExitContent;
  }
  return kExitOk;
}

}  // namespace iodeep::cli
