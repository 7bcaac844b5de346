#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/reports/Inspect.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

int inspectCommand(const std::vector<std::string>& args) {
  std::string file;
  std::vector<std::string> trusted;
  po::options_description desc(
      "usage: iodeep inspect FILE [--json] [--trusted CERT.pem ...]\n\n"
      "Shows every field of an IODeep object, its tensors, and verifies it (SHA-256, weights finite, UIDs,\n"
      "SOP class) and every signature (signer, issuer, validity, signing time, algorithms, whether it covers\n"
      "the whole object). Recognises objects of the published reference code and explains what is wrong with\n"
      "them. Exit code 4 on any inconsistency, a signature that does not verify or leaves attributes\n"
      "unsigned, and (with --trusted) an object that is not trusted.\n\nOptions");
  desc.add_options()                        //
      ("help,h", "show this help")          //
      ("json", "print the report as JSON")  //
      ("trusted", po::value(&trusted)->composing(),
       "trusted certificates (PEM file or directory; repeatable): also decide whether the object is trusted")  //
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
  const client::InspectReport r = client::inspect(file, trustAnchors(trusted));
  std::cout << (vm.count("json") != 0 ? r.toJson() : r.toText());
  if (!r.ok()) {
    for (const auto& f : r.findings) {
      if (f.severity == iod::Finding::Severity::Error) {
        std::cerr << "iodeep inspect: " << file << ": " << f.text() << "\n";
        break;
      }
    }
    return kExitContent;
  }
  return kExitOk;
}

}  // namespace iodeep::cli
