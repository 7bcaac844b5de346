// iodeep: the headless command-line shell over the client core.
#include <boost/program_options/errors.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "Commands.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Logging.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: iodeep <command> [options]

Commands:
  pack       turn an architecture JSON and trained weights into an IODeep .dcm
  inspect    show and verify an IODeep (or legacy) file, its signatures included
  sign       add a DICOM digital signature to a file (IODeep object, RT Structure Set, ...)
  arch       check an architecture JSON (shape table), or write random weights that fit it
  predict    run a model on a slice: ROI proposals (text, JSON, PNG overlay, RT Structure Sets)
  rtstruct   show an RT Structure Set; list those on the PACS for a series
  seg        show a DICOM Segmentation: segments, frames per image, approval, network
  audit      the audit trail: network runs and stored structure sets (docs/security.md)
  finetune   fine-tune a network on a dataset from the PACS, written as its next version
  serve      the inference service: selection and prediction over HTTP(S) (docs/service.md)

PACS (docs/pacs-workflow.md; --pacs AET@host:port or the configuration file):
  echo       C-ECHO
  upload     check and store IODeep files (the PACS administrator)
  models     the IODeep networks on the PACS
  studies    browse: studies, then series, then instances
  series
  instances
  select     which network a slice would get, and why every other one not
  roi        AI ROI end to end: slice(s) -> network -> proposals -> approved RT Structure Set on the PACS
  outbox     structure sets waiting for the PACS: list, flush
  dataset    a training set from the PACS: approved (and corrected) ROIs of one network, slices, masks
  version    print the version

Run 'iodeep <command> --help' for a command's options.
Exit codes: 0 ok, 2 usage, 3 input missing/unreadable, 4 invalid or inconsistent content,
            5 output not writable, 6 PACS (unreachable, rejected, failure status), 7 no network
            matches, 70 internal error (docs/cli.md).
)";

}  // namespace

namespace iodeep::cli {

std::optional<boost::program_options::variables_map> parseOptions(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::command_line_parser parser(args);
  parser.options(desc);
  if (positional != nullptr) parser.positional(*positional);
  po::variables_map vm;
  po::store(parser.run(), vm);
  if (vm.count("help") != 0) {
    std::cout << desc << "\n";
    return std::nullopt;
  }
  po::notify(vm);
  return vm;
}

int run(const std::string& command, const std::vector<std::string>& rest) {
  try {
    if (command == "pack") return packCommand(rest);
    if (command == "inspect") return inspectCommand(rest);
    if (command == "sign") return signCommand(rest);
    if (command == "arch") return archCommand(rest);
    if (command == "predict") return predictCommand(rest);
    if (command == "rtstruct") return rtstructCommand(rest);
    if (command == "seg") return segCommand(rest);
    if (command == "audit") return auditCommand(rest);
    if (command == "serve") return serveCommand(rest);
    if (command == "finetune") return finetuneCommand(rest);
    if (const int code = pacsCommand(command, rest); code >= 0) return code;
    if (command == "version" || command == "--version") {
      std::cout << "iodeep " << IODEEP_VERSION << "\n";
      return kExitOk;
    }
    std::cerr << "iodeep: unknown command '" << command << "' (see 'iodeep --help')\n";
    return kExitUsage;
  } catch (const Error& e) {
    std::cerr << "iodeep " << command << ": error [" << toString(e.code()) << "]: " << e.what() << "\n";
    return exitCodeFor(e.code());
  } catch (const boost::program_options::error& e) {
    std::cerr << "iodeep " << command << ": " << e.what() << " (see 'iodeep " << command << " --help')\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "iodeep " << command << ": internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

}  // namespace iodeep::cli

int main(int argc, char** argv) {
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty()) {
    std::cerr << "iodeep: no command given (see 'iodeep --help')\n";
    return iodeep::kExitUsage;
  }
  if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    std::cout << kUsage;
    return iodeep::kExitOk;
  }
  iodeep::iod::setToolkitLogging(std::getenv("IODEEP_DCMTK_LOG") != nullptr);
  const std::string& command = all[0];
  const std::vector<std::string> rest(all.begin() + 1, all.end());
  const int code = iodeep::cli::run(command, rest);
  // a command that started loading libtorch in the background (predict, roi) may end early (an
  // error): the process must not exit while that load runs
  iodeep::client::awaitInferenceLoad();
  return code;
}
