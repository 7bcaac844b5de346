#include <boost/program_options.hpp>
#include <iostream>

#include "Commands.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"

namespace po = boost::program_options;

namespace iodeep::cli {

namespace {

netparser::Architecture load(const std::string& file) {
  const std::string text = iod::readTextFile(file);
  try {
    return netparser::parseArchitecture(text);
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.rfind("architecture", 0) == 0) what = what.substr(std::string("architecture").size());
    throw Error(e.code(), file + what, e.layer(), e.pointer());
  }
}

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
  const auto arch = load(file);
  std::optional<netparser::InputSpec> spec;
  if (!input.empty()) spec = netparser::parseInputSpec(input);
  std::cout << file << ": " << (arch.format == netparser::Architecture::Format::DnnParser ? "DNN-parser" : "iodeep")
            << " format, ";
  if (arch.kind == netparser::Architecture::Kind::TorchScript) {
    std::cout << "TorchScript network (graph in the weights archive), input " << arch.input.channels << "x"
              << arch.input.height << "x" << arch.input.width << "\n";
    return kExitOk;
  }
  const auto report = netparser::inferShapes(arch, spec);
  const auto in = spec.value_or(arch.input);
  std::cout << arch.layers.size() << " layers, input " << in.channels << "x" << in.height << "x" << in.width << "\n"
            << netparser::formatShapeTable(report);
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
  const auto arch = load(file);
  if (arch.kind != netparser::Architecture::Kind::Graph) {
    throw Error(ErrorCode::InvalidArgument, file + ": a TorchScript network brings its own weights");
  }
  const auto weights = netparser::initWeights(arch, seed);
  iod::writeFileAtomically(output, weights.bytes());
  std::cout << "wrote " << output << ": " << netparser::expectedTensors(arch).size() << " tensors, "
            << netparser::inferShapes(arch).totalParameters << " values, seed " << seed << "\n";
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
