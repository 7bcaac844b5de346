#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/reports/ArchitectureReport.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

namespace {

int check(const std::vector<std::string>& args) {
  std::string file;
  std::string input;
  po::options_description desc(
      "usage: iodeep arch check FILE [--input CxHxW]\n\n"
      "Validates an architecture JSON (our format or DNN-parser), prints each layer's output shape and\n"
      "parameter count. Exit code 4 with the layer id and JSON pointer when it is not valid.\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "input", po::value(&input), "infer shapes for this input instead of the declared one, e.g. 1x512x512")(
      "file", po::value(&file), "architecture JSON");
  po::positional_options_description pos;
  pos.add("file", 1);
  if (!parseOptions(args, desc, &pos)) return kExitOk;
  if (file.empty()) {
    std::cerr << "iodeep arch check: no file given (see 'iodeep arch check --help')\n";
    return kExitUsage;
  }
  std::cout << client::checkArchitecture(file, input).toText();
  return kExitOk;
}

int init(const std::vector<std::string>& args) {
  std::string file;
  std::string output;
  std::uint64_t seed = 0;
  po::options_description desc(
      "usage: iodeep arch init FILE --seed N -o weights.safetensors\n\n"
      "Writes randomly initialised weights that fit the architecture (He-normal convolutions and linear\n"
      "layers, unit norms, zero biases): for tests, and to start from.\n\nOptions");
  desc.add_options()("help,h", "show this help")("seed", po::value(&seed)->default_value(0), "random seed")(
      "output,o", po::value(&output), "weights file to write (atomically)")("file", po::value(&file),
                                                                            "architecture JSON");
  po::positional_options_description pos;
  pos.add("file", 1);
  if (!parseOptions(args, desc, &pos)) return kExitOk;
  if (file.empty() || output.empty()) {
    std::cerr << "iodeep arch init: FILE and -o are required (see 'iodeep arch init --help')\n";
    return kExitUsage;
  }
  const auto r = client::initWeights(file, seed, output);
  std::cout << "wrote " << output << ": " << r.tensors << " tensors, " << r.values << " values, seed " << seed << "\n";
  return kExitOk;
}

}  // namespace

int archCommand(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: iodeep arch check FILE [--input CxHxW]\n"
      "       iodeep arch init FILE --seed N -o weights.safetensors\n";
  if (args.empty()) {
    std::cerr << "iodeep arch: no subcommand (check or init)\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "check") return check(rest);
  if (args[0] == "init") return init(rest);
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return kExitOk;
  }
  std::cerr << "iodeep arch: unknown subcommand '" << args[0] << "' (check or init)\n";
  return kExitUsage;
}

}  // namespace iodeep::cli
